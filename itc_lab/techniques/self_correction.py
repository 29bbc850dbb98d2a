"""Intrinsic self-correction (as studied by Huang et al. 2023): answer, then ask the model to
review its own answer and revise it, for up to R rounds, with no outside feedback.

Introduced in lesson 04.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..backends.base import Backend
from ..datasets.base import Dataset, Problem
from ..types import Message, Request
from .base import Sample, few_shot_messages, grade

__all__ = [
    "REVIEW_PROMPT",
    "SelfCorrection",
    "self_correct",
]

REVIEW_PROMPT = ("Review your answer above. If it is wrong, correct it. Explain briefly and end "
                 "with \"The answer is N.\"")


@dataclass(frozen=True)
class SelfCorrection:
    """The answers of every round: ``rounds[0]`` is the first answer."""

    problem: Problem
    rounds: tuple[Sample, ...]

    @property
    def correct(self) -> list[bool]:
        return [s.correct for s in self.rounds]

    @property
    def tokens(self) -> int:
        return sum(s.completion.completion_tokens for s in self.rounds)


def self_correct(problem: Problem, backend: Backend, *, dataset: Dataset, rounds: int = 2,
                 shots: int = 3, max_tokens: int = 160, seed: int = 0) -> SelfCorrection:
    """A few-shot chain-of-thought answer, then ``rounds`` review-and-revise turns (greedy)."""
    if rounds < 0:
        msg = f"rounds must be >= 0, not {rounds}."
        raise ValueError(msg)
    turns = list(few_shot_messages(dataset.exemplars(shots, exclude=problem, seed=seed),
                                   problem.question))
    out: list[Sample] = []
    for _ in range(rounds + 1):
        request = Request(messages=tuple(turns), temperature=0.0, max_tokens=max_tokens,
                          seed=seed, stop=("\n\n",))
        [sample] = grade(problem, backend.generate(request))
        out.append(sample)
        turns += [Message("assistant", sample.completion.text or "(no answer)"),
                  Message("user", REVIEW_PROMPT)]
    return SelfCorrection(problem, tuple(out))
