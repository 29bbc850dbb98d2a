"""The builder every search algorithm grows its tree with: budgets, statuses, order of expansion."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .tree import Evaluation, Node, Proposal, SearchProblem, SearchTree

__all__ = [
    "Draft",
    "Stop",
    "TreeBuilder",
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

    def freeze(self) -> Node:
        return Node(id=self.id, parent=self.parent, depth=self.depth, state=self.state,
                    step=self.step, proposer_text=self.proposer_text,
                    evaluator_text=self.evaluator_text, value=self.value, visits=self.visits,
                    value_sum=self.value_sum, tokens=self.tokens, status=self.status,
                    order=self.order)

class TreeBuilder:
    """Creates nodes, makes the problem's calls within budget and keeps the books."""

    def __init__(self, problem: SearchProblem, budget_tokens: int | None,
                 budget_calls: int | None) -> None:
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
        self.nodes.append(node)
        self._classify(node)
        return node

    def propose(self, node: Draft) -> list[Proposal]:
        """One propose call from ``node``'s state; the caller decides what to do with it."""
        self._check("propose")
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
            self.nodes.append(kid)
            node.kids.append(kid.id)
            self._classify(kid)
            kids.append(kid)
        return kids

    def evaluate(self, node: Draft) -> float:
        self._check("evaluate")
        ev = self.problem.evaluate(node.state)
        if not isinstance(ev, Evaluation):
            msg = (f"problem.evaluate() must return an Evaluation(value, tokens, text), not "
                   f"{type(ev).__name__}.")
            raise TypeError(msg)
        self._charge("evaluate", ev.tokens)
        node.value, node.evaluator_text = ev.value, ev.text
        node.tokens += ev.tokens
        return ev.value

    def freeze(self, algorithm: str, stopped: str, config: dict[str, Any]) -> SearchTree:
        return SearchTree(
            algorithm=algorithm,
            nodes=tuple(n.freeze() for n in self.nodes),
            solution_id=self.solution,
            budget={"tokens": self.budget_tokens, "calls": self.budget_calls},
            spent={"tokens": self.tokens, "calls": self.calls},
            config={**config, "stopped": stopped},
        )


def best_first(nodes: Iterable[Draft]) -> list[Draft]:
    """Highest value first; ties keep the proposer's order."""
    return sorted(nodes, key=lambda n: (-(n.value if n.value is not None else -1.0), n.id))

