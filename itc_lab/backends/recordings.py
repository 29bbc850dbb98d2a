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

Replay speed: recorded answers are served at once by default (``speed=0``), which is what tests
and stored notebooks need. ``speed=1`` (or ``ITC_LAB_REPLAY_SPEED=1``) plays them back at the
speed they were recorded: each sample's text streams piece by piece to a watcher
(:func:`itc_lab.live.watch`, as the embedded engine's tokens do) and the sample is handed to
``on_result`` when it ended in the recorded run, so a live view shows the same picture and a
call takes about as long as it did; ``speed=4`` plays four times faster. A watcher's stop ends a
paced replay within a few milliseconds, keeping the samples already delivered. A record with
:class:`~itc_lab.types.Timing` (made by the embedded engine since 0.2) replays its own timing;
an older record replays at an estimate: its recorded ``latency_s``, every sample of the call
sent at once, its text in evenly spaced pieces (its tokens, else its words).

At either speed, the samples of one call reach ``on_result`` in the order they ended when they
were recorded (seed order for samples that ended together); the returned list is in seed
order.

Introduced in lesson 00.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from .._jsonl import JsonlLog, LineFormat
from ..errors import BackendError, RecordingDamaged, RecordingMissing
from ..types import Completion, Request, Token
from .base import Backend, CancelScope, OnResult, emit_token, seeds_of

__all__ = [
    "MODES",
    "SPEED_ENV",
    "Mode",
    "RecordingBackend",
    "RecordingStore",
    "Replayed",
    "replay_schedule",
    "replay_speed",
]

Mode = Literal["live", "record", "replay", "auto"]
MODES: tuple[str, ...] = ("live", "record", "replay", "auto")

_Record = tuple[Request, Completion]

SPEED_ENV = "ITC_LAB_REPLAY_SPEED"
"""The environment variable that sets the replay speed: ``0`` (or unset) at once, ``1`` at the
recorded speed, ``4`` four times faster."""


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
                 record_hint: str = "set ITC_LAB_MODE=record (or auto) and run it again",
                 speed: float | str | None = None) -> None:
        """``speed``: how fast recorded answers play back: 0 at once, 1 at the recorded speed,
        4 four times faster (default: ``ITC_LAB_REPLAY_SPEED``, else 0). It can be changed
        later through the ``speed`` attribute."""
        self.speed = replay_speed(speed)
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

    @property
    def speed(self) -> float:
        """Replay speed: 0 at once, 1 at the recorded speed, 4 four times faster."""
        return self._speed

    @speed.setter
    def speed(self, value: float | str | None) -> None:
        self._speed = replay_speed(value) if value is not None else 0.0

    def describe(self) -> str:
        n = len(self.store)
        where = f"{self.store.path.name} ({n} recorded responses)"
        if self.speed > 0:
            where += f", replayed at {self.speed:g}× the recorded speed"
        if self.live is None:
            return f"recordings ({self.mode}) · model {self.model} · {where}"
        return f"{self.live.describe()} · recordings {self.mode}: {where}"

    def generate(self, request: Request, n: int = 1, *,
                 on_result: OnResult | None = None) -> list[Completion]:
        return self.generate_seeds(request, seeds_of(request, n), on_result=on_result)

    def generate_seeds(self, request: Request, seeds: Sequence[int], *,
                       on_result: OnResult | None = None) -> list[Completion]:
        """One completion per seed. Recorded ones reach ``on_result`` in the order they ended
        when recorded, at once or, with ``speed`` > 0, when they are due (their text streams
        to a watcher meanwhile); samples asked of the live model follow."""
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
        if found:
            _play(replay_schedule([found[s] for s in seeds if s in found]), self.speed,
                  on_result)
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


# -- replay at recorded speed ----------------------------------------------------------------------

def replay_speed(value: object = None) -> float:
    """A replay speed as a number >= 0 (0: at once), from ``value`` or, when it is None, from
    ``ITC_LAB_REPLAY_SPEED`` (unset or empty: 0). A bad value is a ValueError saying what to give.
    """
    where = "speed"
    if value is None:
        value = os.environ.get(SPEED_ENV, "").strip() or 0
        where = SPEED_ENV
    if isinstance(value, str):
        text = value.strip().lower().rstrip("x×")
        value = 0.0 if text in ("instant", "off", "") else text
        try:
            value = float(value)
        except ValueError:
            value = math.nan
    if (not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value)
            or value < 0):
        msg = (f"{where} must be a number >= 0: 0 replays recordings at once, 1 at the speed "
               f"they were recorded, 4 four times faster; not {value!r}.")
        raise ValueError(msg)
    return float(value)


