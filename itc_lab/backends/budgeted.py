"""The costs that bound inference-time compute in production: budgets, caching, latency, thinking.

Introduced in lesson 07.

- :class:`BudgetedBackend` wraps any backend and enforces a token budget per request and per run;
  past the run budget it raises :class:`BudgetExceeded`, after delivering every finished sample.
- :class:`CachingBackend` serves a request (seed included) it has seen before from memory or from
  a recording store, and counts what that saved (:class:`CacheStats`); :func:`cache_report` says
  what a cache built from a recording store would have served for a workload.
- :func:`latency_percentiles` and :func:`latency_table` summarise latencies the way service-level
  objectives are written (p50, p90, p95, p99).
- :func:`thinking_share` splits a reasoning model's completion into thinking and answer.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, Literal

from .backends.base import Backend, OnResult, seeds_of
from .backends.recordings import RecordingStore
from .errors import BackendError
from .types import Completion, CostModel, Request

__all__ = [
    "PERCENTILES",
    "BudgetExceeded",
    "BudgetedBackend",
    "CacheStats",
    "CachingBackend",
    "cache_report",
    "latency_percentiles",
    "latency_table",
    "thinking_share",
]

PERCENTILES: tuple[int, ...] = (50, 90, 95, 99)
"""The latency percentiles reported by default."""


def _bad(message: str) -> ValueError:
    return ValueError(message)


def _limit(name: str, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    msg = f"{name} must be a whole number of tokens >= 1, or None for no limit, not {value!r}."
    raise _bad(msg)


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


# -- caching ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CacheStats:
    """What a cache served, and what that saved."""

    hits: int
    """Samples served from the cache."""
    misses: int
    """Samples that had to be generated."""
    hit_rate: float
    """hits / (hits + misses), 0 to 1 (0 when nothing was asked)."""
    latency_saved_s: float
    """Summed model latency of the served samples, as recorded when they were generated
    (seconds)."""
    tokens_saved: int
    """Prompt plus completion tokens of the served samples (tokens)."""
    cost_saved: float
    """What the served samples would have cost again, under the cost model (in ``currency``)."""
    currency: str = "USD"

    def to_dict(self) -> dict[str, Any]:
        return {"hits": self.hits, "misses": self.misses, "hit_rate": self.hit_rate,
                "latency_saved_s": self.latency_saved_s, "tokens_saved": self.tokens_saved,
                "cost_saved": self.cost_saved, "currency": self.currency}

    def summary(self) -> str:
        return (f"{self.hits} hit(s), {self.misses} miss(es) ({self.hit_rate:.0%} served) · saved "
                f"{self.latency_saved_s:.2f} s, {self.tokens_saved} tokens, "
                f"{self.cost_saved:.6f} {self.currency}")


class _Tally:
    def __init__(self, cost_model: CostModel) -> None:
        self.cost_model = cost_model
        self.hits = self.misses = self.tokens = 0
        self.latency = self.cost = 0.0

    def hit(self, c: Completion) -> None:
        self.hits += 1
        self.latency += c.latency_s
        self.tokens += c.prompt_tokens + c.completion_tokens
        self.cost += self.cost_model.cost(c.prompt_tokens, c.completion_tokens)

    def stats(self) -> CacheStats:
        asked = self.hits + self.misses
        return CacheStats(self.hits, self.misses, self.hits / asked if asked else 0.0,
                          self.latency, self.tokens, self.cost, self.cost_model.currency)


class CachingBackend:
    """A backend that answers a request it has seen before (same text, options, model *and seed*)
    without calling the model.

    Identity is ``Request.key()``, which includes the seed: sample 3 of a request is reused only
    for sample 3. Answers come from memory (everything this object generated) or, when given, a
    :class:`~itc_lab.backends.recordings.RecordingStore`, which is only read, never written.
    Served completions are marked ``cached``. ``stats`` counts hits and misses and adds up the
    latency, tokens and money the hits saved (from the stored completions, priced with
    ``cost_model``). Two threads asking for the same new request at once may both generate it.
    """

    def __init__(self, backend: Backend, store: RecordingStore | None = None, *,
                 cost_model: CostModel | None = None) -> None:
        self.backend = backend
        self.name: str = backend.name
        self.model: str = backend.model
        self.store = store
        self.cost_model = cost_model or CostModel()
        self._lock = threading.Lock()
        self._memory: dict[str, Completion] = {}
        self._tally = _Tally(self.cost_model)

    @property
    def stats(self) -> CacheStats:
        with self._lock:
            return self._tally.stats()

    def clear(self) -> None:
        """Forget every remembered completion and reset the statistics."""
        with self._lock:
            self._memory.clear()
            self._tally = _Tally(self.cost_model)

    def describe(self) -> str:
        with self._lock:
            n = len(self._memory)
        source = f" + {self.store.path.name}" if self.store is not None else ""
        return f"{self.backend.describe()} · cache: {n} remembered{source}"

    def generate(self, request: Request, n: int = 1, *,
                 on_result: OnResult | None = None) -> list[Completion]:
        return self.generate_seeds(request, seeds_of(request, n), on_result=on_result)

    def _lookup(self, request: Request) -> Completion | None:
        key = request.key()
        with self._lock:
            hit = self._memory.get(key)
        if hit is None and self.store is not None:
            hit = self.store.get(request)
        return None if hit is None else hit.as_cached()

    def generate_seeds(self, request: Request, seeds: Sequence[int], *,
                       on_result: OnResult | None = None) -> list[Completion]:
        if not request.model:
            request = request.with_model(self.model)
        seeds = list(seeds)
        found: dict[int, Completion] = {}
        for s in seeds:
            hit = self._lookup(request.with_seed(s))
            if hit is not None:
                found[s] = hit
        missing = [s for s in seeds if s not in found]
        with self._lock:
            for s in seeds:
                if s in found:
                    self._tally.hit(found[s])
            self._tally.misses += len(missing)
        for s in seeds:
            if s in found and on_result:
                on_result(found[s])
        if missing:
            def keep(c: Completion) -> None:
                with self._lock:
                    self._memory[request.with_seed(c.seed).key()] = c
                if on_result:
                    on_result(c)

            fresh = self.backend.generate_seeds(request, missing, on_result=keep)
            with self._lock:
                for s, c in zip(missing, fresh, strict=True):
                    self._memory[request.with_seed(s).key()] = c
            found.update(zip(missing, fresh, strict=True))
        return [found[s] for s in seeds]


def cache_report(store: RecordingStore, requests: Sequence[Request], *,
                 cost_model: CostModel | None = None) -> CacheStats:
    """What a cache holding ``store`` would have served for a workload of ``requests``.

    Each request is one sample (its own seed); it is a hit when the store holds exactly that
    request, and the savings are the stored completion's latency, tokens and cost. Requests must
    name their model, as recorded requests do.
    """
    tally = _Tally(cost_model or CostModel())
    for i, r in enumerate(requests):
        if not isinstance(r, Request):
            msg = f"requests[{i}] is a {type(r).__name__}; give Request objects."
            raise _bad(msg)
        if not r.model:
            msg = (f"requests[{i}] names no model, and recordings are keyed by model: use "
                   "request.with_model('NAME') (e.g. backend.model).")
            raise _bad(msg)
        hit = store.get(r)
        if hit is None:
            tally.misses += 1
        else:
            tally.hit(hit)
    return tally.stats()


# -- latency ------------------------------------------------------------------------------------
def latency_percentiles(values: Sequence[float], ps: Sequence[float] = PERCENTILES, *,
                        method: Literal["linear", "nearest"] = "linear") -> dict[float, float]:
    """Percentiles of latencies (seconds in, seconds out), keyed by ``p``.

    ``method="linear"`` (default) interpolates between the two nearest ranks: with the values
    sorted, the ``p``-th percentile sits at position ``p/100 * (n - 1)`` (numpy's default).
    ``method="nearest"`` is the nearest-rank percentile: the smallest value with at least ``p``
    percent of the values at or below it, always one of the measured values.
    """
    items = [float(v) for v in values]
    if not items:
        msg = "latency_percentiles needs at least one latency."
        raise _bad(msg)
    if not all(math.isfinite(v) and v >= 0 for v in items):
        msg = "Latencies must be finite numbers >= 0 (seconds); drop the failed requests first."
        raise _bad(msg)
    if method not in ("linear", "nearest"):
        msg = f"method must be 'linear' or 'nearest', not {method!r}."
        raise _bad(msg)
    ordered = sorted(items)
    n = len(ordered)
    out: dict[float, float] = {}
    for p in ps:
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0 <= p <= 100:
            msg = f"Percentiles must be numbers from 0 to 100 (e.g. 50, 95, 99), not {p!r}."
            raise _bad(msg)
        if method == "nearest":
            rank = max(1, math.ceil(Fraction(str(p)) * n / 100))
            out[p] = ordered[rank - 1]
        else:
            pos = p / 100 * (n - 1)
            lo = math.floor(pos)
            hi = min(lo + 1, n - 1)
            out[p] = ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
    return out


def _latency_row(item: Completion | Mapping[str, Any], i: int) -> dict[str, Any]:
    if isinstance(item, Completion):
        return {"model": item.model, "backend": item.backend, "latency_s": item.latency_s,
                "completion_tokens": item.completion_tokens, "cached": item.cached}
    if not isinstance(item, Mapping) or "latency_s" not in item:
        msg = (f"item {i} must be a Completion or a dict with 'latency_s' (seconds), "
               f"not {item!r:.80}.")
        raise _bad(msg)
    return dict(item)


def latency_table(completions_or_rows: Sequence[Completion | Mapping[str, Any]], *,
                  by: str | None = None, ps: Sequence[float] = PERCENTILES,
                  method: Literal["linear", "nearest"] = "linear") -> list[dict[str, Any]]:
    """One row of latency statistics per group (or one row for all, ``by=None``).

    Items are completions, or dicts with ``latency_s`` (seconds) and optionally
    ``completion_tokens`` and the ``by`` field (e.g. ``by="model"``; completions offer ``model``,
    ``backend`` and ``cached``). Each row: the group value, ``n``, ``mean_s``, ``p50_s`` … (one
    per ``ps``, see :func:`latency_percentiles`), ``max_s`` and, when every item has
    ``completion_tokens``, ``tokens_per_s`` (generated tokens per second of summed latency).
    """
    rows = [_latency_row(item, i) for i, item in enumerate(completions_or_rows)]
    if not rows:
        msg = "latency_table needs at least one completion or row."
        raise _bad(msg)
    groups: dict[Any, list[dict[str, Any]]] = {}
    for i, r in enumerate(rows):
        if by is not None and by not in r:
            msg = f"item {i} has no {by!r} field to group by; its fields are {sorted(r)}."
            raise _bad(msg)
        groups.setdefault(r[by] if by is not None else None, []).append(r)
    table = []
    for value, members in groups.items():
        latencies = [float(r["latency_s"]) for r in members]
        row: dict[str, Any] = {by: value} if by is not None else {}
        row["n"] = len(members)
        row["mean_s"] = math.fsum(latencies) / len(latencies)
        for p, v in latency_percentiles(latencies, ps, method=method).items():
            row[f"p{p:g}_s"] = v
        row["max_s"] = max(latencies)
        if all("completion_tokens" in r for r in members):
            total = math.fsum(latencies)
            tokens = sum(int(r["completion_tokens"]) for r in members)
            row["tokens_per_s"] = tokens / total if total > 0 else 0.0
        table.append(row)
    return table


# -- reasoning models ---------------------------------------------------------------------------
def thinking_share(completion: Completion,
                   cost_model: CostModel | None = None) -> dict[str, Any]:
    """How much of a reasoning model's completion went to thinking, and what it cost.

    ``completion_tokens`` counts thinking and answer together, and backends do not report the
    split, so the thinking tokens are an *estimate*: ``completion_tokens`` shared out in
    proportion to characters (``round(completion_tokens * thinking_chars / all_chars)``). Returns
    ``thinking_chars``, ``answer_chars``, ``thinking_share`` (of characters, 0 to 1),
    ``completion_tokens``, ``thinking_tokens_est``, ``answer_tokens_est`` (tokens), ``cost`` (the
    whole completion, prompt included) and ``thinking_cost_est`` (the estimated thinking tokens at
    the completion price), both in ``currency``.
    """
    if not isinstance(completion, Completion):
        msg = f"thinking_share takes a Completion, not a {type(completion).__name__}."
        raise _bad(msg)
    cm = cost_model or CostModel()
    thinking_chars = len(completion.thinking or "")
    answer_chars = len(completion.text)
    chars = thinking_chars + answer_chars
    share = thinking_chars / chars if chars else 0.0
    tokens = completion.completion_tokens
    thinking_tokens = round(tokens * share)
    return {"thinking_chars": thinking_chars, "answer_chars": answer_chars,
            "thinking_share": share, "completion_tokens": tokens,
            "thinking_tokens_est": thinking_tokens, "answer_tokens_est": tokens - thinking_tokens,
            "cost": cm.cost(completion.prompt_tokens, tokens),
            "thinking_cost_est": cm.cost(0, thinking_tokens), "currency": cm.currency}
