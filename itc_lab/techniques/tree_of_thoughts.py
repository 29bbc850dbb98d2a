"""Tree of Thoughts for the Game of 24 (Yao et al. 2023): the model proposes next steps and judges
states; a search (BFS, DFS or MCTS from ``itc_lab.search``) decides what to expand.

A state is the list of numbers still left plus the steps taken, e.g. ``"4 4 10 | 13 - 9 = 4"``.
Every proposed step is checked with exact arithmetic before it enters the tree: the model proposes,
the program verifies. Introduced in lesson 03.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ..answers import Answer
from ..backends.base import Backend
from ..datasets.base import Problem
from ..datasets.game24 import reachable
from ..search import ALGORITHMS
from ..search.builder import OnProgress
from ..search.tree import Evaluation, Proposal, SearchTree
from ..tables import cut
from ..types import Message, Request
from .base import Sample, TechniqueResult

__all__ = [
    "COT_EXAMPLES",
    "PROPOSE_EXAMPLE",
    "VALUE_EXAMPLE",
    "Attempt",
    "Game24Attempts",
    "Game24Search",
    "SearchResult",
    "format_numbers",
    "game24_cot",
    "game24_numbers",
    "parse_state",
    "tree_of_thoughts",
]

_STEP_RE = re.compile(
    r"(-?\d+(?:/\d+)?)\s*([+\-*/×÷x])\s*(-?\d+(?:/\d+)?)\s*=\s*(-?\d+(?:/\d+)?)")
_OPS = {"+": "+", "-": "-", "*": "*", "x": "*", "×": "*", "/": "/", "÷": "/"}

PROPOSE_EXAMPLE = (
    "Input: 2 8 8 14\nPossible next steps:\n2 + 8 = 10 (left: 8 10 14)\n"
    "8 / 2 = 4 (left: 4 8 14)\n14 + 2 = 16 (left: 8 8 16)\n2 * 8 = 16 (left: 8 14 16)\n"
    "8 - 2 = 6 (left: 6 8 14)\n14 - 8 = 6 (left: 2 6 8)\n14 / 2 = 7 (left: 7 8 8)\n"
)
VALUE_EXAMPLE = (
    "Evaluate if the numbers can reach 24 (sure/likely/impossible).\n"
    "10 14: 10 + 14 = 24. sure\n"
    "4 4 10: (10 - 4) * 4 = 24. sure\n"
    "11 12: 11 + 12 = 23, 12 - 11 = 1, 11 * 12 = 132. impossible\n"
    "5 7 8: 5 + 7 + 8 = 20, (8 - 5) * 7 = 21. likely\n"
    "1 3 3: 1 * 3 * 3 = 9, (1 + 3) * 3 = 12. impossible\n"
)
_VALUES = {"sure": 1.0, "likely": 0.5, "impossible": 0.0}


def _num(text: str) -> Fraction:
    return Fraction(text)


def format_numbers(numbers: Sequence[Fraction]) -> str:
    return " ".join(str(n) for n in sorted(numbers))


def parse_state(state: str) -> list[Fraction]:
    """The numbers still left in a state ``"4 4 10 | 13 - 9 = 4"``."""
    left = state.split("|", 1)[0].split()
    return [_num(t) for t in left]


@dataclass
class Game24Search:
    """A Game of 24 puzzle as a search problem, with the model as proposer and (optionally) judge.

    ``judge="model"`` asks the model sure/likely/impossible; ``judge="exact"`` uses the exact
    solver instead (no tokens): the best evaluator there can be, to separate the proposer's
    weakness from the judge's.
    """

    numbers: Sequence[int]
    backend: Backend
    judge: str = "model"
    temperature: float = 0.7
    max_tokens: int = 96
    seed: int = 0
    samples: int = 4
    """Proposer samples per expansion (decoded together in one batch)."""
    calls: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.judge not in ("model", "exact"):
            msg = f"judge must be 'model' or 'exact', not {self.judge!r}."
            raise ValueError(msg)

    def root(self) -> str:
        return format_numbers([Fraction(n) for n in self.numbers])

    def _ask(self, content: str, seed: int, n: int = 1) -> tuple[str, int]:
        request = Request(messages=(Message("user", content),), temperature=self.temperature,
                          max_tokens=self.max_tokens, seed=seed, stop=("\n\n",))
        self.calls.append(request)
        out = self.backend.generate(request, n=n)
        return "\n".join(c.text for c in out), sum(c.completion_tokens for c in out)

    def propose(self, state: str, node_id: int) -> list[Proposal]:
        left = parse_state(state)
        text, tokens = self._ask(
            f"{PROPOSE_EXAMPLE}Input: {format_numbers(left)}\nPossible next steps:\n",
            self.seed + 100 * node_id, n=self.samples)
        proposals: list[Proposal] = []
        seen: set[str] = set()
        for m in _STEP_RE.finditer(text):
            a, op, b, claimed = _num(m.group(1)), _OPS[m.group(2)], _num(m.group(3)), m.group(4)
            pool = list(left)
            try:
                pool.remove(a)
                pool.remove(b)
            except ValueError:
                continue  # used a number that is not left
            if op == "/" and b == 0:
                continue
            value = {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else a}[op]
            if value != _num(claimed):
                continue  # arithmetic error: the program rejects it
            new_left = format_numbers([*pool, value])
            step = f"{a} {op} {b} = {value}"
            if new_left in seen:
                continue
            seen.add(new_left)
            history = state.split("|", 1)[1].strip() if "|" in state else ""
            new_state = f"{new_left} | {history + '; ' if history else ''}{step}"
            proposals.append(Proposal(state=new_state, step=step, tokens=0, text=text))
        if proposals:
            # the proposer's tokens are charged once, to the first child
            first = proposals[0]
            proposals[0] = Proposal(first.state, first.step, tokens, first.text)
        return proposals

    def evaluate(self, state: str) -> Evaluation:
        left = parse_state(state)
        if self.judge == "exact":
            ok = reachable(left)
            return Evaluation(value=1.0 if ok else 0.0, tokens=0,
                              text="exact solver: " + ("reachable" if ok else "unreachable"))
        text, tokens = self._ask(f"{VALUE_EXAMPLE}{format_numbers(left)}:",
                                 self.seed + 10_000 + len(self.calls))
        words = re.findall(r"sure|likely|impossible", text.lower())
        value = _VALUES[words[-1]] if words else 0.5
        return Evaluation(value=value, tokens=tokens, text=text)

    def is_solved(self, state: str) -> bool:
        left = parse_state(state)
        return len(left) == 1 and left[0] == 24

    def is_terminal(self, state: str) -> bool:
        return len(parse_state(state)) <= 1


@dataclass(frozen=True, kw_only=True, repr=False)
class SearchResult(TechniqueResult):
    """A tree search on one puzzle: ``tree`` is the whole ``SearchTree`` (draw it with
    ``tree_graph`` or ``TreeView``); ``answer`` is the solution's last step (``None`` when none
    was found) and ``correct`` whether a solution was found. ``samples`` is empty: the tree holds
    every call's text and its tokens. Introduced in lesson 03."""

    tree: SearchTree

    @property
    def tokens(self) -> int:
        """Tokens the search spent (the tree's own count)."""
        return int(self.tree.spent.get("tokens", 0))

    def _summary(self) -> list[tuple[str, object]]:
        found = "none found" if not self.correct else repr(self.answer)
        return [("problem", f"{self.problem.id}: {cut(self.problem.question, 80)}"),
                ("solution", found), ("tree", self.tree.summary())]

    def to_pandas(self) -> Any:
        """One row per node of the tree (see ``SearchTree.to_pandas``)."""
        return self.tree.to_pandas()


