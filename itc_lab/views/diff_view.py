"""DiffView: word-level diffs between drafts, inline or side by side, with each round's feedback.
Introduced in lesson 05.

A view that gains each round as a refinement writes it: ``DiffView()`` without drafts, and its
``add_round`` as ``self_refine``'s ``on_round`` (``itc_lab.live.LiveRefineView`` adds the meter
and the Stop button). Each new round is diffed once, against the draft before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anywidget
import traitlets

from ..analysis.diffs import diff_rounds, diff_stats, word_diff
from .base import MAX_STATIC_CHARS, MUTED, TEXT_BOX, TextFallback, capped, esc, frontend_dir

__all__ = [
    "FRONTEND",
    "MAX_STATIC_ROUNDS",
    "DiffView",
    "diff_html",
]

FRONTEND = frontend_dir()

def _fmt_score(s: float | None) -> str:
    return "?" if s is None else f"{float(s):.2f}"

MAX_STATIC_ROUNDS = 10
"""Rounds drawn in a ``DiffView``'s static snapshot; the rest are counted."""

_OPS = {"equal": ("span", ""),
        "delete": ("del", "background-color: #fee2e2; color: #b91c1c"),
        "insert": ("ins", "background-color: #dcfce7; color: #15803d; text-decoration: none")}

def _ops_html(ops: Sequence[dict[str, str]], keep: tuple[str, ...],
              limit: int = MAX_STATIC_CHARS) -> str:
    out, used = [], 0
    for op in ops:
        if op["op"] not in keep:
            continue
        tag, style = _OPS[op["op"]]
        text = op["text"]
        if used + len(text) > limit:
            out.append(f"<{tag} style=\"{style}\">{esc(text[: max(0, limit - used)])}</{tag}>")
            rest = sum(len(o["text"]) for o in ops if o["op"] in keep) - limit
            out.append(f'<span style="color: {MUTED}">… ({rest:,} more characters)</span>')
            break
        used += len(text)
        out.append(f"<{tag} style=\"{style}\">{esc(text)}</{tag}>" if style else esc(text))
    return "".join(out)

