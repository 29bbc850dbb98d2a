"""The batch-first backend protocol and the fan-out every live backend shares.

``generate(request, n)`` returns n completions of one request; sample i uses seed
``request.seed + i``, so samples differ from each other and reproduce run after run. Live backends
also offer ``await backend.agenerate(request, n)`` for async code such as a Jupyter cell (the
kernel's event loop keeps running while the samples are out). Introduced in lesson 00.

A call can be watched without changing the code that makes it (:mod:`itc_lab.live`): the watcher
sets a :class:`Probe` for the calling context (:func:`probing`); backends that stream report each
token to it (:func:`emit_token`), the embedded engine its start (:func:`emit_engine`), and every
:class:`CancelScope` made under it registers with it, so the watcher can cut the call short. The
worker threads of a call run in a copy of the caller's context, so the probe reaches them.

Live backends talk HTTP through :func:`cuttable_client`, whose requests can be cut short: each
request has an overall deadline (:func:`request_deadline`, sized to its ``max_tokens``), so a
server that trickles bytes cannot hold a call forever, and interrupting ``generate`` (Ctrl-C, a
kernel interrupt) cancels the samples not yet sent and cuts the ones in flight
(:class:`CancelScope`) instead of waiting for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import math
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import Any, Protocol, TypeVar, runtime_checkable

import httpcore
import httpx

from ..types import MAX_SEED, Completion, Request, Token

__all__ = [
    "MISSING",
    "AmbientWatch",
    "Backend",
    "CancelScope",
    "LiveBackend",
    "MalformedReply",
    "OnResult",
    "Probe",
    "RequestDeadline",
    "ambient_watch",
    "call_cancelled",
    "check_concurrency",
    "check_n",
    "current_probe",
    "cuttable_client",
    "emit_engine",
    "emit_token",
    "fan_out",
    "generate_async",
    "generate_seeds_async",
    "in_context",
    "probing",
    "reply_count",
    "reply_list",
    "reply_number",
    "reply_object",
    "reply_text",
    "request_deadline",
    "seeds_of",
    "set_ambient_watch",
]

T = TypeVar("T")

OnResult = Callable[[Completion], None]
"""Called once per completion as soon as it is complete (from a worker thread in ``generate``,
from the event loop's thread in ``agenerate``)."""


class Probe(Protocol):
    """What watches a call from inside the backends (set by :mod:`itc_lab.live` with
    :func:`probing`). Its methods are called from any thread and must never raise."""

    def token(self, seed: int, token: Token) -> None:
        """A token of the sample with ``seed`` arrived (streaming backends only)."""
        ...

    def engine(self, state: str, detail: str = "") -> None:
        """The model engine is ``"starting"`` or ``"ready"`` (``detail``: for humans)."""
        ...

    def add_scope(self, scope: CancelScope) -> None:
        """A CancelScope was made under this probe: cancel it when the watcher stops the call
        (at once if it already has)."""
        ...


_PROBE: contextvars.ContextVar[Probe | None] = contextvars.ContextVar("itc_lab_probe",
                                                                       default=None)


def current_probe() -> Probe | None:
    """The probe watching the calling context, if any."""
    return _PROBE.get()


@contextlib.contextmanager
def probing(probe: Probe | None) -> Iterator[None]:
    """Calls made in this context (and in the worker threads they start) report to ``probe``."""
    token = _PROBE.set(probe)
    try:
        yield
    finally:
        _PROBE.reset(token)


def emit_token(seed: int, token: Token) -> None:
    """Report one streamed token of the sample with ``seed`` to the current probe (no-op
    without one). Backends call this as each token arrives."""
    probe = _PROBE.get()
    if probe is not None:
        probe.token(seed, token)


def emit_engine(state: str, detail: str = "") -> None:
    """Report the engine ``"starting"`` or ``"ready"`` to the current probe (no-op without)."""
    probe = _PROBE.get()
    if probe is not None:
        probe.engine(state, detail)


AmbientWatch = Callable[[Any], Any]
"""``hook(backend)`` -> a watching wrapper of ``backend`` (or None): see set_ambient_watch."""
_AMBIENT: list[AmbientWatch | None] = [None]


def set_ambient_watch(hook: AmbientWatch | None) -> AmbientWatch | None:
    """Watch every live call that nothing else watches: a live backend's ``generate_seeds``
    (and ``agenerate_seeds``) called with no probe set goes through ``hook(backend)`` instead,
    a wrapper that sets one. :mod:`itc_lab.live` uses this for the waiting note in a notebook.
    Returns the previous hook; ``None`` turns it off."""
    before = _AMBIENT[0]
    _AMBIENT[0] = hook
    return before


def ambient_watch(backend: Any) -> Any:
    """The ambient wrapper of ``backend`` for this call, or None (no hook, a probe already set,
    or the hook failed: a note must never stop a call)."""
    hook = _AMBIENT[0]
    if hook is None or _PROBE.get() is not None:
        return None
    try:
        return hook(backend)
    except Exception:
        return None


def in_context(fn: Callable[..., T]) -> Callable[..., T]:
    """``fn`` bound to a copy of the calling context, to run in another thread (each call of
    the result runs in its own copy, so it may run in several threads at once)."""
    context = contextvars.copy_context()

    def run(*args: Any, **kwargs: Any) -> T:
        return context.copy().run(fn, *args, **kwargs)

    return run


@runtime_checkable
class Backend(Protocol):
    """What every backend offers."""

    name: str
    """Short backend name, e.g. ``"ollama"``, ``"embedded"``, ``"recordings"``."""
    model: str
    """The model used when a request names none."""

    def generate(self, request: Request, n: int = 1, *,
                 on_result: OnResult | None = None) -> list[Completion]:
        """n completions of ``request``; sample i uses seed ``request.seed + i``."""
        ...

    def generate_seeds(self, request: Request, seeds: Sequence[int], *,
                       on_result: OnResult | None = None) -> list[Completion]:
        """One completion per seed, in the order of ``seeds``."""
        ...

    def describe(self) -> str:
        """One line for humans: what runs, where, which model."""
        ...


def check_n(n: int) -> None:
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        msg = f"n must be a whole number >= 1 (how many samples), not {n!r}."
        raise ValueError(msg)


def seeds_of(request: Request, n: int) -> list[int]:
    """The seeds of ``generate(request, n)``: sample i uses ``request.seed + i``; the last one must
    not pass ``MAX_SEED`` (the engines keep 32 bits of a seed)."""
    check_n(n)
    if request.seed + n - 1 > MAX_SEED:
        msg = (f"seed {request.seed} with n={n} needs seeds up to {request.seed + n - 1}, past "
               f"the largest seed {MAX_SEED:,} (2**32 - 1): the engines keep 32 bits of a seed, "
               f"so those samples would repeat seeds 0, 1, ... Use a seed of at most "
               f"{MAX_SEED - n + 1:,}.")
        raise ValueError(msg)
    return [request.seed + i for i in range(n)]


def check_concurrency(concurrency: object) -> int:
    """``concurrency`` if it is a whole number >= 1; otherwise a ValueError saying what to pass."""
    if not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1:
        msg = (f"concurrency must be a whole number >= 1 (requests in flight at once; 1 sends "
               f"the samples one after another), not {concurrency!r}.")
        raise ValueError(msg)
    return concurrency


class LiveBackend:
    """Shared fan-out: the n samples go out concurrently, at most ``concurrency`` at a time.

    Subclasses implement :meth:`_sample`, one request with one seed. Completed samples are handed to
    ``on_result`` as they arrive, so a failure in sample 5 never loses samples 0-4. Interrupting
    the call (KeyboardInterrupt) drops the samples not yet sent and cuts the requests in flight
    (see :func:`fan_out`): it returns at once, not when the batch would have ended.

    Each request has an overall deadline, :meth:`deadline_for`: ``deadline_s`` seconds if set,
    else ``deadline_base_s + max_tokens × seconds_per_token`` (× the samples in the request).
    """

    name = "live"
    model = ""
    concurrency = 1
    deadline_s: float | None = None
    """Fixed seconds one request may take from start to end (``None``: sized to the request)."""
    deadline_base_s: float = 300.0
    """The part of a request's deadline that does not grow with ``max_tokens`` (seconds)."""
    seconds_per_token: float = 1.0
    """The part that does: seconds allowed per token of ``max_tokens`` and sample."""

    def _sample(self, request: Request) -> Completion:
        raise NotImplementedError

    def describe(self) -> str:
        return f"{self.name} · model {self.model}"

    def resolve(self, request: Request) -> Request:
        """The request with this backend's default model filled in."""
        return request if request.model else request.with_model(self.model)

    def deadline_for(self, request: Request, n: int = 1) -> float:
        """The most seconds one server request for ``n`` samples of ``request`` may take."""
        if self.deadline_s is not None:
            return self.deadline_s
        return self.deadline_base_s + request.max_tokens * self.seconds_per_token * n

    def deadline_text(self, request: Request, n: int = 1) -> str:
        """How the deadline of :meth:`deadline_for` was reached, for error messages."""
        seconds = self.deadline_for(request, n)
        if self.deadline_s is not None:
            return f"{seconds:g} s (deadline_s)"
        per = f" × {n} samples" if n > 1 else ""
        return (f"{seconds:g} s ({self.deadline_base_s:g} s + {request.max_tokens} tokens × "
                f"{self.seconds_per_token:g} s{per})")

    def generate(self, request: Request, n: int = 1, *,
                 on_result: OnResult | None = None) -> list[Completion]:
        return self.generate_seeds(request, seeds_of(request, n), on_result=on_result)

    def generate_seeds(self, request: Request, seeds: Sequence[int], *,
                       on_result: OnResult | None = None) -> list[Completion]:
        watched = ambient_watch(self)
        if watched is not None:
            out: list[Completion] = watched.generate_seeds(request, seeds, on_result=on_result)
            return out
        request = self.resolve(request)
        # every seed is checked before anything is sent
        requests = [request.with_seed(s) for s in seeds]
        if not requests:
            return []
        self._before_batch(len(requests))
        scope = CancelScope()
        if len(requests) == 1 or self.concurrency <= 1:
            # in this thread: an interrupt reaches the request in flight directly
            out = []
            with scope.bind():
                for r in requests:
                    c = self._sample(r)
                    if on_result:
                        on_result(c)
                    out.append(c)
            return out
        lock = threading.Lock()

        def one(r: Request) -> Completion:
            c = self._sample(r)
            if on_result:
                with lock:
                    if not scope.cancelled:
                        on_result(c)
            return c

        jobs = [functools.partial(one, r) for r in requests]
        return fan_out(jobs, min(self.concurrency, len(jobs)), f"itc-{self.name}", scope)

    def _before_batch(self, n: int) -> None:
        """Hook: make sure the engine is up before fanning out."""

    # -- async ---------------------------------------------------------------------------------
    async def agenerate(self, request: Request, n: int = 1, *,
                        on_result: OnResult | None = None) -> list[Completion]:
        """``generate`` for async code: ``out = await backend.agenerate(request, n=8)``.

        The same completions as ``generate`` (sample i uses seed ``request.seed + i``), with at
        most ``concurrency`` requests in flight. ``on_result`` runs in the event loop's thread,
        once per sample, as each one completes. Cancelling the awaiting task (interrupting the
        cell) sends no further requests and makes no further ``on_result`` calls: the samples
        already handed to ``on_result`` are whole, the ones in flight finish in the background
        and are dropped.
        """
        return await self.agenerate_seeds(request, seeds_of(request, n), on_result=on_result)

    async def agenerate_seeds(self, request: Request, seeds: Sequence[int], *,
                              on_result: OnResult | None = None) -> list[Completion]:
        """``generate_seeds`` for async code; see :meth:`agenerate`."""
        watched = ambient_watch(self)
        if watched is not None:
            out: list[Completion] = await watched.agenerate_seeds(request, seeds,
                                                                  on_result=on_result)
            return out
        if type(self).generate_seeds is not LiveBackend.generate_seeds:
            # a subclass batches differently (one call for all seeds): run its batch in a thread
            return await self._agenerate_batch(request, seeds, on_result)
        return await self._agenerate_each(request, seeds, on_result)

    async def _agenerate_batch(self, request: Request, seeds: Sequence[int],
                               on_result: OnResult | None) -> list[Completion]:
        """This backend's blocking ``generate_seeds`` in a worker thread (see ``_in_thread``)."""
        return await _in_thread(self.generate_seeds, request, seeds, on_result)

    async def _agenerate_each(self, request: Request, seeds: Sequence[int],
                              on_result: OnResult | None) -> list[Completion]:
        """One ``_sample`` per seed on a pool of ``concurrency`` threads owned by this call.

        A dedicated pool, not the loop's default executor: that one has min(32, cores + 4)
        threads, which would quietly cap a larger ``concurrency``.
        """
        request = self.resolve(request)
        requests = [request.with_seed(s) for s in seeds]  # every seed checked before sending
        if not requests:
            return []
        loop = asyncio.get_running_loop()
        workers = max(1, min(self.concurrency, len(requests)))
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"itc-{self.name}-async")
        jobs: list[Future[Completion]] = []
        waiting: list[asyncio.Future[Completion]] = []
        stop = threading.Event()
        scope = CancelScope()

        def one(r: Request) -> Completion:
            if stop.is_set():  # a sample failed or the call was cancelled: never sent
                raise _Skipped
            try:
                with scope.bind():
                    return self._sample(r)
            except BaseException:
                stop.set()  # by the failing worker itself, before it takes the next seed
                raise

        try:
            await loop.run_in_executor(pool, in_context(self._before_batch), len(requests))
            # submitted in seed order, so requests go out in seed order as workers free up
            jobs = [pool.submit(in_context(one), r) for r in requests]
            waiting = [asyncio.wrap_future(job, loop=loop) for job in jobs]
            position = {id(f): i for i, f in enumerate(waiting)}
            results: list[Completion | None] = [None] * len(requests)
            error: BaseException | None = None
            pending: set[asyncio.Future[Completion]] = set(waiting)
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for f in sorted(done, key=lambda f: position[id(f)]):
                    if f.cancelled():  # never started: a sample failed before its turn
                        continue
                    exc = f.exception()
                    if isinstance(exc, _Skipped):
                        continue
                    if exc is not None:
                        if error is None:
                            error = exc
                            # requests not yet sent are dropped (cancelling a job that has not
                            # started succeeds, one that runs goes on); those in flight finish
                            # and still reach on_result, as in generate()
                            stop.set()
                            for job in jobs:
                                job.cancel()
                        continue
                    c = f.result()
                    results[position[id(f)]] = c
                    if on_result:
                        on_result(c)
                        # a cancellation point: if on_result (or anyone) cancelled this task,
                        # it ends here, before the next delivery
                        await asyncio.sleep(0)
            if error is not None:
                raise error
            return [c for c in results if c is not None]
        finally:
            # on cancellation (or an error in on_result): nothing more is sent or delivered,
            # and the requests in flight are cut (after a normal end none is left)
            stop.set()
            scope.cancel()
            for f in waiting:
                f.cancel()
            pool.shutdown(wait=False, cancel_futures=True)


