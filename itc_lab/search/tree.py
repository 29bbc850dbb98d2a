"""The search tree: proposals, evaluations, nodes and the SearchTree result. Introduced in lesson
03."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

from .._checks import known_fields
from ..tables import frame, summary_html

__all__ = [
    "STATUSES",
    "STOP_REASONS",
    "Evaluation",
    "Node",
    "Proposal",
    "SearchProblem",
    "SearchTree",
    "check_tokens",
]

STATUSES = ("expanded", "pruned", "solution", "dead_end", "frontier")

"""What became of a node: ``"expanded"`` (its children were proposed), ``"pruned"`` (scored too
low to keep), ``"solution"`` (``is_solved``), ``"dead_end"`` (``is_terminal`` but not solved) or
``"frontier"`` (created but never expanded: the search stopped, or it sat at ``max_depth``)."""

STOP_REASONS = ("solved", "budget_tokens", "budget_calls", "exhausted", "depth", "stopped")

"""Why a search stopped (``tree.config["stopped"]``): it reached a solved state; the next call
would break the token or the call budget; nothing was left to try (for MCTS: the iterations ran
out); what was left lay beyond ``max_depth``; or its run was stopped (a live view's Stop button,
``itc_lab.live``), keeping the tree grown so far."""

@dataclass(frozen=True)
class Proposal:
    """One next step the proposer suggests from a state."""

    state: str
    """The state after taking the step (the whole state, not a diff)."""
    step: str
    """The step itself, as shown on the edge into the new node (e.g. ``"4 + 8 = 12"``)."""
    tokens: int = 0
    """Tokens this proposal cost (tokens). A proposer that makes several proposals in one model
    call may put the whole call's cost on one of them and 0 on the rest."""
    text: str = ""
    """The raw proposer output this proposal came from."""

    def __post_init__(self) -> None:
        if not isinstance(self.state, str) or not isinstance(self.step, str):
            msg = "A Proposal's state and step must be strings; format the state as text."
            raise TypeError(msg)
        check_tokens(self.tokens, "Proposal")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Proposal:
        return cls(**known_fields(cls, d))

@dataclass(frozen=True)
class Evaluation:
    """The evaluator's score of a state."""

    value: float
    """How promising the state is, from 0 (hopeless) to 1 (solved or sure to be)."""
    tokens: int = 0
    """Tokens the evaluation cost (tokens)."""
    text: str = ""
    """The raw evaluator output."""

    def __post_init__(self) -> None:
        if not (isinstance(self.value, int | float) and 0.0 <= self.value <= 1.0):
            msg = (f"An Evaluation's value must be a number from 0 to 1, not {self.value!r}; "
                   "map the evaluator's verdict onto [0, 1] (e.g. sure=1, likely=0.5, "
                   "impossible=0).")
            raise ValueError(msg)
        object.__setattr__(self, "value", float(self.value))
        check_tokens(self.tokens, "Evaluation")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Evaluation:
        return cls(**known_fields(cls, d))

@runtime_checkable
class SearchProblem(Protocol):
    """What a search needs from a problem. States are text, so a tree can be saved and shown."""

    def root(self) -> str:
        """The initial state."""
        ...

    def propose(self, state: str, node_id: int) -> list[Proposal]:
        """Next steps from ``state``. ``node_id`` is the tree node being expanded (in an MCTS
        rollout, the node the rollout started from): use it to vary seeds. One call."""
        ...

    def evaluate(self, state: str) -> Evaluation:
        """Score ``state`` from 0 to 1. One call."""
        ...

    def is_solved(self, state: str) -> bool:
        """True when ``state`` solves the problem (free: no call is counted)."""
        ...

    def is_terminal(self, state: str) -> bool:
        """True when nothing more can follow ``state``: a dead end, or solved (free)."""
        ...