def game24_numbers(problem: Problem | Sequence[int]) -> tuple[Problem, list[int]]:
    """The puzzle as a problem and its numbers (a plain list of numbers is still accepted)."""
    if isinstance(problem, Problem):
        numbers = problem.meta.get("numbers")
        if not numbers:
            msg = (f"Problem {problem.id!r} has no meta['numbers']: give a puzzle from "
                   "datasets.load('game24').")
            raise ValueError(msg)
        return problem, [int(x) for x in numbers]
    numbers = [int(x) for x in problem]
    text = " ".join(map(str, numbers))
    return Problem(id=f"game24-{text.replace(' ', '-')}", question=f"Make 24 from {text}.",
                   answer="24", meta={"numbers": numbers}), numbers


def tree_of_thoughts(problem: Problem | Sequence[int], backend: Backend, *,
                     algorithm: str = "bfs", judge: str = "model", seed: int = 0,
                     on_progress: OnProgress | None = None, **search: Any) -> SearchResult:
    """Search for a way to make 24 from a Game of 24 puzzle (a problem of the ``game24``
    dataset); ``search`` goes to the algorithm (e.g. ``beam_width=3, max_depth=3,
    budget_calls=40``). ``on_progress`` is called as the tree grows (see ``TreeProgress``;
    a ``TreeView()``'s ``grow`` draws it)."""
    try:
        run = ALGORITHMS[algorithm]
    except KeyError:
        msg = f"Unknown algorithm {algorithm!r}; choose one of {', '.join(ALGORITHMS)}."
        raise ValueError(msg) from None
    problem, numbers = game24_numbers(problem)
    tree = run(Game24Search(numbers, backend, judge=judge, seed=seed), on_progress=on_progress,
               **search)
    solution = tree.node(tree.solution_id) if tree.solution_id is not None else None
    config = {"algorithm": algorithm, "judge": judge, "seed": seed, **search}
    return SearchResult(technique="tree_of_thoughts", problem=problem,
                        request=Request(prompt=PROPOSE_EXAMPLE + format_numbers(
                                            [Fraction(n) for n in numbers]), seed=seed),
                        samples=(), answer=solution.step if solution is not None else None,
                        correct=solution is not None, config=config, tree=tree)


