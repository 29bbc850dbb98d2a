"""The slot pool: which of the server's parallel slots each request names, so samples in flight sit
side by side."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence

__all__ = [
    "SlotPool",
    "consecutive_groups",
]



# Costs behind the choice of slots, measured with the bundled model on 2 CPU cores: one more KV
# stream inside a batch's span of streams adds about 1.2 ms to each decoding step, and a prompt
# token that has to be evaluated again costs about 3.5 ms (roughly 4 characters a token).
_STREAM_STEP_S = 0.0012

_PROMPT_TOKEN_S = 0.0035

_CHARS_PER_TOKEN = 4

_REASK = 0.5

class SlotPool:
    """The server's slots this backend has in flight, and which slot the next request names.

    llama.cpp keeps one KV stream per slot, and a batch attends over every stream from its lowest
    busy slot to its highest: samples on slots 0 and 7 cost nearly what eight samples do. The
    server gives a request's extra samples (``n_cmpl``) the lowest free slots other than the one
    the request names, and afterwards only the named slot keeps the prompt in its cache. So the
    pool names, for each request, the slot that costs least: the batch's span of streams during
    the request (at the request's ``max_tokens``), less the prompt evaluation saved by a slot that
    already holds the start of this prompt, plus half the evaluation of other prompts whose cache
    the request would overwrite. On a tie it takes the lowest slot. A slot is free again once its
    answer is back, when the server has let it go.
    """

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._free = set(range(slots))
        self._prompts: dict[int, str] = {}
        self._generation = 0
        self._cond = threading.Condition()

    def _taken(self, named: int, size: int) -> list[int]:
        others = sorted(self._free - {named})[: size - 1]
        return sorted([named, *others])

    def _cost(self, named: int, size: int, prompt: str, steps: int) -> tuple[float, int]:
        """Seconds this choice is expected to cost, and the slot (the tie-break)."""
        taken = self._taken(named, size)
        streams = (set(range(self.slots)) - self._free) | set(taken)
        span = max(streams) - min(streams) + 1
        reused = _shared_start(self._prompts.get(named, ""), prompt)
        # prompts cached on the slots taken are lost (the named slot keeps the shared start);
        # one of them is asked for again about half the time
        lost = sum(len(self._prompts.get(s, "")) for s in taken) - reused
        tokens = (lost * _REASK - reused) / _CHARS_PER_TOKEN
        return span * _STREAM_STEP_S * steps + tokens * _PROMPT_TOKEN_S, named

    def acquire(self, size: int, prompt: str, steps: int = 128) -> tuple[int, list[int], int]:
        """Wait for ``size`` free slots; returns the slot to name, the slots the request takes,
        and the server generation they belong to (for :meth:`release`)."""
        if not 1 <= size <= self.slots:
            msg = f"A request takes 1 to {self.slots} slots, not {size}."
            raise ValueError(msg)
        with self._cond:
            self._cond.wait_for(lambda: len(self._free) >= size)
            named = min(self._free, key=lambda s: self._cost(s, size, prompt, steps))
            taken = self._taken(named, size)
            self._free.difference_update(taken)
            return named, taken, self._generation

    def release(self, named: int, taken: Sequence[int], prompt: str, generation: int) -> None:
        with self._cond:
            if generation != self._generation:  # taken from a server that has since stopped
                return
            for slot in taken:
                self._prompts.pop(slot, None)
            self._prompts[named] = prompt
            self._free.update(taken)
            self._cond.notify_all()

    def reset(self) -> None:
        """A new server: every slot is empty and free."""
        with self._cond:
            self._generation += 1
            self._prompts.clear()
            self._free = set(range(self.slots))
            self._cond.notify_all()

    @contextlib.contextmanager
    def hold(self, size: int, prompt: str, steps: int) -> Iterator[int]:
        """Hold ``size`` slots for one request of up to ``steps`` tokens; yields the slot the
        request names."""
        named, taken, generation = self.acquire(size, prompt, steps)
        try:
            yield named
        finally:
            self.release(named, taken, prompt, generation)

def _shared_start(a: str, b: str) -> int:
    """Length of the longest common prefix of two strings (by halving: prompts run to pages)."""
    lo, hi = 0, min(len(a), len(b))
    if a[:hi] == b[:hi]:
        return hi
    while hi - lo > 1:  # a[:lo] == b[:lo] and a[:hi] != b[:hi]
        mid = (lo + hi) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid
    return lo

def consecutive_groups(seeds: Sequence[int], size: int) -> list[list[int]]:
    """Positions of ``seeds`` in runs of consecutive seeds (s, s+1, …), at most ``size`` long."""
    groups: list[list[int]] = []
    for i, seed in enumerate(seeds):
        g = groups[-1] if groups else None
        if g is not None and len(g) < size and seeds[g[-1]] + 1 == seed:
            g.append(i)
        else:
            groups.append([i])
    return groups
