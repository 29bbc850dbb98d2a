"""Iterative refinement (Self-Refine, Madaan et al. 2023): draft, get feedback, revise; stop when
the feedback finds nothing to fix or after R rounds. Feedback comes from the model itself or
from a program that checks the constraints. Introduced in lesson 05.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..backends.base import Backend
from ..datasets.writing import WritingProblem, feedback_from_checks, score_text
from ..types import Message, Request

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


@dataclass(frozen=True)
class Refinement:
    """Every draft, the feedback that followed it, and its measured score (0 to 1)."""

    problem: WritingProblem
    drafts: tuple[str, ...]
    feedback: tuple[str, ...]
    scores: tuple[float, ...]
    tokens: int
    stopped: str
    """``"met"`` (all constraints met), ``"no feedback"`` (the critic found nothing) or
    ``"rounds"`` (ran out of rounds)."""


def _ask(backend: Backend, content: str, max_tokens: int, seed: int,
         temperature: float = 0.0) -> tuple[str, int]:
    request = Request(messages=(Message("user", content),), temperature=temperature,
                      max_tokens=max_tokens, seed=seed, stop=("\n\n",))
    c = backend.generate(request)[0]
    return c.text.strip(), c.completion_tokens


def self_refine(problem: WritingProblem, backend: Backend, *, rounds: int = 3,
                critic: str = "model", temperature: float = 0.7, seed: int = 0) -> Refinement:
    """Refine a sentence for ``rounds`` rounds with feedback from ``critic`` ("model" or
    "checker"); every draft is scored by the exact constraint checker. Drafts and revisions are
    sampled at ``temperature`` (round r uses seed ``seed + r``); the model's feedback is greedy."""
    if critic not in ("model", "checker"):
        msg = f"critic must be 'model' or 'checker', not {critic!r}."
        raise ValueError(msg)
    draft, tokens = _ask(backend, problem.question + " Reply with the sentence only.", 60, seed,
                         temperature)
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
            note, used = _ask(backend, MODEL_FEEDBACK_PROMPT.format(
                task=problem.question, draft=draft), 80, seed)
            tokens += used
        if "all constraints are met" in note.lower():
            stopped = "no feedback"
            break
        draft, used = _ask(backend, REVISE_PROMPT.format(
            task=problem.question, draft=draft, feedback=note), 60, seed + r, temperature)
        tokens += used
        feedback.append(note)
        drafts.append(draft)
        scores.append(score_text(draft, problem.meta)[0])
    return Refinement(problem, tuple(drafts), tuple(feedback), tuple(scores), tokens, stopped)