@dataclass(frozen=True)
class Node:
    """One state in a search tree."""

    id: int
    """Position in ``SearchTree.nodes``; the root is 0 and a child's id is above its parent's."""
    parent: int | None
    """The parent's id; ``None`` for the root."""
    depth: int
    """Steps from the root (steps); the root is at depth 0."""
    state: str
    step: str = ""
    """The step that led here from the parent (empty for the root)."""
    proposer_text: str = ""
    """The raw proposer output this node came from."""
    evaluator_text: str = ""
    """The raw evaluator output for this node (in an MCTS rollout: the rollout's steps)."""
    value: float | None = None
    """The evaluator's value, 0 to 1 (solved: 1.0, dead end: 0.0; MCTS with rollouts: the
    rollout's reward); ``None`` when the node was never scored."""
    visits: int = 0
    """MCTS: how many iterations passed through this node (0 for BFS and DFS)."""
    value_sum: float = 0.0
    """MCTS: sum of the rewards backed up through this node (0 for BFS and DFS)."""
    tokens: int = 0
    """Tokens spent creating and scoring this node (tokens)."""
    status: str = "frontier"
    """One of ``STATUSES``."""
    order: int | None = None
    """When this node was expanded: 0 for the first expansion, 1 for the next …; ``None`` if it
    never was."""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            msg = f"Node status must be one of {STATUSES}, not {self.status!r}."
            raise ValueError(msg)

    @property
    def mean_value(self) -> float | None:
        """MCTS: the mean backed-up reward, ``value_sum / visits`` (``None`` when unvisited)."""
        return self.value_sum / self.visits if self.visits > 0 else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Node:
        return cls(**known_fields(cls, d))

