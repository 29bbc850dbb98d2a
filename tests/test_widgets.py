"""The notebook widgets' Python side: trait payloads, bands, text fallbacks (no browser)."""

from __future__ import annotations

import math

import pytest

from itc_lab.analysis.tokens import (
    HIGH_FROM,
    LOW_BELOW,
    NO_LOGPROBS_NOTE,
    confidence_band,
    lowest_tokens,
    token_rows,
)
from itc_lab.types import Alternative, Completion, CostModel, Token, Usage
from itc_lab.views.base import frontend_dir
from itc_lab.views.token_view import TokenView, show
from itc_lab.views.usage_view import UsageView, usage_summary

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
XSS = "<script>alert(1)</script>"


def _completion(**kw: object) -> Completion:
    tokens = (
        Token("The", math.log(0.9),
              (Alternative("A", math.log(0.05)), Alternative("The", math.log(0.9)))),
        Token(" answer", math.log(0.5), (Alternative(" answer", math.log(0.5)),
                                         Alternative(" result", math.log(0.3)),
                                         Alternative(" number", math.log(0.1)))),
        Token(XSS, math.log(0.05)),
        Token("\n", math.log(0.75)),
    )
    base: dict[str, object] = dict(
        text="The answer" + XSS + "\n", model="smollm2:135m", backend="ollama", seed=0,
        tokens=tokens, prompt_tokens=12, completion_tokens=4, latency_s=0.5,
    )
    base.update(kw)
    return Completion(**base)  # type: ignore[arg-type]


def test_frontend_files_found() -> None:
    folder = frontend_dir()
    for name in ("token_view.js", "token_view.css", "usage_view.js"):
        assert (folder / name).is_file()
    assert "export default" in (folder / "token_view.js").read_text()


def test_token_view_traits_carry_the_payload() -> None:
    c = _completion()
    w = TokenView(c, title="Sample 0")
    assert w.title == "Sample 0"
    assert w.model == "smollm2:135m"
    assert w.text == c.text
    assert w.note == ""
    assert [r["text"] for r in w.tokens] == ["The", " answer", XSS, "\n"]
    for row, tok in zip(w.tokens, c.tokens, strict=True):
        assert set(row) == {"text", "logprob", "prob", "top"}
        assert row["logprob"] == tok.logprob
        assert row["prob"] == pytest.approx(math.exp(tok.logprob or 0.0))
    # Alternatives are ordered most likely first, whatever order the backend gave.
    first = w.tokens[0]["top"]
    assert [a["text"] for a in first] == ["The", "A"]
    assert [a["prob"] for a in first] == pytest.approx([0.9, 0.05])
    assert all(set(a) == {"text", "logprob", "prob"} for a in first)
    probs = [a["prob"] for a in w.tokens[1]["top"]]
    assert probs == sorted(probs, reverse=True)
    assert w.tokens == token_rows(c)


def test_untrusted_text_is_kept_as_data() -> None:
    w = TokenView.from_completion(_completion())
    assert w.tokens[2]["text"] == XSS
    assert XSS in w.text


def test_no_logprobs_gives_a_note_and_the_plain_text() -> None:
    c = _completion(tokens=(), text="plain answer")
    w = TokenView(c)
    assert w.tokens == []
    assert w.note == NO_LOGPROBS_NOTE
    assert "no logprobs" in w.note
    assert w.text == "plain answer"
    assert "no logprobs" in repr(w)


def test_tokens_without_logprobs_are_flagged() -> None:
    c = _completion(tokens=(Token("a"), Token("b", math.log(0.5))))
    w = TokenView(c)
    assert w.tokens[0]["prob"] is None and w.tokens[0]["logprob"] is None
    assert "1 of 2" in w.note


@pytest.mark.parametrize(("p", "band"), [
    (0.0, "low"), (0.05, "low"), (math.nextafter(0.3, 0), "low"),
    (0.3, "medium"), (0.5, "medium"), (math.nextafter(0.7, 0), "medium"),
    (0.7, "high"), (0.99, "high"), (1.0, "high"),
])
def test_confidence_band_thresholds(p: float, band: str) -> None:
    assert (LOW_BELOW, HIGH_FROM) == (0.3, 0.7)
    assert confidence_band(p) == band


def test_confidence_band_rejects_non_numbers() -> None:
    with pytest.raises(ValueError, match="probability"):
        confidence_band(float("nan"))
    with pytest.raises(ValueError, match="probability"):
        confidence_band(None)  # type: ignore[arg-type]


def test_lowest_tokens() -> None:
    c = _completion()
    assert [(i, t.text) for i, t in lowest_tokens(c)] == [(2, XSS), (1, " answer"), (3, "\n")]
    assert [i for i, _ in lowest_tokens(c, k=1)] == [2]
    assert lowest_tokens(c, k=0) == []
    assert lowest_tokens(_completion(tokens=())) == []
    with pytest.raises(ValueError):
        lowest_tokens(c, k=-1)


