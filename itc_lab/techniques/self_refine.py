"""Iterative refinement (Self-Refine, Madaan et al. 2023): draft, get feedback, revise; stop when
the feedback finds nothing to fix or after R rounds. Feedback comes from the model itself or
from a program that checks the constraints.

Two ways to take a revision: ``keep="last"`` is the plain loop (the revision replaces the draft,
better or worse); ``keep="best"`` samples ``revisions`` revisions per round and the exact checker
keeps the current draft unless one of them scores higher, so the score can never fall and rises
whenever any revision helps. Introduced in lesson 05.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._checks import whole
from ..answers import Answer
from ..backends.base import Backend
from ..datasets.writing import WritingProblem, feedback_from_checks, score_text
from ..errors import BackendError
from ..tables import cut, frame
from ..types import Completion, Message, Request
from .base import Sample, TechniqueResult

__all__ = [
    "CRITICS",
    "KEEP",
    "MODEL_FEEDBACK_PROMPT",
    "REVISE_PROMPT",
    "RefineRound",
    "Refinement",
    "self_refine",
]

CRITICS = ("model", "checker", "none")
"""Who gives the feedback: the model itself, the program that checks the rules, or no one
(``"none"``: each round samples fresh drafts of the task, ignoring the current one; the control
that tells what the feedback adds to sampling more)."""
KEEP = ("last", "best")
"""Which draft a round keeps: the revision (``"last"``), or the best-scoring of the current
draft and the round's revisions (``"best"``)."""

MODEL_FEEDBACK_PROMPT = ("Task: {task}\nSentence: {draft}\nWhich rules of the task does the "
                         "sentence break? List them briefly, or say \"All constraints are met.\"")
REVISE_PROMPT = ("Task: {task}\nSentence: {draft}\nFeedback: {feedback}\nWrite an improved "
                 "sentence that follows every rule. Reply with the sentence only.")


@dataclass(frozen=True)
class RefineRound:
    """One draft of a running refinement, as ``self_refine`` reports it to ``on_round``: the
    draft after round ``index`` (0 is the first draft), its score (0 to 1) and the feedback that
    led to it (``None`` for the first draft). The last report repeats the last draft with
    ``stopped`` set (``"met"``, ``"no feedback"``, ``"rounds"`` or ``"stopped"``)."""

    index: int
    draft: str
    score: float
    feedback: str | None
    stopped: str | None = None


OnRound = Callable[[RefineRound], object]


@dataclass(frozen=True, kw_only=True, repr=False)
class Refinement(TechniqueResult):
    """Every kept draft, the feedback that followed it, and its measured score (0 to 1).

    ``drafts[r]`` is the draft after round ``r`` (0 is the first draft): with ``keep="best"`` a
    round whose revisions all score lower keeps the draft it had. ``samples`` holds every call
    in order (the first draft, the model's feedback, every revision, kept or not);
    ``answer`` is the last draft and ``correct`` whether it meets every rule. Introduced in
    lesson 05."""

    drafts: tuple[str, ...]
    feedback: tuple[str, ...]
    scores: tuple[float, ...]
    stopped: str
    """``"met"`` (all constraints met), ``"no feedback"`` (the critic found nothing),
    ``"rounds"`` (ran out of rounds) or ``"stopped"`` (the run was stopped, e.g. by a live
    view's Stop button; the drafts so far are kept)."""
    revision_scores: tuple[tuple[float, ...], ...] = ()
    """For each round run (1, 2, …): the score of every revision sampled in it."""
    tokens_by_round: tuple[int, ...] = ()
    """Generated tokens spent in each round (tokens; 0 is the first draft; a round's
    model feedback counts in it)."""
    calls_by_round: tuple[int, ...] = ()
    """Completions asked for in each round (0 is the first draft; one feedback and four
    revisions are five calls)."""

    def _summary(self) -> list[tuple[str, object]]:
        scores = " → ".join(f"{s:.2f}" for s in self.scores)
        return [("problem", f"{self.problem.id}: {cut(self.problem.question, 80)}"),
                ("critic", self.config.get("critic")),
                ("keep", f"{self.config.get('keep', 'last')} of "
                         f"{self.config.get('revisions', 1)} revision(s) per round"),
                ("scores by round", scores), ("stopped", self.stopped),
                ("last draft", repr(cut(self.drafts[-1] if self.drafts else "", 80))),
                ("calls", len(self.samples)), ("generated tokens", self.tokens)]

    def to_pandas(self) -> Any:
        """One row per round: ``round`` (0 is the first draft), ``draft`` (the kept one),
        ``score`` (0 to 1), ``feedback`` (what the critic said about the previous draft;
        ``None`` for round 0), ``best revision`` (the round's highest revision score), ``tokens``
        and ``calls`` (spent in the round)."""
        def at(values: tuple[Any, ...], i: int) -> Any:
            return values[i] if 0 <= i < len(values) else None

        return frame(({"round": r, "draft": d, "score": sc,
                       "feedback": at(self.feedback, r - 1),
                       "best revision": max(at(self.revision_scores, r - 1) or (), default=None),
                       "tokens": at(self.tokens_by_round, r), "calls": at(self.calls_by_round, r)}
                      for r, (d, sc) in enumerate(zip(self.drafts, self.scores, strict=False))),
                     ["round", "draft", "score", "feedback", "best revision", "tokens", "calls"])


