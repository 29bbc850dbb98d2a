"""Iterative refinement (Self-Refine, Madaan et al. 2023): draft, get feedback, revise; stop when
the feedback finds nothing to fix or after R rounds. Feedback comes from the model itself or
from a program that checks the constraints. Introduced in lesson 05.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..answers import Answer
from ..backends.base import Backend
from ..datasets.writing import WritingProblem, feedback_from_checks, score_text
from ..tables import cut, frame
from ..types import Completion, Message, Request
from .base import Sample, TechniqueResult

__all__ = [
    "MODEL_FEEDBACK_PROMPT",
    "REVISE_PROMPT",
    "Refinement",
    "self_refine",
]

MODEL_FEEDBACK_PROMPT = ("Task: {task}\nSentence: {draft}\nWhich rules of the task does the "
                         "sentence break? List them briefly, or say \"All constraints are met.\"")
REVISE_PROMPT = ("Task: {task}\nSentence: {draft}\nFeedback: {feedback}\nWrite an improved "
                 "sentence that follows every rule. Reply with the sentence only.")


@dataclass(frozen=True, kw_only=True, repr=False)
class Refinement(TechniqueResult):
    """Every draft, the feedback that followed it, and its measured score (0 to 1).

    ``samples`` holds every call in order (drafts and, with the model as critic, its feedback);
    ``answer`` is the last draft and ``correct`` whether it meets every rule. Introduced in
    lesson 05."""

    drafts: tuple[str, ...]
    feedback: tuple[str, ...]
    scores: tuple[float, ...]
    stopped: str
    """``"met"`` (all constraints met), ``"no feedback"`` (the critic found nothing) or
    ``"rounds"`` (ran out of rounds)."""

    def _summary(self) -> list[tuple[str, object]]:
        scores = " → ".join(f"{s:.2f}" for s in self.scores)
        return [("problem", f"{self.problem.id}: {cut(self.problem.question, 80)}"),
                ("critic", self.config.get("critic")),
                ("scores by round", scores), ("stopped", self.stopped),
                ("last draft", repr(cut(self.drafts[-1] if self.drafts else "", 80))),
                ("calls", len(self.samples)), ("generated tokens", self.tokens)]

    def to_pandas(self) -> Any:
        """One row per round: ``round`` (0 is the first draft), ``draft``, ``score`` (0 to 1)
        and ``feedback`` (what the critic said about the previous draft; ``None`` for round
        0)."""
        return frame(({"round": r, "draft": d, "score": sc,
                       "feedback": self.feedback[r - 1] if 0 < r <= len(self.feedback) else None}
                      for r, (d, sc) in enumerate(zip(self.drafts, self.scores, strict=False))),
                     ["round", "draft", "score", "feedback"])


def _ask(backend: Backend, content: str, max_tokens: int, seed: int,
         temperature: float = 0.0) -> tuple[Request, Completion]:
    request = Request(messages=(Message("user", content),), temperature=temperature,
                      max_tokens=max_tokens, seed=seed, stop=("\n\n",))
    return request, backend.generate(request)[0]


def _draft_sample(problem: WritingProblem, c: Completion) -> Sample:
    text = c.text.strip()
    return Sample(c, Answer(text, text, "text"), score_text(text, problem.meta)[0] == 1.0)


def self_refine(problem: WritingProblem, backend: Backend, *, rounds: int = 3,
                critic: str = "model", temperature: float = 0.7, seed: int = 0) -> Refinement:
    """Refine a sentence for ``rounds`` rounds with feedback from ``critic`` ("model" or
    "checker"); every draft is scored by the exact constraint checker. Drafts and revisions are
    sampled at ``temperature`` (round r uses seed ``seed + r``); the model's feedback is greedy."""
    if critic not in ("model", "checker"):
        msg = f"critic must be 'model' or 'checker', not {critic!r}."
        raise ValueError(msg)
    request, first = _ask(backend, problem.question + " Reply with the sentence only.", 60,
                          seed, temperature)
    calls = [_draft_sample(problem, first)]
    draft = first.text.strip()
    drafts, feedback, scores = [draft], [], [score_text(draft, problem.meta)[0]]
    stopped = "rounds"
    for r in range(1, rounds + 1):
        score, checks = score_text(draft, problem.meta)
        if score == 1.0:
            stopped = "met"
            break
        if critic == "checker":
            note = feedback_from_checks(checks)
        else:
            _, said = _ask(backend, MODEL_FEEDBACK_PROMPT.format(
                task=problem.question, draft=draft), 80, seed)
            note = said.text.strip()
            calls.append(Sample(said, Answer(None, None, "none"), False))
        if "all constraints are met" in note.lower():
            stopped = "no feedback"
            break
        _, revised = _ask(backend, REVISE_PROMPT.format(
            task=problem.question, draft=draft, feedback=note), 60, seed + r, temperature)
        calls.append(_draft_sample(problem, revised))
        draft = revised.text.strip()
        feedback.append(note)
        drafts.append(draft)
        scores.append(score_text(draft, problem.meta)[0])
    return Refinement(technique="self_refine", problem=problem, request=request,
                      samples=tuple(calls), answer=drafts[-1], correct=scores[-1] == 1.0,
                      config={"rounds": rounds, "critic": critic, "temperature": temperature,
                              "seed": seed},
                      drafts=tuple(drafts), feedback=tuple(feedback), scores=tuple(scores),
                      stopped=stopped)
