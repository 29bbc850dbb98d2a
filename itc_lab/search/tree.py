"""Tree search over reasoning steps: Tree-of-Thoughts BFS and DFS, and Monte Carlo tree search.

A search needs a *problem* (any object shaped like ``SearchProblem``): where to start, how to
propose next steps from a state, how to score a state, and when a state is solved or a dead end.
The algorithms here need no model: the problem's ``propose`` and ``evaluate`` may call one (and
report the tokens they used) or be plain Python, as in the tests.

Each algorithm returns a frozen ``SearchTree``: every node it created, with its texts, value,
visit counts, token cost, status and expansion order, plus what the search spent and why it
stopped. The tree round-trips through JSON (``to_dict`` / ``from_dict``) and is what
``itc_lab.trees`` draws.

Accounting:

* Every ``propose`` and every ``evaluate`` is one *call*. A ``propose`` call costs the sum of its
  proposals' ``tokens``; an ``evaluate`` call costs its evaluation's ``tokens``.
* ``is_solved`` and ``is_terminal`` are free checks. A solved state gets value 1.0 and a dead end
  value 0.0 without an evaluator call.
* ``budget_calls``: no call is made that would exceed it, so ``spent["calls"] <= budget_calls``.
* ``budget_tokens``: no call is made once the tokens spent reach the budget, nor when the tokens
  left are fewer than the dearest call of the same kind so far. A call's cost is only known after
  it returns, so a call dearer than every earlier one of its kind can still overshoot; with
  steady costs ``spent["tokens"] <= budget_tokens`` holds. ``spent`` always records the truth.
* Each node's ``tokens`` is what creating and scoring it cost, so the nodes' tokens add up to
  ``spent["tokens"]``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "ALGORITHMS",
    "STATUSES",
    "STOP_REASONS",
    "Evaluation",
    "Node",
    "Proposal",
    "SearchProblem",
    "SearchTree",
    "bfs",
    "dfs",
    "mcts",
]

STATUSES = ("expanded", "pruned", "solution", "dead_end", "frontier")
"""What became of a node: ``"expanded"`` (its children were proposed), ``"pruned"`` (scored too
low to keep), ``"solution"`` (``is_solved``), ``"dead_end"`` (``is_terminal`` but not solved) or
``"frontier"`` (created but never expanded: the search stopped, or it sat at ``max_depth``)."""

STOP_REASONS = ("solved", "budget_tokens", "budget_calls", "exhausted", "depth")
"""Why a search stopped (``tree.config["stopped"]``): it reached a solved state; the next call
would break the token or the call budget; nothing was left to try (for MCTS: the iterations ran
out); or what was left lay beyond ``max_depth``."""


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
        _check_tokens(self.tokens, "Proposal")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Proposal:
        return cls(**_known(cls, d))


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
        _check_tokens(self.tokens, "Evaluation")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Evaluation:
        return cls(**_known(cls, d))


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
        return cls(**_known(cls, d))


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


# --- building a tree -------------------------------------------------------------------------


class _Stop(Exception):
    """Ends a search early; ``reason`` is one of ``STOP_REASONS``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class _Draft:
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


class _Builder:
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
        self.nodes: list[_Draft] = []
        self.tokens = 0
        self.calls = 0
        self.expansions = 0
        self.solution: int | None = None
        self._dearest = {"propose": 0, "evaluate": 0}

    def _check(self, kind: str) -> None:
        if self.budget_calls is not None and self.calls + 1 > self.budget_calls:
            raise _Stop("budget_calls")
        if self.budget_tokens is not None and (
                self.tokens >= self.budget_tokens
                or self.tokens + self._dearest[kind] > self.budget_tokens):
            raise _Stop("budget_tokens")

    def _charge(self, kind: str, tokens: int) -> None:
        self.calls += 1
        self.tokens += tokens
        self._dearest[kind] = max(self._dearest[kind], tokens)

    def _classify(self, node: _Draft) -> None:
        if self.problem.is_solved(node.state):
            node.status, node.value = "solution", 1.0
            if self.solution is None:
                self.solution = node.id
        elif self.problem.is_terminal(node.state):
            node.status, node.value = "dead_end", 0.0

    def root(self) -> _Draft:
        state = self.problem.root()
        if not isinstance(state, str):
            msg = f"problem.root() must return the initial state as text, not {state!r}."
            raise TypeError(msg)
        node = _Draft(id=0, parent=None, depth=0, state=state)
        self.nodes.append(node)
        self._classify(node)
        return node

    def propose(self, node: _Draft) -> list[Proposal]:
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

    def expand(self, node: _Draft) -> list[_Draft]:
        """Propose from ``node`` and add the proposals as its children."""
        proposals = self.propose(node)
        node.status, node.order = "expanded", self.expansions
        self.expansions += 1
        kids = []
        for p in proposals:
            kid = _Draft(id=len(self.nodes), parent=node.id, depth=node.depth + 1,
                         state=p.state, step=p.step, proposer_text=p.text, tokens=p.tokens)
            self.nodes.append(kid)
            node.kids.append(kid.id)
            self._classify(kid)
            kids.append(kid)
        return kids

    def evaluate(self, node: _Draft) -> float:
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


