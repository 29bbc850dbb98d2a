"""The widgets' real ES modules rendered in headless Chromium (Playwright, system browser).

The page gets the files from ``widgets/`` through Playwright's request routing (no server, no
network) and calls the default export's ``render({model, el})`` with a small fake of anywidget's
front-end model (``get``, ``set``, ``on``, ``off``, ``save_changes``), fed with the Python traits.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest

from itc_lab.analysis.tokens import confidence_band
from itc_lab.types import Alternative, Completion, CostModel, Token, Usage
from itc_lab.views.base import frontend_dir
from itc_lab.views.token_view import TokenView
from itc_lab.views.usage_view import UsageView

from .browser_support import ARTIFACTS, IMG_XSS, SCRIPT_XSS, open_page, widget_page

pytestmark = pytest.mark.browser


PAGE = widget_page("itc-lab widgets", {"token": "/token_view.js", "usage": "/usage_view.js"},
                   css=("/token_view.css",),
                   extra_js=('  import * as tokenAll from "/token_view.js";\n'
                             "  window.__band = tokenAll.band;"))


def _completion() -> Completion:
    L = math.log
    tokens = (
        Token("The", L(0.92), (Alternative("The", L(0.92)), Alternative("A", L(0.05)))),
        Token(" capital", L(0.55), (Alternative(" capital", L(0.55)),
                                    Alternative(" city", L(0.3)),
                                    Alternative(" answer", L(0.08)))),
        Token(" is", L(0.3), (Alternative(" was", L(0.45)), Alternative(" is", L(0.3)))),
        Token(" Paris", L(0.12), (Alternative(" Lyon", L(0.6)), Alternative(" Paris", L(0.12)),
                                  Alternative(" Nice", L(0.0004)))),
        Token(IMG_XSS, L(0.7)),
        Token(SCRIPT_XSS, L(0.02)),
        Token("\n", L(0.81)),
        Token("Done.", L(0.99)),
    )
    return Completion(text="".join(t.text for t in tokens), model="smollm2:135m",
                      backend="ollama", seed=0, tokens=tokens, prompt_tokens=9,
                      completion_tokens=len(tokens), latency_s=0.4)


def _traits(widget: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {n: getattr(widget, n) for n in names}


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    folder = frontend_dir()
    files = {f"/{name}": ("text/javascript" if name.endswith(".js") else "text/css",
                          lambda name=name: (folder / name).read_text(encoding="utf-8"))
             for name in ("token_view.js", "usage_view.js", "token_view.css")}
    yield from open_page(browser, PAGE, files, {"width": 760, "height": 620})


def _mount_token_view(page: Any, widget: TokenView) -> None:
    data = _traits(widget, ("tokens", "title", "model", "note", "text"))
    page.evaluate("([kind, data]) => window.__mount(kind, data)", ["token", data])


def _tooltip_text(page: Any) -> str:
    tip = page.locator(".itc-tv-tip")
    tip.wait_for(state="visible")
    return str(tip.inner_text())


def test_token_view_renders_tokens_bands_and_alternatives(page: Any) -> None:
    completion = _completion()
    widget = TokenView(completion, title="Where is the capital?")
    _mount_token_view(page, widget)

    spans = page.locator(".itc-tv-tok")
    assert spans.count() == len(completion.tokens)
    bands = spans.evaluate_all("els => els.map(e => e.dataset.band)")
    classes = spans.evaluate_all("els => els.map(e => e.className)")
    expected = [confidence_band(row["prob"]) for row in widget.tokens]
    assert bands == expected
    assert "low" in expected and "medium" in expected and "high" in expected
    for cls, band in zip(classes, expected, strict=True):
        assert f"itc-tv-{band}" in cls.split()
    # The JS thresholds are the Python ones, including the edges.
    for p in (0.0, 0.2999, 0.3, 0.5, 0.6999, 0.7, 1.0):
        assert page.evaluate("p => window.__band(p)", p) == confidence_band(p)
    texts = spans.evaluate_all("els => els.map(e => e.textContent)")
    assert texts[:6] == [t.text for t in completion.tokens[:6]]
    assert texts[6] == "\u21b5\n"  # a newline token shows a visible mark, then breaks the line

    # Legend and header.
    legend = page.locator(".itc-tv-legend").inner_text()
    assert "p < 0.3" in legend and "p \u2265 0.7" in legend
    header = page.locator(".itc-tv-header").inner_text()
    assert "Where is the capital?" in header and "smollm2:135m" in header
    assert "8 tokens" in header

    # Hover: the tooltip shows the token's probability and its alternatives.
    spans.nth(3).hover()
    tip = _tooltip_text(page)
    assert '" Paris"' in tip and "p = 0.120" in tip
    rows = page.locator(".itc-tv-alt")
    assert rows.count() == 3
    alts = rows.evaluate_all(
        "els => els.map(e => [e.querySelector('.itc-tv-alt-text').textContent,"
        " e.querySelector('.itc-tv-alt-p').textContent])")
    assert alts == [['" Lyon"', "0.600"], ['" Paris" \u2190', "0.120"], ['" Nice"', "4.0e-4"]]
    assert page.locator(".itc-tv-chosen").count() == 1
    page.mouse.move(5, 600)
    page.locator(".itc-tv-tip").wait_for(state="hidden")

    # Keyboard: Tab focuses the first token, arrows move, the tooltip follows.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.index") == "0"
    assert '"The"' in _tooltip_text(page)
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.dataset.index") == "1"
    tip = _tooltip_text(page)
    assert '" capital"' in tip and '" city"' in tip and "0.300" in tip
    assert page.locator(".itc-tv-tok[tabindex='0']").count() == 1
    page.keyboard.press("Escape")
    page.locator(".itc-tv-tip").wait_for(state="hidden")

    ARTIFACTS.mkdir(exist_ok=True)
    spans.nth(1).hover()
    _tooltip_text(page)
    shot = ARTIFACTS / "token_view.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 1000
    assert page.errors == []


def test_token_view_keeps_markup_as_text(page: Any) -> None:
    completion = _completion()
    _mount_token_view(page, TokenView(completion))
    spans = page.locator(".itc-tv-tok")
    assert spans.nth(4).text_content() == IMG_XSS
    assert spans.nth(5).text_content() == SCRIPT_XSS
    root = page.locator(".itc-tv")
    assert root.locator("img").count() == 0
    assert root.locator("script").count() == 0
    assert page.locator("img").count() == 0
    assert page.evaluate("typeof window.__pwned") == "undefined"
    # Hovering the markup tokens builds the tooltip from text nodes too.
    spans.nth(4).hover()
    assert IMG_XSS in _tooltip_text(page)
    spans.nth(5).hover()
    assert "window.__pwned=2" in _tooltip_text(page)
    assert page.locator("img").count() == 0
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert "/x" not in page.requests  # the <img src=x> was never created, so never fetched
    assert page.errors == []


def test_token_view_without_logprobs_shows_plain_text(page: Any) -> None:
    completion = Completion(text=f"plain {IMG_XSS}\nsecond line", model="m", backend="ollama",
                            seed=0)
    widget = TokenView(completion)
    _mount_token_view(page, widget)
    assert page.locator(".itc-tv-tok").count() == 0
    assert page.locator(".itc-tv-legend").count() == 0
    assert page.locator(".itc-tv-plain").text_content() == completion.text
    assert page.locator(".itc-tv-note").text_content() == widget.note
    assert "no logprobs" in widget.note
    assert page.locator("img").count() == 0
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.errors == []


def test_token_view_follows_trait_changes_and_cleans_up(page: Any) -> None:
    widget = TokenView(_completion())
    _mount_token_view(page, widget)
    assert page.locator(".itc-tv-tok").count() == 8
    short = TokenView(Completion(text="ok", model="m", backend="b", seed=0,
                                 tokens=(Token("ok", math.log(0.2)),)))
    page.evaluate("rows => window.__mounted.update('tokens', rows)", short.tokens)
    assert page.locator(".itc-tv-tok").count() == 1
    assert page.locator(".itc-tv-tok").get_attribute("data-band") == "low"
    page.evaluate("() => window.__mounted.cleanup()")
    assert page.locator(".itc-tv").count() == 0
    assert page.evaluate(
        "() => Object.values(window.__mounted.listeners).every(l => l.length === 0)")
    assert page.errors == []


def test_usage_view_renders_the_summary(page: Any) -> None:
    completion = _completion()
    cs = [completion, completion.as_cached()]
    cm = CostModel(prompt_price=0.15, completion_price=0.6, currency="EUR")
    widget = UsageView.of(cs, cost_model=cm)
    usage = Usage.of(cs, cm)
    page.evaluate("([kind, data]) => window.__mount(kind, data)",
                  ["usage", {"summary": widget.summary}])
    terms = page.locator(".itc-uv-grid dt").all_text_contents()
    values = page.locator(".itc-uv-grid dd").all_text_contents()
    shown = dict(zip(terms, values, strict=True))
    assert shown["Calls"] == "2 (1 cached)"
    assert shown["Prompt tokens"] == str(usage.prompt_tokens)
    assert shown["Completion tokens"] == str(usage.completion_tokens)
    assert shown["Total tokens"] == str(usage.total_tokens)
    assert shown["Latency (summed)"] == f"{usage.latency_s:.2f} s (slowest 0.40 s)"
    assert shown["Throughput"] == f"{usage.tokens_per_second:.1f} tokens/s"
    assert shown["Cost"] == f"{usage.cost:.6f} EUR"
    assert shown["Prices"] == "0.15 / 0.60 EUR per 1M prompt / completion tokens"
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(".itc-uv").screenshot(path=str(ARTIFACTS / "usage_view.png"))
    assert page.errors == []



def test_token_tooltip_stays_inside_the_view_so_no_output_area_clips_it(page: Any) -> None:
    """A JupyterLab output area scrolls (clips) what sticks out of a view: the tooltip of the
    last token of a one-line view must stay within the view's own box."""
    page.add_style_tag(content=".mount-token { overflow: hidden; }")  # as an output area would
    completion = _completion()
    _mount_token_view(page, TokenView(completion))
    spans = page.locator(".itc-tv-tok")
    for i in (0, spans.count() - 1):
        spans.nth(i).hover()
        page.locator(".itc-tv-tip").wait_for(state="visible")
        inside = page.evaluate("""() => {
          const root = document.querySelector('.mount-token').getBoundingClientRect();
          const tip = document.querySelector('.itc-tv-tip').getBoundingClientRect();
          return tip.top >= root.top - 0.5 && tip.bottom <= root.bottom + 0.5
              && tip.left >= root.left - 0.5 && tip.right <= root.right + 0.5;
        }""")
        assert inside, f"tooltip of token {i} sticks out of the view"
    page.mouse.move(0, 0)  # leaving gives the view its own height back
    page.locator(".itc-tv-tip").wait_for(state="hidden")
    assert page.evaluate("() => document.querySelector('.itc-tv').style.paddingBottom") == ""
