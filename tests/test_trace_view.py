"""The reasoning-trace widgets' Python side: step segmentation, payloads, text fallbacks."""

from __future__ import annotations

import math
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from itc_lab.analysis.steps import STEP_WORDS, segment_steps, step_starts
from itc_lab.analysis.tokens import NO_LOGPROBS_NOTE, token_rows
from itc_lab.types import Alternative, Completion, Token
from itc_lab.views.base import bundle_esm, frontend_dir
from itc_lab.views.trace_view import TraceList, TraceView, trace_payload

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
XSS = "<script>alert(1)</script>"
STEP_KEYS = {"index", "text", "tokens", "mean_prob"}


def _text(text: str) -> Completion:
    return Completion(text=text, model="m", backend="fake", seed=0)


def _tokens(*pieces: tuple[str, float | None]) -> Completion:
    tokens = tuple(Token(t, None if p is None else math.log(p)) for t, p in pieces)
    return Completion(text="".join(t for t, _ in pieces), model="smollm2:135m", backend="fake",
                      seed=3, tokens=tokens)


def _texts(completion: Completion) -> list[str]:
    return [s["text"] for s in segment_steps(completion)]


def _check_invariants(completion: Completion) -> list[dict[str, object]]:
    steps = segment_steps(completion)
    assert [s["index"] for s in steps] == list(range(1, len(steps) + 1))
    assert all(set(s) == STEP_KEYS for s in steps)
    assert "".join(str(s["text"]) for s in steps) == completion.text
    if completion.tokens:
        # Every token is in exactly one step, in order, unchanged.
        flat = [row for s in steps for row in s["tokens"]]  # type: ignore[attr-defined]
        assert flat == token_rows(completion)
        for s in steps:
            assert s["tokens"], "no step without tokens"
            assert s["text"] == "".join(r["text"] for r in s["tokens"])  # type: ignore[attr-defined]
    else:
        assert all(s["tokens"] == [] and s["mean_prob"] is None for s in steps)
        assert all(s["text"] for s in steps), "no empty step"
    return steps  # type: ignore[return-value]


# -- the segmentation rule -----------------------------------------------------------------------


def test_splits_at_line_breaks_keeping_blank_lines_with_the_step_they_end() -> None:
    text = "Let x = 2.\nx + 3 = 5\n\n  The answer is 5.\n"
    assert _texts(_text(text)) == ["Let x = 2.\n", "x + 3 = 5\n\n  ", "The answer is 5.\n"]
    assert step_starts(text) == [11, 24]
    # \r\n and the other line breaks of str.splitlines count too.
    assert _texts(_text("a\r\nb\u2028c")) == ["a\r\n", "b\u2028", "c"]


def test_text_without_newlines_splits_at_sentences_opening_with_step_words() -> None:
    text = ("First, add 2 and 3. Then double it: 10! Step 3: check? So it is 10. "
            "Therefore the answer is 10.")
    assert _texts(_text(text)) == [
        "First, add 2 and 3. ", "Then double it: 10! ", "Step 3: check? ", "So it is 10. ",
        "Therefore the answer is 10.",
    ]
    assert STEP_WORDS == ("Step", "First", "Then", "So", "Therefore")


@pytest.mark.parametrize("text", [
    "One sentence only, no step words at all.",
    "It is 5. so lowercase words do not start a step.",
    "It is 5. Sometimes a prefix is not the word. Thence neither. Steps neither.",
    "Pi is 3.14 So no space after the dot means no sentence end.",
    "It is 5, So a comma is no sentence end.",
])
def test_no_split_without_the_rule(text: str) -> None:
    assert _texts(_text(text)) == [text]


def test_sentence_end_with_closing_quote_or_bracket_and_ellipsis() -> None:
    assert _texts(_text('He said "go." Then we went (fast.) So… Then done')) == [
        'He said "go." ', "Then we went (fast.) ", "So… ", "Then done",
    ]


def test_unicode_text() -> None:
    text = "Zuerst: 2 + 3 = 5 😀. So ist’s.\n答案是 5。\nTherefore ü = 5"
    steps = _check_invariants(_text(text))
    assert [s["text"] for s in steps] == [
        "Zuerst: 2 + 3 = 5 😀. ", "So ist’s.\n", "答案是 5。\n", "Therefore ü = 5",
    ]


def test_empty_and_blank_completions() -> None:
    assert segment_steps(_text("")) == []
    assert _texts(_text("\n\n")) == ["\n\n"]
    assert _texts(_text("   ")) == ["   "]
    assert segment_steps(_tokens()) == []
    steps = _check_invariants(_tokens(("", 0.5)))
    assert len(steps) == 1 and steps[0]["text"] == ""


