"""Tree search on the Game of 24 with the model in the role a small model can play.

The program proposes, the model chooses, the checker judges:

- **Proposer (program).** From the numbers left, :func:`legal_steps` lists every legal step
  ``a op b = c`` (``+ - * /`` on any two of them, exact arithmetic with fractions, negatives
  allowed, no division by 0), one per distinct set of numbers it leaves. No step is ever
  malformed or miscalculated.
- **Prior (model or uniform).** ``prior="model"`` asks the model once per state for ``samples``
  next steps (few-shot chat, temperature ``temperature``, the same seed for every state), reads
  each as ``a op b`` (the model never has to do the arithmetic) and scores every legal step by
  how often the model wrote it: ``(times written + 0.5) / (legal samples + 0.5 × steps)``, the
  add-one-half rule, so a step the model never wrote keeps a small share. ``prior="uniform"``
  asks nothing and scores every step alike. Ties break in a seeded random order, the same for
  both priors.
- **Judge (exact checker).** A state with one number left is solved when it is 24, and the
  solution's expression is checked with :func:`~itc_lab.datasets.game24.check_expression`.
  A state with two numbers left is expanded without asking the model: all its (at most six)
  leaves go to the checker.

A node's value is the geometric mean, along its path, of each step's prior relative to the best
step from the same state (1.0 for the model's favourite), so BFS ranks a whole level by the
model's path probability and MCTS backs up values in [0, 1]. The search itself is ``bfs`` or
``mcts`` from ``itc_lab.search``. Introduced in lesson 03.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ..answers import Answer
from ..backends.base import Backend
from ..datasets.base import Problem
from ..datasets.game24 import TARGET, check_expression
from ..search import ALGORITHMS
from ..search.builder import OnProgress
from ..search.tree import Evaluation, Proposal, SearchTree
from ..types import Completion, Message, Request
from .base import Sample
from .tree_of_thoughts import SearchResult, format_numbers, game24_numbers, parse_state

__all__ = [
    "PRIORS",
    "STEP_EXAMPLES",
    "Game24Steps",
    "LegalStep",
    "StepSearchResult",
    "expression_of",
    "game24_search",
    "legal_steps",
    "prior_request",
    "read_step",
]

PRIORS = ("model", "uniform")
"""Where the search's preference among legal steps comes from."""

STEP_EXAMPLES = (
    ("4 4 6 8", "4 + 8"), ("4 6 12", "6 - 4"), ("2 12", "2 * 12"),
    ("2 9 10 12", "12 * 2"), ("1 9 10", "10 - 9"), ("1 5 5 5", "1 / 5"),
)
"""Few-shot turns of the model's prompt: numbers left, then a good next step (``a op b`` only)."""

_SMOOTHING = 0.5
_JITTER = 1e-3
_OPS = {"+": "+", "-": "-", "*": "*", "x": "*", "×": "*", "/": "/", "÷": "/"}
_READ_RE = re.compile(r"^\s*(-?\d+(?:/\d+)?)\s*([+\-*/×÷x])\s*(-?\d+(?:/\d+)?)")


@dataclass(frozen=True)
class LegalStep:
    """One legal step ``a op b = value``, and the numbers it leaves (sorted)."""

    a: Fraction
    op: str
    b: Fraction
    value: Fraction
    left: tuple[Fraction, ...]

    @property
    def text(self) -> str:
        return f"{self.a} {self.op} {self.b} = {self.value}"


def _apply(a: Fraction, op: str, b: Fraction) -> Fraction | None:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    return a / b if b else None


def _remove(numbers: Sequence[Fraction], *values: Fraction) -> list[Fraction] | None:
    pool = list(numbers)
    for v in values:
        if v not in pool:
            return None
        pool.remove(v)
    return pool