def test_token_view_text_plain_fallback() -> None:
    w = TokenView(_completion())
    bundle = w._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert WIDGET_MIME in data
    assert data[WIDGET_MIME]["model_id"] == w.model_id
    text = data["text/plain"]
    assert text.startswith("TokenView: 4 tokens")
    assert "mean p=0.55" in text
    assert f"lowest {XSS!r} p=0.05" in text
    assert repr(w) == text


def _usage_completions() -> list[Completion]:
    return [
        _completion(prompt_tokens=10, completion_tokens=20, latency_s=1.0),
        _completion(prompt_tokens=30, completion_tokens=40, latency_s=3.0, cached=True),
    ]


def test_usage_view_numbers_match_usage_of() -> None:
    cm = CostModel(prompt_price=1.5, completion_price=6.0, currency="EUR")
    cs = _usage_completions()
    u = Usage.of(cs, cm)
    w = UsageView.of(cs, cost_model=cm)
    s = w.summary
    assert s == usage_summary(u)
    assert s["calls"] == u.calls == 2
    assert s["prompt_tokens"] == u.prompt_tokens == 40
    assert s["completion_tokens"] == u.completion_tokens == 60
    assert s["total_tokens"] == 100
    assert s["latency_s"] == pytest.approx(u.latency_s) == 4.0
    assert s["max_latency_s"] == 3.0
    assert s["tokens_per_second"] == pytest.approx(u.tokens_per_second) == 15.0
    assert s["cached_calls"] == u.cached_calls == 1
    assert s["cost"] == pytest.approx(u.cost)
    assert s["cost"] == pytest.approx((40 * 1.5 + 60 * 6.0) / 1e6)
    assert (s["currency"], s["prompt_price"], s["completion_price"]) == ("EUR", 1.5, 6.0)
    assert UsageView(u).summary == s


def test_usage_view_text_plain_fallback() -> None:
    u = Usage.of(_usage_completions())
    w = UsageView(u)
    bundle = w._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert WIDGET_MIME in data
    assert u.summary() in data["text/plain"]
    assert u.summary() in repr(w)


def test_show_dispatches_and_explains() -> None:
    c = _completion()
    assert isinstance(show(c), TokenView)
    assert isinstance(show(Usage.of([c])), UsageView)
    with pytest.raises(TypeError, match="Completion"):
        show("text")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"UsageView\.of"):
        show([c, c])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        TokenView(Usage())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"UsageView\.of"):
        UsageView([c])  # type: ignore[arg-type]


# -- static snapshots (text/html beside the widget view) ---------------------------------------


def _html(widget: object) -> str:
    bundle = widget._repr_mimebundle_()  # type: ignore[attr-defined]
    data, meta = bundle
    assert meta == {"itc_lab": {"figure": type(widget).__name__}}
    assert WIDGET_MIME in data  # the live view stays; the snapshot is beside it
    return str(data["text/html"])


def test_token_view_static_snapshot_colours_tokens_and_escapes_them() -> None:
    html = _html(TokenView(_completion(), title="<b>title</b>"))
    assert html.startswith('<div class="itc-static itc-static-tokenview"')
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;title" in html
    bands = [m for m in ("itc-static-high", "itc-static-medium", "itc-static-low")
             if m in html]
    assert bands == ["itc-static-high", "itc-static-medium", "itc-static-low"]
    assert html.count('class="itc-static-tok ') == 4
    assert "p=0.50 · top: &#x27; answer&#x27; 0.50, &#x27; result&#x27; 0.30" in html
    assert "smollm2:135m" in html and "4 tokens, mean p=0.55" in html


def test_token_view_static_snapshot_without_logprobs_and_capped() -> None:
    html = _html(TokenView(_completion(tokens=()), title="t"))
    assert NO_LOGPROBS_NOTE in html and 'class="itc-static-tok ' not in html
    assert "The answer&lt;script&gt;" in html
    long = _completion(tokens=tuple(Token(f"w{i} ", math.log(0.5)) for i in range(1000)),
                       text="".join(f"w{i} " for i in range(1000)))
    html = _html(TokenView(long))
    assert html.count('class="itc-static-tok ') == 400
    assert "600 more tokens" in html and len(html) < 100_000


def test_usage_view_static_snapshot_lists_the_numbers() -> None:
    cm = CostModel(prompt_price=1.5, completion_price=6.0, currency="<EUR>")
    html = _html(UsageView.of(_usage_completions(), cost_model=cm))
    assert html.startswith('<div class="itc-static itc-static-usageview"')
    for text in ("Calls", "2 (1 cached)", "Prompt tokens", "40", "Total tokens", "100",
                 "4.00 s (slowest 3.00 s)", "15.0 tokens/s", "0.000420 &lt;EUR&gt;",
                 "1.50 / 6.00 &lt;EUR&gt; per 1M prompt / completion tokens"):
        assert text in html, text
    assert "<EUR>" not in html
