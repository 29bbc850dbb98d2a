"""Watch a backend's calls as they happen: events for calls, samples, tokens and the engine.

``watch(backend, *listeners)`` returns a backend that forwards every call to ``backend`` and tells
each listener what happens, as it happens. Techniques take it like any backend, unchanged::

    watched = watch(backend, print)
    votes = self_consistency(problem, watched, k=16)

A listener is any callable taking one :class:`Event`. The events of one call, in order:

- :class:`CallStarted` — ``generate(request, n)`` (or ``generate_seeds`` / ``agenerate``) began:
  the request and its ``seeds`` (sample ``index`` i has seed ``seeds[i]``);
- :class:`EngineEvent` — the model engine is ``"starting"`` / ``"ready"`` (the embedded engine's
  first call only);
- :class:`TokenArrived` — one token of one sample (backends that stream: the embedded engine,
  Ollama; with its logprob and alternatives when the request asked for ``top_logprobs``);
- :class:`SampleFinished` — one sample is complete (every backend; in the order they end);
- :class:`CallFinished` — the call returned (``stopped`` when :meth:`Watch.stop` cut it short), or
  :class:`CallFailed` — it raised (an interrupt included).

Listeners run one at a time (never two at once), in the thread where the event happened (a worker
thread of the backend, or the event loop's thread for ``agenerate``): keep them quick. A listener
that raises is reported once as a warning and kept out of the call: generation goes on and no
sample is lost (``Watch.errors`` holds what was raised).

Stopping: :meth:`Watch.stop` (from any thread: a Stop button, an early-stopping rule) cuts the
call in flight and makes it return the samples finished so far, in seed order; later calls on a
stopped watch raise :class:`RunStopped`. Backends take part through ``itc_lab.backends.base``:
they report tokens with ``emit_token(seed, token)`` and engine start with ``emit_engine``, and
every ``CancelScope`` made during a watched call is cancelled by ``stop()`` (a backend that
waits in Python can poll ``scope.cancelled``).

Counting what is spent: :class:`Meter` is a listener that totals calls, samples, tokens and
seconds (``Meter.summary()``); the live views show it.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..backends.base import (
    Backend,
    CancelScope,
    OnResult,
    current_probe,
    generate_seeds_async,
    probing,
    seeds_of,
)
from ..errors import BackendError, RecordingMissing
from ..types import Completion, Request, Token

__all__ = [
    "CallFailed",
    "CallFinished",
    "CallStarted",
    "EngineEvent",
    "Event",
    "Listener",
    "Meter",
    "RunStopped",
    "SampleFinished",
    "TokenArrived",
    "Watch",
    "instant",
    "watch",
]


# -- events ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Event:
    """Something that happened in a watched call."""

    call: int
    """Which call of this watch (0, 1, 2 … in the order they started)."""
    t: float
    """When, in seconds since the watch was made (``time.perf_counter`` based)."""


@dataclass(frozen=True)
class CallStarted(Event):
    request: Request
    seeds: tuple[int, ...]
    """Sample ``index`` i has seed ``seeds[i]``."""

    @property
    def n(self) -> int:
        """How many samples the call asks for."""
        return len(self.seeds)


@dataclass(frozen=True)
class EngineEvent(Event):
    state: str
    """``"starting"`` or ``"ready"``."""
    detail: str = ""
    """For humans, e.g. ``"engine ready in 4.2 s"``."""


@dataclass(frozen=True)
class TokenArrived(Event):
    index: int
    """The sample's position in the call (see ``CallStarted.seeds``)."""
    seed: int
    token: Token
    """Its text, and its ``logprob`` and ``top`` alternatives when the request asked for them."""


@dataclass(frozen=True)
class SampleFinished(Event):
    index: int
    seed: int
    completion: Completion
    elapsed_s: float
    """Seconds from the start of the call to this sample's end (``completion.latency_s`` is the
    backend's own measure, or the recorded one)."""


@dataclass(frozen=True)
class CallFinished(Event):
    completions: tuple[Completion, ...]
    """What the call returned, in seed order (fewer than asked when it was stopped)."""
    elapsed_s: float
    """Wall-clock seconds of the call."""
    stopped: bool = False
    """True when ``Watch.stop()`` cut the call short."""


@dataclass(frozen=True)
class CallFailed(Event):
    error: BaseException
    completions: tuple[Completion, ...]
    """The samples that did finish before the error (also reported as SampleFinished)."""
    elapsed_s: float


Listener = Callable[[Event], None]
"""Called with each event (see the module docstring for threads and errors)."""


class RunStopped(BackendError):
    """A call on a watch that was stopped (``Watch.stop()``): the run is over."""


# -- the watching wrapper --------------------------------------------------------------------------

