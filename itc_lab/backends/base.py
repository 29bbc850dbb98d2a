"""The batch-first backend protocol and the fan-out every live backend shares.

``generate(request, n)`` returns n completions of one request; sample i uses seed
``request.seed + i``, so samples differ from each other and reproduce run after run. Live backends
also offer ``await backend.agenerate(request, n)`` for async code such as a Jupyter cell (the
kernel's event loop keeps running while the samples are out). Introduced in lesson 00.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import Protocol, runtime_checkable

from ..types import Completion, Request

__all__ = [
    "Backend",
    "LiveBackend",
    "OnResult",
    "check_concurrency",
    "check_n",
    "generate_async",
    "seeds_of",
]

OnResult = Callable[[Completion], None]
"""Called once per completion as soon as it is complete (from a worker thread in ``generate``,
from the event loop's thread in ``agenerate``)."""


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
    """The seeds of ``generate(request, n)``: sample i uses ``request.seed + i``."""
    check_n(n)
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
    ``on_result`` as they arrive, so a failure in sample 5 never loses samples 0-4.
    """

    name = "live"
    model = ""
    concurrency = 1

    def _sample(self, request: Request) -> Completion:
        raise NotImplementedError

    def describe(self) -> str:
        return f"{self.name} · model {self.model}"

    def resolve(self, request: Request) -> Request:
        """The request with this backend's default model filled in."""
        return request if request.model else request.with_model(self.model)

    def generate(self, request: Request, n: int = 1, *,
                 on_result: OnResult | None = None) -> list[Completion]:
        return self.generate_seeds(request, seeds_of(request, n), on_result=on_result)

    def generate_seeds(self, request: Request, seeds: Sequence[int], *,
                       on_result: OnResult | None = None) -> list[Completion]:
        request = self.resolve(request)
        seeds = list(seeds)
        if not seeds:
            return []
        self._before_batch(len(seeds))
        if len(seeds) == 1 or self.concurrency <= 1:
            out = []
            for s in seeds:
                c = self._sample(request.with_seed(s))
                if on_result:
                    on_result(c)
                out.append(c)
            return out
        lock = threading.Lock()
        stop = threading.Event()

        def one(seed: int) -> Completion:
            if stop.is_set():  # an earlier sample failed: this one is never sent
                raise _Skipped
            try:
                c = self._sample(request.with_seed(seed))
                if on_result:
                    with lock:
                        on_result(c)
            except BaseException:
                # set by the failing worker itself, before it can take the next seed
                stop.set()
                raise
            return c

        workers = min(self.concurrency, len(seeds))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"itc-{self.name}") as ex:
            futures: list[Future[Completion]] = [ex.submit(one, s) for s in seeds]
            done, pending = wait(futures, return_when=FIRST_EXCEPTION)
            if any(f.exception() is not None for f in done):
                for f in pending:
                    f.cancel()
                wait(futures)  # let running samples finish so their on_result still fires
                raise _first_error(futures)
            return [f.result() for f in futures]

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
        check_n(n)
        return await self.agenerate_seeds(request, [request.seed + i for i in range(n)],
                                          on_result=on_result)

    async def agenerate_seeds(self, request: Request, seeds: Sequence[int], *,
                              on_result: OnResult | None = None) -> list[Completion]:
        """``generate_seeds`` for async code; see :meth:`agenerate`."""
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
        seeds = list(seeds)
        if not seeds:
            return []
        loop = asyncio.get_running_loop()
        workers = max(1, min(self.concurrency, len(seeds)))
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"itc-{self.name}-async")
        jobs: list[Future[Completion]] = []
        waiting: list[asyncio.Future[Completion]] = []
        stop = threading.Event()

        def one(r: Request) -> Completion:
            if stop.is_set():  # a sample failed or the call was cancelled: never sent
                raise _Skipped
            try:
                return self._sample(r)
            except BaseException:
                stop.set()  # by the failing worker itself, before it takes the next seed
                raise

        try:
            await loop.run_in_executor(pool, self._before_batch, len(seeds))
            # submitted in seed order, so requests go out in seed order as workers free up
            jobs = [pool.submit(one, request.with_seed(s)) for s in seeds]
            waiting = [asyncio.wrap_future(job, loop=loop) for job in jobs]
            position = {id(f): i for i, f in enumerate(waiting)}
            results: list[Completion | None] = [None] * len(seeds)
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
            # on cancellation (or an error in on_result): nothing more is sent or delivered;
            # samples already in a worker thread finish there and are dropped
            stop.set()
            for f in waiting:
                f.cancel()
            pool.shutdown(wait=False, cancel_futures=True)


class _Abandoned(Exception):
    """Raised inside a blocking batch whose awaiting task was cancelled."""


class _Skipped(Exception):
    """A sample not sent because another one had failed."""


def _first_error(futures: Sequence[Future[Completion]]) -> BaseException:
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


async def generate_async(backend: Backend, request: Request, n: int = 1, *,
                         on_result: OnResult | None = None) -> list[Completion]:
    """``await`` any backend: its own ``agenerate`` if it has one (live backends), else its
    ``generate`` in a worker thread (recordings). ``on_result`` runs in the event loop's thread.
    """
    check_n(n)
    native = getattr(backend, "agenerate", None)
    if native is not None:
        out: list[Completion] = await native(request, n, on_result=on_result)
        return out
    seeds = [request.seed + i for i in range(n)]
    return await _in_thread(backend.generate_seeds, request, seeds, on_result)