class _Abandoned(Exception):
    """Raised inside a blocking batch whose awaiting task was cancelled."""


class _Skipped(Exception):
    """A sample not sent because another one had failed."""


def _first_error(futures: Sequence[Future[Any]]) -> BaseException:
    """The first real failure in seed order (not a sample skipped because of it)."""
    for f in futures:
        if f.cancelled():
            continue
        exc = f.exception()
        if exc is not None and not isinstance(exc, _Skipped):
            return exc
    msg = "a sample failed, but its error was lost"  # unreachable: _Skipped follows a failure
    return RuntimeError(msg)


async def _in_thread(batch: Callable[..., list[Completion]], request: Request,
                     seeds: Sequence[int], on_result: OnResult | None) -> list[Completion]:
    """Run a blocking ``generate_seeds`` in a thread; deliver ``on_result`` on the loop.

    Each delivery is scheduled on the loop before the batch's own result, so all of them have
    run when the await returns; after a cancellation none runs. A cancelled batch cannot stop
    its requests: they finish in the background and are dropped.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    cancelled = threading.Event()
    failures: list[Exception] = []

    def deliver(c: Completion) -> None:
        # cancelling() is set at once by task.cancel(), before the task itself wakes up
        if task is not None and task.cancelling():
            cancelled.set()
        if on_result is None or cancelled.is_set():
            return
        try:
            on_result(c)
        except Exception as e:  # raised from the await below, as agenerate does
            failures.append(e)
            cancelled.set()

    def forward(c: Completion) -> None:
        if cancelled.is_set():
            # failing here makes the blocking batch send nothing more
            raise _Abandoned
        loop.call_soon_threadsafe(deliver, c)

    try:
        out = await asyncio.to_thread(batch, request, list(seeds), on_result=forward)
    except asyncio.CancelledError:
        cancelled.set()
        raise
    except _Abandoned:
        if failures:
            raise failures[0] from None
        raise
    if failures:
        raise failures[0]
    return out


async def generate_seeds_async(backend: Backend, request: Request, seeds: Sequence[int], *,
                               on_result: OnResult | None = None) -> list[Completion]:
    """``await`` any backend's ``generate_seeds``: its own ``agenerate_seeds`` if it has one,
    else its ``generate_seeds`` in a worker thread. ``on_result`` runs in the event loop's
    thread."""
    native = getattr(backend, "agenerate_seeds", None)
    if native is not None:
        out: list[Completion] = await native(request, seeds, on_result=on_result)
        return out
    return await _in_thread(backend.generate_seeds, request, seeds, on_result)


async def generate_async(backend: Backend, request: Request, n: int = 1, *,
                         on_result: OnResult | None = None) -> list[Completion]:
    """``await`` any backend: its own ``agenerate`` if it has one (live backends), else its
    ``generate`` in a worker thread (recordings). ``on_result`` runs in the event loop's thread.
    """
    seeds = seeds_of(request, n)
    native = getattr(backend, "agenerate", None)
    if native is not None:
        out: list[Completion] = await native(request, n, on_result=on_result)
        return out
    return await _in_thread(backend.generate_seeds, request, seeds, on_result)


# -- cutting requests short ------------------------------------------------------------------------
# A worker thread's HTTP request cannot be stopped from another thread by closing its client: a
# thread blocked in recv() on Linux stays blocked when the socket is closed under it. Shutting the
# socket down wakes it at once. So the clients of the live backends wrap their connections
# (``cuttable_client``): every read, write and connect first checks the calling thread's
# CancelScope and RequestDeadline, registers its socket with the scope while it waits, and waits
# no longer than the deadline.

_local = threading.local()
"""Per thread: ``scope`` (CancelScope | None) and ``deadline`` (RequestDeadline | None)."""


class CancelScope:
    """The HTTP requests of one call's worker threads, so that the call can cut them.

    A worker runs its requests inside ``with scope.bind():`` on a client from
    :func:`cuttable_client`. :meth:`cancel`, from any thread, shuts down the sockets those workers
    are waiting on and makes their next read, write or connect fail at once (``httpx.ReadError``
    and friends), so a request in flight ends within milliseconds; the server sees the connection
    close (llama.cpp then stops generating for it).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[int, socket.socket] = {}
        self.cancelled = False
        probe = _PROBE.get()
        if probe is not None:  # a watcher may stop the call: it cancels this scope
            probe.add_scope(self)

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            waiting = list(self._waiting.values())
        for sock in waiting:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    @contextlib.contextmanager
    def bind(self) -> Iterator[CancelScope]:
        """Run this thread's requests under this scope."""
        before = getattr(_local, "scope", None)
        _local.scope = self
        try:
            yield self
        finally:
            _local.scope = before

    def enter(self, sock: socket.socket | None) -> bool:
        """Register a socket this thread is about to wait on; False once cancelled."""
        with self._lock:
            if self.cancelled:
                return False
            if sock is not None:
                self._waiting[id(sock)] = sock
            return True

    def leave(self, sock: socket.socket | None) -> None:
        if sock is not None:
            with self._lock:
                self._waiting.pop(id(sock), None)


