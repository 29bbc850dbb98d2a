"""The builder every search algorithm grows its tree with: budgets, statuses, order of expansion."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import BackendError
from .tree import Evaluation, Node, Proposal, SearchProblem, SearchTree

__all__ = [
    "Draft",
    "OnProgress",
    "Stop",
    "TreeBuilder",
    "TreeProgress",
    "best_first",
]


class Stop(Exception):
    """Ends a search early; ``reason`` is one of ``STOP_REASONS``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

@dataclass
class Draft:
    """A node while the search runs (mutable); frozen into a ``Node`` at the end."""

    id: int
    parent: int | None
    depth: int
    state: str
    step: str = ""
    proposer_text: str = ""
    evaluator_text: str = ""
    value: float | None = None
    visits: int = 0
    value_sum: float = 0.0
    tokens: int = 0
    status: str = "frontier"
    order: int | None = None
    kids: list[int] = field(default_factory=list)
    book: set[int] | None = field(default=None, repr=False, compare=False)
    """The builder's set of changed node ids while a progress callback listens (else None)."""

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        book = self.__dict__.get("book")
        if book is not None:
            book.add(self.__dict__["id"])

    def freeze(self) -> Node:
        return Node(id=self.id, parent=self.parent, depth=self.depth, state=self.state,
                    step=self.step, proposer_text=self.proposer_text,
                    evaluator_text=self.evaluator_text, value=self.value, visits=self.visits,
                    value_sum=self.value_sum, tokens=self.tokens, status=self.status,
                    order=self.order)

@dataclass(frozen=True)
class TreeProgress:
    """What changed in a search tree since the last report, for a view that grows with it
    (``on_progress`` of ``bfs``, ``dfs`` and ``mcts``).

    Applying each report's ``nodes`` in turn (new ids appended, known ids replaced) rebuilds the
    tree as it stands; the last report (``stopped`` set) holds the final state of every node it
    changed. A report carries only what changed, so following a whole search costs time in
    proportion to the changes, not to the tree's size times its growth.
    """

    algorithm: str
    nodes: tuple[Node, ...]
    """Nodes added or changed since the last report, by id."""
    count: int
    """Nodes in the tree so far."""
    expansions: int
    """Nodes expanded so far."""
    spent: dict[str, int]
    """``{"tokens": ..., "calls": ...}`` spent so far."""
    budget: dict[str, int | None]
    """``{"tokens": ..., "calls": ...}``: the limits (``None``: none)."""
    solution_id: int | None
    stopped: str | None = None
    """Set in the last report: why the search stopped (one of ``STOP_REASONS``)."""


OnProgress = Callable[[TreeProgress], None]
"""Called with each :class:`TreeProgress`, in the search's own thread, after every expansion
and evaluation (and pruning or MCTS back-up); keep it quick."""


