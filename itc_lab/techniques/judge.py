"""An LLM judge: the model is asked whether a proposed answer is correct; its confidence is the
probability it puts on "yes" against "no" (from token logprobs). Introduced in lesson 04.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..backends.base import Backend
from ..datasets.base import Problem
from ..types import Message, Request

__all__ = [
    "JUDGE_PROMPT",
    "Verdict",
    "llm_judge",
]

JUDGE_PROMPT = ("Question: {question}\nProposed solution: {solution}\n"
                "Is the proposed solution correct? Answer with yes or no.")


@dataclass(frozen=True)
class Verdict:
    """What the judge said about one solution."""

    score: float
    """P(yes) / (P(yes) + P(no)) at the first answer token, 0 to 1 (0.5 when neither appears)."""
    text: str
    tokens: int


def llm_judge(problem: Problem, solution: str, backend: Backend, *, seed: int = 0) -> Verdict:
    """Ask the model (greedy, 5 alternatives per token) whether ``solution`` is right."""
    request = Request(messages=(Message("user", JUDGE_PROMPT.format(
        question=problem.question, solution=solution.strip())),), temperature=0.0,
        max_tokens=3, top_logprobs=5, seed=seed)
    c = backend.generate(request)[0]
    p_yes = p_no = 0.0
    if c.tokens:
        for alt in c.tokens[0].top:
            word = alt.text.strip().lower()
            if word == "yes":
                p_yes += math.exp(alt.logprob)
            elif word == "no":
                p_no += math.exp(alt.logprob)
    score = p_yes / (p_yes + p_no) if p_yes + p_no > 0 else 0.5
    return Verdict(score, c.text, c.completion_tokens)