def call_cancelled() -> bool:
    """True when the calling thread's requests were cut (its :class:`CancelScope` was
    cancelled): a backend that waits in Python, not on a socket, polls this and gives up."""
    scope: CancelScope | None = getattr(_local, "scope", None)
    return scope is not None and scope.cancelled


class RequestDeadline:
    """When one request must be over (``time.monotonic`` seconds); ``passed`` once it cut one."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = math.inf if seconds is None else float(seconds)
        self.at = time.monotonic() + self.seconds
        self.passed = False

    def remaining(self) -> float:
        return self.at - time.monotonic()


@contextlib.contextmanager
def request_deadline(seconds: float | None) -> Iterator[RequestDeadline]:
    """The requests this thread makes inside the block (on a :func:`cuttable_client`) end by
    ``seconds`` from now (``None``: no deadline): a read that would wait past it times out
    (``httpx.ReadTimeout``), and ``deadline.passed`` tells that timeout from a server that went
    quiet for the client's own timeout."""
    before = getattr(_local, "deadline", None)
    deadline = RequestDeadline(seconds)
    _local.deadline = deadline
    try:
        yield deadline
    finally:
        _local.deadline = before


@contextlib.contextmanager
def _watched(sock: socket.socket | None, timeout: float | None,
             timed_out: type[Exception], broken: type[Exception]) -> Iterator[float | None]:
    """One socket operation of this thread: its timeout cut to the deadline, its socket
    registered with the scope while it waits."""
    scope: CancelScope | None = getattr(_local, "scope", None)
    deadline: RequestDeadline | None = getattr(_local, "deadline", None)
    clamped = False
    if deadline is not None and deadline.seconds < math.inf:
        left = deadline.remaining()
        if left <= 0:
            deadline.passed = True
            msg = f"the request's deadline of {deadline.seconds:g} s has passed"
            raise timed_out(msg)
        if timeout is None or left < timeout:
            timeout, clamped = left, True
    if scope is not None and not scope.enter(sock):
        msg = "the call was interrupted"
        raise broken(msg)
    try:
        yield timeout
    except httpcore.TimeoutException:
        if clamped and deadline is not None:
            deadline.passed = True
        raise
    finally:
        if scope is not None:
            scope.leave(sock)


