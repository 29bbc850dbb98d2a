"""The search-tree widget's ES module (widgets/tree_view.js) in headless Chromium.

Same harness as test_widgets_browser.py: the files come through Playwright's request routing and
``render({model, el})`` gets a small fake of anywidget's model, fed with the Python traits.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from itc_lab.views.base import frontend_dir
from itc_lab.views.tree_view import TreeView, visible_ids

from .browser_support import ARTIFACTS, open_page, widget_page
from .test_trees import NASTY, big_tree, small_tree

pytestmark = pytest.mark.browser

PAGE = widget_page("itc-lab tree view", {"tree": "/tree_view.js"}, css=("/tree_view.css",),
                   width=980)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    folder = frontend_dir()
    files = {f"/{name}": ("text/javascript" if name.endswith(".js") else "text/css",
                          lambda name=name: (folder / name).read_text(encoding="utf-8"))
             for name in ("tree_view.js", "tree_view.css")}
    yield from open_page(browser, PAGE, files, {"width": 1020, "height": 720})


def _mount(page: Any, widget: TreeView) -> float:
    data = {"payload": widget.payload, "selected": widget.selected, "step": widget.step}
    return float(page.evaluate("data => window.__mount('tree', data)", data))


def _row(page: Any, node_id: int) -> Any:
    return page.locator(f".itc-tr-row[data-id='{node_id}']")


def _shown_ids(page: Any) -> list[int]:
    return [int(x) for x in page.locator(".itc-tr-row").evaluate_all(
        "els => els.map(e => e.dataset.id)")]


def test_big_tree_renders_lazily_and_click_shows_texts(page: Any) -> None:
    tree = big_tree(2000)
    widget = TreeView(tree, selected=-1)
    ms = _mount(page, widget)
    assert ms < 1500, ms
    rows = page.locator(".itc-tr-row")
    # Only the root's children and the solution path are open: a few dozen rows, not 2,000.
    count = rows.count()
    assert 4 <= count < 60, count
    assert "2000 nodes" in page.locator(".itc-tr-header").inner_text()
    assert page.locator(".itc-tr-empty").inner_text() == "Click a node to see its texts."

    # Open node 1 (closed at first): its three children appear, nothing else is built.
    assert _row(page, 4).count() == 0
    _row(page, 1).locator(".itc-tr-toggle").click()
    assert rows.count() == count + 3
    assert _row(page, 4).count() == 1 and _row(page, 13).count() == 0
    _row(page, 1).locator(".itc-tr-toggle").click()
    assert rows.count() == count

    # Click node 7 (on the solution path, so open): the panel shows its texts, numbers and status.
    node = tree.nodes[7]
    t0 = time.perf_counter()
    _row(page, 7).locator(".itc-tr-step").click()
    assert time.perf_counter() - t0 < 2
    panel = page.locator(".itc-tr-panel")
    assert panel.locator(".itc-tr-title").inner_text().startswith("Node #7 · depth 2")
    assert panel.locator(".itc-tr-proposer").text_content() == node.proposer_text
    assert panel.locator(".itc-tr-evaluator").text_content() == node.evaluator_text
    assert panel.locator(".itc-tr-steptext").text_content() == node.step
    facts = dict(zip(panel.locator("dt").all_text_contents(),
                     panel.locator("dd").all_text_contents(), strict=True))
    assert facts["Value"] == f"{node.value:.3f}"
    assert ("Visits" in facts) == (tree.algorithm == "mcts")  # visits mean nothing to BFS
    if "Visits" in facts:
        assert facts["Visits"] == str(node.visits)
    assert facts["Tokens"] == str(node.tokens)
    below = {7}
    for n in tree.nodes:  # nodes come parents first
        if n.parent in below:
            below.add(n.id)
    assert facts["Tokens in this subtree"] == str(sum(n.tokens for n in tree.nodes
                                                      if n.id in below))
    assert facts["Expansion order"] == "7"
    assert page.evaluate("window.__mounted.data.selected") == 7
    assert ["selected", 7] in page.evaluate("window.__sets")
    assert "itc-tr-selected" in (_row(page, 7).get_attribute("class") or "")

    # The <script> state of node 7 is text, not markup.
    assert panel.locator(".itc-tr-state").text_content() == node.state
    assert "<script>" in node.state
    assert page.locator(".itc-tr script").count() == 0
    assert page.evaluate("typeof window.__pwned") == "undefined"

    # Rows are coloured by value; statuses have badges.
    swatch = _row(page, 7).locator(".itc-tr-swatch").evaluate(
        "e => getComputedStyle(e).backgroundColor")
    assert swatch.startswith("rgb(")
    assert _row(page, 0).locator(".itc-tr-badge-expanded").count() == 1
    assert _row(page, 1999).locator(".itc-tr-badge-solution").count() == 1
    assert "itc-tr-onpath" in (_row(page, 1999).get_attribute("class") or "")

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "tree_view.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 5000
    assert page.errors == []


def test_playback_shows_only_nodes_expanded_so_far(page: Any) -> None:
    tree = big_tree(2000)
    widget = TreeView(tree)
    _mount(page, widget)
    orders = {n.id: n.order for n in tree.nodes}
    pos = page.locator(".itc-tr-pos")
    assert pos.inner_text() == "step 666 / 666 · 2000 of 2000 nodes"

    page.locator(".itc-tr-slider").fill("5")
    assert page.evaluate("window.__mounted.data.step") == 5
    assert pos.inner_text() == "step 5 / 666 · 6 of 2000 nodes"
    shown = _shown_ids(page)
    assert shown and set(shown) <= set(visible_ids(widget.payload, 5))
    assert all(orders[i] is not None and orders[i] <= 5 for i in shown)

    page.locator(".itc-tr-next").click()
    assert page.evaluate("window.__mounted.data.step") == 6
    shown = _shown_ids(page)
    assert 6 in shown and all(orders[i] is not None and orders[i] <= 6 for i in shown)
    assert "itc-tr-new" in (_row(page, 6).get_attribute("class") or "")  # revealed, marked
    page.locator(".itc-tr-prev").click()
    page.locator(".itc-tr-prev").click()
    assert pos.inner_text().startswith("step 4 / 666")
    assert 5 not in _shown_ids(page) and 6 not in _shown_ids(page)

    # A step change from Python (the trait) redraws too.
    page.evaluate("() => window.__mounted.update('step', 0)")
    assert _shown_ids(page) == [0]

    # Play advances on its own, then pause stops it.
    page.locator(".itc-tr-play").click()
    page.wait_for_function("window.__mounted.data.step >= 2", timeout=5000)
    page.locator(".itc-tr-play").click()
    stopped = page.evaluate("window.__mounted.data.step")
    page.wait_for_timeout(700)
    assert page.evaluate("window.__mounted.data.step") == stopped
    assert page.errors == []


def test_small_tree_leaves_appear_with_their_parent_and_markup_is_text(page: Any) -> None:
    tree = small_tree()
    widget = TreeView(tree, step=0)
    _mount(page, widget)
    assert _shown_ids(page) == visible_ids(widget.payload, 0) == [0, 2]
    page.locator(".itc-tr-slider").fill("2")
    assert _shown_ids(page) == [0, 1, 4, 5, 2, 3]  # 3 is closed: not on the solution path
    _row(page, 3).locator(".itc-tr-toggle").click()
    assert _shown_ids(page) == [0, 1, 4, 5, 2, 3, 6]
    # The solution's step and the pruned node's evaluator text are markup: shown literally.
    assert _row(page, 5).locator(".itc-tr-step").text_content() == " ".join(NASTY.split())
    _row(page, 2).click()
    assert page.locator(".itc-tr-evaluator").text_content() == NASTY
    assert page.locator(".itc-tr b, .itc-tr script").count() == 0
    assert page.evaluate("typeof window.__pwned") == "undefined"
    # Selecting from Python shows that node.
    page.evaluate("() => { window.__mounted.data.selected = 5;"
                  " window.__mounted.update('selected', 5); }")
    assert page.locator(".itc-tr-title").inner_text().startswith("Node #5")
    assert page.locator(".itc-tr-steptext").text_content() == NASTY
    # Cleanup removes the view and its listeners.
    page.evaluate("() => window.__mounted.cleanup()")
    assert page.locator(".itc-tr").count() == 0
    assert page.evaluate(
        "() => Object.values(window.__mounted.listeners).every(l => l.length === 0)")
    assert page.errors == []


def test_many_children_render_in_chunks(page: Any) -> None:
    flat = big_tree(1, 1)
    from itc_lab.search import Node, SearchTree

    nodes = [flat.nodes[0]] + [Node(i, 0, 1, f"s{i}", f"child {i}", value=i / 400,
                                    status="frontier") for i in range(1, 351)]
    tree = SearchTree(algorithm="bfs", nodes=tuple(nodes))
    _mount(page, TreeView(tree))
    assert page.locator(".itc-tr-row").count() == 101
    page.locator(".itc-tr-more button").click()
    assert page.locator(".itc-tr-row").count() == 201
    assert page.locator(".itc-tr-more button").inner_text() == "show 150 more…"
    page.locator(".itc-tr-collapse").click()
    assert page.locator(".itc-tr-row").count() == 101
    assert page.errors == []


def test_bfs_nodes_show_how_their_tokens_were_spent(page: Any) -> None:
    """A BFS node shows no visit count, and a child proposed in its parent's one call says that
    the call's tokens are counted on its first sibling, instead of a bare 0."""
    import dataclasses

    base = small_tree("bfs")  # root 0 -> 1, 2, 3: one proposer call; its tokens counted on 1
    tree = dataclasses.replace(base, nodes=tuple(
        dataclasses.replace(n, tokens=0) if n.id == 3 else n for n in base.nodes))
    _mount(page, TreeView(tree))
    zero = tree.nodes[3]
    if _row(page, zero.id).count() == 0:
        _row(page, zero.parent).locator(".itc-tr-toggle").click()
    _row(page, zero.id).locator(".itc-tr-step").click()
    panel = page.locator(".itc-tr-panel")
    facts = dict(zip(panel.locator("dt").all_text_contents(),
                     panel.locator("dd").all_text_contents(), strict=True))
    assert "Visits" not in facts
    assert facts["Tokens"].startswith("0 here: proposed in one call with its siblings")
