"""Recorded responses: a text store keyed by the request, and a backend that replays it.

The store is a JSON Lines file, one record per line (the durable log of :mod:`itc_lab._jsonl`).
Each record holds the request, the completion and a checksum over both; a line whose checksum or
key does not match is *damaged* and is never served (and never deleted). Writes append under a
file lock and are flushed and fsynced before they return, so a crash loses nothing already
written and several writers at once all keep their records; a later line of the same request
replaces an earlier one. Any text can be recorded: line separators such as U+2028 are written
escaped, and a lone surrogate in a server's answer is kept (as its ``\\udXXX`` escape). A reader
reads only what was appended since its last read. ``compact()`` (run by ``itc-lab record``)
rewrites the file sorted by key, one line per request, so a re-recording shows up as a readable
diff.

Modes of :class:`RecordingBackend`:

- ``live``: never look at the store;
- ``record``: always ask the model, store every answer (replacing older ones);
- ``replay``: only the store; a miss is an error that names the request;
- ``auto``: the store first, the model on a miss (and the answer is stored).

Introduced in lesson 00.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from .._jsonl import JsonlLog, LineFormat
from ..errors import RecordingDamaged, RecordingMissing
from ..types import Completion, Request
from .base import Backend, OnResult, seeds_of

__all__ = [
    "MODES",
    "Mode",
    "RecordingBackend",
    "RecordingStore",
]

Mode = Literal["live", "record", "replay", "auto"]
MODES: tuple[str, ...] = ("live", "record", "replay", "auto")

_Record = tuple[Request, Completion]


def _fields(record: _Record) -> tuple[str, dict[str, Any]]:
    request, completion = record
    return request.key(), {"request": request.to_dict(), "completion": completion.to_dict()}


def _value(key: str, fields: dict[str, Any]) -> _Record:
    request = Request.from_dict(fields["request"])
    if request.key() != key:
        msg = "key does not match the request"
        raise ValueError(msg)
    return request, Completion.from_dict(fields["completion"])


_FORMAT: LineFormat[_Record] = LineFormat(
    _fields, _value, checked=("request", "completion"), compact=False, keep="last", torn="seal")
"""``{"check": ..., "completion": {...}, "key": ..., "request": {...}}`` with a space after
``,`` and ``:``, as recordings have always been written."""


class RecordingStore:
    """A JSON Lines file of recorded completions, keyed by ``Request.key()``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._log = JsonlLog(self.path, _FORMAT)

    # -- reading -----------------------------------------------------------------------------
    def get(self, request: Request) -> Completion | None:
        """The recorded completion of this exact request (model and seed included), or None.

        Raises :class:`RecordingDamaged` when the record exists but fails its integrity check.
        """
        key = request.key()
        with self._log.lock:
            self._log.refresh()
            bad = self._log.last_damaged.get(key)
            if bad is not None:
                msg = (f"The recording for {request.summary()} in {self.path} (line "
                       f"{bad.line_no}) is damaged ({bad.reason}) and will not be used. "
                       "Re-record it with ITC_LAB_MODE=record, or restore the file with git.")
                raise RecordingDamaged(msg)
            hit = self._log.records.get(key)
        return None if hit is None else hit[1].as_cached()

    def __len__(self) -> int:
        with self._log.lock:
            self._log.refresh()
            return len(self._log.records)

    def __contains__(self, request: object) -> bool:
        if not isinstance(request, Request):
            return False
        with self._log.lock:
            self._log.refresh()
            return request.key() in self._log.records

    def items(self) -> Iterator[tuple[Request, Completion]]:
        with self._log.lock:
            self._log.refresh()
            values = list(self._log.records.values())
        return iter(values)

    def models(self) -> Counter[str]:
        """How many records each model has."""
        return Counter(req.model or "" for req, _ in self.items())

    def damaged(self) -> list[tuple[int, str]]:
        """(line number, reason) of the damaged lines in effect: each line that names no
        request, each request's latest line when it is damaged, and an unfinished last line."""
        with self._log.lock:
            self._log.refresh()
            bad = [*self._log.last_damaged.values(),
                   *(b for b in self._log.damaged if b.key is None)]
            found = sorted((b.line_no, b.reason) for b in bad)
            if self._log.torn:
                found.append((self._log.lines + 1, "the last line has no newline (a write cut "
                              "off, or one still in progress)"))
        return found

    # -- writing -----------------------------------------------------------------------------
    def put(self, request: Request, completion: Completion) -> None:
        """Store one completion (replacing any older record of the same request)."""
        self.put_many([(request, completion)])

    def put_many(self, items: Sequence[tuple[Request, Completion]]) -> None:
        """Store completions: appended to the file as new lines (a later line of the same request
        replaces an earlier one) in one write under a file lock, flushed and fsynced before
        returning. The file is not read to append."""
        for req, _ in items:
            if not req.model:
                msg = "Only requests with a model can be recorded (resolve the model first)."
                raise ValueError(msg)
        self._log.append([(req, _uncached(comp)) for req, comp in items])

    def compact(self) -> None:
        """Rewrite the file atomically, sorted by key with one line per request (readable
        diffs); damaged lines are kept, so nothing is silently dropped. ``itc-lab record`` does
        this when it finishes."""
        self._log.compact()