def _whole(value: Any, name: str, lowest: int) -> None:
    if not (isinstance(value, int) and not isinstance(value, bool) and value >= lowest):
        msg = f"{name} must be a whole number >= {lowest}, not {value!r}."
        raise ValueError(msg)


def _best_first(nodes: Iterable[_Draft]) -> list[_Draft]:
    """Highest value first; ties keep the proposer's order."""
    return sorted(nodes, key=lambda n: (-(n.value if n.value is not None else -1.0), n.id))


# --- algorithms --------------------------------------------------------------------------------


def bfs(problem: SearchProblem, *, beam_width: int = 5, max_depth: int = 4,
        budget_tokens: int | None = None, budget_calls: int | None = None) -> SearchTree:
    """Tree-of-Thoughts breadth-first search (beam search over steps).

    Level by level: expand every node in the beam, score each new child, and keep the
    ``beam_width`` best children (ties: proposer order) as the next beam; the rest are
    ``"pruned"``. Stops at the first solved child, when the beam is empty (``"exhausted"``), after
    the level at ``max_depth`` (``"depth"``) or at a budget.
    """
    _whole(beam_width, "beam_width", 1)
    _whole(max_depth, "max_depth", 0)
    b = _Builder(problem, budget_tokens, budget_calls)
    root = b.root()
    config = {"beam_width": beam_width, "max_depth": max_depth}
    if root.status == "solution":
        return b.freeze("bfs", "solved", config)
    beam = [root] if root.status == "frontier" else []
    try:
        depth = 0
        while beam:
            if depth >= max_depth:
                raise _Stop("depth")
            scored: list[_Draft] = []
            for node in beam:
                kids = b.expand(node)
                if b.solution is not None:
                    raise _Stop("solved")
                for kid in kids:
                    if kid.status == "frontier":
                        b.evaluate(kid)
                        scored.append(kid)
            ranked = _best_first(scored)
            beam = ranked[:beam_width]
            for kid in ranked[beam_width:]:
                kid.status = "pruned"
            depth += 1
        stopped = "exhausted"
    except _Stop as stop:
        stopped = stop.reason
    return b.freeze("bfs", stopped, config)


def dfs(problem: SearchProblem, *, prune_below: float = 0.5, max_depth: int = 4,
        budget_tokens: int | None = None, budget_calls: int | None = None) -> SearchTree:
    """Tree-of-Thoughts depth-first search with pruning and backtracking.

    Expand a node, score all its children, mark those valued below ``prune_below`` as
    ``"pruned"``, then go into the best remaining child; when a subtree is used up, back up and
    try the next best sibling. Nodes at ``max_depth`` are not expanded. Stops at the first solved
    child, when nothing is left (``"depth"`` if something was left at ``max_depth``, else
    ``"exhausted"``) or at a budget.
    """
    if not (isinstance(prune_below, int | float) and 0.0 <= prune_below <= 1.0):
        msg = f"prune_below must be a value from 0 to 1 (0 prunes nothing), not {prune_below!r}."
        raise ValueError(msg)
    _whole(max_depth, "max_depth", 0)
    b = _Builder(problem, budget_tokens, budget_calls)
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
                raise _Stop("solved")
            keep: list[_Draft] = []
            for kid in kids:
                if kid.status != "frontier":
                    continue
                if b.evaluate(kid) < prune_below:
                    kid.status = "pruned"
                else:
                    keep.append(kid)
            stack.extend(reversed(_best_first(keep)))
        stopped = "depth" if hit_depth else "exhausted"
    except _Stop as stop:
        stopped = stop.reason
    return b.freeze("dfs", stopped, config)


