"""TraceView and TraceList: chain-of-thought traces step by step. Introduced in lesson 01."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anywidget
import traitlets

from .._checks import mean_or_none, shorten
from ..analysis.steps import segment_steps
from ..analysis.tokens import confidence_band, logprob_note
from ..types import Completion
from .base import (
    BAND_COLOURS,
    FRONTEND,
    MAX_STATIC_TOKENS,
    MUTED,
    TEXT_BOX,
    TextFallback,
    band_legend,
    bundle_esm,
    capped,
    esc,
    token_spans,
)

__all__ = [
    "MAX_STATIC_TRACES",
    "TraceList",
    "TraceView",
    "trace_html",
    "trace_payload",
]


def _answer_text(value: object, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    msg = f"{name} must be a string (or None), not {type(value).__name__}."
    raise TypeError(msg)

def _flag(value: object) -> bool | None:
    if value is None:
        return None
    if value in (True, False) and not isinstance(value, str):
        return bool(value)
    msg = f"correct must be True, False or None (not graded), not {value!r}."
    raise TypeError(msg)

def _trace_note(completion: Completion) -> str:
    note = logprob_note(completion)
    if completion.tokens and "".join(t.text for t in completion.tokens) != completion.text:
        extra = "The tokens do not spell the text exactly; the steps follow the tokens."
        note = f"{note} {extra}" if note else extra
    return note

def trace_payload(completion: Completion, *, answer: str | None = None, gold: str | None = None,
                  correct: bool | None = None, title: str = "") -> dict[str, Any]:
    """The synced traits of a ``TraceView`` (and one item of ``TraceList.traces``).

    ``{"steps", "answer", "gold", "correct", "title", "model", "note"}``; ``steps`` comes from
    ``segment_steps``. Introduced in lesson 00.
    """
    if not isinstance(completion, Completion):
        msg = (f"A trace needs a Completion (from backend.generate(...)), "
               f"not {type(completion).__name__}.")
        raise TypeError(msg)
    return {
        "steps": segment_steps(completion),
        "answer": _answer_text(answer, "answer"),
        "gold": _answer_text(gold, "gold"),
        "correct": _flag(correct),
        "title": str(title),
        "model": completion.model,
        "note": _trace_note(completion),
    }

def _verdict(answer: str | None, correct: bool | None) -> str:
    """As the front-end's badge: "correct", "wrong", "no answer" or "not graded"."""
    if not answer:
        return "no answer"
    if correct is None:
        return "not graded"
    return "correct" if correct else "wrong"

def _trace_summary(payload: dict[str, Any], name: str = "TraceView") -> str:
    steps = payload["steps"]
    line = f"{name}: {len(steps)} step{'s' if len(steps) != 1 else ''}"
    answer, gold = payload["answer"], payload["gold"]
    verdict = _verdict(answer, payload["correct"])
    show_gold = gold is not None and verdict != "correct"
    if verdict == "no answer":
        gold_text = shorten(gold, 32, collapse=False) if show_gold else ""
        line += ", no answer" + (f" (gold {gold_text!r})" if show_gold else "")
    else:
        line += f", answer {shorten(answer, 32, collapse=False)!r} ({verdict}"
        line += f", gold {shorten(gold, 32, collapse=False)!r})" if show_gold else ")"
    mean = mean_or_none(row["prob"] for step in steps for row in step["tokens"])
    return line + (f", mean p={mean:.2f}" if mean is not None else ", no logprobs")

MAX_STATIC_TRACES = 24
"""Traces listed in the static snapshot of a ``TraceList``; the rest are counted."""

_BADGES = {"correct": ("✓ correct", "#1a7f37"), "wrong": ("✗ wrong", "#cf222e"),
           "no answer": ("no answer", "#6e7781"), "not graded": ("not graded", "#6e7781")}

def _badge(verdict: str) -> str:
    label, colour = _BADGES[verdict]
    return (f'<span style="background-color: {colour}; color: #fff; border-radius: 10px; '
            f'padding: 0 7px; font-size: 12px">{esc(label)}</span>')

def _answer_line(payload: dict[str, Any]) -> str:
    verdict = _verdict(payload["answer"], payload["correct"])
    parts = [_badge(verdict)]
    if payload["answer"]:
        parts.append(f"answer <code>{esc(shorten(payload['answer'], 60, collapse=False))}</code>")
    if payload["gold"] is not None and verdict != "correct":
        parts.append(f"gold <code>{esc(shorten(payload['gold'], 60, collapse=False))}</code>")
    return " ".join(parts)

