"""Word-level diffs between successive drafts, and the ``DiffView`` widget.

``word_diff(a, b)`` cuts both texts into words, whitespace runs and single punctuation marks
(joining the tokens gives the text back exactly) and lines them up with ``difflib``; the result
is a list of runs ``{"op": "equal" | "insert" | "delete", "text": ...}``. ``diff_stats`` counts
the words added, removed and kept. ``DiffView`` shows the rounds of a self-refinement loop: the
feedback of each round above the word diff from one draft to the next, inline or side by side.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Any

import anywidget
import traitlets

from .widgets import _frontend_dir, _TextFallback

__all__ = ["DiffView", "diff_rounds", "diff_stats", "tokenize", "word_diff"]

_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")
_FRONTEND = _frontend_dir()


def tokenize(text: str) -> list[str]:
    """Words, whitespace runs and single other characters; ``"".join`` gives ``text`` back."""
    return _TOKEN.findall(text)


def _is_word(token: str) -> bool:
    return not token.isspace()


def _opcodes(a: str, b: str) -> tuple[list[str], list[str], list[tuple[str, int, int, int, int]]]:
    ta, tb = tokenize(a), tokenize(b)
    matcher = difflib.SequenceMatcher(None, ta, tb, autojunk=False)
    return ta, tb, [(str(t), i1, i2, j1, j2) for t, i1, i2, j1, j2 in matcher.get_opcodes()]


def word_diff(a: str, b: str) -> list[dict[str, str]]:
    """The runs turning ``a`` into ``b``: equal and delete texts join to ``a``, equal and insert
    texts to ``b``. Adjacent runs of the same kind are merged; empty runs are left out."""
    ta, tb, codes = _opcodes(a, b)
    ops: list[dict[str, str]] = []

    def add(op: str, text: str) -> None:
        if not text:
            return
        if ops and ops[-1]["op"] == op:
            ops[-1]["text"] += text
        else:
            ops.append({"op": op, "text": text})

    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal":
            add("equal", "".join(ta[i1:i2]))
        else:
            add("delete", "".join(ta[i1:i2]))
            add("insert", "".join(tb[j1:j2]))
    return ops


def diff_stats(a: str, b: str) -> dict[str, Any]:
    """Words ``added``, ``removed`` and ``unchanged`` from ``a`` to ``b``, and ``similarity``
    (0-1, difflib's ratio over the words; 1.0 when both have none)."""
    ta, tb, codes = _opcodes(a, b)
    added = removed = unchanged = 0
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal":
            unchanged += sum(map(_is_word, ta[i1:i2]))
        else:
            removed += sum(map(_is_word, ta[i1:i2]))
            added += sum(map(_is_word, tb[j1:j2]))
    wa = [t for t in ta if _is_word(t)]
    wb = [t for t in tb if _is_word(t)]
    if not wa and not wb:
        similarity = 1.0
    else:
        similarity = difflib.SequenceMatcher(None, wa, wb, autojunk=False).ratio()
    return {"added": added, "removed": removed, "unchanged": unchanged,
            "similarity": similarity}


def _score(scores: Sequence[float | None] | None, i: int) -> float | None:
    if scores is None or i >= len(scores) or scores[i] is None:
        return None
    return float(scores[i])  # type: ignore[arg-type]


def diff_rounds(drafts: Sequence[str], feedback: Sequence[str] = (),
                scores: Sequence[float | None] | None = None) -> list[dict[str, Any]]:
    """One dict per step draft ``i`` → draft ``i + 1``: index, before, after, feedback (``""``
    when missing), score_before, score_after and ``ops`` (``word_diff``)."""
    rounds = []
    for i in range(len(drafts) - 1):
        before, after = str(drafts[i]), str(drafts[i + 1])
        rounds.append({
            "index": i,
            "before": before,
            "after": after,
            "feedback": str(feedback[i]) if i < len(feedback) else "",
            "score_before": _score(scores, i),
            "score_after": _score(scores, i + 1),
            "ops": word_diff(before, after),
        })
    return rounds


def _fmt_score(s: float | None) -> str:
    return "?" if s is None else f"{float(s):.2f}"


class DiffView(_TextFallback, anywidget.AnyWidget):  # type: ignore[misc]
    """The rounds of a refinement loop: feedback, then the word diff between successive drafts.

    ``feedback[i]`` is the feedback that led from ``drafts[i]`` to ``drafts[i + 1]`` (it may be
    shorter than the rounds); ``scores[i]`` is the score of ``drafts[i]`` (``None`` when unknown).
    """

    _esm = _FRONTEND / "diff_view.js"
    _css = _FRONTEND / "diff_view.css"

    rounds = traitlets.List(traitlets.Dict()).tag(sync=True)
    """One dict per round (see ``diff_rounds``)."""
    current = traitlets.Int(0).tag(sync=True)
    """The round shown (0-based)."""
    mode = traitlets.Unicode("inline").tag(sync=True)
    """``"inline"`` or ``"side"`` (before | after)."""
    title = traitlets.Unicode("").tag(sync=True)

    def __init__(self, drafts: Sequence[str], feedback: Sequence[str] = (),
                 scores: Sequence[float | None] | None = None, title: str = "",
                 mode: str = "inline", **kwargs: Any) -> None:
        if mode not in ("inline", "side"):
            raise ValueError(f"mode must be 'inline' or 'side', not {mode!r}")
        self._drafts = [str(d) for d in drafts]
        self._scores = list(scores) if scores is not None else None
        super().__init__(rounds=diff_rounds(self._drafts, feedback, scores), current=0,
                         mode=mode, title=title, **kwargs)

    @traitlets.validate("mode")
    def _check_mode(self, proposal: Any) -> str:
        value = str(proposal["value"])
        if value not in ("inline", "side"):
            raise traitlets.TraitError(f"mode must be 'inline' or 'side', not {value!r}")
        return value

    def _text_summary(self) -> str:
        n = len(self.rounds)
        added = removed = 0
        for r in self.rounds:
            stats = diff_stats(r["before"], r["after"])
            added += stats["added"]
            removed += stats["removed"]
        text = f"DiffView: {n} round{'' if n == 1 else 's'}, +{added}/-{removed} words"
        known = [s for s in (self._scores or []) if s is not None]
        if self._scores and len(known) >= 1:
            first = self._scores[0]
            last = self._scores[min(len(self._scores), len(self._drafts)) - 1]
            text += f", score {_fmt_score(first)} → {_fmt_score(last)}"
        return text
