"""DiffView: word-level diffs between drafts, inline or side by side, with each round's feedback.
Introduced in lesson 05."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anywidget
import traitlets

from ..analysis.diffs import diff_rounds, diff_stats
from .base import TextFallback, frontend_dir

__all__ = [
    "FRONTEND",
    "DiffView",
]

FRONTEND = frontend_dir()

def _fmt_score(s: float | None) -> str:
    return "?" if s is None else f"{float(s):.2f}"

class DiffView(TextFallback, anywidget.AnyWidget):  # type: ignore[misc]
    """The rounds of a refinement loop: feedback, then the word diff between successive drafts.

    ``feedback[i]`` is the feedback that led from ``drafts[i]`` to ``drafts[i + 1]`` (it may be
    shorter than the rounds); ``scores[i]`` is the score of ``drafts[i]`` (``None`` when unknown).
    """

    _esm = FRONTEND / "diff_view.js"
    _css = FRONTEND / "diff_view.css"

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