class _Call:
    """One call in flight: its seeds, the samples delivered so far, and the probe the backends
    report to (``itc_lab.backends.base.Probe``)."""

    def __init__(self, watch: Watch, number: int, seeds: Sequence[int]) -> None:
        self.watch = watch
        self.number = number
        self.seeds = tuple(seeds)
        self.index = {s: i for i, s in reversed(list(enumerate(self.seeds)))}
        self.done: dict[int, Completion] = {}
        self.t0 = time.perf_counter()
        self.lock = threading.Lock()
        self.closed = False
        """Set when the call has returned: late deliveries (a worker that ends after a stop)
        are ignored, so nothing is reported after CallFinished."""
        self.outer = current_probe()
        """The probe of a watch around this one (a watched backend watched again): it hears
        the same tokens and engine events, and its stop cuts this call too."""

    # Probe
    def token(self, seed: int, token: Token) -> None:
        if self.outer is not None:
            self.outer.token(seed, token)
        i = self.index.get(seed)
        if i is None or i in self.done or self.closed:
            return
        w = self.watch
        w._emit(TokenArrived(self.number, w._now(), i, seed, token))

    def engine(self, state: str, detail: str = "") -> None:
        if self.outer is not None:
            self.outer.engine(state, detail)
        w = self.watch
        w._emit(EngineEvent(self.number, w._now(), state, detail))

    def add_scope(self, scope: CancelScope) -> None:
        if self.outer is not None:
            self.outer.add_scope(scope)
        self.watch._add_scope(scope)

    # deliveries
    def deliver(self, c: Completion) -> bool:
        """Record a finished sample; False if it was already delivered, is not ours, or came
        after the watch was stopped (a run stopped after sample s keeps the first s samples to
        finish, live and in a replay of its recording alike)."""
        with self.lock:
            i = self.index.get(c.seed)
            if i is None or i in self.done or self.closed or self.watch.stopped:
                return False
            self.done[i] = c
        w = self.watch
        w._emit(SampleFinished(self.number, w._now(), i, c.seed, c,
                               time.perf_counter() - self.t0))
        return True

    def finished(self, close: bool = False) -> tuple[Completion, ...]:
        with self.lock:
            self.closed = self.closed or close
            return tuple(self.done[i] for i in sorted(self.done))


