"""``start(fn, *args, **kwargs)``: run a technique in the background so its live views can stop it.

While a notebook cell runs, the kernel does not read messages from the page, so a Stop button
clicked during a long cell would only be seen after the cell ends. ``start`` therefore runs the
call in a background thread and returns a :class:`LiveRun` at once; the cell ends, the views
keep updating, and the Stop button (or ``run.stop()``) ends the run with the samples finished so
far. ``run.result()`` (in a later cell) waits for the result; interrupting that wait (Ctrl-C,
the stop square) stops the run too::

    view = LiveVoteView(problem, stop_early="esc")
    run = start(self_consistency, problem, view.watch(backend), k=16)
    view
    # next cell
    votes = run.result()

``start`` finds the watched backends among the arguments (``view.watch(backend)``, or a method
of one), and stops them on ``run.stop()``. When every one of them answers at once (recordings in
replay mode, as the stored lessons and their tests run), the call runs in the cell instead, so
the view shows its final picture when the cell ends. Introduced in lesson 02.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from ..backends.base import in_context
from .events import Watch, instant

__all__ = [
    "LiveRun",
    "start",
]

T = TypeVar("T")


class LiveRun(Generic[T]):
    """A call running in the background (see :func:`start`)."""

    def __init__(self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any],
                 watches: list[Watch]) -> None:
        self.fn = fn
        self.watches = watches
        self._args, self._kwargs = args, kwargs
        self._done = threading.Event()
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    # -- running -------------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._value = self.fn(*self._args, **self._kwargs)
        except BaseException as e:  # kept for result(); a thread has no one else to tell
            self._error = e
        finally:
            for w in self.watches:
                w.background = False
            self._done.set()
            self._finish_views()

    def _finish_views(self) -> None:
        seen: set[int] = set()
        for w in self.watches:
            for listener in w.listeners:
                owner = getattr(listener, "__self__", None)
                finish = getattr(owner, "finish", None)
                if callable(finish) and id(owner) not in seen:
                    seen.add(id(owner))
                    with contextlib.suppress(Exception):  # a view never hides the result
                        finish()

    # -- the handle ----------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        """True once the call has returned or raised."""
        return self._done.is_set()

    @property
    def in_background(self) -> bool:
        """True when the call runs in a background thread (False: it ran in the cell)."""
        return self._thread is not None

    def stop(self, reason: str = "run.stop()") -> None:
        """Stop the run: the call in flight is cut, the samples finished so far are kept."""
        for w in self.watches:
            w.stop(reason)

    def result(self, timeout: float | None = None) -> T:
        """The call's result, waiting for it (at most ``timeout`` seconds: then TimeoutError).

        If the call raised, this raises the same error. Interrupting the wait stops the run,
        waits for it to end (briefly: the call in flight is cut) and raises KeyboardInterrupt;
        ``result()`` afterwards gives what the stopped run returned.
        """
        try:
            finished = self._done.wait(timeout)
        except KeyboardInterrupt:
            self.stop("interrupted")
            self._done.wait(30.0)
            raise
        if not finished:
            msg = (f"The run has not finished after {timeout:g} s; call run.result() again to "
                   "wait longer, or run.stop() to end it with the samples so far.")
            raise TimeoutError(msg)
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]

    def __repr__(self) -> str:
        name = getattr(self.fn, "__qualname__", repr(self.fn))
        if not self.done:
            state = "running (run.result() waits for it, run.stop() ends it)"
        elif self._error is not None:
            state = f"failed: {type(self._error).__name__}: {self._error}"
        elif any(w.stopped for w in self.watches):
            state = "stopped; run.result() has the samples finished before"
        else:
            state = "done; run.result() has the result"
        return f"<LiveRun {name}: {state}>"


def _watches_in(values: list[Any]) -> list[Watch]:
    found: list[Watch] = []
    for v in values:
        candidate = getattr(v, "__self__", v)  # a bound method of a watch: watch.generate
        if isinstance(candidate, Watch) and all(candidate is not w for w in found):
            found.append(candidate)
    return found


def start(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> LiveRun[T]:
    """Run ``fn(*args, **kwargs)`` in the background; see the module docstring."""
    if not callable(fn):
        msg = (f"start() needs the function to run first, e.g. start(self_consistency, ...), "
               f"not {fn!r}.")
        raise TypeError(msg)
    watches = _watches_in([fn, *args, *kwargs.values()])
    if not watches:
        msg = ("start() found no watched backend among the arguments, so nothing could show the "
               "run or stop it: pass view.watch(backend) where the backend goes.")
        raise ValueError(msg)
    run: LiveRun[T] = LiveRun(fn, args, kwargs, watches)
    if all(instant(w) for w in watches):
        run._run()  # answers at once: in the cell, so its output is final when the cell ends
        if run._error is not None and isinstance(run._error, KeyboardInterrupt):
            raise run._error
        return run
    for w in watches:
        w.background = True
    thread = threading.Thread(target=in_context(run._run), name="itc-live-run", daemon=True)
    run._thread = thread
    thread.start()
    return run
