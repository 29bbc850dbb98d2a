"""The growing search tree in headless Chromium: widgets/tree_view.js fed "grow" messages.

Same harness as test_trees_browser.py; the messages are the ones a TreeView sends while a real
search (itc_lab.search.bfs on a toy problem) reports to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from itc_lab.search import Proposal, bfs
from itc_lab.views.base import frontend_dir
from itc_lab.views.tree_view import TreeView

from .browser_support import ARTIFACTS, open_page, widget_page
from .test_search import Digits

pytestmark = pytest.mark.browser

PAGE = widget_page("itc-lab growing tree", {"tree": "/tree_view.js"}, css=("/tree_view.css",),
                   width=980)
XSS = "<img src=x onerror=window.__pwned=1>"


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    folder = frontend_dir()
    files = {f"/{name}": ("text/javascript" if name.endswith(".js") else "text/css",
                          lambda name=name: (folder / name).read_text(encoding="utf-8"))
             for name in ("tree_view.js", "tree_view.css")}
    yield from open_page(browser, PAGE, files, {"width": 1020, "height": 720})


class Hostile(Digits):
    def propose(self, state: str, node_id: int) -> list[Proposal]:
        return [Proposal(p.state, f"{p.step} {XSS}", p.tokens, p.text)
                for p in super().propose(state, node_id)]


def _grow(problem: Digits, **search: Any) -> tuple[TreeView, list[dict[str, Any]]]:
    """A TreeView grown by a real search, every report sent at once; the messages it sent."""
    view = TreeView()
    view.SEND_EVERY_S = 0.0
    sent: list[dict[str, Any]] = []
    view.send = sent.append
    start = dict(view.payload)
    bfs(problem, on_progress=view.grow, **search)
    view.start = start  # type: ignore[attr-defined]
    return view, sent


def _mount(page: Any, payload: dict[str, Any]) -> None:
    page.evaluate("data => window.__mount('tree', data)",
                  {"payload": payload, "selected": -1, "step": 0})


def _send(page: Any, message: dict[str, Any]) -> None:
    page.evaluate("m => window.__mounted.listeners['msg:custom'].forEach(cb => cb(m))", message)


def _count(page: Any) -> int:
    return int(page.locator(".itc-tr-header").get_attribute("data-count") or -1)


def test_the_tree_grows_message_by_message_then_becomes_the_final_tree(page: Any) -> None:
    view, sent = _grow(Hostile(width=3), beam_width=2, max_depth=4)
    _mount(page, view.start)
    header = page.locator(".itc-tr-header")
    assert "searching…" in header.inner_text() and _count(page) == 0
    seen = []
    for message in sent:
        _send(page, message)
        want = message["meta"]["count"]
        page.wait_for_function(f"() => document.querySelector('.itc-tr-header')"
                               f".dataset.count === '{want}'", timeout=5000)
        seen.append(_count(page))
        if len(seen) == 3:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "live_tree_growing.png"), full_page=True)
    assert seen == sorted(seen) and len(set(seen)) >= 4
    # new rows flash; what the search spent is in the header as it goes
    assert page.locator(".itc-tr-row.itc-tr-fresh").count() >= 1
    assert "spent" in header.inner_text()
    # model text stays text
    assert page.locator(".itc-tr img").count() == 0
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert XSS in page.locator(".itc-tr-step").first.text_content() or any(
        XSS in t for t in page.locator(".itc-tr-step").all_text_contents())
    # the end: the whole payload arrives once, and the view is the static tree view
    # (Python sets payload, step and selected in one message)
    page.evaluate("([p, s, sel]) => { window.__mounted.data.step = s;"
                  " window.__mounted.data.selected = sel;"
                  " window.__mounted.update('payload', p); }",
                  [view.payload, view.step, view.selected])
    assert page.locator(".itc-tr-pos").inner_text().endswith(
        f"{view.payload['count']} of {view.payload['count']} nodes")
    assert "searching…" not in header.inner_text()
    assert f"{view.payload['count']} nodes" in header.inner_text()
    assert _count(page) == view.payload["count"]
    page.screenshot(path=str(ARTIFACTS / "live_tree_final.png"), full_page=True)
    assert page.errors == []


def test_a_node_the_reader_closed_stays_closed_while_the_tree_grows(page: Any) -> None:
    view, sent = _grow(Digits(width=3), beam_width=3, max_depth=3)
    _mount(page, view.start)
    half = len(sent) // 2
    for message in sent[:half]:
        _send(page, message)
    page.wait_for_function(f"() => document.querySelector('.itc-tr-header').dataset.count === "
                           f"'{sent[half - 1]['meta']['count']}'", timeout=5000)
    opened = page.locator(".itc-tr-row[aria-expanded='true']")
    assert opened.count() >= 2
    closed_id = int(opened.nth(1).get_attribute("data-id") or -1)
    page.locator(f".itc-tr-row[data-id='{closed_id}'] .itc-tr-toggle").click()
    for message in sent[half:]:
        _send(page, message)
    page.wait_for_function(f"() => document.querySelector('.itc-tr-header').dataset.count === "
                           f"'{sent[-1]['meta']['count']}'", timeout=5000)
    row = page.locator(f".itc-tr-row[data-id='{closed_id}']")
    assert row.get_attribute("aria-expanded") == "false"
    assert page.errors == []


def test_a_burst_of_messages_is_drawn_a_few_times_not_once_per_message(page: Any) -> None:
    view, sent = _grow(Digits(target="9999", width=8, dead_after=6), beam_width=30,
                       max_depth=4)
    assert view.payload["count"] > 500 and len(sent) > 100
    _mount(page, view.start)
    before = int(page.locator(".itc-tr").get_attribute("data-draws") or 0)
    page.evaluate("ms => ms.forEach(m => window.__mounted.listeners['msg:custom']"
                  ".forEach(cb => cb(m)))", sent)
    want = sent[-1]["meta"]["count"]
    page.wait_for_function(f"() => document.querySelector('.itc-tr-header').dataset.count === "
                           f"'{want}'", timeout=10000)
    draws = int(page.locator(".itc-tr").get_attribute("data-draws") or 0) - before
    assert 1 <= draws <= 3, (draws, len(sent))
    assert page.errors == []