def test_segment_steps_rejects_non_completions() -> None:
    with pytest.raises(TypeError, match="Completion"):
        segment_steps("text")  # type: ignore[arg-type]


# -- tokens --------------------------------------------------------------------------------------


def test_tokens_are_kept_whole_and_in_order() -> None:
    c = _tokens(("First", 0.9), (",", 0.8), (" 2", 0.6), ("+3", 0.5), ("=5", 0.2), (".", 0.9),
                ("\n", 0.95), ("Then", 0.7), (" x", 0.4), (".", 0.9), (" So", 0.5),
                (" the", 0.9), (" answer", 0.8), (" is", 0.9), (" 5", 0.25), (".", 0.99))
    steps = _check_invariants(c)
    assert [s["text"] for s in steps] == ["First, 2+3=5.\n", "Then x.", " So the answer is 5."]
    # A token with leading whitespace goes with the step of its first non-space character.
    assert steps[2]["tokens"][0]["text"] == " So"  # type: ignore[index]
    assert steps[0]["mean_prob"] == pytest.approx((0.9 + 0.8 + 0.6 + 0.5 + 0.2 + 0.9 + 0.95) / 7)
    assert steps[1]["mean_prob"] == pytest.approx((0.7 + 0.4 + 0.9) / 3)


def test_a_token_spanning_a_boundary_is_not_split() -> None:
    # "\nThen" starts the next step (its first non-space character is there); ".\nSo" stays in
    # the step of its "." and takes "So" with it; " c" is after the boundary, so it starts step 3.
    c = _tokens(("a", 0.9), (".", 0.9), ("\nThen", 0.5), (" b", 0.5), (".\nSo", 0.5), (" c", 0.5))
    steps = _check_invariants(c)
    assert [s["text"] for s in steps] == ["a.", "\nThen b.\nSo", " c"]
    # Whitespace-only tokens go with the step in which they begin.
    c = _tokens(("x.", 0.9), (" ", 0.9), ("\n\n", 0.9), ("  ", 0.9), ("y", 0.9))
    assert [s["text"] for s in _check_invariants(c)] == ["x. \n\n  ", "y"]


def test_tokens_with_markup_and_missing_logprobs() -> None:
    c = _tokens((XSS, 0.05), ("\n", None), ("So", 0.5), (" 1", None))
    steps = _check_invariants(c)
    assert steps[0]["tokens"][0]["text"] == XSS  # type: ignore[index]
    assert steps[0]["mean_prob"] == pytest.approx(0.05)
    assert steps[1]["mean_prob"] == pytest.approx(0.5)
    none = _check_invariants(_tokens(("a", None), ("\n", None), ("b", None)))
    assert [s["mean_prob"] for s in none] == [None, None]


def test_one_token_per_character_matches_the_text_rule() -> None:
    texts = [
        "First, 2 + 3 = 5. Then 5 * 2 = 10.\nSo the answer is 10.",
        "Step 1: ü.  Step 2: 😀!\n\n\tTherefore «x».",
        "no rule here",
    ]
    for text in texts:
        per_char = Completion(text=text, model="m", backend="b", seed=0,
                              tokens=tuple(Token(ch, -0.1) for ch in text))
        assert _texts(per_char) == _texts(_text(text))


def test_random_token_sequences_keep_the_invariants() -> None:
    rng = random.Random(7)
    pieces = ["So", " So", "Then", ".", ". ", "\n", "\n\n", " ", "x", "5", "ü", "😀", "!", "?",
              "First", " Step", "\"", ")", "", "…", "\r\n", " the", "Therefore", "。"]
    for _ in range(300):
        chosen = [rng.choice(pieces) for _ in range(rng.randint(0, 25))]
        steps = _check_invariants(_tokens(*((p, rng.random()) for p in chosen)))
        # At most one step per boundary of the rule (a token holding several merges them).
        assert len(steps) <= len(step_starts("".join(chosen))) + 1


def test_tokens_that_do_not_spell_the_text_follow_the_tokens_with_a_note() -> None:
    c = Completion(text="caf\u00e9. So 5", model="m", backend="b", seed=0,
                   tokens=(Token("caf", -0.1), Token("\ufffd", -0.2), Token(".", -0.1),
                           Token(" So", -0.3), Token(" 5", -0.4)))
    steps = segment_steps(c)
    assert [s["text"] for s in steps] == ["caf\ufffd.", " So 5"]
    payload = trace_payload(c, answer="5")
    assert "do not spell the text" in payload["note"]


# -- TraceView -----------------------------------------------------------------------------------


def _cot() -> Completion:
    return _tokens(("First", 0.9), (",", 0.8), (" 2", 0.6), ("+", 0.7), ("3", 0.7), ("=", 0.9),
                   ("5", 0.4), (".", 0.9), ("\n", 0.95), ("So", 0.6), (" the", 0.9),
                   (" answer", 0.8), (" is", 0.9), (" 5", 0.3), (".", 0.99))