class Watch:
    """A backend that reports its calls to listeners; made by :func:`watch`.

    Everything not listed here (``name``, ``model``, ``describe()``, the wrapped backend's own
    attributes) is the wrapped backend's: ``Watch.backend`` is it.
    """

    def __init__(self, backend: Backend, listeners: Sequence[Listener] = ()) -> None:
        if not callable(getattr(backend, "generate_seeds", None)):
            msg = (f"watch() needs a backend (with generate and generate_seeds), not "
                   f"{type(backend).__name__}.")
            raise TypeError(msg)
        self.backend = backend
        self.listeners: list[Listener] = list(listeners)
        self.errors: list[BaseException] = []
        """What listeners raised (each was kept out of the call)."""
        self._t0 = time.perf_counter()
        self._emit_lock = threading.RLock()
        self._lock = threading.Lock()
        self._calls = 0
        self._active = 0
        self._scopes: list[CancelScope] = []
        self._stopped = False
        self.stop_reason = ""
        """Why the run was stopped (empty while it was not)."""
        self.background = False
        """True while ``itc_lab.live.start`` runs calls on this watch in a background thread (a
        Stop button can only be heard then: a running cell does not read the page's messages)."""

    # -- the backend protocol ------------------------------------------------------------------
    @property
    def name(self) -> str:
        return str(self.backend.name)

    @property
    def model(self) -> str:
        return str(self.backend.model)

    def describe(self) -> str:
        return self.backend.describe()

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__") or attr == "backend":
            raise AttributeError(attr)
        return getattr(self.backend, attr)

    def __repr__(self) -> str:
        return f"<watched {self.backend.describe()}: {len(self.listeners)} listener(s)>"

    def generate(self, request: Request, n: int = 1, *,
                 on_result: OnResult | None = None) -> list[Completion]:
        return self.generate_seeds(request, seeds_of(request, n), on_result=on_result)

    def generate_seeds(self, request: Request, seeds: Sequence[int], *,
                       on_result: OnResult | None = None) -> list[Completion]:
        with self._call(request, seeds) as call:
            forward = self._forward(call, on_result)
            try:
                try:
                    out = self.backend.generate_seeds(request, call.seeds, on_result=forward)
                except RecordingMissing as missing:
                    out = self._replay_stopped(request, call, forward, missing)
            except Exception as e:
                return self._failed(call, e)
            except BaseException as e:
                self._end_failed(call, e)
                raise
            return self._returned(call, out, on_result)

    async def agenerate(self, request: Request, n: int = 1, *,
                        on_result: OnResult | None = None) -> list[Completion]:
        """``generate`` for async code (the backend's own ``agenerate`` when it has one)."""
        return await self.agenerate_seeds(request, seeds_of(request, n), on_result=on_result)

    async def agenerate_seeds(self, request: Request, seeds: Sequence[int], *,
                              on_result: OnResult | None = None) -> list[Completion]:
        with self._call(request, seeds) as call:
            forward = self._forward(call, on_result)
            try:
                try:
                    out = await generate_seeds_async(self.backend, request, call.seeds,
                                                     on_result=forward)
                except RecordingMissing as missing:
                    out = self._replay_stopped(request, call, forward, missing)
            except Exception as e:
                return self._failed(call, e)
            except BaseException as e:  # a cancelled cell
                self._end_failed(call, e)
                raise
            return self._returned(call, out, on_result)

    def _replay_stopped(self, request: Request, call: _Call, forward: OnResult,
                        missing: RecordingMissing) -> list[Completion]:
        """A recording without some of the samples asked for, from a run that was stopped: the
        recorded samples are played in the order they ended, and if the run stops again before
        a missing one is needed, its answer is what the live run returned. Otherwise (or when
        the backend is not a replay) the recording's error stands."""
        if not instant(self.backend):
            raise missing
        found: list[Completion] = []
        for seed in call.seeds:
            try:
                found.extend(self.backend.generate_seeds(request, [seed]))
            except RecordingMissing:
                continue
        for c in sorted(found, key=_recorded_end):
            if self._stopped:
                break
            forward(c)
        if not self._stopped:
            raise missing
        return list(call.finished())

    # -- stopping ------------------------------------------------------------------------------
    @property
    def stopped(self) -> bool:
        return self._stopped

    def stop(self, reason: str = "stopped") -> None:
        """End the run: cut the call in flight (it returns the samples finished so far) and
        refuse later calls (:class:`RunStopped`). Safe from any thread, any number of times."""
        with self._lock:
            if not self._stopped:
                self._stopped = True
                self.stop_reason = reason
            scopes, self._scopes = self._scopes, []
        for scope in scopes:
            scope.cancel()

    def _add_scope(self, scope: CancelScope) -> None:
        with self._lock:
            if not self._stopped:
                self._scopes.append(scope)
                return
        scope.cancel()

    # -- internals -----------------------------------------------------------------------------
    def _now(self) -> float:
        return time.perf_counter() - self._t0

    def _emit(self, event: Event) -> None:
        with self._emit_lock:
            for listener in list(self.listeners):
                try:
                    listener(event)
                except Exception as e:  # a listener never breaks the call
                    if not self.errors:
                        warnings.warn(f"A listener of the watched backend failed and was "
                                      f"skipped ({type(e).__name__}: {e}); the run goes on.",
                                      RuntimeWarning, stacklevel=2)
                    self.errors.append(e)

    @contextmanager
    def _call(self, request: Request, seeds: Sequence[int]) -> Iterator[_Call]:
        seeds = list(seeds)
        with self._lock:
            if self._stopped:
                msg = (f"This run was stopped ({self.stop_reason}), so no further model calls "
                       "are made; the samples already finished are kept. Watch the backend "
                       "again (a new live view) to run more.")
                raise RunStopped(msg)
            number = self._calls
            self._calls += 1
            self._active += 1
        call = _Call(self, number, seeds)
        try:
            self._emit(CallStarted(number, self._now(), request, call.seeds))
            with probing(call):
                yield call
        finally:
            with self._lock:
                self._active -= 1
                if self._active == 0:
                    self._scopes = []

    def _forward(self, call: _Call, on_result: OnResult | None) -> OnResult:
        def forward(c: Completion) -> None:
            if call.deliver(c) and on_result is not None:
                on_result(c)
        return forward

    def _returned(self, call: _Call, out: Sequence[Completion],
                  on_result: OnResult | None) -> list[Completion]:
        for c in out:  # a backend that does not report through on_result
            if call.deliver(c) and on_result is not None:
                on_result(c)
        done = call.finished(close=True)
        stopped = self._stopped and len(done) < len(call.seeds)
        self._emit(CallFinished(call.number, self._now(), done,
                                time.perf_counter() - call.t0, stopped=stopped))
        return list(done) if stopped else list(out)

    def _failed(self, call: _Call, error: Exception) -> list[Completion]:
        if self._stopped:  # cut by stop(): the samples finished so far are the answer
            done = call.finished(close=True)
            self._emit(CallFinished(call.number, self._now(), done,
                                    time.perf_counter() - call.t0, stopped=True))
            return list(done)
        self._end_failed(call, error)
        raise error

    def _end_failed(self, call: _Call, error: BaseException) -> None:
        self._emit(CallFailed(call.number, self._now(), error, call.finished(close=True),
                              time.perf_counter() - call.t0))