def _request(content: str, max_tokens: int, seed: int, temperature: float = 0.0) -> Request:
    return Request(messages=(Message("user", content),), temperature=temperature,
                   max_tokens=max_tokens, seed=seed, stop=("\n\n",))


def _is_stop(error: BackendError) -> bool:
    """Whether a refused call means the run was stopped (``itc_lab.live``'s Stop button)."""
    from ..live.events import RunStopped  # not at import: live imports the views

    return isinstance(error, RunStopped)


class _Reporter:
    """Calls ``on_round``; the first time it raises, warns and stops calling it (a view must
    never end the refinement)."""

    def __init__(self, on_round: OnRound | None) -> None:
        self.on_round = on_round

    def __call__(self, step: RefineRound) -> None:
        if self.on_round is None:
            return
        try:
            self.on_round(step)
        except Exception as e:
            warnings.warn(f"on_round failed ({type(e).__name__}: {e}) and is no longer called; "
                          "the refinement goes on.", RuntimeWarning, stacklevel=3)
            self.on_round = None


def _draft_sample(problem: WritingProblem, c: Completion) -> Sample:
    text = c.text.strip()
    return Sample(c, Answer(text, text, "text"), score_text(text, problem.meta)[0] == 1.0)


def self_refine(problem: WritingProblem, backend: Backend, *, rounds: int = 3,
                critic: str = "model", revisions: int = 1, keep: str = "last",
                temperature: float = 0.7, seed: int = 0,
                on_round: OnRound | None = None) -> Refinement:
    """Refine a sentence for ``rounds`` rounds with feedback from ``critic`` ("model",
    "checker", or "none" for fresh drafts without feedback); every draft is scored by the exact
    constraint checker.

    Each round asks for ``revisions`` revisions of the current draft in one request. With
    ``keep="last"`` (plain Self-Refine; ``revisions`` must be 1) the revision becomes the draft;
    with ``keep="best"`` the checker keeps the current draft unless a revision scores higher
    (the highest; ties go to the earliest), so the score never falls. Drafts and revisions are
    sampled at ``temperature`` (round r's revisions use seeds ``seed + 1 + (r - 1) ·
    revisions`` onwards); the model's feedback is greedy. Every completion, kept or not, is in
    ``samples`` and counts in the tokens and calls.

    ``on_round`` (optional) is called with a :class:`RefineRound` for each draft as it is
    scored, then once more with ``stopped`` set (``DiffView().add_round`` or
    ``itc_lab.live.growing.LiveRefineView`` draw it as it grows); if it raises, it is warned
    about once and no longer called. A run stopped after its first draft
    (``itc_lab.live.RunStopped``) returns the drafts so far with ``stopped="stopped"``.
    """
    if on_round is not None and not callable(on_round):
        msg = (f"on_round must be a function taking a RefineRound (or None), not "
               f"{type(on_round).__name__}.")
        raise TypeError(msg)
    report = _Reporter(on_round)
    if critic not in CRITICS:
        msg = f"critic must be one of {CRITICS}, not {critic!r}."
        raise ValueError(msg)
    if keep not in KEEP:
        msg = (f"keep must be one of {KEEP} ('last': the revision replaces the draft; 'best': "
               f"the checker keeps the higher-scoring one), not {keep!r}.")
        raise ValueError(msg)
    rounds = whole("rounds", rounds, 0)
    revisions = whole("revisions", revisions, 1)
    if keep == "last" and revisions > 1:
        msg = (f"With keep='last' each round takes its one revision as it is; to sample "
               f"{revisions} revisions per round and keep the best, pass keep='best'.")
        raise ValueError(msg)
    task = problem.question + " Reply with the sentence only."
    request = _request(task, 60, seed, temperature)
    out = backend.generate(request)
    if not out:  # a watch stopped while the first draft was on its way
        from ..live.events import RunStopped

        msg = "The run was stopped before the first draft came back: there is nothing to refine."
        raise RunStopped(msg)
    first = out[0]
    calls = [_draft_sample(problem, first)]
    draft = first.text.strip()
    score, checks = score_text(draft, problem.meta)
    drafts, feedback, scores = [draft], [], [score]
    revision_scores: list[tuple[float, ...]] = []
    tokens_by_round, calls_by_round = [first.completion_tokens], [1]
    report(RefineRound(0, draft, score, None))
    stopped = "rounds"
    for r in range(1, rounds + 1):
        if score == 1.0:
            stopped = "met"
            break
        spent: list[Completion] = []
        revised: list[Completion] = []
        try:
            if critic == "none":
                note = "(no feedback: fresh drafts of the task)"
            elif critic == "checker":
                note = feedback_from_checks(checks)
            else:
                heard = backend.generate(_request(MODEL_FEEDBACK_PROMPT.format(
                    task=problem.question, draft=draft), 80, seed))
                if not heard:  # stopped while the feedback was on its way
                    stopped = "stopped"
                    break
                said = heard[0]
                note = said.text.strip()
                calls.append(Sample(said, Answer(None, None, "none"), False))
                spent.append(said)
            if "all constraints are met" not in note.lower():
                prompt = (task if critic == "none" else REVISE_PROMPT.format(
                    task=problem.question, draft=draft, feedback=note))
                revised = backend.generate(_request(
                    prompt, 60, seed + 1 + (r - 1) * revisions, temperature), n=revisions)
                if len(revised) < revisions:  # stopped while the revisions were on their way
                    stopped = "stopped"
        except BackendError as e:
            if not _is_stop(e):
                raise
            stopped = "stopped"
        if spent or revised:  # what this round spent, even when it then stopped
            calls.extend(_draft_sample(problem, c) for c in revised)
            spent.extend(revised)
            tokens_by_round.append(sum(c.completion_tokens for c in spent))
            calls_by_round.append(len(spent))
        if stopped == "stopped":
            break
        if not revised:
            stopped = "no feedback"
            break
        scored = [(c.text.strip(), *score_text(c.text.strip(), problem.meta)) for c in revised]
        revision_scores.append(tuple(s for _, s, _ in scored))
        best = max(range(len(scored)), key=lambda i: (scored[i][1], -i))
        if keep == "last" or scored[best][1] > score:
            draft, score, checks = scored[best]
        feedback.append(note)
        drafts.append(draft)
        scores.append(score)
        report(RefineRound(r, draft, score, note))
    if score == 1.0:
        stopped = "met"
    report(RefineRound(len(drafts) - 1, draft, score, feedback[-1] if feedback else None,
                       stopped))
    return Refinement(technique="self_refine", problem=problem, request=request,
                      samples=tuple(calls), answer=drafts[-1], correct=scores[-1] == 1.0,
                      config={"rounds": rounds, "critic": critic, "revisions": revisions,
                              "keep": keep, "temperature": temperature, "seed": seed},
                      drafts=tuple(drafts), feedback=tuple(feedback), scores=tuple(scores),
                      stopped=stopped, revision_scores=tuple(revision_scores),
                      tokens_by_round=tuple(tokens_by_round),
                      calls_by_round=tuple(calls_by_round))