def legal_steps(numbers: Sequence[Fraction | int]) -> list[LegalStep]:
    """Every legal next step from ``numbers``, one per distinct set of numbers it leaves.

    Pairs are taken in order over the sorted numbers; for each pair ``x <= y`` the steps are
    ``y + x``, ``y * x``, ``y - x``, ``x - y``, ``y / x`` and ``x / y`` (skipping division by
    0); a step whose result leaves the same numbers as an earlier one is dropped (``2 + 2`` and
    ``2 * 2`` both leave a 4). Empty when fewer than two numbers are left.
    """
    values = sorted(Fraction(v) for v in numbers)
    steps: list[LegalStep] = []
    seen: set[tuple[Fraction, ...]] = set()
    for i in range(len(values)):
        for j in range(i + 1, len(values)):
            x, y = values[i], values[j]
            rest = values[:i] + values[i + 1:j] + values[j + 1:]
            for a, op, b in ((y, "+", x), (y, "*", x), (y, "-", x), (x, "-", y), (y, "/", x),
                             (x, "/", y)):
                value = _apply(a, op, b)
                if value is None:
                    continue
                left = tuple(sorted([*rest, value]))
                if left in seen:
                    continue
                seen.add(left)
                steps.append(LegalStep(a, op, b, value, left))
    return steps


def read_step(text: str, numbers: Sequence[Fraction | int]) -> tuple[Fraction, ...] | None:
    """The numbers left after the step a model wrote (``"13 - 9"``, ``"13 - 9 = 5"``: only
    ``a op b`` is read, the program does the arithmetic), or ``None`` when the text does not
    start with such a step on two of ``numbers``."""
    m = _READ_RE.match(text)
    if m is None:
        return None
    a, op, b = Fraction(m.group(1)), _OPS[m.group(2)], Fraction(m.group(3))
    rest = _remove([Fraction(v) for v in numbers], a, b)
    value = _apply(a, op, b)
    if rest is None or value is None:
        return None
    return tuple(sorted([*rest, value]))


def prior_request(numbers: Sequence[Fraction | int], *, temperature: float = 1.0,
                  seed: int = 0) -> Request:
    """The request that asks the model for a next step from ``numbers`` (few-shot chat)."""
    turns: list[Message] = []
    for state, step in STEP_EXAMPLES:
        turns += [Message("user", f"Numbers: {state}. Next step toward 24?"),
                  Message("assistant", step)]
    shown = format_numbers([Fraction(v) for v in numbers])
    turns.append(Message("user", f"Numbers: {shown}. Next step toward 24?"))
    return Request(messages=tuple(turns), temperature=temperature, max_tokens=8, seed=seed,
                   stop=("=", "\n"))


def expression_of(numbers: Sequence[int], steps: Sequence[str]) -> str:
    """The expression that a path of steps (``"13 - 9 = 4"``, ...) builds from ``numbers``:
    ``expression_of([4, 9, 10, 13], ["13 - 9 = 4", "10 - 4 = 6", "6 * 4 = 24"])`` is
    ``"(10 - (13 - 9)) * 4"`` or an equivalent one."""
    pool: list[tuple[Fraction, str]] = [(Fraction(n), str(n)) for n in numbers]
    for step in steps:
        lhs = step.split("=", 1)[0]
        m = _READ_RE.match(lhs)
        if m is None:
            msg = f"Not a step of the form 'a op b = c': {step!r}."
            raise ValueError(msg)
        a, op, b = Fraction(m.group(1)), _OPS[m.group(2)], Fraction(m.group(3))
        picked = []
        for v in (a, b):
            k = next((k for k, (value, _) in enumerate(pool) if value == v), None)
            if k is None:
                msg = f"The step {step!r} uses {v}, which is not left."
                raise ValueError(msg)
            picked.append(pool.pop(k))
        value = _apply(a, op, b)
        if value is None:
            msg = f"The step {step!r} divides by 0."
            raise ValueError(msg)
        (_, ea), (_, eb) = picked
        pool.append((value, f"{_wrap(ea)} {op} {_wrap(eb)}"))
    if len(pool) != 1:
        msg = f"{len(pool)} numbers are left after the steps; a solution leaves one."
        raise ValueError(msg)
    return pool[0][1]


def _wrap(expr: str) -> str:
    return expr if expr.isdigit() else f"({expr})"