_WORDS = re.compile(r"\s*\S+|\s+")


class Replayed:
    """When each piece of one replayed sample arrives, in seconds after its call began."""

    __slots__ = ("completion", "end", "pieces", "sent")

    def __init__(self, completion: Completion, sent: float, pieces: list[tuple[float, str]],
                 end: float) -> None:
        self.completion = completion
        self.sent = sent
        self.pieces = pieces
        self.end = end


def _estimated_pieces(c: Completion) -> list[tuple[float, str]]:
    """An older record's text in evenly spaced pieces over its latency: its tokens when they
    spell the text, else its words."""
    if c.tokens and "".join(t.text for t in c.tokens) == c.text:
        texts = [t.text for t in c.tokens]
    else:
        texts = _WORDS.findall(c.text)
    m = len(texts)
    return [(c.latency_s * (k + 1) / m, piece) for k, piece in enumerate(texts)]


def replay_schedule(completions: Sequence[Completion]) -> list[Replayed]:
    """The recorded timeline of one call's samples, in the order they ended (ties: the order
    given).

    A sample with :class:`~itc_lab.types.Timing` starts when it was sent, relative to the first
    sample sent, but never later than the end of every sample sent before it (a request waits
    only for a free slot, so samples recorded in separate runs play back to back), and ends
    ``latency_s`` later. A sample without timing starts at once and ends after its
    ``latency_s``, its text in evenly spaced pieces.
    """
    timed = sorted((i for i, c in enumerate(completions) if c.timing is not None),
                   key=lambda i: (completions[i].timing.sent_ms, i))  # type: ignore[union-attr]
    sent: dict[int, float] = {}
    first_ms = completions[timed[0]].timing.sent_ms if timed else 0  # type: ignore[union-attr]
    latest_end = 0.0
    for i in timed:
        c = completions[i]
        at = (c.timing.sent_ms - first_ms) / 1000  # type: ignore[union-attr]
        sent[i] = at = min(at, latest_end)
        latest_end = max(latest_end, at + c.latency_s)
    out = []
    for i, c in enumerate(completions):
        if c.timing is None:
            out.append(Replayed(c, 0.0, _estimated_pieces(c), max(c.latency_s, 0.0)))
            continue
        start = sent[i]
        pieces = [(start + t, piece) for t, piece in c.timing.pieces(c.text)]
        end = max(start + c.latency_s, pieces[-1][0] if pieces else start)
        out.append(Replayed(c, start, pieces, end))
    order = sorted(range(len(out)), key=lambda i: (out[i].end, i))
    return [out[i] for i in order]


_TICK_S = 0.05
"""A paced replay waits in steps of at most this long, so a stop is noticed quickly."""


def _tokens_of(r: Replayed) -> list[Token]:
    """The pieces of a replayed sample as tokens: the recorded tokens (with their logprobs)
    when they spell the pieces one for one, else plain text pieces."""
    tokens = r.completion.tokens
    if len(tokens) == len(r.pieces) and all(
            t.text == piece for t, (_, piece) in zip(tokens, r.pieces, strict=True)):
        return list(tokens)
    return [Token(piece) for _, piece in r.pieces]


def _play(schedule: Sequence[Replayed], speed: float, on_result: OnResult | None) -> None:
    """Deliver a schedule: at once (``speed`` 0: ``on_result`` in the order samples ended), or
    paced, waiting until each piece (reported with ``emit_token``) and each end is due."""
    if speed <= 0:
        if on_result is not None:
            for r in schedule:
                on_result(r.completion)
        return
    scope = CancelScope()  # a watcher's stop cancels it
    events: list[tuple[float, int, int, Token | None]] = []  # (due, ends last, sample, token)
    for k, r in enumerate(schedule):
        events.extend((t, 0, k, token)
                      for (t, _), token in zip(r.pieces, _tokens_of(r), strict=True))
        events.append((r.end, 1, k, None))
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    t0 = time.monotonic()
    for due, _, k, token in events:
        while True:
            if scope.cancelled:
                msg = "The replay was stopped; the samples delivered so far are kept."
                raise BackendError(msg)
            wait = due / speed - (time.monotonic() - t0)
            if wait <= 0:
                break
            time.sleep(min(wait, _TICK_S))
        c = schedule[k].completion
        if token is not None:
            emit_token(c.seed, token)
        elif on_result is not None:
            on_result(c)
