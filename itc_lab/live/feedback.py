"""The waiting note: a model call that takes a while says what it is doing, in the notebook.

In a Jupyter kernel, every call to a live model (embedded engine, Ollama, an OpenAI-compatible
server) that no live view watches gets a one-line note under the cell once it has run for
``delay`` seconds (0.5 by default): ``Starting the model engine (first call only)…``, then
``Sampling: 3 of 8 samples · 412 tokens · 4.1 s``, updated twice a second. When the call ends the
note is cleared (an empty output stays in a notebook saved while it ran). Recordings replayed at
once never show it, so stored lessons and their tests have no such output.

Turned on when ``itc_lab`` is imported in a kernel; ``ITC_LAB_FEEDBACK=0`` (set before the import)
or ``feedback(False)`` turns it off. Introduced in lesson 00.
"""

from __future__ import annotations

import contextlib
import html
import os
import threading
import time
from typing import Any

from ..backends.base import in_context, set_ambient_watch
from .events import (
    CallFailed,
    CallFinished,
    CallStarted,
    EngineEvent,
    Event,
    SampleFinished,
    TokenArrived,
    Watch,
    watch,
)

__all__ = [
    "ENV",
    "WaitingNote",
    "feedback",
]

ENV = "ITC_LAB_FEEDBACK"
"""``0`` turns the waiting note off (read when ``itc_lab`` is imported)."""


def _kernel() -> Any:
    """The running IPython kernel's shell, or None outside a kernel."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return shell if shell is not None and getattr(shell, "kernel", None) is not None else None


class WaitingNote:
    """A listener that shows one updating line under the cell while a call runs (see the
    module docstring). ``show(html, text)`` and ``clear()`` do the drawing; without a kernel
    nothing is drawn and ``lines`` keeps what would have been (for tests)."""

    def __init__(self, delay: float = 0.5, interval: float = 0.5) -> None:
        self.delay, self.interval = delay, interval
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._t0: float | None = None
        self._asked = self._samples = self._tokens = self._finished_tokens = 0
        self._engine = ""
        self._running = False
        self._handle: Any = None
        self._timer: threading.Timer | None = None

    def __call__(self, event: Event) -> None:
        with self._lock:
            if isinstance(event, CallStarted):
                self._t0 = time.perf_counter()
                self._asked, self._samples, self._tokens = event.n, 0, 0
                self._finished_tokens = 0
                self._running = True
                self._arm(self.delay)
            elif isinstance(event, EngineEvent):
                self._engine = event.state
                if event.state == "starting":
                    self._arm(0.0)  # a slow start is certain: say so at once
            elif isinstance(event, TokenArrived):
                self._tokens += 1
            elif isinstance(event, SampleFinished):
                self._samples += 1
                self._finished_tokens += event.completion.completion_tokens
            elif isinstance(event, CallFinished | CallFailed):
                self._running = False
                if self._timer is not None:
                    self._timer.cancel()
                    self._timer = None
                shown = self._handle is not None
        if isinstance(event, CallFinished | CallFailed) and shown:
            self.clear()

    def text(self) -> str:
        seconds = time.perf_counter() - (self._t0 or time.perf_counter())
        if self._engine == "starting":
            return f"Starting the model engine (first call only)… {seconds:.0f} s"
        parts = [f"Sampling: {self._samples} of {self._asked} samples"]
        tokens = max(self._tokens, self._finished_tokens)
        if tokens:
            parts.append(f"{tokens:,} tokens")
        parts.append(f"{seconds:.1f} s")
        return " · ".join(parts)

    def _arm(self, after: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = threading.Timer(after, in_context(self._tick))
        self._timer.daemon = True
        self._timer.start()

    def _tick(self) -> None:
        with self._lock:
            if not self._running:
                return
            line = self.text()
            self._timer = threading.Timer(self.interval, in_context(self._tick))
            self._timer.daemon = True
            self._timer.start()
        self.show(line)

    def show(self, line: str) -> None:
        self.lines.append(line)
        shell = _kernel()
        if shell is None:
            return
        from IPython.display import HTML, display

        note = (f'<div class="itc-live-note" style="color: var(--jp-ui-font-color2, #59636e); '
                f'font-size: 12px; font-style: italic">{html.escape(line)}</div>')
        body = HTML(note)  # type: ignore[no-untyped-call]
        try:
            if self._handle is None:
                # one note per cell, reused by the cell's later calls
                cell = _cell_id(shell)
                self._handle = _NOTES.get(cell)
                if self._handle is None:
                    self._handle = display(body, display_id=True)  # type: ignore[no-untyped-call]
                    _NOTES[cell] = self._handle
                    while len(_NOTES) > 64:
                        _NOTES.pop(next(iter(_NOTES)))
                    return
            self._handle.update(body)
        except Exception:  # the note is a courtesy: it never stops a call
            pass

    def clear(self) -> None:
        handle, self._handle = self._handle, None
        if handle is None:
            return
        with contextlib.suppress(Exception):  # the note never stops a call
            handle.update({"text/plain": ""}, raw=True)


_NOTES: dict[str, Any] = {}
"""The note's display of each cell (by the id of the message that ran it)."""


def _cell_id(shell: Any) -> str:
    try:
        return str(shell.display_pub.parent_header["header"]["msg_id"])
    except (AttributeError, KeyError, TypeError):
        return ""


_ON: list[bool] = [False]


def _ambient(backend: Any) -> Watch:
    return watch(backend, WaitingNote())


def feedback(on: bool = True) -> None:
    """Turn the waiting note on (the default in a kernel) or off."""
    _ON[0] = bool(on)
    set_ambient_watch(_ambient if on else None)


def _install() -> None:
    """On in a kernel unless ``ITC_LAB_FEEDBACK=0``."""
    if os.environ.get(ENV, "1").strip() not in ("0", "false", "no", "off") and _kernel():
        feedback(True)


_install()  # when itc_lab is imported
