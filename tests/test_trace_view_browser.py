"""The reasoning-trace widgets' ES module rendered in headless Chromium (Playwright).

As in test_widgets_browser.py: the page gets its files through Playwright's request routing (no
server, no network) and calls the default export's ``render({model, el})`` with a small fake of
anywidget's front-end model. The module under test is ``TraceView._esm``, the bundle the notebook
gets (trace_view.js with token_view.js inlined); one test also loads the unbundled source files.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest

from itc_lab.analysis.tokens import confidence_band
from itc_lab.types import Alternative, Completion, Token
from itc_lab.views.base import frontend_dir
from itc_lab.views.trace_view import TraceList, TraceView

from .browser_support import ARTIFACTS, IMG_XSS, SCRIPT_XSS, open_page, widget_page

pytestmark = pytest.mark.browser

TRACE_TRAITS = ("steps", "answer", "gold", "correct", "title", "model", "note")

PAGE = widget_page("itc-lab trace view", {"trace": "/trace_bundle.js"}, css=("/trace.css",))


def _cot(answer_tokens: tuple[str, ...] = (" 10",)) -> Completion:
    L = math.log
    pieces: list[tuple[str, float, tuple[Alternative, ...]]] = [
        ("First", 0.93, ()), (",", 0.8, ()), (" 2", 0.55, ()), (" +", 0.9, ()), (" 3", 0.85, ()),
        (" =", 0.97, ()), (" 5", 0.2, (Alternative(" 6", L(0.5)), Alternative(" 5", L(0.2)))),
        (".", 0.95, ()), ("\n", 0.9, ()),
        ("Then", 0.6, ()), (" 5", 0.8, ()), (" *", 0.7, ()), (" 2", 0.9, ()), (" =", 0.99, ()),
        (" 10", 0.45, (Alternative(" 10", L(0.45)), Alternative(" 12", L(0.3)))), (".", 0.9, ()),
        (" So", 0.5, ()), (" the", 0.9, ()), (" answer", 0.85, ()), (" is", 0.95, ()),
    ]
    pieces += [(t, 0.75, ()) for t in answer_tokens]
    pieces += [(".", 0.99, ())]
    tokens = tuple(Token(t, L(p), top) for t, p, top in pieces)
    return Completion(text="".join(t.text for t in tokens), model="smollm2:135m",
                      backend="ollama", seed=0, tokens=tokens)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    folder = frontend_dir()
    files = {
        "/trace_bundle.js": ("text/javascript", lambda: str(TraceView._esm)),
        "/trace.css": ("text/css", lambda: str(TraceView._css)),
        # The unbundled sources, for the test of the development setup.
        "/trace_view.js": ("text/javascript",
                           lambda: (folder / "trace_view.js").read_text("utf-8")),
        "/token_view.js": ("text/javascript",
                           lambda: (folder / "token_view.js").read_text("utf-8")),
    }
    yield from open_page(browser, PAGE, files, {"width": 760, "height": 700})


def _mount(page: Any, data: dict[str, Any], module: str | None = None) -> None:
    page.evaluate("([data, module]) => window.__mount('trace', data, module)", [data, module])


def _mount_view(page: Any, widget: TraceView, module: str | None = None) -> None:
    _mount(page, {n: getattr(widget, n) for n in TRACE_TRAITS}, module)


def _tooltip_text(page: Any) -> str:
    tip = page.locator(".itc-tv-tip")
    tip.wait_for(state="visible")
    return str(tip.inner_text())


def _assert_safe(page: Any) -> None:
    assert page.locator("img").count() == 0
    assert page.locator("body script").count() == 1  # only the page's own module script
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert "/x" not in page.requests


def test_trace_view_renders_steps_colours_answer_and_badge(page: Any) -> None:
    completion = _cot()
    widget = TraceView(completion, answer="10", gold="10", correct=True, title="2 + 3, doubled")
    assert len(widget.steps) == 3
    _mount_view(page, widget)

    steps = page.locator(".itc-trace-step")
    assert steps.count() == len(widget.steps)
    assert page.locator(".itc-trace-num").all_text_contents() == ["1", "2", "3"]
    assert steps.evaluate_all("els => els.map(e => e.dataset.step)") == ["1", "2", "3"]
    # Every token, in order, each in its step, with TokenView's bands.
    spans = page.locator(".itc-tv-tok")
    assert spans.count() == len(completion.tokens)
    rows = [row for step in widget.steps for row in step["tokens"]]
    assert spans.evaluate_all("els => els.map(e => e.dataset.band)") == [
        confidence_band(r["prob"]) for r in rows]
    for k, step in enumerate(widget.steps):
        inside = steps.nth(k).locator(".itc-tv-tok")
        assert inside.count() == len(step["tokens"])
    assert spans.nth(0).text_content() == "First"
    assert spans.nth(8).text_content() == "\u21b5"  # the step's closing newline: mark only
    legend = page.locator(".itc-tv-legend").inner_text()
    assert "p < 0.3" in legend and "p \u2265 0.7" in legend
    chips = page.locator(".itc-trace-chip")
    assert chips.count() == 3
    assert chips.nth(0).text_content() == f"{widget.steps[0]['mean_prob']:.3f}"

    # The answer: its last occurrence is boxed (" 10" of "the answer is 10", not "= 10").
    marks = page.locator("mark.itc-trace-answer")
    assert marks.count() == 1
    assert marks.text_content() == "10"
    owner = marks.evaluate("m => Number(m.closest('.itc-tv-tok').dataset.index)")
    assert owner == len(completion.tokens) - 2
    assert "itc-trace-answer-start" in marks.get_attribute("class")
    assert "itc-trace-answer-end" in marks.get_attribute("class")
    assert steps.nth(2).get_attribute("class").split().count("itc-trace-step-final") == 1
    assert page.locator(".itc-trace-step-final").count() == 1

    badge = page.locator(".itc-trace-badge")
    assert badge.text_content() == "correct"
    assert "itc-trace-correct" in badge.get_attribute("class")
    assert page.locator(".itc-trace-gold").count() == 0  # gold only when not correct
    header = page.locator(".itc-tv-header").inner_text()
    assert "2 + 3, doubled" in header and "smollm2:135m" in header and "3 steps" in header

    # Hover and keyboard give TokenView's details, across steps.
    spans.nth(6).hover()
    tip = _tooltip_text(page)
    assert '" 5"' in tip and "p = 0.200" in tip and '" 6"' in tip
    page.mouse.move(5, 690)
    page.locator(".itc-tv-tip").wait_for(state="hidden")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.index") == "0"
    page.keyboard.press("End")
    assert page.evaluate("document.activeElement.dataset.index") == str(spans.count() - 1)
    page.keyboard.press("ArrowLeft")
    tip = _tooltip_text(page)
    assert '" 10"' in tip and "p = 0.750" in tip  # the boxed answer token keeps its details
    assert page.locator(".itc-tv-tok[tabindex='0']").count() == 1
    page.keyboard.press("Escape")
    page.locator(".itc-tv-tip").wait_for(state="hidden")

    ARTIFACTS.mkdir(exist_ok=True)
    page.evaluate("() => document.activeElement.blur()")
    spans.nth(18).hover()  # " answer", in the last step: the tooltip leaves the box visible
    _tooltip_text(page)
    shot = ARTIFACTS / "trace_view.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 1000
    assert page.errors == []


def test_wrong_answer_over_several_tokens_shows_gold(page: Any) -> None:
    # The answer "nk" is spread over two tokens; an earlier "nk" in the text is not boxed.
    completion = _cot(answer_tokens=(" n", "k"))
    text = completion.text.replace("First", "First nk")
    completion = Completion(text=text, model="m", backend="b", seed=0,
                            tokens=(Token("First nk", -0.1), *completion.tokens[1:]))
    widget = TraceView(completion, answer="nk", gold="10", correct=False)
    _mount_view(page, widget)
    marks = page.locator("mark.itc-trace-answer")
    assert marks.count() == 2
    assert "".join(marks.all_text_contents()) == "nk"
    classes = [c.split() for c in marks.evaluate_all("els => els.map(e => e.className)")]
    assert "itc-trace-answer-start" in classes[0] and "itc-trace-answer-end" not in classes[0]
    assert "itc-trace-answer-end" in classes[1] and "itc-trace-answer-start" not in classes[1]
    owners = marks.evaluate_all("els => els.map(m => m.closest('.itc-tv-tok').textContent)")
    assert owners == [" n", "k"]
    assert page.locator(".itc-trace-badge").text_content() == "wrong"
    assert page.locator(".itc-trace-given").text_content() == "nk"
    assert page.locator(".itc-trace-gold").text_content() == "10"
    assert page.errors == []


def test_no_answer_and_not_graded_badges(page: Any) -> None:
    _mount_view(page, TraceView(_cot(), gold="10", correct=False))
    assert page.locator(".itc-trace-badge").text_content() == "no answer"
    assert page.locator("mark").count() == 0
    assert page.locator(".itc-trace-gold").text_content() == "10"
    page.evaluate("() => window.__mounted.update('answer', '42')")
    assert page.locator(".itc-trace-badge").text_content() == "wrong"
    assert "not found in the text" in page.locator(".itc-trace-verdict").inner_text()
    page.evaluate("() => { window.__mounted.data.correct = null; "
                  "window.__mounted.update('answer', '5'); }")
    assert page.locator(".itc-trace-badge").text_content() == "not graded"
    assert page.locator("mark.itc-trace-answer").count() == 1
    assert page.errors == []


def test_markup_in_model_text_is_rendered_literally(page: Any) -> None:
    tokens = (Token(IMG_XSS, -0.2), Token("\n", -0.1), Token("So", -0.3),
              Token(" " + SCRIPT_XSS, -2.0), Token(".", -0.1))
    completion = Completion(text="".join(t.text for t in tokens), model=SCRIPT_XSS,
                            backend="b", seed=0, tokens=tokens)
    widget = TraceView(completion, answer=SCRIPT_XSS, gold=IMG_XSS, correct=False,
                       title=IMG_XSS)
    _mount_view(page, widget)
    spans = page.locator(".itc-tv-tok")
    assert spans.nth(0).text_content() == IMG_XSS
    assert spans.nth(3).text_content() == " " + SCRIPT_XSS
    assert page.locator("mark.itc-trace-answer").text_content() == SCRIPT_XSS
    assert page.locator(".itc-trace-gold").text_content() == IMG_XSS
    assert page.locator(".itc-tv-title").text_content() == IMG_XSS
    assert page.locator(".itc-tv-model").text_content() == SCRIPT_XSS
    spans.nth(0).hover()
    assert IMG_XSS in _tooltip_text(page)
    _assert_safe(page)

    # The same without logprobs: plain steps, still text only.
    plain = Completion(text=completion.text, model="m", backend="b", seed=0)
    page.evaluate("() => window.__mounted.cleanup()")
    _mount_view(page, TraceView(plain, answer=SCRIPT_XSS, correct=True))
    assert page.locator(".itc-tv-tok").count() == 0
    assert page.locator(".itc-tv-legend").count() == 0
    texts = page.locator(".itc-trace-text").all_text_contents()
    assert texts == [IMG_XSS, "So " + SCRIPT_XSS + "."]  # the closing line break is not drawn
    assert page.locator("mark.itc-trace-answer").text_content() == SCRIPT_XSS
    assert "no logprobs" in page.locator(".itc-tv-note").text_content()
    _assert_safe(page)
    assert page.errors == []


def test_empty_completion_and_cleanup(page: Any) -> None:
    _mount_view(page, TraceView(Completion(text="", model="m", backend="b", seed=0)))
    assert page.locator(".itc-trace-step").count() == 0
    assert "empty" in page.locator(".itc-trace-empty").text_content()
    assert page.locator(".itc-trace-badge").text_content() == "no answer"
    page.evaluate("rows => window.__mounted.update('steps', rows)", TraceView(_cot()).steps)
    assert page.locator(".itc-trace-step").count() == 3
    page.evaluate("() => window.__mounted.cleanup()")
    assert page.locator(".itc-tv").count() == 0
    assert page.evaluate(
        "() => Object.values(window.__mounted.listeners).every(l => l.length === 0)")
    assert page.errors == []


def test_trace_list_collapses_expands_and_syncs_selected(page: Any) -> None:
    wrong = Completion(text="First 2+3=6.\nSo the answer is 6.", model="m", backend="b", seed=1)
    none = Completion(text=f"I am not sure {IMG_XSS}", model="m", backend="b", seed=2)
    widget = TraceList([_cot(), wrong, none, _cot()], ["10", "6", None, "10"], "10",
                       [True, False, None, True], title="Self-consistency, k = 4")
    _mount(page, {"traces": widget.traces, "title": widget.title, "selected": widget.selected})

    rows = page.locator(".itc-trace-row")
    assert rows.count() == 4
    assert page.locator(".itc-trace-mark").all_text_contents() == ["\u2713", "\u2717", "\u2013",
                                                                   "\u2713"]
    assert page.locator(".itc-trace-sr").all_text_contents() == ["correct", "wrong", "no answer",
                                                                 "correct"]
    assert rows.nth(1).locator(".itc-trace-given").text_content() == "6"
    assert "no answer" in rows.nth(2).inner_text()
    header = page.locator(".itc-tv-header").first.inner_text()
    assert "Self-consistency, k = 4" in header and "4 traces" in header
    assert "2 correct" in header and "1 wrong" in header and "1 no answer" in header
    tally = page.locator(".itc-trace-tally").inner_text()
    assert "10" in tally and "\u00d72" in tally and "gold" in tally
    # Collapsed: no trace drawn yet.
    assert page.locator(".itc-trace-step").count() == 0
    assert page.locator(".itc-trace-detail:visible").count() == 0

    heads = page.locator(".itc-trace-row-head")
    heads.nth(1).click()
    assert page.evaluate("window.__mounted.data.selected") == 1
    assert page.evaluate("window.__mounted.sets") == [["selected", 1], ["save"]]
    assert heads.nth(1).get_attribute("aria-expanded") == "true"
    detail = rows.nth(1).locator(".itc-trace-detail")
    assert detail.is_visible()
    assert detail.locator(".itc-trace-step").count() == 2
    assert detail.locator(".itc-trace-badge").text_content() == "wrong"
    assert detail.locator("mark.itc-trace-answer").text_content() == "6"

    # Another one: the first collapses (one open at a time); keyboard works too.
    heads.nth(0).focus()
    page.keyboard.press("Enter")
    assert page.evaluate("window.__mounted.data.selected") == 0
    assert not detail.is_visible()
    assert rows.nth(0).locator(".itc-trace-step").count() == 3
    assert rows.nth(0).locator(".itc-tv-tok").count() == len(_cot().tokens)
    rows.nth(0).locator(".itc-tv-tok").nth(6).hover()
    assert "p = 0.200" in _tooltip_text(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "trace_list.png"), full_page=True)
    heads.nth(0).click()
    assert page.evaluate("window.__mounted.data.selected") == -1
    assert page.locator(".itc-trace-detail:visible").count() == 0

    # Python sets `selected`: the view follows, keeping the rows (and the focus) in place.
    heads.nth(3).focus()
    page.evaluate("() => window.__mounted.update('selected', 2)")
    assert rows.nth(2).locator(".itc-trace-detail").is_visible()
    assert rows.nth(2).locator(".itc-trace-badge").text_content() == "no answer"
    assert page.evaluate("document.activeElement.textContent").startswith("\u25b8#4")
    _assert_safe(page)
    page.evaluate("() => window.__mounted.cleanup()")
    assert page.locator(".itc-tv").count() == 0
    assert page.evaluate(
        "() => Object.values(window.__mounted.listeners).every(l => l.length === 0)")
    assert page.errors == []


def test_unbundled_sources_load_too(page: Any) -> None:
    widget = TraceView(_cot(), answer="10", gold="10", correct=True)
    _mount_view(page, widget, module="/trace_view.js")
    assert "/token_view.js" in page.requests
    assert page.locator(".itc-trace-step").count() == 3
    assert page.locator("mark.itc-trace-answer").count() == 1
    assert page.errors == []