def _band_of(prob: float | None) -> str:
    return "none" if prob is None else confidence_band(prob)

def trace_html(payload: dict[str, Any], *, header: bool = True, tokens: bool = True,
               limit: int = MAX_STATIC_TOKENS) -> str:
    """One trace (a ``trace_payload``) as static HTML: title, verdict and answer (unless
    ``header=False``), then the numbered steps. ``tokens=True`` colours each token (at most
    ``limit`` in all); ``tokens=False`` colours each step by its mean probability and caps its
    text. All model text is escaped."""
    parts: list[str] = []
    if header:
        head = [f"<strong>{esc(payload['title'])}</strong>"] if payload["title"] else []
        if payload["model"]:
            head.append(f'<code style="color: {MUTED}">{esc(payload["model"])}</code>')
        head.append(_answer_line(payload))
        parts.append(f'<div style="margin-bottom: 2px">{" · ".join(head)}</div>')
    if payload["note"]:
        parts.append(f'<div style="border-left: 3px solid rgb(217, 119, 6); padding: 2px 8px; '
                     f'margin: 4px 0">{esc(payload["note"])}</div>')
    steps = payload["steps"]
    if tokens and any(step["tokens"] for step in steps):
        parts.append(band_legend())
    items: list[str] = []
    left = limit
    for step in steps:
        mean = step["mean_prob"]
        stat = f'<span style="color: {MUTED}">{"" if mean is None else f"p̄={mean:.2f} "}</span>'
        if tokens and step["tokens"]:
            if left <= 0:
                break
            body = token_spans(step["tokens"], left)
            left -= len(step["tokens"])
        else:
            colour = BAND_COLOURS[_band_of(mean)]
            body = (f'<span style="background-color: {colour}">'
                    f"{capped(step['text'].strip(), 300)}</span>")
        items.append(f'<li value="{int(step["index"])}">{stat}{body}</li>')
    if len(items) < len(steps):
        items.append(f'<li style="list-style: none; color: {MUTED}">… '
                     f"{len(steps) - len(items)} more steps</li>")
    if items:
        parts.append(f'<ol style="{TEXT_BOX}; line-height: 1.6; padding-left: 2.5em; '
                     f'margin: 2px 0">{"".join(items)}</ol>')
    else:
        parts.append(f'<div style="color: {MUTED}">(empty completion)</div>')
    return "".join(parts)

def _trace_css() -> str:
    return "\n".join((FRONTEND / f).read_text(encoding="utf-8")
                     for f in ("token_view.css", "trace_view.css"))

class TraceView(TextFallback, anywidget.AnyWidget):  # type: ignore[misc]
    """A chain-of-thought completion as numbered steps, tokens coloured by probability.

    ``TraceView(completion, answer="5", gold="5", correct=True, title="")``. ``answer`` is the
    final answer as extracted from the text; its last occurrence in the text is boxed. The badge
    says ``correct``, ``wrong`` (then the gold answer is shown too), ``no answer`` (``answer`` is
    ``None`` or empty) or ``not graded`` (``correct=None``). Steps follow ``segment_steps``;
    colours and the hover/focus details are those of ``TokenView``. Introduced in lesson 00.
    """

    _esm = bundle_esm("trace_view.js")
    _css = _trace_css()

    steps = traitlets.List(traitlets.Dict()).tag(sync=True)
    """One ``{"index", "text", "tokens", "mean_prob"}`` per step (see ``segment_steps``)."""
    answer = traitlets.Unicode(None, allow_none=True).tag(sync=True)
    """The extracted final answer (``None``: none found)."""
    gold = traitlets.Unicode(None, allow_none=True).tag(sync=True)
    """The reference answer, if known."""
    correct = traitlets.Bool(None, allow_none=True).tag(sync=True)
    """Whether ``answer`` is right; ``None`` when not graded."""
    title = traitlets.Unicode("").tag(sync=True)
    model = traitlets.Unicode("").tag(sync=True)
    """The model that wrote the completion."""
    note = traitlets.Unicode("").tag(sync=True)
    """Shown above the steps, e.g. when the backend returned no logprobs."""

    def __init__(self, completion: Completion, *, answer: str | None = None,
                 gold: str | None = None, correct: bool | None = None, title: str = "",
                 **kwargs: Any) -> None:
        payload = trace_payload(completion, answer=answer, gold=gold, correct=correct,
                                title=title)
        self.completion = completion
        super().__init__(**payload, **kwargs)

    def payload(self) -> dict[str, Any]:
        """The synced traits as one dict (the shape of a ``TraceList.traces`` item)."""
        return {name: getattr(self, name)
                for name in ("steps", "answer", "gold", "correct", "title", "model", "note")}

    def _text_summary(self) -> str:
        return _trace_summary(self.payload())

    def _static_html(self) -> str:
        return trace_html(self.payload())