class _Stream(httpcore.NetworkStream):
    """A connection whose reads and writes honour the thread's scope and deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner
        self._sock: socket.socket | None = inner.get_extra_info("socket")

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with _watched(self._sock, timeout, httpcore.ReadTimeout, httpcore.ReadError) as t:
            return self._inner.read(max_bytes, t)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        with _watched(self._sock, timeout, httpcore.WriteTimeout, httpcore.WriteError) as t:
            self._inner.write(buffer, t)

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        with _watched(self._sock, timeout, httpcore.ConnectTimeout, httpcore.ConnectError) as t:
            return _Stream(self._inner.start_tls(ssl_context, server_hostname, t))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Network(httpcore.NetworkBackend):
    """httpcore's network backend with every connection wrapped in :class:`_Stream`."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        with _watched(None, timeout, httpcore.ConnectTimeout, httpcore.ConnectError) as t:
            return _Stream(self._inner.connect_tcp(host, port, t, local_address, socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> httpcore.NetworkStream:
        with _watched(None, timeout, httpcore.ConnectTimeout, httpcore.ConnectError) as t:
            return _Stream(self._inner.connect_unix_socket(path, t, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def cuttable_client(**kwargs: Any) -> httpx.Client:
    """An ``httpx.Client(**kwargs)`` whose requests honour :func:`request_deadline` and
    :class:`CancelScope` in the thread that makes them."""
    client = httpx.Client(**kwargs)
    # httpx builds an httpcore pool per transport (one more per proxy); each takes its network
    # backend from this attribute when it opens a connection
    for transport in (client._transport, *client._mounts.values()):
        pool = getattr(transport, "_pool", None)
        network = getattr(pool, "_network_backend", None)
        if isinstance(network, httpcore.NetworkBackend) and not isinstance(network, _Network):
            pool._network_backend = _Network(network)  # type: ignore[union-attr]
    return client


def fan_out(jobs: Sequence[Callable[[], T]], workers: int, name: str,
            scope: CancelScope | None = None) -> list[T]:
    """Run ``jobs`` on ``workers`` threads; their results in the order of ``jobs``.

    When a job fails, the jobs not yet started are dropped and the ones running finish (each
    within its request's deadline); then the first failure in job order is raised. When the
    caller is interrupted while it waits (KeyboardInterrupt, or any exception), the jobs not yet
    started are dropped, the requests of the running ones are cut (``scope``, which the jobs run
    under), and the exception propagates at once: the caller never waits for the batch.
    """
    scope = scope if scope is not None else CancelScope()
    stop = threading.Event()

    def run(job: Callable[[], T]) -> T:
        if stop.is_set() or scope.cancelled:  # an earlier job failed: this one never starts
            raise _Skipped
        try:
            with scope.bind():
                return job()
        except BaseException:
            # set by the failing worker itself, before it can take the next job
            stop.set()
            raise

    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix=name)
    try:
        futures = [pool.submit(in_context(run), job) for job in jobs]
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        if any(f.exception() is not None for f in done):
            for f in pending:
                f.cancel()
            wait(futures)  # let running jobs finish so their results still count
            raise _first_error(futures)
        return [f.result() for f in futures]
    except BaseException:
        stop.set()
        scope.cancel()
        raise
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


# -- reading a server's reply ----------------------------------------------------------------------

class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""Stands for a field a reply does not have (``reply_*(obj.get(key, MISSING), ...)``)."""


def _shown(value: object) -> str:
    if value is MISSING:
        return "missing"
    if value is None:
        return "null"
    kind = {str: "the string", bool: "the boolean", int: "the number", float: "the number",
            list: "a list", dict: "an object"}.get(type(value), f"a {type(value).__name__}")
    if isinstance(value, list | dict):
        return kind
    text = repr(value)
    return f"{kind} {text[:40] + '…' if len(text) > 40 else text}"


class MalformedReply(ValueError):
    """A field of a server's reply is missing or of the wrong kind. Backends turn it into a
    BackendError that names the server."""

    def __init__(self, field: str, value: object, expected: str) -> None:
        self.field = field
        self.value = value
        self.expected = expected
        super().__init__(f"`{field}` is {_shown(value)}, not {expected}")


def reply_object(value: object, field: str) -> Mapping[str, Any]:
    """``value`` if it is a JSON object."""
    if not isinstance(value, Mapping):
        raise MalformedReply(field, value, "an object")
    return value


def reply_list(value: object, field: str, *, optional: bool = False) -> list[Any]:
    """``value`` if it is a JSON list (``optional``: null or missing give ``[]``)."""
    if optional and (value is None or value is MISSING):
        return []
    if not isinstance(value, list):
        raise MalformedReply(field, value, "a list")
    return value


def reply_text(value: object, field: str, *, optional: bool = True) -> str:
    """``value`` if it is a string (``optional``: null or missing give ``""``)."""
    if optional and (value is None or value is MISSING):
        return ""
    if not isinstance(value, str):
        raise MalformedReply(field, value, "a string")
    return value


def reply_number(value: object, field: str, *, optional: bool = False) -> float | None:
    """``value`` as a float if it is a JSON number (``optional``: null or missing give None)."""
    if optional and (value is None or value is MISSING):
        return None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise MalformedReply(field, value, "a number")
    return float(value)


def reply_count(value: object, field: str) -> int:
    """``value`` if it is a whole number >= 0 (null or missing give 0)."""
    if value is None or value is MISSING:
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise MalformedReply(field, value, "a whole number >= 0")
    return value
