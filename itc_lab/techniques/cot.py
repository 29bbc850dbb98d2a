"""Chain-of-thought prompting: zero-shot ("Let's think step by step.", Kojima et al. 2022) and
few-shot with worked exemplars (Wei et al. 2022). Introduced in lesson 01.
"""

from __future__ import annotations

from ..backends.base import Backend
from ..datasets.base import Dataset, Problem
from ..types import Message, Request
from .base import TechniqueResult, few_shot_messages, grade

__all__ = [
    "ZERO_SHOT_TRIGGER",
    "few_shot_cot",
    "zero_shot_cot",
]

ZERO_SHOT_TRIGGER = "Let's think step by step, then finish with \"The answer is ...\"."


def zero_shot_cot(problem: Problem, backend: Backend, *, temperature: float = 0.0,
                  max_tokens: int = 160, seed: int = 0, top_logprobs: int = 0,
                  trigger: str = ZERO_SHOT_TRIGGER) -> TechniqueResult:
    """The question followed by a reasoning trigger; no exemplars."""
    request = Request(messages=(Message("user", f"{problem.question}\n{trigger}"),),
                      temperature=temperature, max_tokens=max_tokens, seed=seed,
                      top_logprobs=top_logprobs)
    samples = grade(problem, backend.generate(request))
    return TechniqueResult("zero_shot_cot", problem, request, samples, samples[0].answer.value,
                           samples[0].correct, config={"temperature": temperature})


def few_shot_cot(problem: Problem, backend: Backend, *, dataset: Dataset, shots: int = 3,
                 temperature: float = 0.0, max_tokens: int = 160, seed: int = 0,
                 top_logprobs: int = 0) -> TechniqueResult:
    """``shots`` worked solutions from ``dataset`` (never the problem itself), then the question."""
    exemplars = dataset.exemplars(shots, exclude=problem, seed=seed)
    request = Request(messages=few_shot_messages(exemplars, problem.question),
                      temperature=temperature, max_tokens=max_tokens, seed=seed,
                      top_logprobs=top_logprobs, stop=("\n\n",))
    samples = grade(problem, backend.generate(request))
    return TechniqueResult("few_shot_cot", problem, request, samples, samples[0].answer.value,
                           samples[0].correct, config={"shots": shots,
                                                       "temperature": temperature})
