"""BudgetedBackend: a token and call budget around any backend. Introduced in lesson 07."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from ..errors import BackendError
from ..types import Completion, Request
from .base import Backend, OnResult, seeds_of

__all__ = [
    "BudgetExceeded",
    "BudgetedBackend",
]

"""The latency percentiles reported by default."""


def _limit(name: str, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    msg = f"{name} must be a whole number of tokens >= 1, or None for no limit, not {value!r}."
    raise ValueError(msg)

# -- token budgets ------------------------------------------------------------------------------
class BudgetExceeded(BackendError):
    """The run's token budget cannot pay for another sample."""

    def __init__(self, message: str, *, spent: int, budget: int,
                 completions: Sequence[Completion] = ()) -> None:
        super().__init__(message)
        self.spent = spent
        """Completion tokens spent in the run so far (tokens)."""
        self.budget = budget
        """The run budget (tokens)."""
        self.completions = tuple(completions)
        """The samples of the failing call that did finish (also delivered via on_result)."""

class BudgetedBackend:
    """A backend that never generates more tokens than its budgets allow.

    - ``per_request_tokens``: each request's ``max_tokens`` is lowered to this (never raised).
    - ``per_run_tokens``: completion tokens (thinking included) over the whole life of this object.
      Before a sample goes out it reserves its ``max_tokens`` from what is left; when it returns,
      the unused part (reserved minus ``completion_tokens``) goes back. When less than a full
      ``max_tokens`` is left, the next sample is sent with ``max_tokens`` lowered to what is left;
      when not even 1 token is left, :class:`BudgetExceeded` is raised. Samples that finished
      before that were already handed to ``on_result``, and are on the error's ``completions``.

    While other threads' samples hold reservations, a caller short of budget waits for them to
    return (they may give tokens back) before deciding; so ``on_result`` must not itself call this
    backend. Safe to share between threads.
    """

    def __init__(self, backend: Backend, *, per_request_tokens: int | None = None,
                 per_run_tokens: int | None = None) -> None:
        self.backend = backend
        self.name: str = backend.name
        self.model: str = backend.model
        self.per_request_tokens = _limit("per_request_tokens", per_request_tokens)
        self.per_run_tokens = _limit("per_run_tokens", per_run_tokens)
        self._cond = threading.Condition()
        self._spent = 0
        self._reserved = 0
        self._calls = 0

    @property
    def spent(self) -> int:
        """Completion tokens generated through this backend so far (tokens)."""
        with self._cond:
            return self._spent

    @property
    def remaining(self) -> int | None:
        """Tokens of the run budget not spent nor reserved by samples in flight (``None``: no
        run budget)."""
        with self._cond:
            if self.per_run_tokens is None:
                return None
            return max(0, self.per_run_tokens - self._spent - self._reserved)

    @property
    def calls(self) -> int:
        """Completions received through this backend so far."""
        with self._cond:
            return self._calls

    def describe(self) -> str:
        parts = []
        if self.per_request_tokens is not None:
            parts.append(f"≤{self.per_request_tokens} tokens per request")
        if self.per_run_tokens is not None:
            parts.append(f"{self.spent} of {self.per_run_tokens} run tokens spent")
        return f"{self.backend.describe()} · budget: {', '.join(parts) or 'none'}"

    def generate(self, request: Request, n: int = 1, *,
                 on_result: OnResult | None = None) -> list[Completion]:
        return self.generate_seeds(request, seeds_of(request, n), on_result=on_result)

    def generate_seeds(self, request: Request, seeds: Sequence[int], *,
                       on_result: OnResult | None = None) -> list[Completion]:
        if self.per_request_tokens is not None and request.max_tokens > self.per_request_tokens:
            request = replace(request, max_tokens=self.per_request_tokens)
        todo = list(seeds)
        out: list[Completion] = []
        while todo:
            try:
                batch_request, size = self._reserve(request, len(todo))
            except BudgetExceeded as e:
                e.completions = tuple(out)
                raise
            batch, todo = todo[:size], todo[size:]
            out.extend(self._run_batch(batch_request, batch, on_result))
        return out

    def _reserve(self, request: Request, wanted: int) -> tuple[Request, int]:
        """How many of ``wanted`` samples the budget covers now, and the request to send."""
        if self.per_run_tokens is None:
            return request, wanted
        budget = self.per_run_tokens
        with self._cond:
            while budget - self._spent - self._reserved < 1 and self._reserved > 0:
                self._cond.wait()
            left = budget - self._spent - self._reserved
            if left < 1:
                msg = (f"Token budget exhausted: this run spent {self._spent} of its "
                       f"{budget} completion tokens over {self._calls} sample(s), and "
                       f"{wanted} more sample(s) were asked for. To go on, wrap the backend "
                       "again with a larger per_run_tokens (BudgetedBackend(backend, "
                       f"per_run_tokens={2 * budget})), or ask for fewer samples or tokens.")
                raise BudgetExceeded(msg, spent=self._spent, budget=budget)
            full = min(wanted, left // request.max_tokens)
            if full == 0:
                request = replace(request, max_tokens=left)
                full = 1
            self._reserved += full * request.max_tokens
            return request, full

    def _settle(self, reserved: int, used: int) -> None:
        with self._cond:
            self._reserved -= reserved
            self._spent += used
            self._calls += 1
            self._cond.notify_all()

    def _run_batch(self, request: Request, seeds: list[int],
                   on_result: OnResult | None) -> list[Completion]:
        each = request.max_tokens if self.per_run_tokens is not None else 0
        pending = Counter(seeds)
        lock = threading.Lock()

        def settle(c: Completion) -> bool:
            with lock:
                mine = pending[c.seed] > 0
                if mine:
                    pending[c.seed] -= 1
            if mine:
                self._settle(each, c.completion_tokens)
            return mine

        def hook(c: Completion) -> None:
            if settle(c) and on_result:
                on_result(c)

        try:
            results = self.backend.generate_seeds(request, seeds, on_result=hook)
            for c in results:  # a backend that does not report through on_result
                if settle(c) and on_result:
                    on_result(c)
            return results
        finally:
            unfinished = sum(pending.values())
            if unfinished:
                with self._cond:
                    self._reserved -= unfinished * each
                    self._cond.notify_all()