def mcts(problem: SearchProblem, *, iterations: int = 100, c: float = 1.4, max_depth: int = 4,
         rollout: bool = False, seed: int = 0, budget_tokens: int | None = None,
         budget_calls: int | None = None) -> SearchTree:
    """Monte Carlo tree search with UCT.

    Each iteration: *select* from the root down, always into an unvisited child if there is one
    (chosen at random) and otherwise into the child with the highest
    ``mean + c * sqrt(ln(parent visits) / child visits)``; at the leaf reached,

    * if it was never visited, *simulate* it: its value is ``evaluate`` (or, with
      ``rollout=True``, 1.0 if random proposals from it reach a solved state, else 0.0);
    * if it was visited before and can grow (not terminal, above ``max_depth``), *expand* it and
      simulate one new child (a solved child if there is one, else one at random);
    * otherwise (solved, dead end, at ``max_depth``) reuse its value;

    then *back up* the reward: +1 visit and +reward on every node from there to the root.

    Visit invariant: a node with children has ``visits == 1 + sum(child visits)`` (its own first
    simulation, then one per iteration through a child); a node without children has as many
    visits as iterations ended at it; the root's visits equal ``config["iterations_run"]``.

    Stops once a solved state is reached (after backing it up), when the iterations are used up
    (``"exhausted"``) or at a budget; an iteration cut short by the budget backs nothing up.
    ``seed`` drives the random choices, so a run is reproducible.
    """
    _whole(iterations, "iterations", 0)
    _whole(max_depth, "max_depth", 0)
    _whole(seed, "seed", 0)
    if not (isinstance(c, int | float) and math.isfinite(c) and c >= 0):
        msg = f"c (the exploration weight) must be a number >= 0, not {c!r}; 1.4 is usual."
        raise ValueError(msg)
    rng = random.Random(seed)
    b = _Builder(problem, budget_tokens, budget_calls)
    root = b.root()
    config: dict[str, Any] = {"iterations": iterations, "c": c, "max_depth": max_depth,
                              "rollout": rollout, "seed": seed, "iterations_run": 0}
    if root.status == "solution":
        return b.freeze("mcts", "solved", config)

    def select(node: _Draft) -> _Draft:
        kids = [b.nodes[k] for k in node.kids]
        fresh = [k for k in kids if k.visits == 0]
        if fresh:
            return rng.choice(fresh)
        log_n = math.log(node.visits)

        def uct(k: _Draft) -> float:
            return k.value_sum / k.visits + c * math.sqrt(log_n / k.visits)

        return max(kids, key=uct)

    def simulate(node: _Draft) -> float:
        if node.status != "frontier":
            return node.value if node.value is not None else 0.0
        if not rollout:
            return b.evaluate(node)
        state, depth, steps = node.state, node.depth, []
        reward = 0.0
        while not problem.is_terminal(state) and depth < max_depth:
            proposals = b.propose(node)
            node.tokens += sum(p.tokens for p in proposals)
            if not proposals:
                break
            pick = rng.choice(proposals)
            state, depth = pick.state, depth + 1
            steps.append(pick.step)
        if problem.is_solved(state):
            reward = 1.0
        node.value = reward
        node.evaluator_text = f"rollout: {' → '.join(steps) or '(no steps)'} → reward {reward}"
        return reward

    stopped = "exhausted"
    try:
        for _ in range(iterations):
            node = root
            while node.kids:
                node = select(node)
            target = node
            if node.visits == 0:
                reward = simulate(node)
            elif node.status == "frontier" and node.depth < max_depth:
                kids = b.expand(node)
                if kids:
                    target = b.nodes[b.solution] if b.solution is not None else rng.choice(kids)
                    reward = simulate(target)
                else:
                    reward = node.value if node.value is not None else 0.0
            else:
                reward = node.value if node.value is not None else 0.0
            back: _Draft | None = target
            while back is not None:
                back.visits += 1
                back.value_sum += reward
                back = None if back.parent is None else b.nodes[back.parent]
            config["iterations_run"] += 1
            if b.solution is not None:
                raise _Stop("solved")
    except _Stop as stop:
        stopped = stop.reason
    return b.freeze("mcts", stopped, config)


ALGORITHMS: dict[str, Callable[..., SearchTree]] = {"bfs": bfs, "dfs": dfs, "mcts": mcts}
"""The search algorithms by name; each takes ``(problem, *, budget_tokens, budget_calls, ...)``."""


# --- helpers ---------------------------------------------------------------------------------


def _check_tokens(tokens: Any, owner: str) -> None:
    if not (isinstance(tokens, int) and not isinstance(tokens, bool) and tokens >= 0):
        msg = f"A {owner}'s tokens must be a whole number >= 0 (0 if unknown), not {tokens!r}."
        raise ValueError(msg)


def _known(cls: type, d: Mapping[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls) if f.init}
    unknown = set(d) - names
    if unknown:
        msg = f"{cls.__name__} has no field(s) {sorted(unknown)}; known fields: {sorted(names)}."
        raise ValueError(msg)
    return dict(d)
