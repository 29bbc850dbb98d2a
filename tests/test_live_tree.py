"""A search tree that grows as the search runs: on_progress reports and the TreeView's deltas."""

from __future__ import annotations

import json
import warnings

import pytest

from itc_lab.datasets.base import Problem
from itc_lab.live import watch
from itc_lab.search import TreeProgress, bfs, dfs, mcts
from itc_lab.techniques.game24_search import game24_search
from itc_lab.views.tree_view import TreeView, tree_payload

from .fakes import ScriptedBackend
from .test_search import Digits

SEARCHES = {
    "bfs": lambda p, **kw: bfs(p, beam_width=2, max_depth=4, **kw),
    "dfs": lambda p, **kw: dfs(p, prune_below=0.3, max_depth=4, **kw),
    "mcts": lambda p, **kw: mcts(p, iterations=40, max_depth=4, seed=3, **kw),
    "mcts-puct": lambda p, **kw: mcts(p, iterations=40, max_depth=4, select="puct", **kw),
}


def _replay(reports: list[TreeProgress]) -> dict[int, object]:
    """The tree the reports describe: each report's nodes applied in turn."""
    nodes: dict[int, object] = {}
    for r in reports:
        for n in r.nodes:
            nodes[n.id] = n
    return nodes


@pytest.mark.parametrize("name", sorted(SEARCHES))
def test_reports_rebuild_the_final_tree_and_grow_as_it_grows(name):
    reports: list[TreeProgress] = []
    tree = SEARCHES[name](Digits(trap=True), on_progress=reports.append)
    assert tree == SEARCHES[name](Digits(trap=True))  # reporting changes nothing
    assert dict(sorted(_replay(reports).items())) == {n.id: n for n in tree.nodes}
    counts = [r.count for r in reports]
    assert counts == sorted(counts) and counts[0] < counts[-1] == len(tree.nodes)
    assert [r.stopped for r in reports[:-1]] == [None] * (len(reports) - 1)
    last = reports[-1]
    assert last.stopped == tree.stopped
    assert last.spent == tree.spent and last.solution_id == tree.solution_id
    assert last.algorithm == tree.algorithm
    # spending only grows, report by report
    tokens = [r.spent["tokens"] for r in reports]
    assert tokens == sorted(tokens)


@pytest.mark.parametrize("name", sorted(SEARCHES))
def test_reports_carry_only_what_changed(name):
    reports: list[TreeProgress] = []
    tree = SEARCHES[name](Digits(width=4), on_progress=reports.append)
    sent = sum(len(r.nodes) for r in reports)
    # a node is reported when it is made, valued, pruned or expanded; MCTS adds the nodes each
    # back-up passes through (its depth + 1 per iteration)
    bound = 4 * len(tree.nodes)
    if tree.algorithm == "mcts":
        bound += tree.config["iterations_run"] * (tree.config["max_depth"] + 1)
    assert sent <= bound
    assert all(r.nodes for r in reports[:-1])


def test_a_failing_callback_is_warned_about_once_and_the_search_goes_on():
    calls = []

    def broken(progress):
        calls.append(progress)
        raise RuntimeError("view gone")

    with pytest.warns(RuntimeWarning, match="on_progress failed.*view gone"):
        tree = bfs(Digits(), beam_width=2, on_progress=broken)
    assert len(calls) == 1
    assert tree == bfs(Digits(), beam_width=2)


def test_on_progress_must_be_callable():
    with pytest.raises(TypeError, match="on_progress must be a function"):
        dfs(Digits(), on_progress="print")


def _puzzle() -> Problem:
    return Problem(id="g24", question="Make 24 from 4 6 8 2.", answer="24",
                   meta={"numbers": [4, 6, 8, 2]})


def test_game24_search_reports_and_keeps_its_config_plain():
    backend = ScriptedBackend(["4 + 6 = 10 (left: 8 2 10)", "8 * 2 = 16 (left: 4 6 16)"])
    reports: list[TreeProgress] = []
    result = game24_search(_puzzle(), backend, algorithm="bfs", samples=2,
                           on_progress=reports.append)
    again = game24_search(_puzzle(), backend, algorithm="bfs", samples=2)
    assert result.tree == again.tree
    assert "on_progress" not in result.config
    json.dumps(result.to_dict())
    assert reports[-1].count == len(result.tree.nodes)


