"""An LLM judge: the model is asked whether a proposed answer is correct; its confidence is the
probability it puts on "yes" against "no" (from token logprobs). Introduced in lesson 04.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..answers import Answer
from ..backends.base import Backend
from ..datasets.base import Problem
from ..tables import cut
from ..types import Message, Request
from .base import Sample, TechniqueResult

__all__ = [
    "JUDGE_PROMPT",
    "Verdict",
    "llm_judge",
]

JUDGE_PROMPT = ("Question: {question}\nProposed solution: {solution}\n"
                "Is the proposed solution correct? Answer with yes or no.")


@dataclass(frozen=True, kw_only=True, repr=False)
class Verdict(TechniqueResult):
    """What the judge said about one solution: ``answer`` is ``"yes"`` or ``"no"`` (the side of
    0.5 that ``score`` falls on) and ``correct`` says whether that verdict is right, by the
    problem's own checker. Introduced in lesson 04."""

    solution: str
    """The solution that was judged."""
    score: float
    """P(yes) / (P(yes) + P(no)) at the first answer token, 0 to 1 (0.5 when neither appears)."""

    @property
    def text(self) -> str:
        """What the judge wrote."""
        return self.samples[0].completion.text

    def _summary(self) -> list[tuple[str, object]]:
        verdict = "right" if self.correct else "wrong"
        return [("problem", f"{self.problem.id}: {cut(self.problem.question, 80)}"),
                ("solution", repr(cut(self.solution, 80))),
                ("judge says", f"{self.answer} (P(yes) {self.score:.2f}; the verdict is "
                               f"{verdict})")]


def llm_judge(problem: Problem, backend: Backend, *, solution: str, seed: int = 0) -> Verdict:
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
    says = "yes" if score >= 0.5 else "no"
    right = (says == "yes") == problem.check(solution)
    sample = Sample(c, Answer(says, c.text, "text"), right)
    return Verdict(technique="llm_judge", problem=problem, request=request, samples=(sample,),
                   answer=says, correct=right, config={"seed": seed}, solution=solution,
                   score=score)
