"""CachingBackend: answer repeated requests from a store. Introduced in lesson 07."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..types import Completion, CostModel, Request
from .base import Backend, OnResult, seeds_of
from .recordings import RecordingStore

__all__ = [
    "CacheStats",
    "CachingBackend",
    "cache_report",
]


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
            raise ValueError(msg)
        if not r.model:
            msg = (f"requests[{i}] names no model, and recordings are keyed by model: use "
                   "request.with_model('NAME') (e.g. backend.model).")
            raise ValueError(msg)
        hit = store.get(r)
        if hit is None:
            tally.misses += 1
        else:
            tally.hit(hit)
    return tally.stats()
