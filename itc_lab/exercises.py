"""Exercises checked inside the notebook: ``itc_lab.check("01-cot-tokens", my_answer, results)``.

Each exercise is a checker ``(answer, *context) -> (passed, feedback)`` registered under an id; the
context is what the lesson computed (its results), so the expected value is never typed in by hand.
Introduced in lesson 00.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .analysis import maj_at_k, pass_at_k
from .types import Completion

__all__ = ["EXERCISES", "Exercise", "Feedback", "check", "register_exercise"]

Checker = Callable[..., tuple[bool, str]]


@dataclass(frozen=True)
class Exercise:
    id: str
    lesson: str
    prompt: str
    checker: Checker


EXERCISES: dict[str, Exercise] = {}


def register_exercise(id: str, lesson: str, prompt: str, *, replace: bool = False
                      ) -> Callable[[Checker], Checker]:
    """Decorator: register ``checker`` as the exercise ``id``."""

    def wrap(checker: Checker) -> Checker:
        if id in EXERCISES and not replace:
            msg = f"An exercise {id!r} exists already (pass replace=True to override)."
            raise ValueError(msg)
        EXERCISES[id] = Exercise(id, lesson, prompt, checker)
        return checker

    return wrap


@dataclass(frozen=True)
class Feedback:
    """The verdict on one answer; true when it passed, shown as one line in a notebook."""

    exercise: str
    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return f"[{self.exercise}] {self.message}"


def check(exercise_id: str, answer: Any, *context: Any) -> Feedback:
    """Check an answer and say why. Never raises for a wrong or missing answer: ``None`` means
    "not answered yet"."""
    try:
        ex = EXERCISES[exercise_id]
    except KeyError:
        msg = f"No exercise {exercise_id!r}; known: {', '.join(sorted(EXERCISES))}."
        raise ValueError(msg) from None
    if answer is None or answer is ...:
        return Feedback(ex.id, False, f"Not answered yet: {ex.prompt}")
    try:
        ok, feedback = ex.checker(answer, *context)
    except (TypeError, ValueError) as e:
        ok, feedback = False, f"could not check this answer ({e})"
    return Feedback(ex.id, ok, f"{'Correct' if ok else 'Not yet'}: {feedback}")


def _close(a: Any, b: float, tol: float = 1e-6) -> bool:
    return isinstance(a, int | float) and not isinstance(a, bool) and math.isclose(
        float(a), b, rel_tol=tol, abs_tol=tol)


@register_exercise("00-least-likely-token", "00_meet_your_model",
                   "set my_answer to the text of the least likely token of the greedy answer.")
def _least_likely(answer: Any, completion: Completion) -> tuple[bool, str]:
    if not completion.tokens:
        return False, "this completion has no logprobs; ask with top_logprobs=5"
    lowest = min(completion.tokens, key=lambda t: t.logprob or 0.0)
    if answer == lowest.text:
        return True, f"{lowest.text!r} had p={lowest.prob:.2f}."
    return False, f"{answer!r} is not it. Sort completion.tokens by .prob."


@register_exercise("01-accuracy-per-token", "01_chain_of_thought",
                   "set my_answer to the name of the technique with the most correct answers "
                   "per 1,000 generated tokens.")
def _per_token(answer: Any, table: Sequence[dict[str, Any]]) -> tuple[bool, str]:
    def score(row: dict[str, Any]) -> float:
        return 1000 * float(row["correct"]) / max(float(row["tokens"]), 1.0)

    best = max(table, key=score)
    if answer == best["technique"]:
        return True, f"{best['technique']} gets {score(best):.1f} correct per 1,000 tokens."
    names = ", ".join(r["technique"] for r in table)
    return False, f"{answer!r} is not the most token-efficient of {names}: compute correct/tokens."


@register_exercise("02-pass-at-k", "02_self_consistency",
                   "set my_answer to pass@k for n samples with c correct (a number from 0 to 1).")
def _pass_at_k(answer: Any, n: int, c: int, k: int) -> tuple[bool, str]:
    want = pass_at_k(n, c, k)
    if _close(answer, want):
        return True, f"pass@{k} with {c} of {n} correct is {want:.4f}."
    return False, "use 1 - C(n-c, k) / C(n, k) (math.comb)."


@register_exercise("02-maj-at-k", "02_self_consistency",
                   "set my_answer to maj@k of the given answers (a number from 0 to 1).")
def _maj_at_k(answer: Any, answers: Sequence[str | None], gold: str, k: int
              ) -> tuple[bool, str]:
    want = maj_at_k(answers, gold, k)
    if _close(answer, want, 1e-3):
        return True, f"maj@{k} is {want:.4f}."
    return False, "average, over all size-k subsets, whether the subset's majority is the gold."


@register_exercise("03-game24", "03_tree_search",
                   "set my_answer to an expression that makes 24 from the puzzle's numbers.")
def _game24(answer: Any, numbers: Sequence[int]) -> tuple[bool, str]:
    from .game24 import check_expression

    if not isinstance(answer, str):
        return False, "write the expression as a string, e.g. \"(13 - 9) * (10 - 4)\""
    ok, reason = check_expression(answer, numbers)
    return ok, reason


@register_exercise("04-net-flips", "04_verify_and_self_correct",
                   "set my_answer to (wrong→right) minus (right→wrong) after self-correction.")
def _net_flips(answer: Any, before: Sequence[bool], after: Sequence[bool]) -> tuple[bool, str]:
    up = sum(1 for b, a in zip(before, after, strict=True) if not b and a)
    down = sum(1 for b, a in zip(before, after, strict=True) if b and not a)
    if isinstance(answer, int) and not isinstance(answer, bool) and answer == up - down:
        return True, f"{up} wrong→right, {down} right→wrong: net {up - down}."
    return False, "count problems that went wrong→right and right→wrong, then subtract."


@register_exercise("05-constraints", "05_iterative_refinement",
                   "set my_answer to a sentence that meets every constraint of the task.")
def _constraints(answer: Any, meta: Any) -> tuple[bool, str]:
    from .writing import feedback_from_checks, score_text

    if not isinstance(answer, str):
        return False, "write the sentence as a string."
    score, checks = score_text(answer, meta)
    return score == 1.0, feedback_from_checks(checks)
