"""Tree search over any ``SearchProblem``: the tree type, its builder and one file per algorithm.

``bfs`` (beam), ``dfs`` (pruning threshold) and ``mcts`` (UCT) each grow a ``SearchTree`` (plain
data, JSON) within token and call budgets; ``ALGORITHMS`` names them. Introduced in lesson 03.
"""

from collections.abc import Callable

from .bfs import bfs
from .builder import OnProgress, TreeProgress
from .dfs import dfs
from .mcts import mcts
from .tree import STATUSES, STOP_REASONS, Evaluation, Node, Proposal, SearchProblem, SearchTree

ALGORITHMS: dict[str, Callable[..., SearchTree]] = {"bfs": bfs, "dfs": dfs, "mcts": mcts}
"""The search algorithms by name; each takes ``(problem, *, budget_tokens, budget_calls, ...)``."""

__all__ = [
    "ALGORITHMS",
    "STATUSES",
    "STOP_REASONS",
    "Evaluation",
    "Node",
    "OnProgress",
    "Proposal",
    "SearchProblem",
    "SearchTree",
    "TreeProgress",
    "bfs",
    "dfs",
    "mcts",
]
