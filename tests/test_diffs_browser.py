"""The DiffView ES module rendered in headless Chromium (Playwright), with a small fake of
anywidget's front-end model, as in test_trace_view_browser.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from itc_lab.views.diff_view import DiffView

from .browser_support import ARTIFACTS, IMG_XSS, open_page, widget_page

pytestmark = pytest.mark.browser

TRAITS = ("rounds", "current", "mode", "title")
SCRIPT_ALERT = "<script>alert(1)</script>"

PAGE = widget_page("itc-lab diff view", {"diff": "/diff_view.js"}, css=("/diff_view.css",))


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    files = {
        "/diff_view.js": ("text/javascript", lambda: str(DiffView._esm)),
        "/diff_view.css": ("text/css", lambda: str(DiffView._css)),
    }
    yield from open_page(browser, PAGE, files, {"width": 760, "height": 600})


def _mount(page: Any, view: DiffView) -> None:
    page.evaluate("(data) => window.__mount('diff', data)", {n: getattr(view, n) for n in TRAITS})


def _texts(page: Any, selector: str) -> list[str]:
    return [str(t) for t in page.locator(selector).all_text_contents()]


def _view() -> DiffView:
    drafts = ["The cat sat on the mat.", "The dog sat on the red mat.",
              "The dog sat on the red mat today."]
    return DiffView(drafts, ["Use a dog.", "Say when."], [0.4, 0.6, 0.8], title="Refine")


def test_inline_side_and_navigation(page: Any) -> None:
    _mount(page, _view())
    assert page.locator(".itc-dv-label").inner_text() == "round 1 of 2"
    assert page.locator(".itc-dv-feedback-text").inner_text() == "Use a dog."
    assert _texts(page, "del.itc-dv-del") == ["cat"]
    assert _texts(page, "ins.itc-dv-ins") == ["dog", "red "]
    assert page.locator(".itc-dv-inline").text_content() == "The catdog sat on the red mat."
    badge = page.locator(".itc-dv-score")
    assert "0.40 → 0.60" in badge.inner_text()
    assert "itc-dv-score-up" in (badge.get_attribute("class") or "")
    assert page.locator(".itc-dv-prev").is_disabled()

    page.locator(".itc-dv-mode").click()
    assert page.evaluate("window.__mounted.data.mode") == "side"
    assert page.locator(".itc-dv-side").count() == 1
    assert page.locator(".itc-dv-before .itc-dv-text").text_content() == (
        "The cat sat on the mat.")
    assert page.locator(".itc-dv-after .itc-dv-text").text_content() == (
        "The dog sat on the red mat.")
    assert _texts(page, ".itc-dv-before del") == ["cat"]
    assert page.locator(".itc-dv-before ins").count() == 0
    assert page.locator(".itc-dv-after del").count() == 0

    page.locator(".itc-dv-next").click()
    assert page.evaluate("window.__mounted.data.current") == 1
    assert page.locator(".itc-dv-label").inner_text() == "round 2 of 2"
    assert page.locator(".itc-dv-feedback-text").inner_text() == "Say when."
    assert _texts(page, ".itc-dv-after ins") == [" today"]
    assert page.locator(".itc-dv-next").is_disabled()

    # A change from Python re-renders.
    page.evaluate("() => window.__mounted.update('mode', 'inline')")
    page.evaluate("() => window.__mounted.update('current', 0)")
    assert page.locator(".itc-dv-label").inner_text() == "round 1 of 2"
    assert page.locator(".itc-dv-inline").count() == 1
    assert page.errors == []


def test_model_text_is_never_markup(page: Any) -> None:
    drafts = [f"Safe {SCRIPT_ALERT} start", f"Safe {IMG_XSS} end {SCRIPT_ALERT}"]
    view = DiffView(drafts, [f"Fix {IMG_XSS} and {SCRIPT_ALERT}"], [0.2, 0.1],
                    title=IMG_XSS)
    _mount(page, view)
    page.wait_for_timeout(100)
    assert page.locator(".itc-dv-feedback-text").inner_text() == (
        f"Fix {IMG_XSS} and {SCRIPT_ALERT}")
    assert page.locator(".itc-dv-title").inner_text() == IMG_XSS
    assert page.locator(".itc-dv-inline").text_content() == "".join(
        o["text"] for o in view.rounds[0]["ops"])
    assert IMG_XSS in "".join(_texts(page, "ins.itc-dv-ins"))
    page.locator(".itc-dv-mode").click()
    assert page.locator(".itc-dv-after .itc-dv-text").text_content() == drafts[1]
    assert "itc-dv-score-down" in (page.locator(".itc-dv-score").get_attribute("class") or "")
    page.wait_for_timeout(100)
    assert page.locator("img").count() == 0
    assert page.locator("script").count() == 1  # only the page's own module script
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert "/x" not in page.requests
    assert page.errors == []


def test_screenshot(page: Any) -> None:
    _mount(page, _view())
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(".itc-dv").screenshot(path=str(ARTIFACTS / "diff_view.png"))
    assert (ARTIFACTS / "diff_view.png").stat().st_size > 1000
    assert page.errors == []