@dataclass(frozen=True)
class SearchTree:
    """The result of a search: every node it created, what it spent and why it stopped."""

    algorithm: str
    """``"bfs"``, ``"dfs"`` or ``"mcts"``."""
    nodes: tuple[Node, ...]
    """All nodes, by id (``nodes[i].id == i``); the root is ``nodes[0]``."""
    solution_id: int | None = None
    """The id of the solved node the search stopped at, or ``None``."""
    budget: Mapping[str, int | None] = field(default_factory=dict, hash=False)
    """``{"tokens": ..., "calls": ...}`` as given (``None``: no limit)."""
    spent: Mapping[str, int] = field(default_factory=dict, hash=False)
    """``{"tokens": ..., "calls": ...}`` actually used (tokens; calls)."""
    config: Mapping[str, Any] = field(default_factory=dict, hash=False)
    """The algorithm's settings, plus ``"stopped"`` (one of ``STOP_REASONS``)."""
    _children: dict[int, tuple[int, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        nodes = tuple(self.nodes)
        object.__setattr__(self, "nodes", nodes)
        kids: dict[int, list[int]] = {}
        for i, node in enumerate(nodes):
            if node.id != i:
                msg = f"nodes[{i}] has id {node.id}; nodes must be listed by id, from 0."
                raise ValueError(msg)
            if (node.parent is None) != (i == 0):
                msg = f"Node {i}: only the root (id 0) has no parent."
                raise ValueError(msg)
            if node.parent is not None:
                if not 0 <= node.parent < i:
                    msg = f"Node {i} has parent {node.parent}; a parent's id must be lower."
                    raise ValueError(msg)
                if node.depth != nodes[node.parent].depth + 1:
                    msg = f"Node {i} has depth {node.depth}, not its parent's depth + 1."
                    raise ValueError(msg)
                kids.setdefault(node.parent, []).append(i)
        if self.solution_id is not None and not (
                0 <= self.solution_id < len(nodes)
                and nodes[self.solution_id].status == "solution"):
            msg = f"solution_id {self.solution_id} is not a node with status 'solution'."
            raise ValueError(msg)
        object.__setattr__(self, "_children", {k: tuple(v) for k, v in kids.items()})

    @property
    def stopped(self) -> str | None:
        """Why the search stopped (one of ``STOP_REASONS``)."""
        reason = self.config.get("stopped")
        return None if reason is None else str(reason)

    def node(self, node_id: int) -> Node:
        if not 0 <= node_id < len(self.nodes):
            msg = f"No node {node_id}: this tree has ids 0 to {len(self.nodes) - 1}."
            raise KeyError(msg)
        return self.nodes[node_id]

    def children(self, node_id: int) -> tuple[Node, ...]:
        """The node's children, in the order they were proposed."""
        self.node(node_id)
        return tuple(self.nodes[k] for k in self._children.get(node_id, ()))

    def path(self, node_id: int) -> tuple[Node, ...]:
        """The nodes from the root down to ``node_id``."""
        out = [self.node(node_id)]
        while out[-1].parent is not None:
            out.append(self.nodes[out[-1].parent])
        return tuple(reversed(out))

    def solution_path(self) -> tuple[Node, ...]:
        """The path from the root to the solution (empty without one)."""
        return () if self.solution_id is None else self.path(self.solution_id)

    def expansion_order(self) -> tuple[int, ...]:
        """Ids of the expanded nodes, in the order they were expanded."""
        expanded = [n for n in self.nodes if n.order is not None]
        return tuple(n.id for n in sorted(expanded, key=lambda n: n.order or 0))

    def summary(self) -> str:
        """One line: algorithm, nodes, solution, spending and why it stopped."""
        found = "no solution" if self.solution_id is None else (
            f"solution {self.nodes[self.solution_id].state!r}")
        return (f"{self.algorithm}: {len(self.nodes)} node(s), {len(self.expansion_order())} "
                f"expanded · {found} · {self.spent.get('calls', 0)} call(s), "
                f"{self.spent.get('tokens', 0)} tokens · stopped: {self.stopped}")

    def __repr__(self) -> str:
        return f"SearchTree({self.summary()})"

    def _repr_html_(self) -> str:
        found = self.nodes[self.solution_id].state if self.solution_id is not None else None
        return summary_html(f"SearchTree · {self.algorithm}", [
            ("nodes", f"{len(self.nodes)} ({len(self.expansion_order())} expanded)"),
            ("solution", "none" if found is None else found),
            ("spent", f"{self.spent.get('calls', 0)} call(s), {self.spent.get('tokens', 0)} "
                      "tokens"),
            ("stopped", self.stopped)], "tree_graph(tree) or TreeView(tree) draws it; "
                                        "tree.to_pandas() lists the nodes.")

    def to_pandas(self) -> Any:
        """One row per node: ``id``, ``parent``, ``depth``, ``state``, ``step``, ``status``,
        ``value``, ``visits``, ``mean_value`` (MCTS), ``tokens`` and ``order`` (when it was
        expanded)."""
        return frame(({"id": n.id, "parent": n.parent, "depth": n.depth, "state": n.state,
                       "step": n.step, "status": n.status, "value": n.value,
                       "visits": n.visits, "mean_value": n.mean_value, "tokens": n.tokens,
                       "order": n.order} for n in self.nodes),
                     ["id", "parent", "depth", "state", "step", "status", "value", "visits",
                      "mean_value", "tokens", "order"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "algorithm": self.algorithm,
            "nodes": [n.to_dict() for n in self.nodes],
            "solution_id": self.solution_id,
            "budget": dict(self.budget),
            "spent": dict(self.spent),
            "config": dict(self.config),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SearchTree:
        names = {"algorithm", "nodes", "solution_id", "budget", "spent", "config"}
        unknown = set(d) - names
        if unknown:
            msg = f"SearchTree has no field(s) {sorted(unknown)}; known fields: {sorted(names)}."
            raise ValueError(msg)
        return cls(
            algorithm=d["algorithm"],
            nodes=tuple(Node.from_dict(n) for n in d["nodes"]),
            solution_id=d.get("solution_id"),
            budget=dict(d.get("budget", {})),
            spent=dict(d.get("spent", {})),
            config=dict(d.get("config", {})),
        )



def check_tokens(tokens: Any, owner: str) -> None:
    if not (isinstance(tokens, int) and not isinstance(tokens, bool) and tokens >= 0):
        msg = f"A {owner}'s tokens must be a whole number >= 0 (0 if unknown), not {tokens!r}."
        raise ValueError(msg)