COT_EXAMPLES = (
    ("4 4 6 8", "4 + 8 = 12 (left: 4 6 12)\n6 - 4 = 2 (left: 2 12)\n2 * 12 = 24 (left: 24)\n"
                "Answer: (6 - 4) * (4 + 8) = 24"),
    ("2 9 10 12", "12 * 2 = 24 (left: 9 10 24)\n10 - 9 = 1 (left: 1 24)\n24 * 1 = 24 (left: 24)\n"
                  "Answer: (12 * 2) * (10 - 9) = 24"),
)


@dataclass(frozen=True)
class Attempt:
    """One chain-of-thought attempt at a Game of 24 puzzle, checked exactly."""

    text: str
    expression: str | None
    ok: bool
    reason: str
    tokens: int


@dataclass(frozen=True, kw_only=True, repr=False)
class Game24Attempts(TechniqueResult):
    """k chain-of-thought attempts at one puzzle, each checked by the exact checker: ``correct``
    when any attempt is right (best-of-k with a perfect verifier), ``answer`` the first right
    expression (else the first attempt's). Introduced in lesson 03."""

    attempts: tuple[Attempt, ...]

    def _summary(self) -> list[tuple[str, object]]:
        right = sum(a.ok for a in self.attempts)
        return [("problem", f"{self.problem.id}: {cut(self.problem.question, 80)}"),
                ("attempts", f"{len(self.attempts)}, {right} right by the exact checker"),
                ("answer", repr(self.answer)), ("generated tokens", self.tokens)]


def game24_cot(problem: Problem | Sequence[int], backend: Backend, *, k: int = 1,
               temperature: float = 0.0, max_tokens: int = 96,
               seed: int = 0) -> Game24Attempts:
    """k chain-of-thought attempts (two worked examples, then the puzzle), each checked exactly."""
    from ..datasets.game24 import check_expression, extract_expression

    problem, numbers = game24_numbers(problem)
    turns: list[Message] = []
    for q, a in COT_EXAMPLES:
        turns += [Message("user", f"Use the numbers {q} and + - * / to make 24."),
                  Message("assistant", a)]
    puzzle = " ".join(str(n) for n in numbers)
    turns.append(Message("user", f"Use the numbers {puzzle} and + - * / to make 24."))
    request = Request(messages=tuple(turns), temperature=temperature, max_tokens=max_tokens,
                      seed=seed, stop=("\n\n",))
    attempts, samples = [], []
    for c in backend.generate(request, n=k):
        expr = extract_expression(c.text)
        ok, reason = check_expression(expr, numbers) if expr else (False, "no expression found")
        attempts.append(Attempt(c.text, expr, ok, reason, c.completion_tokens))
        answer = Answer(expr, expr, "text") if expr else Answer(None, None, "none")
        samples.append(Sample(c, answer, ok))
    best = next((a for a in attempts if a.ok), attempts[0] if attempts else None)
    return Game24Attempts(technique="game24_cot", problem=problem, request=request,
                          samples=tuple(samples),
                          answer=best.expression if best is not None else None,
                          correct=any(a.ok for a in attempts),
                          config={"k": k, "temperature": temperature, "max_tokens": max_tokens,
                                  "seed": seed},
                          attempts=tuple(attempts))
