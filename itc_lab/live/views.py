"""Live views: pictures that fill in while a run spends compute, with a meter and a Stop button.

Every live view watches backends: ``view.watch(backend)`` is a backend (see
:mod:`itc_lab.live.events`) that feeds the view as samples and tokens arrive. Show the view, then
run a technique on the watched backend, in the cell (updates flow to the browser while it runs;
Ctrl-C stops it) or in the background with :func:`itc_lab.live.start` (then the Stop button works
too, see there)::

    view = LiveVoteView(problem, stop_early="esc")
    run = live.start(self_consistency, problem, view.watch(backend), k=16)
    view

- :class:`LiveVoteView` — vote bars rising as samples land, the running majority, maj@k so far,
  and where Early-Stopping Self-Consistency (a window of agreeing samples) and Adaptive-Consistency
  (the Beta rule) would stop; ``stop_early=`` makes the chosen rule stop the run.
- :class:`LiveTraceView` — tokens streaming in, coloured by their probability as they arrive.

Building your own: subclass :class:`LiveView`, handle events in ``_handle(event)`` (called one at
a time, from the backend's threads), return the synced state from ``_state()`` and the snapshot
from ``_static_html()``; the meter (trait ``meter``, front end ``widgets/live_meter.js``, static
form :func:`meter_html`) and the Stop button come with the base class. Trait updates are sent at
most every ``interval`` seconds, and once more when a call ends.

When the run ends the view's output is replaced by its final form, so a saved notebook shows the
final picture (the static snapshot) without a kernel. Introduced in lessons 00 and 02.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections import Counter
from collections.abc import Sequence
from typing import Any

import anywidget
import traitlets

from ..analysis.tokens import token_rows
from ..analysis.voting import TopTwo, early_stopping, leader_probability
from ..answers import extract_answer, is_correct
from ..backends.base import Backend, in_context
from ..datasets.base import Problem
from ..types import Completion, Token
from ..views.base import (
    FRONTEND,
    MAX_STATIC_TOKENS,
    MUTED,
    TEXT_BOX,
    TextFallback,
    band_legend,
    bundle_esm,
    esc,
    token_spans,
)
from .events import (
    CallFailed,
    CallFinished,
    CallStarted,
    Event,
    Meter,
    SampleFinished,
    TokenArrived,
    Watch,
    watch,
)

__all__ = [
    "STOP_RULES",
    "LiveTraceView",
    "LiveView",
    "LiveVoteView",
    "meter_html",
    "meter_text",
]

STOP_RULES = ("esc", "adaptive")
"""The early-stopping rules a :class:`LiveVoteView` marks: ``"esc"`` (Li et al. 2024: stop after
the first window of agreeing samples) and ``"adaptive"`` (Aggarwal et al. 2023: stop once the
leader's Beta probability passes a threshold)."""


def _css(*names: str) -> str:
    return "\n".join((FRONTEND / n).read_text(encoding="utf-8") for n in names)


# -- the meter -------------------------------------------------------------------------------------

_STATE_WORDS = {
    "waiting": "waiting to start",
    "starting the engine": "starting the model engine (first call only)",
    "running": "running",
    "done": "done",
    "stopped": "stopped",
    "failed": "failed",
}


def meter_text(m: dict[str, Any]) -> str:
    """One line for a ``Meter.summary()``: state, samples k of n, tokens, seconds, calls (the same
    words as ``widgets/live_meter.js``)."""
    state = str(m.get("state", "waiting"))
    words = _STATE_WORDS.get(state, state)
    if state == "stopped" and m.get("reason"):
        words += f" ({m['reason']})"
    calls, asked = int(m.get("calls", 0)), int(m.get("asked", 0))
    samples, cached = int(m.get("samples", 0)), int(m.get("cached", 0))
    replayed = cached and cached == samples and state in ("done", "stopped")
    # a finished replay shows the time the recording took (its own wall time is no news, and
    # would differ run to run in a stored notebook)
    seconds = (f"{float(m.get('recorded_seconds', 0.0)):.1f} s when recorded" if replayed
               else f"{float(m.get('seconds', 0.0)):.1f} s")
    parts = [words,
             f"{samples} of {asked} sample{'s' if asked != 1 else ''}",
             f"{int(m.get('tokens', 0)):,} tokens",
             seconds,
             f"{calls} call{'s' if calls != 1 else ''}"]
    if cached:
        parts.append(f"{cached} from the recording")
    return " · ".join(parts)


def meter_html(m: dict[str, Any]) -> str:
    """The meter of a static snapshot (escaped HTML)."""
    return (f'<div style="color: {MUTED}; margin: 2px 0 4px">'
            f"{esc(meter_text(m))}</div>")


# -- the base class --------------------------------------------------------------------------------

class LiveView(TextFallback, anywidget.AnyWidget):  # type: ignore[misc]
    """What every live view shares: watching backends, the meter, the Stop button, throttled
    trait updates and the final snapshot (see the module docstring)."""

    meter = traitlets.Dict().tag(sync=True)
    """``Meter.summary()`` plus ``reason`` (why the run stopped)."""
    stoppable = traitlets.Bool(False).tag(sync=True)
    """True while a run that the Stop button can stop is going (one started with
    ``itc_lab.live.start``; a run inside a running cell stops with an interrupt instead)."""
    title = traitlets.Unicode("").tag(sync=True)

    interval = 0.1
    """Most seconds between two trait updates while a run goes."""

    def __init__(self, *, title: str = "", **kwargs: Any) -> None:
        super().__init__(title=title, **kwargs)
        self._meter = Meter()
        self._watches: list[Watch] = []
        self._lock = threading.RLock()
        self._timer: threading.Timer | None = None
        self._display_id: str | None = None
        self._stop_reason = ""
        self.on_msg(self._on_message)
        self._sync()

    # -- public ----------------------------------------------------------------------------------
    def watch(self, backend: Backend) -> Watch:
        """``backend``, feeding this view (see :func:`itc_lab.live.watch`)."""
        w = watch(backend, self._on_event)
        with self._lock:
            self._watches.append(w)
        return w

    def stop(self, reason: str = "Stop button") -> None:
        """Stop the run this view watches: the call in flight is cut, the samples finished so
        far are kept, no further call is made."""
        with self._lock:
            self._stop_reason = self._stop_reason or reason
            watches = list(self._watches)
        for w in watches:
            w.stop(reason)
        self._schedule()

    def finish(self) -> None:
        """Send the final state and replace the displayed output by the final picture (called
        when a run ends; harmless to call again)."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._sync()
        self._refresh_display()

    @property
    def summary(self) -> dict[str, Any]:
        """The meter's numbers now (calls, samples, asked, tokens, seconds, state)."""
        with self._lock:
            return self._meter_state()

    # -- for subclasses --------------------------------------------------------------------------
    def _handle(self, event: Event) -> None:
        """Take one event into the view's state (under the view's lock)."""

    def _state(self) -> dict[str, Any]:
        """The synced traits of the subclass, from its state."""
        return {}

    def _ends_with_call(self) -> bool:
        """True when one call is the whole run (the view finishes when it ends)."""
        return True

    # -- internals -------------------------------------------------------------------------------
    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("stop"):
            self.stop("Stop button")

    def _on_event(self, event: Event) -> None:
        with self._lock:
            self._meter(event)
            self._handle(event)
        if isinstance(event, CallFinished | CallFailed):
            if self._ends_with_call():
                self.finish()
            else:
                self._schedule()
        else:
            self._schedule()

    def _meter_state(self) -> dict[str, Any]:
        m = self._meter.summary()
        if self._stop_reason:
            m["reason"] = self._stop_reason
        return m

    def _sync(self) -> None:
        with self._lock:
            state = self._state()
            state["meter"] = self._meter_state()
            state["stoppable"] = self._meter.state in ("running", "starting the engine") and any(
                w.background and not w.stopped for w in self._watches)
        with self.hold_sync():
            for name, value in state.items():
                setattr(self, name, value)

    def _schedule(self) -> None:
        with self._lock:
            if self._timer is not None:
                return
            self._timer = threading.Timer(self.interval, in_context(self._flush))
            self._timer.daemon = True
            self._timer.start()

    def _flush(self) -> None:
        with self._lock:
            self._timer = None
        with contextlib.suppress(Exception):  # a closed comm: the run goes on
            self._sync()

    def _bundle(self) -> tuple[dict[str, Any], dict[str, Any]]:
        data, meta = self._repr_mimebundle_()
        return dict(data), dict(meta or {})

    def _ipython_display_(self) -> None:
        from IPython.display import display

        self._display_id = self._display_id or f"itc-live-{uuid.uuid4().hex}"
        data, meta = self._bundle()
        display(data, raw=True, metadata=meta,  # type: ignore[no-untyped-call]
                display_id=self._display_id)

    def _refresh_display(self) -> None:
        if self._display_id is None:
            return
        from IPython.display import update_display

        try:
            data, meta = self._bundle()
            update_display(data, raw=True, metadata=meta,  # type: ignore[no-untyped-call]
                           display_id=self._display_id)
        except Exception:  # no kernel to send to: the picture stays as it was
            pass

    def _text_summary(self) -> str:
        return f"{type(self).__name__}: {meter_text(self.summary)}"


# -- the vote view ---------------------------------------------------------------------------------

class LiveVoteView(LiveView):
    """Self-consistency's vote, live: bars rise as samples land.

    ``LiveVoteView(problem, stop_early=None, window=5, threshold=0.95)``: each finished sample's
    answer is read as ``problem.kind`` and checked against ``problem.answer``. Shows the vote per
    answer (the gold one marked), the running majority and whether it is right (maj@k for every
    k so far, as a strip), and the sample at which Early-Stopping Self-Consistency
    (``window`` agreeing samples in a row of windows) and Adaptive-Consistency (the leader's Beta
    probability ≥ ``threshold``) would stop. ``stop_early="esc"`` or ``"adaptive"`` stops the run
    there (the samples already finished are kept). Samples count in the order they finish.
    Introduced in lesson 02.
    """

    _esm = bundle_esm("live_vote.js")
    _css = _css("token_view.css", "live.css")

    votes = traitlets.List(traitlets.Dict()).tag(sync=True)
    """One ``{"answer", "votes", "correct"}`` per answer, most votes first (ties: first seen)."""
    arrivals = traitlets.List(traitlets.Dict()).tag(sync=True)
    """One ``{"seed", "answer", "correct", "majority", "majority_correct"}`` per finished sample,
    in the order they finished (``majority``: the leader after it)."""
    gold = traitlets.Unicode(None, allow_none=True).tag(sync=True)
    rules = traitlets.Dict().tag(sync=True)
    """``{"esc": {"window", "at"}, "adaptive": {"threshold", "at"}, "stop_early": name or None}``;
    ``at`` is the number of samples at which the rule stops (``None``: not yet)."""

    def __init__(self, problem: Problem | None = None, *, gold: str | None = None,
                 kind: str | None = None, stop_early: str | None = None, window: int = 5,
                 threshold: float = 0.95, title: str = "") -> None:
        if stop_early is not None and stop_early not in STOP_RULES:
            msg = (f"stop_early must be one of {STOP_RULES} (or None to only mark where each rule "
                   f"would stop), not {stop_early!r}.")
            raise ValueError(msg)
        if isinstance(window, bool) or not isinstance(window, int) or window < 1:
            msg = f"window must be a whole number >= 1 (samples that must agree), not {window!r}."
            raise ValueError(msg)
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not (
                0 < threshold < 1):
            msg = f"threshold must be a probability between 0 and 1 (e.g. 0.95), not {threshold!r}."
            raise ValueError(msg)
        self.problem = problem
        self.kind = kind or (problem.kind if problem is not None else "number")
        self._gold = gold if gold is not None else (problem.answer if problem else None)
        self.stop_early = stop_early
        self.window, self.threshold = window, float(threshold)
        self._answers: list[str | None] = []
        self._arrivals: list[dict[str, Any]] = []
        self._top = TopTwo()  # the leader and the top two counts in O(1) per sample
        self._counts: Counter[str] = self._top.counts
        self._first_seen: dict[str, int] = {}
        self._esc_at: int | None = None
        self._adaptive_at: int | None = None
        title = title or (f"Votes on: {problem.question}" if problem is not None else "Votes")
        super().__init__(title=title[:200])

    def _handle(self, event: Event) -> None:
        if not isinstance(event, SampleFinished):
            return
        answer = extract_answer(event.completion.text, self.kind)
        value = answer.value if answer.parsed else None
        correct = (is_correct(answer, self._gold, self.kind)
                   if self._gold is not None and value is not None else None)
        self._answers.append(value)
        if value is not None:
            self._top.add(value)
            self._first_seen.setdefault(value, len(self._answers))
        leader = self._leader()
        self._arrivals.append({
            "seed": event.seed, "answer": value, "correct": correct, "majority": leader,
            "majority_correct": (leader is not None and self._gold is not None
                                 and is_correct(leader, self._gold, self.kind)),
        })
        self._check_rules()

    def _leader(self) -> str | None:
        return self._top.leader

    def _check_rules(self) -> None:
        n = len(self._answers)
        if self._esc_at is None and n % self.window == 0:
            # the newest full window, through the same rule as analysis.voting.early_stopping
            chunk = self._answers[n - self.window:]
            if early_stopping([*chunk, None], window=self.window,
                              max_samples=self.window + 1)["stopped_at"] == self.window:
                self._esc_at = n
        if (self._adaptive_at is None and self._answers[-1] is not None
                and leader_probability(self._top.v1, self._top.v2) >= self.threshold):
            self._adaptive_at = n
        at = {"esc": self._esc_at, "adaptive": self._adaptive_at}.get(self.stop_early or "")
        if at is not None and at == n:
            name = "ESC" if self.stop_early == "esc" else "Adaptive-Consistency"
            for w in self._watches:
                w.stop(f"{name} stopped at {at} samples")
            self._stop_reason = self._stop_reason or f"{name} stopped at {at} samples"

    def _state(self) -> dict[str, Any]:
        counts = self._counts
        gold = self._gold
        order = sorted(counts, key=lambda a: (-counts[a], self._first_seen[a]))
        votes = [{"answer": a, "votes": counts[a],
                  "correct": None if gold is None else is_correct(a, gold, self.kind)}
                 for a in order]
        unparsed = sum(a is None for a in self._answers)
        if unparsed:
            votes.append({"answer": None, "votes": unparsed, "correct": False})
        return {"votes": votes, "arrivals": list(self._arrivals), "gold": gold,
                "rules": {"esc": {"window": self.window, "at": self._esc_at},
                          "adaptive": {"threshold": self.threshold, "at": self._adaptive_at},
                          "stop_early": self.stop_early}}

    # -- static form -----------------------------------------------------------------------------
    def _static_html(self) -> str:
        with self._lock:
            state = self._state()
            m = self._meter_state()
        parts = [f"<strong>{esc(self.title)}</strong>", meter_html(m)]
        votes = state["votes"]
        top = max((v["votes"] for v in votes), default=1) or 1
        rows = []
        for v in votes:
            name = "(no answer)" if v["answer"] is None else str(v["answer"])
            colour = {True: "rgba(22, 163, 74, 0.55)", False: "rgba(220, 38, 38, 0.45)"}.get(
                v["correct"], "rgba(128, 128, 128, 0.45)")
            mark = " ✓ gold" if v["correct"] else ""
            rows.append(
                f'<div style="display: flex; align-items: center; gap: 6px; margin: 2px 0">'
                f'<span style="width: 9em; overflow: hidden; text-overflow: ellipsis; '
                f'white-space: nowrap; text-align: right">{esc(name[:40])}</span>'
                f'<span style="display: inline-block; height: 14px; width: '
                f'{max(2, round(240 * v["votes"] / top))}px; background: {colour}; '
                f'border-radius: 2px"></span><span>{v["votes"]}{esc(mark)}</span></div>')
        parts.append("".join(rows) or f'<div style="color: {MUTED}">(no samples yet)</div>')
        parts.append(f'<div style="margin-top: 4px">{esc(self._verdict(state))}</div>')
        marks: dict[int, str] = {}
        for letter, name in (("E", "esc"), ("A", "adaptive")):
            at = state["rules"][name]["at"]
            if at:
                marks[at] = marks.get(at, "") + letter
        strip = "".join(
            f'<span title="k={k}" style="display: inline-block; width: 12px; height: 12px; '
            f'margin-right: 2px; font-size: 9px; line-height: 12px; text-align: center; '
            f'vertical-align: middle; font-weight: 600; color: #1f2328; '
            f'{"outline: 2px solid #1f2328; " if k in marks else ""}background: '
            f'{"rgba(22, 163, 74, 0.7)" if a["majority_correct"] else "rgba(220, 38, 38, 0.55)"}'
            f'">{marks.get(k, "")}</span>' for k, a in enumerate(state["arrivals"][:400], start=1))
        if strip and state["gold"] is not None:
            parts.append(f'<div style="color: {MUTED}; margin-top: 2px">maj@k for k = 1 … '
                         f'{len(state["arrivals"])} (green: the majority is right): '
                         f"{strip}</div>")
        parts.append(f'<div style="color: {MUTED}">{esc(self._rules_text(state))}</div>')
        return "".join(parts)

    def _verdict(self, state: dict[str, Any]) -> str:
        arrivals = state["arrivals"]
        if not arrivals:
            return "No sample has finished yet."
        last = arrivals[-1]
        leader = last["majority"]
        if leader is None:
            return f"No answer could be read from the {len(arrivals)} samples."
        votes = next(v["votes"] for v in state["votes"] if v["answer"] == leader)
        k = len(arrivals)
        text = (f"Majority after {k} sample{'s' if k != 1 else ''}: {leader} ({votes} "
                f"vote{'s' if votes != 1 else ''})")
        if state["gold"] is not None:
            text += (" — right" if last["majority_correct"] else
                     f" — wrong (the answer is {state['gold']})")
        return text + "."

    def _rules_text(self, state: dict[str, Any]) -> str:
        rules = state["rules"]
        esc_at, ada_at = rules["esc"]["at"], rules["adaptive"]["at"]
        esc_part = (f"E: ESC (windows of {self.window}) would stop at {esc_at} samples"
                    if esc_at else f"ESC (windows of {self.window}) has not stopped")
        ada_part = (f"A: Adaptive-Consistency (p ≥ {self.threshold:g}) at {ada_at}" if ada_at else
                    f"Adaptive-Consistency (p ≥ {self.threshold:g}) has not stopped")
        chosen = {"esc": "ESC", "adaptive": "Adaptive-Consistency"}.get(self.stop_early or "")
        tail = f"; stop_early: {chosen}" if chosen else ""
        return f"{esc_part}; {ada_part}{tail}."


# -- the trace view --------------------------------------------------------------------------------

class LiveTraceView(LiveView):
    """Tokens streaming into a trace as the model writes them, coloured by their probability.

    ``LiveTraceView(max_samples=4)``: the first ``max_samples`` samples of each call, side by side
    in arrival order, each token as it arrives (its probability needs ``top_logprobs >= 1`` in the
    request; backends that do not stream show each sample whole when it ends). Introduced in
    lesson 00.
    """

    _esm = bundle_esm("live_trace.js")
    _css = _css("token_view.css", "live.css")

    samples = traitlets.List(traitlets.Dict()).tag(sync=True)
    """One ``{"seed", "tokens", "done", "more"}`` per sample shown; ``tokens`` are
    ``token_rows`` dicts (at most ``MAX_STATIC_TOKENS``, ``more`` counts the rest)."""

    def __init__(self, *, max_samples: int = 4, title: str = "") -> None:
        if isinstance(max_samples, bool) or not isinstance(max_samples, int) or max_samples < 1:
            msg = f"max_samples must be a whole number >= 1, not {max_samples!r}."
            raise ValueError(msg)
        self.max_samples = max_samples
        self._samples: dict[tuple[int, int], dict[str, Any]] = {}
        super().__init__(title=title or "Tokens as they arrive")

    def _slot(self, call: int, index: int, seed: int) -> dict[str, Any] | None:
        key = (call, index)
        s = self._samples.get(key)
        if s is None:
            if index >= self.max_samples:
                return None
            s = self._samples[key] = {"seed": seed, "tokens": [], "done": False, "more": 0,
                                      "call": call}
        return s

    def _handle(self, event: Event) -> None:
        if isinstance(event, CallStarted):
            # a new call replaces the picture of the previous one
            self._samples = {k: v for k, v in self._samples.items() if k[0] == event.call}
        elif isinstance(event, TokenArrived):
            s = self._slot(event.call, event.index, event.seed)
            if s is not None:
                self._add(s, [event.token])
        elif isinstance(event, SampleFinished):
            s = self._slot(event.call, event.index, event.seed)
            if s is not None:
                # the finished sample's own tokens are the truth (a stop string trimmed)
                s["tokens"], s["more"] = [], 0
                self._add(s, list(event.completion.tokens) or [Token(event.completion.text)])
                s["done"] = True

    @staticmethod
    def _add(s: dict[str, Any], tokens: Sequence[Token]) -> None:
        room = MAX_STATIC_TOKENS - len(s["tokens"])
        if room > 0:
            c = Completion(text="", model="", backend="", seed=0, tokens=tuple(tokens[:room]))
            s["tokens"].extend(token_rows(c))
        s["more"] += max(0, len(tokens) - max(room, 0))

    def _state(self) -> dict[str, Any]:
        shown = [self._samples[k] for k in sorted(self._samples)]
        return {"samples": [{"seed": s["seed"], "tokens": list(s["tokens"]), "done": s["done"],
                             "more": s["more"]} for s in shown]}

    def completions_text(self) -> list[str]:
        """The text shown for each sample so far (for tests and notes)."""
        with self._lock:
            return ["".join(t["text"] for t in s["tokens"]) for s in self._state()["samples"]]

    def _static_html(self) -> str:
        with self._lock:
            samples = self._state()["samples"]
            m = self._meter_state()
        parts = [f"<strong>{esc(self.title)}</strong>", meter_html(m)]
        if any(t.get("prob") is not None for s in samples for t in s["tokens"]):
            parts.append(band_legend())
        for s in samples:
            status = "" if s["done"] else " (cut short)" if m.get("state") in (
                "stopped", "failed") else " (writing…)"
            more = (f'<span style="color: {MUTED}"> … ({s["more"]:,} more tokens)</span>'
                    if s["more"] else "")
            parts.append(f'<div style="color: {MUTED}; margin-top: 4px">sample seed '
                         f'{s["seed"]}{esc(status)}</div>'
                         f'<div style="{TEXT_BOX}">{token_spans(s["tokens"])}{more}</div>')
        if not samples:
            parts.append(f'<div style="color: {MUTED}">(no tokens yet)</div>')
        return "".join(parts)