def _recorded_end(c: Completion) -> float:
    """When a recorded sample ended, in seconds after its call began (as far as is known)."""
    timing = getattr(c, "timing", None)
    sent = getattr(timing, "sent_ms", 0) or 0
    return sent / 1000 + c.latency_s


def watch(backend: Backend, *listeners: Listener) -> Watch:
    """``backend``, reporting every call to ``listeners`` (see the module docstring)."""
    for listener in listeners:
        if not callable(listener):
            msg = f"A listener must be callable (it is called with each event), not {listener!r}."
            raise TypeError(msg)
    return Watch(backend, listeners)


def instant(backend: object) -> bool:
    """True when ``backend`` answers without a model and at once: recordings in replay mode
    played at speed 0 (through wrappers such as a Watch, a cache or a budget)."""
    seen = 0
    while backend is not None and seen < 20:
        seen += 1
        if isinstance(backend, Watch):
            backend = backend.backend
            continue
        if getattr(backend, "name", None) == "recordings":
            mode = getattr(backend, "mode", None)
            speed = getattr(backend, "speed", 0) or 0
            return mode == "replay" and not speed
        inner = getattr(backend, "backend", None)
        if inner is None:
            return False
        backend = inner
    return False


# -- counting what is spent ------------------------------------------------------------------------

@dataclass
class Meter:
    """A listener that totals what a run spends: calls, samples, tokens and seconds.

    ``tokens`` counts every generated token: the finished samples' ``completion_tokens`` plus the
    tokens streamed so far by samples still running (or cut short by a stop). ``seconds`` is the
    wall time since the first call started (to the end of the last call once none runs).
    """

    calls: int = 0
    samples: int = 0
    """Finished samples."""
    asked: int = 0
    """Samples asked for."""
    tokens: int = 0
    cached: int = 0
    """Finished samples served from a recording."""
    state: str = "waiting"
    """``"waiting"``, ``"starting the engine"``, ``"running"``, ``"done"``, ``"stopped"`` or
    ``"failed"``."""
    note: str = ""
    """The last engine message, e.g. ``"engine ready in 4.2 s"``."""
    _recorded: dict[int, float] = field(default_factory=dict, repr=False)
    _streamed: dict[tuple[int, int], int] = field(default_factory=dict, repr=False)
    _finished_tokens: int = field(default=0, repr=False)
    _start: float | None = field(default=None, repr=False)
    _end: float | None = field(default=None, repr=False)
    _active: int = field(default=0, repr=False)

    def __call__(self, event: Event) -> None:
        if isinstance(event, CallStarted):
            self.calls += 1
            self.asked += event.n
            self._active += 1
            if self._start is None:
                self._start = time.perf_counter()
            self._end = None
            if self.state != "starting the engine":
                self.state = "running"
        elif isinstance(event, EngineEvent):
            self.note = event.detail
            self.state = "starting the engine" if event.state == "starting" else "running"
        elif isinstance(event, TokenArrived):
            key = (event.call, event.index)
            self._streamed[key] = self._streamed.get(key, 0) + 1
            self.tokens += 1
            if self.state == "starting the engine":
                self.state = "running"
        elif isinstance(event, SampleFinished):
            streamed = self._streamed.pop((event.call, event.index), 0)
            self.tokens += event.completion.completion_tokens - streamed
            self._finished_tokens += event.completion.completion_tokens
            self.samples += 1
            if event.completion.cached:
                self.cached += 1
                self._recorded[event.call] = max(self._recorded.get(event.call, 0.0),
                                                 event.completion.latency_s)
        elif isinstance(event, CallFinished | CallFailed):
            self._active = max(0, self._active - 1)
            if self._active == 0:
                self._end = time.perf_counter()
            if isinstance(event, CallFailed):
                self.state = "failed"
            elif event.stopped:
                self.state = "stopped"
            elif self._active == 0 and self.state not in ("stopped", "failed"):
                self.state = "done"

    @property
    def seconds(self) -> float:
        if self._start is None:
            return 0.0
        end = self._end if self._end is not None else time.perf_counter()
        return end - self._start

    @property
    def recorded_seconds(self) -> float:
        """For samples served from a recording: how long their calls took when recorded (the
        slowest sample of each call, summed over calls; seconds)."""
        return sum(self._recorded.values())

    def summary(self) -> dict[str, Any]:
        """The numbers as a plain dict (the ``meter`` trait of the live views)."""
        return {"calls": self.calls, "samples": self.samples, "asked": self.asked,
                "tokens": self.tokens, "seconds": round(self.seconds, 2),
                "recorded_seconds": round(self.recorded_seconds, 2),
                "cached": self.cached, "state": self.state, "note": self.note}
