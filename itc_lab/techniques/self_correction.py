"""Intrinsic self-correction (as studied by Huang et al. 2023): answer, then ask the model to
review its own answer and revise it, for up to R rounds, with no outside feedback.

Introduced in lesson 04.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..backends.base import Backend
from ..datasets.base import Dataset, Problem
from ..types import Message, Request
from .base import Sample, TechniqueResult, few_shot_messages, grade

__all__ = [
    "REVIEW_PROMPT",
    "SelfCorrection",
    "self_correct",
]

REVIEW_PROMPT = ("Review your answer above. If it is wrong, correct it. Explain briefly and end "
                 "with \"The answer is N.\"")


@dataclass(frozen=True, kw_only=True, repr=False)
class SelfCorrection(TechniqueResult):
    """The answer of every round: ``samples[0]`` is the first answer, ``samples[-1]`` the last;
    ``answer`` and ``correct`` are the last round's. Introduced in lesson 04."""

    @property
    def rounds(self) -> tuple[Sample, ...]:
        """The answer of each round, first to last (the same as ``samples``)."""
        return self.samples

    @property
    def correct_by_round(self) -> list[bool]:
        """Whether each round's answer was right, first to last."""
        return [s.correct for s in self.samples]

    def _summary(self) -> list[tuple[str, object]]:
        rounds = " → ".join(f"{s.answer.value!r} {'✓' if s.correct else '✗'}"
                            for s in self.samples)
        return [*super()._summary()[:2], ("answer by round", rounds),
                ("generated tokens", self.tokens)]


def self_correct(problem: Problem, backend: Backend, *, dataset: Dataset, rounds: int = 2,
                 shots: int = 3, max_tokens: int = 160, seed: int = 0) -> SelfCorrection:
    """A few-shot chain-of-thought answer, then ``rounds`` review-and-revise turns (greedy)."""
    if rounds < 0:
        msg = f"rounds must be >= 0, not {rounds}."
        raise ValueError(msg)
    turns = list(few_shot_messages(dataset.exemplars(shots, exclude=problem, seed=seed),
                                   problem.question))
    out: list[Sample] = []
    request = None
    for _ in range(rounds + 1):
        request = Request(messages=tuple(turns), temperature=0.0, max_tokens=max_tokens,
                          seed=seed, stop=("\n\n",))
        [sample] = grade(problem, backend.generate(request))
        out.append(sample)
        turns += [Message("assistant", sample.completion.text or "(no answer)"),
                  Message("user", REVIEW_PROMPT)]
    assert request is not None
    last = out[-1]
    return SelfCorrection(technique="self_correct", problem=problem, request=request,
                          samples=tuple(out), answer=last.answer.value, correct=last.correct,
                          config={"rounds": rounds, "shots": shots, "max_tokens": max_tokens,
                                  "seed": seed})