def test_trace_view_traits() -> None:
    c = _cot()
    w = TraceView(c, answer="5", gold="5", correct=True, title="Q1")
    assert w.steps == segment_steps(c)
    assert len(w.steps) == 2
    assert (w.answer, w.gold, w.correct, w.title) == ("5", "5", True, "Q1")
    assert w.model == "smollm2:135m"
    assert w.note == ""
    assert w.payload() == trace_payload(c, answer="5", gold="5", correct=True, title="Q1")
    assert w.completion is c
    # Defaults: nothing extracted, not graded.
    d = TraceView(c)
    assert (d.answer, d.gold, d.correct, d.title) == (None, None, None, "")


def test_trace_view_coerces_and_rejects_arguments() -> None:
    c = _cot()
    w = TraceView(c, answer=5, gold=5.5, correct=1)  # type: ignore[arg-type]
    assert (w.answer, w.gold, w.correct) == ("5", "5.5", True)
    with pytest.raises(TypeError, match="correct"):
        TraceView(c, correct="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="answer"):
        TraceView(c, answer=["5"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Completion"):
        TraceView("5")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        TraceView(c, "5")  # type: ignore[misc]  # answer is keyword-only


def test_trace_view_keeps_markup_as_data() -> None:
    c = _text(f"{XSS}\nSo <img src=x onerror=alert(1)>")
    w = TraceView(c, answer="<img src=x onerror=alert(1)>", gold=XSS, correct=False)
    assert w.steps[0]["text"] == XSS + "\n"
    assert w.answer == "<img src=x onerror=alert(1)>"
    assert w.gold == XSS


def test_no_logprobs_gives_plain_steps_and_a_note() -> None:
    w = TraceView(_text("First 2+3=5.\nSo 5."), answer="5")
    assert [s["tokens"] for s in w.steps] == [[], []]
    assert w.note == NO_LOGPROBS_NOTE


@pytest.mark.parametrize(("kwargs", "expected"), [
    (dict(answer="5", gold="5", correct=True),
     "TraceView: 2 steps, answer '5' (correct), mean p=0.76"),
    (dict(answer="6", gold="5", correct=False),
     "TraceView: 2 steps, answer '6' (wrong, gold '5'), mean p=0.76"),
    (dict(answer="5"), "TraceView: 2 steps, answer '5' (not graded), mean p=0.76"),
    (dict(gold="5", correct=False), "TraceView: 2 steps, no answer (gold '5'), mean p=0.76"),
    (dict(answer=""), "TraceView: 2 steps, no answer, mean p=0.76"),
])
def test_trace_view_text_plain_fallback(kwargs: dict[str, object], expected: str) -> None:
    w = TraceView(_cot(), **kwargs)  # type: ignore[arg-type]
    bundle = w._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert WIDGET_MIME in data
    assert data[WIDGET_MIME]["model_id"] == w.model_id
    assert data["text/plain"] == expected
    assert repr(w) == expected


def test_text_fallback_without_logprobs_and_empty() -> None:
    assert repr(TraceView(_text("one step"), answer="x", correct=False)) == (
        "TraceView: 1 step, answer 'x' (wrong), no logprobs")
    assert repr(TraceView(_text(""))) == "TraceView: 0 steps, no answer, no logprobs"


# -- TraceList -----------------------------------------------------------------------------------


def _samples() -> list[Completion]:
    return [_cot(), _text("First 2+3=6.\nSo 6."), _text("I do not know."), _cot()]


def test_trace_list_payloads_and_selected() -> None:
    cs = _samples()
    w = TraceList(cs, ["5", "6", None, "5"], "5", [True, False, None, True], title="k = 4")
    assert w.title == "k = 4"
    assert w.selected == -1
    assert len(w.traces) == 4
    for i, (t, c) in enumerate(zip(w.traces, cs, strict=True)):
        assert t == trace_payload(c, answer=t["answer"], gold="5", correct=t["correct"],
                                  title=f"Sample {i + 1}")
    assert [t["gold"] for t in w.traces] == ["5"] * 4
    assert [t["correct"] for t in w.traces] == [True, False, None, True]
    w.selected = 2
    assert w.selected == 2
    assert repr(w) == "TraceList: 4 traces, 2 correct, 1 wrong, 1 no answer; answers '5'×2, '6'×1"


def test_trace_list_per_item_golds_and_no_flags() -> None:
    cs = _samples()[:2]
    w = TraceList(cs, ["5", "6"], ["5", None], None)
    assert [t["gold"] for t in w.traces] == ["5", None]
    assert [t["correct"] for t in w.traces] == [None, None]
    assert "2 not graded" in repr(w)
    assert repr(TraceList([], [], None, [])) == "TraceList: 0 traces"


def test_trace_list_checks_lengths() -> None:
    cs = _samples()
    with pytest.raises(ValueError, match="answers"):
        TraceList(cs, ["5"], "5", [True] * 4)
    with pytest.raises(ValueError, match="correct_flags"):
        TraceList(cs, ["5"] * 4, "5", [True])
    with pytest.raises(ValueError, match="golds"):
        TraceList(cs, ["5"] * 4, ["5", "5"], [True] * 4)
    with pytest.raises(TypeError, match="Completion"):
        TraceList(["text"], ["5"], "5", [True])  # type: ignore[list-item]


# -- the front-end bundle ------------------------------------------------------------------------


def test_frontend_files_and_bundle() -> None:
    folder = frontend_dir()
    for name in ("trace_view.js", "trace_view.css"):
        assert (folder / name).is_file()
    source = (folder / "trace_view.js").read_text()
    assert 'from "./token_view.js"' in source
    esm = TraceView._esm
    assert isinstance(esm, str)
    assert esm == bundle_esm("trace_view.js") == TraceList._esm
    assert not re.search(r"^\s*import\b", esm, flags=re.M)
    assert len(re.findall(r"^export default\b", esm, flags=re.M)) == 1
    assert "inlined from token_view.js" in esm
    assert "innerHTML" not in esm.replace("never through innerHTML", "")
    css = str(TraceView._css)
    assert ".itc-tv-high" in css and ".itc-trace-answer" in css


def test_bundle_is_valid_javascript(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    out = tmp_path / "trace_view.bundle.mjs"
    out.write_text(str(TraceView._esm), encoding="utf-8")
    result = subprocess.run([node, "--check", str(out)], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr


def test_bundler_refuses_unknown_imports(tmp_path: Path) -> None:
    (tmp_path / "a.js").write_text("export function f() {}\nexport default { f };\n")
    (tmp_path / "b.js").write_text('import { f, g } from "./a.js";\nexport default {};\n')
    with pytest.raises(RuntimeError, match="does not export 'g'"):
        bundle_esm("b.js", tmp_path)
    (tmp_path / "c.js").write_text('import { f as h } from "./a.js";\nexport default { h };\n')
    bundled = bundle_esm("c.js", tmp_path)
    assert "const { f: h } = (() => {" in bundled
    assert "return { f };" in bundled


def test_alternatives_reach_the_steps() -> None:
    c = Completion(text="So 5", model="m", backend="b", seed=0,
                   tokens=(Token("So", math.log(0.5), (Alternative("Thus", math.log(0.3)),
                                                       Alternative("So", math.log(0.5)))),
                           Token(" 5", math.log(0.9))))
    (step,) = segment_steps(c)
    assert [a["text"] for a in step["tokens"][0]["top"]] == ["So", "Thus"]


# -- static snapshots (text/html beside the widget view) ---------------------------------------


def _html(widget: object) -> str:
    data, meta = widget._repr_mimebundle_()  # type: ignore[attr-defined]
    assert meta == {"itc_lab": {"figure": type(widget).__name__}}
    assert WIDGET_MIME in data
    return str(data["text/html"])


def test_trace_view_static_snapshot_numbers_the_steps_and_escapes() -> None:
    html = _html(TraceView(_cot(), answer=XSS, gold="5", correct=False, title=XSS))
    assert html.startswith('<div class="itc-static itc-static-traceview"')
    assert "<script>" not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 2  # title and answer
    assert '<li value="1">' in html and '<li value="2">' in html
    assert "✗ wrong" in html and "gold <code" in html and ">5</code>" in html
    assert html.count('class="itc-static-tok ') == len(_cot().tokens)
    assert "✓ correct" in _html(TraceView(_cot(), answer="5", gold="5", correct=True))
    assert "no answer" in _html(TraceView(_text("")))


def test_trace_list_static_snapshot_has_one_foldable_line_per_trace() -> None:
    completions = [_cot(), _text(f"So {XSS}."), _text("First 1.\nSo 2.")]
    w = TraceList(completions, ["5", XSS, None], "5", [True, False, None], title="<k>")
    html = _html(w)
    assert html.startswith('<div class="itc-static itc-static-tracelist"')
    assert html.count("<details") == 3 and "<script>" not in html and "<k>" not in html
    assert "Sample 1" in html and "Sample 3" in html and "&lt;k&gt;" in html
    assert "✓ correct" in html and "✗ wrong" in html and "no answer" in html
    assert "So &lt;script&gt;alert(1)&lt;/script&gt;." in html
    many = TraceList([_text(f"So {i}.") for i in range(30)], [str(i) for i in range(30)],
                     None, None)
    html = _html(many)
    assert html.count("<details") == 24 and "6 more traces" in html
