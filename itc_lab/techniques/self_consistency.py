"""Self-consistency (Wang et al. 2023): sample k reasoning paths, vote on their final answers.

Introduced in lesson 02.
"""

from __future__ import annotations

import math

from ..analysis.voting import majority_vote
from ..backends.base import Backend
from ..datasets.base import Dataset, Problem
from ..types import Message, Request
from .base import TechniqueResult, few_shot_messages, grade
from .cot import ZERO_SHOT_TRIGGER

__all__ = [
    "self_consistency",
]


def self_consistency(problem: Problem, backend: Backend, *, k: int = 10,
                     dataset: Dataset | None = None, shots: int = 3, temperature: float = 0.8,
                     max_tokens: int = 160, seed: int = 0, weighted: bool = False,
                     top_logprobs: int = 0) -> TechniqueResult:
    """k chain-of-thought samples (few-shot when a ``dataset`` is given, else zero-shot), then a
    majority vote; ``weighted=True`` weights each vote by the sample's probability
    (exp of its mean token logprob; needs ``top_logprobs >= 1``)."""
    if k < 1:
        msg = f"k must be at least 1 (the number of samples), not {k}."
        raise ValueError(msg)
    if weighted and top_logprobs < 1:
        top_logprobs = 1
    if dataset is not None:
        messages = few_shot_messages(dataset.exemplars(shots, exclude=problem, seed=0),
                                     problem.question)
        stop: tuple[str, ...] = ("\n\n",)
    else:
        messages = (Message("user", f"{problem.question}\n{ZERO_SHOT_TRIGGER}"),)
        stop = ()
    request = Request(messages=messages, temperature=temperature, max_tokens=max_tokens,
                      seed=seed, top_logprobs=top_logprobs, stop=stop)
    samples = grade(problem, backend.generate(request, n=k))
    weights = None
    if weighted:
        weights = [math.exp(s.completion.mean_logprob or -math.inf) for s in samples]
    winner, votes = majority_vote([s.answer.value for s in samples], weights)
    correct = winner is not None and winner == problem.answer
    return TechniqueResult("self_consistency", problem, request, samples, winner, correct,
                           votes=votes, config={"k": k, "temperature": temperature,
                                                "weighted": weighted,
                                                "shots": shots if dataset is not None else 0})
