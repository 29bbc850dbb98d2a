"""Breadth-first beam search (Tree of Thoughts, Yao et al. 2023). Introduced in lesson 03."""

from __future__ import annotations

from .._checks import whole
from .builder import Draft, OnProgress, Stop, TreeBuilder, best_first
from .tree import SearchProblem, SearchTree

__all__ = [
    "bfs",
]


def bfs(problem: SearchProblem, *, beam_width: int = 5, max_depth: int = 4,
        budget_tokens: int | None = None, budget_calls: int | None = None,
        on_progress: OnProgress | None = None) -> SearchTree:
    """Tree-of-Thoughts breadth-first search (beam search over steps).

    Level by level: expand every node in the beam, score each new child, and keep the
    ``beam_width`` best children (ties: proposer order) as the next beam; the rest are
    ``"pruned"``. Stops at the first solved child, when the beam is empty (``"exhausted"``), after
    the level at ``max_depth`` (``"depth"``) or at a budget.

    ``on_progress`` is called with what changed (:class:`~itc_lab.search.builder.TreeProgress`)
    after each expansion, evaluation and pruning, so a view can grow with the tree.
    """
    whole("beam_width", beam_width, 1)
    whole("max_depth", max_depth, 0)
    b = TreeBuilder(problem, budget_tokens, budget_calls, on_progress, "bfs")
    root = b.root()
    config = {"beam_width": beam_width, "max_depth": max_depth}
    if root.status == "solution":
        return b.freeze("bfs", "solved", config)
    beam = [root] if root.status == "frontier" else []
    try:
        depth = 0
        while beam:
            if depth >= max_depth:
                raise Stop("depth")
            scored: list[Draft] = []
            for node in beam:
                kids = b.expand(node)
                if b.solution is not None:
                    raise Stop("solved")
                for kid in kids:
                    if kid.status == "frontier":
                        b.evaluate(kid)
                        scored.append(kid)
            ranked = best_first(scored)
            beam = ranked[:beam_width]
            for kid in ranked[beam_width:]:
                kid.status = "pruned"
            b.report()
            depth += 1
        stopped = "exhausted"
    except Stop as stop:
        stopped = stop.reason
    return b.freeze("bfs", stopped, config)