def test_stopping_the_watched_run_ends_the_search_with_the_tree_so_far():
    watched = watch(ScriptedBackend(["4 + 6 = 10 (left: 8 2 10)"]))
    reports: list[TreeProgress] = []

    def after(progress):
        reports.append(progress)
        if progress.expansions == 2 and not watched.stopped:
            watched.stop("Stop button")

    result = game24_search(_puzzle(), watched, algorithm="bfs", samples=2, on_progress=after)
    tree = result.tree
    assert tree.stopped == "stopped"
    assert len(tree.expansion_order()) >= 2
    assert reports[-1].stopped == "stopped"
    assert dict(sorted(_replay(reports).items())) == {n.id: n for n in tree.nodes}


# -- the view ------------------------------------------------------------------------------------

def _grown(search, problem, send_every=0.0):
    view = TreeView()
    view.SEND_EVERY_S = send_every
    sent: list[dict] = []
    view.send = sent.append  # what goes to the browser
    tree = search(problem, on_progress=view.grow)
    return view, sent, tree


def _columns(payload):
    return {k: v for k, v in payload["nodes"].items()}


@pytest.mark.parametrize("name", ["bfs", "mcts"])
def test_the_view_grows_by_deltas_and_ends_as_the_static_view(name):
    view, sent, tree = _grown(SEARCHES[name], Digits(trap=True))
    grows = [m for m in sent if m["kind"] == "grow"]
    assert len(grows) >= 3
    counts = [m["meta"]["count"] for m in grows]
    assert counts == sorted(counts) and counts[0] < len(tree.nodes)
    assert all(m["meta"]["growing"] for m in grows)
    # each message carries the rows that changed, never the whole tree again
    rows = sum(len(m["rows"]["id"]) for m in grows)
    assert rows <= 4 * len(tree.nodes) + tree.config.get("iterations_run", 0) * 5
    assert all(len(m["rows"]["id"]) < len(tree.nodes) for m in grows[1:])
    # the end: the payload is the static view's, and the view is no longer growing
    final = view.payload
    static = tree_payload(tree)
    assert not view.growing and final["growing"] is False
    assert _columns(final) == _columns(static)
    for key in ("algorithm", "spent", "budget", "stopped", "solution_id", "solution_path",
                "mcts", "scale", "max_order", "count"):
        assert final[key] == static[key], key
    # the search's own spending, worded apart from the model's requests
    assert final["spending"] == (f"spent {tree.spent['tokens']} tokens in "
                                 f"{tree.spent['calls']} proposer and evaluator calls")
    assert view.step == static["max_order"]
    assert view.selected == (tree.solution_id if tree.solution_id is not None else -1)
    assert "searching" not in view._static_html()


def test_the_view_batches_changes_between_sends():
    view, sent, tree = _grown(SEARCHES["dfs"], Digits(width=4), send_every=3600)
    # the first report goes out at once; the rest wait for the interval, and the end sets the
    # whole payload instead
    assert [m["kind"] for m in sent] == ["grow"]
    assert sent[0]["meta"]["count"] == 1
    assert view.payload["count"] == len(tree.nodes)


def test_a_view_opened_mid_search_asks_for_the_tree_so_far():
    view = TreeView()
    sent: list[dict] = []
    view.send = sent.append
    reports: list[TreeProgress] = []
    bfs(Digits(), beam_width=2, on_progress=reports.append)
    for r in reports[:3]:
        view.grow(r)
    view._on_message(view, {"kind": "hello"}, [])
    reset = sent[-1]
    assert reset["kind"] == "reset" and reset["payload"]["growing"] is True
    assert reset["payload"]["count"] == reports[2].count
    assert "running" in view._static_html()
    for r in reports[3:]:
        view.grow(r)
    assert not view.growing
    sent.clear()
    view._on_message(view, {"kind": "hello"}, [])
    assert sent == []  # over: the payload trait has it all


def test_model_text_in_a_growing_view_stays_text():
    class Nasty(Digits):
        def propose(self, state, node_id):
            out = super().propose(state, node_id)
            return [type(p)(p.state, "<img src=x onerror=alert(1)>", p.tokens, p.text)
                    for p in out]

    view, _, _ = _grown(SEARCHES["bfs"], Nasty())
    html = view._static_html()
    assert "<img" not in html and "&lt;img src=x" in html


def test_growth_warns_nothing_when_the_search_has_no_listener():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bfs(Digits(), on_progress=None)