def diff_html(rounds: Sequence[dict[str, Any]], mode: str = "inline", title: str = "",
              limit: int = MAX_STATIC_ROUNDS) -> str:
    """Rounds of ``diff_rounds`` as static HTML: per round its scores, word counts, the feedback
    and the word diff (inline, or before | after for ``mode="side"``); at most ``limit`` rounds
    and ``MAX_STATIC_CHARS`` characters per text. All model text is escaped."""
    parts = [f"<strong>{esc(title)}</strong>"] if title else []
    for r in rounds[:limit]:
        i = int(r["index"])
        stats = diff_stats(r["before"], r["after"])
        line = (f"<strong>Draft {i + 1} → {i + 2}</strong> "
                f'<span style="color: {MUTED}">score {_fmt_score(r["score_before"])} → '
                f'{_fmt_score(r["score_after"])} · +{stats["added"]}/-{stats["removed"]} '
                "words</span>")
        parts.append(f'<div style="margin-top: 6px">{line}</div>')
        if r["feedback"]:
            parts.append('<div style="border-left: 3px solid #94a3b8; padding: 2px 8px; '
                         'margin: 2px 0; white-space: pre-wrap"><strong>Feedback:</strong> '
                         f"{capped(r['feedback'])}</div>")
        if mode == "side":
            cell = f'{TEXT_BOX}; vertical-align: top; width: 50%'
            parts.append('<table style="border-collapse: separate; border-spacing: 6px 0; '
                         f'width: 100%"><tbody><tr><td style="{cell}">'
                         f"{_ops_html(r['ops'], ('equal', 'delete'))}</td>"
                         f'<td style="{cell}">{_ops_html(r["ops"], ("equal", "insert"))}</td>'
                         "</tr></tbody></table>")
        else:
            parts.append(f'<div style="{TEXT_BOX}; line-height: 1.5">'
                         f"{_ops_html(r['ops'], ('equal', 'delete', 'insert'))}</div>")
    if not rounds:
        parts.append(f'<div style="color: {MUTED}">(one draft: nothing to compare)</div>')
    if len(rounds) > limit:
        parts.append(f'<div style="color: {MUTED}">… {len(rounds) - limit} more rounds</div>')
    return "".join(parts)

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

    growing = traitlets.Bool(False).tag(sync=True)
    """True while a refinement adds rounds (see :meth:`add_round`); the view then shows the
    newest round as it comes, unless the reader went back to an earlier one."""
    stopped = traitlets.Unicode(None, allow_none=True).tag(sync=True)
    """Why the refinement ended (``"met"``, ``"no feedback"``, ``"rounds"``), once it has."""
    first = traitlets.Dict().tag(sync=True)
    """``{"draft", "score"}`` of the first draft of a growing view (shown until a round
    exists)."""

    def __init__(self, drafts: Sequence[str] = (), feedback: Sequence[str] = (),
                 scores: Sequence[float | None] | None = None, title: str = "",
                 mode: str = "inline", **kwargs: Any) -> None:
        if mode not in ("inline", "side"):
            raise ValueError(f"mode must be 'inline' or 'side', not {mode!r}")
        self._drafts = [str(d) for d in drafts]
        self._scores = list(scores) if scores is not None else None
        self._feedback = [str(f) for f in feedback]
        super().__init__(rounds=diff_rounds(self._drafts, feedback, scores), current=0,
                         mode=mode, title=title, **kwargs)

    def add_round(self, r: Any) -> None:
        """Take one draft of a running refinement (a ``RefineRound``: ``index``, ``draft``,
        ``score``, ``feedback``, ``stopped``): pass this method as ``self_refine``'s
        ``on_round``. A new draft adds the round that led to it (its diff against the draft
        before it); a known one (the last report repeats the last draft) only updates the
        view; ``stopped`` ends the growth."""
        index = int(r.index)
        if index == 0 and self._drafts and self.stopped is not None:
            self._restart()  # a finished view starts over for a new refinement
        following = self.current >= len(self.rounds) - 1
        if index == 0 and not self._drafts:
            self.first = {"draft": str(r.draft),
                          "score": None if r.score is None else float(r.score)}
        if index == len(self._drafts):
            if index > 0:
                before = self._drafts[-1]
                after = str(r.draft)
                score_before = self._scores[-1] if self._scores else None
                self._feedback.append("" if r.feedback is None else str(r.feedback))
                new = {"index": index - 1, "before": before, "after": after,
                       "feedback": self._feedback[-1], "score_before": score_before,
                       "score_after": None if r.score is None else float(r.score),
                       "ops": word_diff(before, after)}
                self.rounds = [*self.rounds, new]
            self._drafts.append(str(r.draft))
            self._scores = [*(self._scores or []), None if r.score is None else float(r.score)]
        elif index > len(self._drafts):
            msg = (f"add_round got draft {index} after {len(self._drafts)} draft(s): give the "
                   "drafts in order, starting from 0.")
            raise ValueError(msg)
        with self.hold_sync():
            self.growing = r.stopped is None
            if r.stopped is not None:
                self.stopped = str(r.stopped)
            if self.rounds and following:
                self.current = len(self.rounds) - 1

    def _restart(self) -> None:
        self._drafts, self._scores, self._feedback = [], None, []
        with self.hold_sync():
            self.rounds, self.current, self.stopped, self.first = [], 0, None, {}

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

    def _static_html(self) -> str:
        return self._snapshot()

    def _snapshot(self, with_title: bool = True) -> str:
        """The static HTML, with or without the title (a live view draws it above its
        meter)."""
        title = self.title if with_title else ""
        head = ""
        if self.growing or self.stopped is not None:
            n = len(self._drafts)
            state = ("refining…" if self.growing else f"stopped: {self.stopped}")
            head = (f'<div style="color: {MUTED}">{n} draft{"" if n == 1 else "s"} · '
                    f"{esc(state)}</div>")
        if not self.rounds and self.first:
            score = self.first.get("score")
            if title:
                head = f"<strong>{esc(title)}</strong>{head}"
            head += (f'<div style="margin-top: 4px"><strong>Draft 1</strong> <span style="color: '
                     f'{MUTED}">score {_fmt_score(score)}</span></div>'
                     f'<div style="{TEXT_BOX}; line-height: 1.5">'
                     f'{capped(self.first.get("draft", ""))}</div>')
            return head
        return head + diff_html(self.rounds, self.mode, title)