@dataclass
class Game24Steps:
    """The Game of 24 as a search problem: the program proposes the legal steps, the prior
    (the model's or a uniform one) values them, the exact checker judges the leaves."""

    numbers: Sequence[int]
    backend: Backend | None = None
    prior: str = "model"
    samples: int = 8
    temperature: float = 1.0
    seed: int = 0
    completions: list[Completion] = field(default_factory=list)
    """Every completion the model returned, in order (the result's ``samples``)."""
    picks: dict[tuple[Fraction, ...], tuple[tuple[Fraction, ...] | None, ...]] = field(
        default_factory=dict)
    """For each set of numbers the model was asked about: what each sample's step leaves
    (``None`` when the sample was not a legal step)."""
    _means: dict[str, float] = field(default_factory=dict, repr=False)
    _asked: dict[tuple[Fraction, ...], tuple[Counter[tuple[Fraction, ...]], str]] = field(
        default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.prior not in PRIORS:
            msg = f"prior must be one of {PRIORS}, not {self.prior!r}."
            raise ValueError(msg)
        if self.prior == "model" and self.backend is None:
            msg = "prior='model' asks the model: pass a backend (or use prior='uniform')."
            raise ValueError(msg)
        if not (isinstance(self.samples, int) and self.samples >= 1):
            msg = f"samples must be a whole number >= 1, not {self.samples!r}."
            raise ValueError(msg)

    def root(self) -> str:
        return format_numbers([Fraction(n) for n in self.numbers])

    def _jitter(self, state: str) -> float:
        """A seeded tie-break in [0, 1), fixed per state (the same for both priors)."""
        return random.Random(f"{self.seed}|{state}").random()

    def _ask(self, left: tuple[Fraction, ...]) -> tuple[Counter[tuple[Fraction, ...]], str,
                                                         int]:
        """What the model wrote from ``left``: samples per resulting set of numbers, a summary
        and the tokens generated (asked once per set of numbers in one search; 0 tokens when
        asked before)."""
        if left in self._asked:
            return (*self._asked[left], 0)
        assert self.backend is not None
        request = prior_request(left, temperature=self.temperature, seed=self.seed)
        out = self.backend.generate(request, n=self.samples)
        self.completions += out
        self.picks[left] = tuple(read_step(c.text, left) for c in out)
        counts = Counter(after for after in self.picks[left] if after is not None)
        written = Counter(c.text.strip() for c in out)
        shown = ", ".join(f"{t!r} ×{k}" if k > 1 else repr(t) for t, k in written.most_common())
        summary = f"the model wrote ({sum(counts.values())} of {len(out)} legal): {shown}"
        self._asked[left] = (counts, summary)
        return counts, summary, sum(c.completion_tokens for c in out)

    def value(self, state: str) -> float:
        """The state's value: the geometric mean of its steps' relative priors, times a seeded
        tie-break of at most 0.1 % (1.0 for the root)."""
        if state not in self._means:
            return 1.0
        return self._means[state] * (1 - _JITTER * self._jitter(state))

    def propose(self, state: str, node_id: int) -> list[Proposal]:
        left = tuple(parse_state(state))
        steps = legal_steps(left)
        if not steps:
            return []
        asked = self.prior == "model" and len(left) > 2
        if asked:
            counts, why, tokens = self._ask(left)
        else:
            counts, tokens = Counter(), 0
            why = ("uniform prior: every legal step alike" if self.prior == "uniform" else
                   "two numbers left: every step goes to the checker; the model is not asked")
        legal = sum(counts.values())
        shares = [(counts[s.left] + _SMOOTHING) / (legal + _SMOOTHING * len(steps))
                  for s in steps]
        best = max(shares)
        depth = state.count("=")
        parent = self._means.get(state, 1.0)
        history = state.split("|", 1)[1].strip() if "|" in state else ""
        proposals = []
        for step, share in zip(steps, shares, strict=True):
            new_state = (f"{format_numbers(list(step.left))} | "
                         f"{history + '; ' if history else ''}{step.text}")
            self._means[new_state] = math.exp(
                (math.log(parent) * depth + math.log(share / best)) / (depth + 1))
            written = f" (the model wrote it {counts[step.left]} times)" if asked else ""
            proposals.append(Proposal(state=new_state, step=step.text,
                                      text=f"{step.text} · prior {share:.3f}{written}\n{why}"))
        first = proposals[0]
        proposals[0] = Proposal(first.state, first.step, tokens, first.text)
        return proposals

    def evaluate(self, state: str) -> Evaluation:
        value = self.value(state)
        return Evaluation(value=value, tokens=0,
                          text=f"{self.prior} prior: path value {value:.3f} (no call)")

    def is_solved(self, state: str) -> bool:
        left = parse_state(state)
        return len(left) == 1 and left[0] == TARGET

    def is_terminal(self, state: str) -> bool:
        return len(parse_state(state)) <= 1


@dataclass(frozen=True, kw_only=True, repr=False)
class StepSearchResult(SearchResult):
    """A search over legal steps (``game24_search``): ``tree`` holds every state, ``samples`` the
    model's prior samples (none with ``prior="uniform"``), ``answer`` the solution's whole
    expression as the exact checker accepted it. Introduced in lesson 03."""

    root_picks: tuple[tuple[Fraction, ...] | None, ...] = ()
    """What each of the model's samples from the puzzle's own numbers leaves (``None``: not a
    legal step); empty with ``prior="uniform"``."""

    @property
    def states(self) -> int:
        """States the search created (the tree's nodes without the root)."""
        return len(self.tree.nodes) - 1

    @property
    def calls(self) -> int:
        """Requests sent to the model (each of ``config["samples"]`` samples)."""
        return len(self.samples) // int(self.config.get("samples", 1) or 1)

    def _summary(self) -> list[tuple[str, object]]:
        return [*super()._summary(), ("prior", self.config.get("prior")),
                ("states", self.states), ("model calls", self.calls)]


def game24_search(problem: Problem | Sequence[int], backend: Backend, *, prior: str = "model",
                  algorithm: str = "bfs", samples: int = 8, temperature: float = 1.0,
                  seed: int = 0, on_progress: OnProgress | None = None,
                  **search: Any) -> StepSearchResult:
    """Search a Game of 24 puzzle over the program's legal steps, guided by ``prior``
    (``"model"`` or ``"uniform"``); ``search`` goes to the algorithm (``bfs``: ``beam_width``,
    ``max_depth``; ``mcts``: ``iterations``, ``c``, ``max_depth``; both: budgets). ``seed``
    seeds the model's samples, the tie-breaks and MCTS. ``on_progress`` is called as the tree
    grows (see ``TreeProgress``; a ``TreeView()``'s ``grow`` draws it)."""
    try:
        run = ALGORITHMS[algorithm]
    except KeyError:
        msg = f"Unknown algorithm {algorithm!r}; choose one of {', '.join(ALGORITHMS)}."
        raise ValueError(msg) from None
    problem, numbers = game24_numbers(problem)
    space = Game24Steps(numbers, backend, prior=prior, samples=samples,
                        temperature=temperature, seed=seed)
    if algorithm == "mcts":
        search = {"seed": seed, **search}
    search = {"max_depth": len(numbers) - 1, **search}
    tree: SearchTree = run(space, on_progress=on_progress, **search)
    answer, correct = None, False
    if tree.solution_id is not None:
        steps = [n.step for n in tree.solution_path()[1:]]
        answer = expression_of(numbers, steps)
        correct = check_expression(answer, numbers)[0]
    config = {"prior": prior, "algorithm": algorithm, "samples": samples,
              "temperature": temperature, "seed": seed, **search}
    return StepSearchResult(
        technique="game24_search", problem=problem,
        request=prior_request(numbers, temperature=temperature, seed=seed),
        samples=tuple(Sample(c, Answer(None, None, "none"), False) for c in space.completions),
        answer=answer, correct=correct, config=config, tree=tree,
        root_picks=space.picks.get(tuple(sorted(Fraction(n) for n in numbers)), ()))
