"""The batch-first backend protocol and the fan-out every live backend shares.

``generate(request, n)`` returns n completions of one request; sample i uses seed
``request.seed + i``, so samples differ from each other and reproduce run after run.
Introduced in lesson 00.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import Protocol, runtime_checkable

from ..types import Completion, Request

__all__ = ["Backend", "LiveBackend", "OnResult"]

OnResult = Callable[[Completion], None]
"""Called once per completion as soon as it is complete (from a worker thread)."""


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
        check_n(n)
        return self.generate_seeds(request, [request.seed + i for i in range(n)],
                                   on_result=on_result)

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

        def one(seed: int) -> Completion:
            c = self._sample(request.with_seed(seed))
            if on_result:
                with lock:
                    on_result(c)
            return c

        workers = min(self.concurrency, len(seeds))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"itc-{self.name}") as ex:
            futures: list[Future[Completion]] = [ex.submit(one, s) for s in seeds]
            done, pending = wait(futures, return_when=FIRST_EXCEPTION)
            failed = [f for f in done if f.exception() is not None]
            if failed:
                for f in pending:
                    f.cancel()
                wait(futures)  # let running samples finish so their on_result still fires
                exc = failed[0].exception()
                assert exc is not None
                raise exc
            return [f.result() for f in futures]

    def _before_batch(self, n: int) -> None:
        """Hook: make sure the engine is up before fanning out."""
