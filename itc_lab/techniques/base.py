"""What every technique returns, and the prompt builders they share.

A technique is a function ``technique(problem, backend, **config) -> TechniqueResult``. It never
draws; pictures are built from its result. Introduced in lesson 01.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..answers import Answer, extract_answer, is_correct
from ..datasets.base import Problem
from ..tables import cut, frame, summary_html
from ..types import Completion, CostModel, Message, Request, Usage

__all__ = [
    "Sample",
    "TechniqueResult",
    "few_shot_messages",
    "grade",
]


@dataclass(frozen=True)
class Sample:
    """One sampled completion and the answer read from it."""

    completion: Completion
    answer: Answer
    correct: bool
    """Whether ``answer`` equals the problem's gold answer (False when unparseable)."""

    def __repr__(self) -> str:
        verdict = "correct" if self.correct else "wrong"
        return (f"Sample(answer={self.answer.value!r} via {self.answer.method}, {verdict}, "
                f"{self.completion.completion_tokens} tokens, text={cut(self.completion.text)!r})")

    def to_dict(self) -> dict[str, Any]:
        return {"completion": self.completion.to_dict(), "answer": self.answer.to_dict(),
                "correct": self.correct}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Sample:
        return cls(Completion.from_dict(d["completion"]), Answer.from_dict(d["answer"]),
                   bool(d["correct"]))


@dataclass(frozen=True)
class TechniqueResult:
    """One technique applied to one problem."""

    technique: str
    """Name in the technique table, e.g. ``"few_shot_cot"``."""
    problem: Problem
    request: Request
    """The request sent (sample i used seed ``request.seed + i``)."""
    samples: tuple[Sample, ...]
    answer: str | None
    """The final answer (for voting techniques: the winner), canonical form."""
    correct: bool
    votes: Mapping[str, float] = field(default_factory=dict, hash=False)
    """Vote totals per canonical answer (voting techniques only)."""
    config: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @property
    def usage(self) -> Usage:
        return Usage.of(c.completion for c in self.samples)

    def cost(self, cost_model: CostModel) -> Usage:
        return Usage.of((c.completion for c in self.samples), cost_model)

    @property
    def tokens(self) -> int:
        """Generated tokens over all samples (tokens)."""
        return sum(s.completion.completion_tokens for s in self.samples)

    @property
    def answers(self) -> list[str | None]:
        return [s.answer.value for s in self.samples]

    def _summary(self) -> list[tuple[str, object]]:
        """(name, value) pairs of the key numbers, for the reprs; subclasses add theirs."""
        verdict = "correct" if self.correct else "wrong"
        out: list[tuple[str, object]] = [
            ("problem", f"{self.problem.id}: {cut(self.problem.question, 80)}"),
            ("answer", f"{self.answer!r} ({verdict}; gold {self.problem.answer!r})"),
            ("samples", len(self.samples)), ("generated tokens", self.tokens)]
        if len(self.samples) == 1:
            out.append(("text", cut(self.samples[0].completion.text, 200)))
        if self.votes:
            top = sorted(self.votes.items(), key=lambda kv: -kv[1])
            shown = " · ".join(f"{cut(a, 20)} ×{v:g}" for a, v in top[:5])
            out.append(("votes", shown + (f" · … ({len(top) - 5} more)" if len(top) > 5 else "")))
        return out

    def __repr__(self) -> str:
        shown = [(k, repr(v) if k == "text" else v) for k, v in self._summary()[1:]]
        return (f"{type(self).__name__}({self.technique} on {self.problem.id!r}: " +
                ", ".join(f"{k} {v}" for k, v in shown) + ")")

    def _repr_html_(self) -> str:
        return summary_html(f"{type(self).__name__} · {self.technique}", self._summary(),
                            "result.to_pandas() lists the samples.")

    def to_pandas(self) -> Any:
        """One row per sample: ``sample`` (its index), ``seed``, ``answer`` (canonical),
        ``method`` (how the answer was found, see ``answers.METHODS``), ``stated`` (a final
        answer was stated, not a last number taken), ``correct``, ``tokens`` (generated),
        ``finish`` (``"stop"`` or ``"length"``), ``mean_logprob`` (nats per token) and
        ``text``."""
        return frame(({"sample": i, "seed": s.completion.seed, "answer": s.answer.value,
                       "method": s.answer.method, "stated": s.answer.stated,
                       "correct": s.correct, "tokens": s.completion.completion_tokens,
                       "finish": s.completion.finish_reason,
                       "mean_logprob": s.completion.mean_logprob, "text": s.completion.text}
                      for i, s in enumerate(self.samples)),
                     ["sample", "seed", "answer", "method", "stated", "correct", "tokens",
                      "finish", "mean_logprob", "text"])

    def to_dict(self) -> dict[str, Any]:
        return {"technique": self.technique, "problem": self.problem.to_dict(),
                "request": self.request.to_dict(),
                "samples": [s.to_dict() for s in self.samples], "answer": self.answer,
                "correct": self.correct, "votes": dict(self.votes), "config": dict(self.config)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TechniqueResult:
        return cls(d["technique"], Problem.from_dict(d["problem"]),
                   Request.from_dict(d["request"]),
                   tuple(Sample.from_dict(s) for s in d["samples"]), d["answer"],
                   bool(d["correct"]), dict(d.get("votes", {})), dict(d.get("config", {})))


def grade(problem: Problem, completions: Sequence[Completion]) -> tuple[Sample, ...]:
    """Read and check the answer of every completion; an unparseable answer is never a crash."""
    out = []
    for c in completions:
        ans = extract_answer(c.text, kind=problem.kind)
        out.append(Sample(c, ans, ans.parsed and is_correct(ans, problem.answer, problem.kind)))
    return tuple(out)


def few_shot_messages(exemplars: Sequence[Problem], question: str,
                      system: str | None = None) -> tuple[Message, ...]:
    """Exemplars as earlier chat turns (question → worked solution), then the question."""
    turns: list[Message] = []
    if system:
        turns.append(Message("system", system))
    for ex in exemplars:
        turns.append(Message("user", ex.question))
        turns.append(Message("assistant", ex.solution))
    turns.append(Message("user", question))
    return tuple(turns)