class TraceList(TextFallback, anywidget.AnyWidget):  # type: ignore[misc]
    """Several reasoning traces (e.g. the k samples of self-consistency), one line each.

    ``TraceList(completions, answers, gold, correct_flags, title="")``: ``answers[i]`` is the
    answer extracted from ``completions[i]`` (``None``: none); the third argument is one gold
    answer for all or one per completion; ``correct_flags[i]`` is True, False or None (not
    graded), or pass ``None`` for all ungraded. Each line shows the answer and a ✓/✗ mark; click
    (or Enter) expands it to the full ``TraceView`` rendering. ``selected`` is the expanded
    trace's position (-1: none), set from the browser and settable from Python.
    Introduced in lesson 00.
    """

    _esm = TraceView._esm
    _css = TraceView._css

    traces = traitlets.List(traitlets.Dict()).tag(sync=True)
    """One ``TraceView`` payload per completion (see ``trace_payload``)."""
    title = traitlets.Unicode("").tag(sync=True)
    selected = traitlets.Int(-1).tag(sync=True)
    """Which trace is expanded (position in ``traces``); -1 when none."""

    def __init__(self, completions: Sequence[Completion], answers: Sequence[str | None],
                 golds_or_gold: str | Sequence[str | None] | None,
                 correct_flags: Sequence[bool | None] | None, title: str = "",
                 **kwargs: Any) -> None:
        completions = list(completions)
        n = len(completions)
        answers = list(answers)
        if golds_or_gold is None or isinstance(golds_or_gold, str | int | float):
            golds: list[Any] = [golds_or_gold] * n
        else:
            golds = list(golds_or_gold)
        flags: list[Any] = [None] * n if correct_flags is None else list(correct_flags)
        for name, values in (("answers", answers), ("golds", golds), ("correct_flags", flags)):
            if len(values) != n:
                msg = f"TraceList got {n} completions but {len(values)} {name}; give one each."
                raise ValueError(msg)
        self.completions = completions
        traces = [trace_payload(c, answer=a, gold=g, correct=f, title=f"Sample {i + 1}")
                  for i, (c, a, g, f) in enumerate(zip(completions, answers, golds, flags,
                                                       strict=True))]
        super().__init__(traces=traces, title=str(title), **kwargs)

    def _text_summary(self) -> str:
        verdicts = [_verdict(t["answer"], t["correct"]) for t in self.traces]
        line = f"TraceList: {len(self.traces)} trace{'s' if len(self.traces) != 1 else ''}"
        for v in ("correct", "wrong", "no answer", "not graded"):
            if verdicts.count(v):
                line += f", {verdicts.count(v)} {v}"
        counts: dict[str, int] = {}
        for t in self.traces:
            if t["answer"]:
                counts[t["answer"]] = counts.get(t["answer"], 0) + 1
        if counts:
            ranked = sorted(counts.items(), key=lambda kv: -kv[1])  # stable: first seen first
            line += "; answers " + ", ".join(f"{shorten(a, 32, collapse=False)!r}×{k}"
                                             for a, k in ranked)
        return line

    def _static_html(self) -> str:
        summary = self._text_summary().removeprefix("TraceList: ")
        head = [f"<strong>{esc(self.title)}</strong>"] if self.title else []
        head.append(f'<span style="color: {MUTED}">{esc(summary)}</span>')
        parts = [f'<div style="margin-bottom: 4px">{" · ".join(head)}</div>']
        for i, trace in enumerate(self.traces[:MAX_STATIC_TRACES]):
            n = len(trace["steps"])
            line = (f"<strong>{esc(trace['title'] or f'Trace {i + 1}')}</strong> "
                    f"{_answer_line(trace)} "
                    f'<span style="color: {MUTED}">{n} step{"s" if n != 1 else ""}</span>')
            body = trace_html(trace, header=False, tokens=False)
            parts.append(f'<details style="margin: 2px 0"><summary>{line}</summary>'
                         f'<div style="margin: 4px 0 8px 1.2em">{body}</div></details>')
        if len(self.traces) > MAX_STATIC_TRACES:
            parts.append(f'<div style="color: {MUTED}">… {len(self.traces) - MAX_STATIC_TRACES} '
                         "more traces</div>")
        return "".join(parts)
