"""Depth-first search with a pruning threshold (Tree of Thoughts). Introduced in lesson 03."""

from __future__ import annotations

from .._checks import whole
from .builder import Draft, OnProgress, Stop, TreeBuilder, best_first
from .tree import SearchProblem, SearchTree

__all__ = [
    "dfs",
]


def dfs(problem: SearchProblem, *, prune_below: float = 0.5, max_depth: int = 4,
        budget_tokens: int | None = None, budget_calls: int | None = None,
        on_progress: OnProgress | None = None) -> SearchTree:
    """Tree-of-Thoughts depth-first search with pruning and backtracking.

    Expand a node, score all its children, mark those valued below ``prune_below`` as
    ``"pruned"``, then go into the best remaining child; when a subtree is used up, back up and
    try the next best sibling. Nodes at ``max_depth`` are not expanded. Stops at the first solved
    child, when nothing is left (``"depth"`` if something was left at ``max_depth``, else
    ``"exhausted"``) or at a budget.

    ``on_progress`` is called with what changed (:class:`~itc_lab.search.builder.TreeProgress`)
    after each expansion, evaluation and pruning, so a view can grow with the tree.
    """
    if not (isinstance(prune_below, int | float) and 0.0 <= prune_below <= 1.0):
        msg = f"prune_below must be a value from 0 to 1 (0 prunes nothing), not {prune_below!r}."
        raise ValueError(msg)
    whole("max_depth", max_depth, 0)
    b = TreeBuilder(problem, budget_tokens, budget_calls, on_progress, "dfs")
    root = b.root()
    config = {"prune_below": prune_below, "max_depth": max_depth}
    if root.status == "solution":
        return b.freeze("dfs", "solved", config)
    stack = [root] if root.status == "frontier" else []
    hit_depth = False
    try:
        while stack:
            node = stack.pop()
            if node.depth >= max_depth:
                hit_depth = True
                continue
            kids = b.expand(node)
            if b.solution is not None:
                raise Stop("solved")
            keep: list[Draft] = []
            for kid in kids:
                if kid.status != "frontier":
                    continue
                if b.evaluate(kid) < prune_below:
                    kid.status = "pruned"
                else:
                    keep.append(kid)
            stack.extend(reversed(best_first(keep)))
            b.report()
        stopped = "depth" if hit_depth else "exhausted"
    except Stop as stop:
        stopped = stop.reason
    return b.freeze("dfs", stopped, config)