class TreeBuilder:
    """Creates nodes, makes the problem's calls within budget and keeps the books.

    With ``on_progress``, it reports what changed (:class:`TreeProgress`) after each expansion,
    each evaluation and each :meth:`report` of the algorithm; a callback that raises is warned
    about once and not called again (the search goes on).
    """

    def __init__(self, problem: SearchProblem, budget_tokens: int | None,
                 budget_calls: int | None, on_progress: OnProgress | None = None,
                 algorithm: str = "") -> None:
        if on_progress is not None and not callable(on_progress):
            msg = (f"on_progress must be a function taking a TreeProgress (or None), not "
                   f"{on_progress!r}.")
            raise TypeError(msg)
        for name, limit in (("budget_tokens", budget_tokens), ("budget_calls", budget_calls)):
            if limit is not None and not (isinstance(limit, int) and limit >= 0):
                msg = f"{name} must be a whole number >= 0, or None for no limit; not {limit!r}."
                raise ValueError(msg)
        self.problem = problem
        self.budget_tokens = budget_tokens
        self.budget_calls = budget_calls
        self.nodes: list[Draft] = []
        self.tokens = 0
        self.calls = 0
        self.expansions = 0
        self.solution: int | None = None
        self._dearest = {"propose": 0, "evaluate": 0}
        self.on_progress = on_progress
        self.algorithm = algorithm
        self._changed: set[int] | None = set() if on_progress is not None else None

    def _add(self, node: Draft) -> None:
        self.nodes.append(node)
        if self._changed is not None:
            self._changed.add(node.id)
            node.book = self._changed

    def report(self, stopped: str | None = None) -> None:
        """Tell ``on_progress`` what changed since the last report (nothing without changes,
        unless the search has ``stopped``)."""
        changed = self._changed
        if changed is None or self.on_progress is None or (not changed and stopped is None):
            return
        nodes = tuple(self.nodes[i].freeze() for i in sorted(changed))
        changed.clear()
        progress = TreeProgress(
            algorithm=self.algorithm, nodes=nodes, count=len(self.nodes),
            expansions=self.expansions, spent={"tokens": self.tokens, "calls": self.calls},
            budget={"tokens": self.budget_tokens, "calls": self.budget_calls},
            solution_id=self.solution, stopped=stopped)
        try:
            self.on_progress(progress)
        except Exception as e:  # a view must never end the search
            warnings.warn(f"on_progress failed ({type(e).__name__}: {e}) and is no longer "
                          "called; the search goes on.", RuntimeWarning, stacklevel=2)
            self.on_progress = None

    def _check(self, kind: str) -> None:
        if self.budget_calls is not None and self.calls + 1 > self.budget_calls:
            raise Stop("budget_calls")
        if self.budget_tokens is not None and (
                self.tokens >= self.budget_tokens
                or self.tokens + self._dearest[kind] > self.budget_tokens):
            raise Stop("budget_tokens")

    def _charge(self, kind: str, tokens: int) -> None:
        self.calls += 1
        self.tokens += tokens
        self._dearest[kind] = max(self._dearest[kind], tokens)

    def _classify(self, node: Draft) -> None:
        if self.problem.is_solved(node.state):
            node.status, node.value = "solution", 1.0
            if self.solution is None:
                self.solution = node.id
        elif self.problem.is_terminal(node.state):
            node.status, node.value = "dead_end", 0.0

    def root(self) -> Draft:
        state = self.problem.root()
        if not isinstance(state, str):
            msg = f"problem.root() must return the initial state as text, not {state!r}."
            raise TypeError(msg)
        node = Draft(id=0, parent=None, depth=0, state=state)
        self._add(node)
        self._classify(node)
        self.report()
        return node

    def propose(self, node: Draft) -> list[Proposal]:
        """One propose call from ``node``'s state; the caller decides what to do with it."""
        self._check("propose")
        with _stopping():
            proposals = self.problem.propose(node.state, node.id)
        if not isinstance(proposals, list | tuple) or not all(
                isinstance(p, Proposal) for p in proposals):
            msg = (f"problem.propose() must return a list of Proposal objects, not "
                   f"{type(proposals).__name__}; return [] when there is no next step.")
            raise TypeError(msg)
        self._charge("propose", sum(p.tokens for p in proposals))
        return list(proposals)

    def expand(self, node: Draft) -> list[Draft]:
        """Propose from ``node`` and add the proposals as its children."""
        proposals = self.propose(node)
        node.status, node.order = "expanded", self.expansions
        self.expansions += 1
        kids = []
        for p in proposals:
            kid = Draft(id=len(self.nodes), parent=node.id, depth=node.depth + 1,
                         state=p.state, step=p.step, proposer_text=p.text, tokens=p.tokens)
            self._add(kid)
            node.kids.append(kid.id)
            self._classify(kid)
            kids.append(kid)
        self.report()
        return kids

    def evaluate(self, node: Draft) -> float:
        self._check("evaluate")
        with _stopping():
            ev = self.problem.evaluate(node.state)
        if not isinstance(ev, Evaluation):
            msg = (f"problem.evaluate() must return an Evaluation(value, tokens, text), not "
                   f"{type(ev).__name__}.")
            raise TypeError(msg)
        self._charge("evaluate", ev.tokens)
        node.value, node.evaluator_text = ev.value, ev.text
        node.tokens += ev.tokens
        self.report()
        return ev.value

    def freeze(self, algorithm: str, stopped: str, config: dict[str, Any]) -> SearchTree:
        self.algorithm = algorithm
        self.report(stopped)
        return SearchTree(
            algorithm=algorithm,
            nodes=tuple(n.freeze() for n in self.nodes),
            solution_id=self.solution,
            budget={"tokens": self.budget_tokens, "calls": self.budget_calls},
            spent={"tokens": self.tokens, "calls": self.calls},
            config={**config, "stopped": stopped},
        )


@contextlib.contextmanager
def _stopping() -> Iterator[None]:
    """A model call refused because its run was stopped (``itc_lab.live``: a Stop button, an
    early-stopping rule) ends the search with ``"stopped"``, keeping the tree so far."""
    try:
        yield
    except BackendError as e:
        from ..live.events import RunStopped  # not at import: live imports the views

        if isinstance(e, RunStopped):
            raise Stop("stopped") from None
        raise


def best_first(nodes: Iterable[Draft]) -> list[Draft]:
    """Highest value first; ties keep the proposer's order."""
    return sorted(nodes, key=lambda n: (-(n.value if n.value is not None else -1.0), n.id))

