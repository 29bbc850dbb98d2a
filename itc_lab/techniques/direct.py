"""Direct answer ("standard prompting" in Wei et al. 2022): exemplars show only the final answer.

Introduced in lesson 01.
"""

from __future__ import annotations

from ..backends.base import Backend
from ..datasets.base import Dataset, Problem
from ..types import Message, Request
from .base import TechniqueResult, grade

__all__ = [
    "direct",
]


def direct(problem: Problem, backend: Backend, *, dataset: Dataset | None = None, shots: int = 3,
           temperature: float = 0.0, max_tokens: int = 24, seed: int = 0,
           top_logprobs: int = 0) -> TechniqueResult:
    """Ask for the answer alone. With a ``dataset``, ``shots`` exemplars show the format
    (question → "The answer is X."), never the problem itself."""
    turns: list[Message] = []
    if dataset is not None and shots:
        for ex in dataset.exemplars(shots, exclude=problem, seed=seed):
            turns += [Message("user", ex.question), Message("assistant",
                                                            f"The answer is {ex.answer}.")]
    turns.append(Message("user", f"{problem.question}\nGive only the final answer."))
    request = Request(messages=tuple(turns), temperature=temperature, max_tokens=max_tokens,
                      seed=seed, top_logprobs=top_logprobs, stop=("\n",))
    samples = grade(problem, backend.generate(request))
    best = samples[0]
    return TechniqueResult("direct", problem, request, samples, best.answer.value, best.correct,
                           config={"shots": shots if dataset is not None else 0,
                                   "temperature": temperature})