def _uncached(c: Completion) -> Completion:
    if not c.cached:
        return c
    d = c.to_dict()
    d["cached"] = False
    return Completion.from_dict(d)


class RecordingBackend:
    """A backend that serves recorded responses and, depending on ``mode``, a live backend."""

    name = "recordings"

    def __init__(self, store: RecordingStore | str | os.PathLike[str], live: Backend | None = None,
                 mode: str = "auto", model: str | None = None,
                 record_hint: str = "set ITC_LAB_MODE=record (or auto) and run it again") -> None:
        if mode not in MODES:
            msg = f"Unknown recordings mode {mode!r}; choose one of {', '.join(MODES)}."
            raise ValueError(msg)
        self.store = store if isinstance(store, RecordingStore) else RecordingStore(store)
        self.live = live
        self.mode = mode
        if mode in ("live", "record") and live is None:
            msg = (f"Mode {mode!r} needs a live model, and none is available. Start Ollama or "
                   "install the embedded engine (see `itc-lab doctor`), or use mode 'replay'.")
            raise ValueError(msg)
        if model is None:
            if live is not None:
                model = live.model
            else:
                common = self.store.models().most_common(1)
                model = common[0][0] if common else ""
        self.model = model
        self.record_hint = record_hint
        self.hits = 0
        self.misses = 0
        # keys this object recorded itself: asked again in the same run, they are served from
        # the store, so a run and its replay see the same answer for the same request
        self._recorded: set[str] = set()

    def describe(self) -> str:
        n = len(self.store)
        where = f"{self.store.path.name} ({n} recorded responses)"
        if self.live is None:
            return f"recordings ({self.mode}) · model {self.model} · {where}"
        return f"{self.live.describe()} · recordings {self.mode}: {where}"

    def generate(self, request: Request, n: int = 1, *,
                 on_result: OnResult | None = None) -> list[Completion]:
        return self.generate_seeds(request, seeds_of(request, n), on_result=on_result)

    def generate_seeds(self, request: Request, seeds: Sequence[int], *,
                       on_result: OnResult | None = None) -> list[Completion]:
        if not request.model:
            request = request.with_model(self.model)
        seeds = list(seeds)
        if self.mode == "live":
            assert self.live is not None
            return self.live.generate_seeds(request, seeds, on_result=on_result)
        found: dict[int, Completion] = {}
        for s in seeds:
            req_s = request.with_seed(s)
            if self.mode in ("replay", "auto") or req_s.key() in self._recorded:
                hit = self.store.get(req_s)
                if hit is not None:
                    found[s] = hit
        missing = [s for s in seeds if s not in found]
        self.hits += len(found)
        self.misses += len(missing)
        if missing and (self.mode == "replay" or self.live is None):
            first = request.with_seed(missing[0])
            msg = (f"No recording of {len(missing)} of {len(seeds)} sample(s) in "
                   f"{self.store.path}; first missing: {first.summary()}. To record: "
                   f"{self.record_hint}.")
            raise RecordingMissing(msg)
        for s in seeds:
            if s in found and on_result:
                on_result(found[s])
        if missing:
            assert self.live is not None

            def keep(c: Completion) -> None:
                req_c = request.with_seed(c.seed)
                self.store.put(req_c, c)
                self._recorded.add(req_c.key())
                if on_result:
                    on_result(c)

            fresh = self.live.generate_seeds(request, missing, on_result=keep)
            found.update(zip(missing, fresh, strict=True))
        return [found[s] for s in seeds]
