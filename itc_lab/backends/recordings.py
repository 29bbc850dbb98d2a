"""Recorded responses: a text store keyed by the request, and a backend that replays it.

The store is a JSON Lines file, one record per line. Each record holds the request, the
completion and a checksum over both; a line whose checksum or key does not match is *damaged* and
is never served (and never deleted). Writes append under a file lock and are flushed to disk before
they return, so a crash loses nothing already written and two writers at once both keep their
records; a later line of the same request replaces an earlier one. ``compact()`` (run by
``itc-lab record``) rewrites the file sorted by key, one line per request, so a re-recording shows
up as a readable diff.

Modes of :class:`RecordingBackend`:

- ``live``: never look at the store;
- ``record``: always ask the model, store every answer (replacing older ones);
- ``replay``: only the store; a miss is an error that names the request;
- ``auto``: the store first, the model on a miss (and the answer is stored).

Introduced in lesson 00.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

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
_KEY_RE = re.compile(r'"key"\s*:\s*"([0-9a-f]{64})"')


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _checksum(request: dict[str, Any], completion: dict[str, Any]) -> str:
    body = _canonical({"request": request, "completion": completion})
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class _Damaged:
    line_no: int
    reason: str
    raw: str


class RecordingStore:
    """A JSON Lines file of recorded completions, keyed by ``Request.key()``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._records: dict[str, tuple[Request, Completion]] = {}
        self._damaged: dict[str, _Damaged] = {}
        self._unkeyed: list[_Damaged] = []
        self._stamp: tuple[int, int, int] | None = None

    # -- reading -----------------------------------------------------------------------------
    def _file_stamp(self) -> tuple[int, int, int] | None:
        """Identity of the file's current version: every write replaces the file, so a new
        inode means a new version even within one clock tick."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _refresh(self) -> None:
        stamp = self._file_stamp()
        if stamp == self._stamp:
            return
        self._records, self._damaged, self._unkeyed = self._parse()
        self._stamp = stamp

    def _parse(self) -> tuple[dict[str, tuple[Request, Completion]], dict[str, _Damaged],
                              list[_Damaged]]:
        records: dict[str, tuple[Request, Completion]] = {}
        damaged: dict[str, _Damaged] = {}
        unkeyed: list[_Damaged] = []
        if not self.path.exists():
            return records, damaged, unkeyed
        text = self.path.read_text(encoding="utf-8", errors="replace")
        for no, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                key, req, comp = self._decode(line)
            except (ValueError, KeyError, TypeError) as e:
                m = _KEY_RE.search(line)
                bad = _Damaged(no, str(e), line)
                if m:
                    damaged[m.group(1)] = bad
                else:
                    unkeyed.append(bad)
                continue
            records[key] = (req, comp)
            damaged.pop(key, None)
        return records, damaged, unkeyed

    @staticmethod
    def _decode(line: str) -> tuple[str, Request, Completion]:
        obj = json.loads(line)
        if not isinstance(obj, dict):
            msg = "not a JSON object"
            raise ValueError(msg)
        key, req_d, comp_d, check = obj["key"], obj["request"], obj["completion"], obj["check"]
        if _checksum(req_d, comp_d) != check:
            msg = "checksum mismatch: the record was edited or truncated"
            raise ValueError(msg)
        req = Request.from_dict(req_d)
        if req.key() != key:
            msg = "key does not match the request"
            raise ValueError(msg)
        return key, req, Completion.from_dict(comp_d)

    def get(self, request: Request) -> Completion | None:
        """The recorded completion of this exact request (model and seed included), or None.

        Raises :class:`RecordingDamaged` when the record exists but fails its integrity check.
        """
        key = request.key()
        with self._lock:
            self._refresh()
            if key in self._damaged:
                bad = self._damaged[key]
                msg = (f"The recording for {request.summary()} in {self.path} (line "
                       f"{bad.line_no}) is damaged ({bad.reason}) and will not be used. "
                       "Re-record it with ITC_LAB_MODE=record, or restore the file with git.")
                raise RecordingDamaged(msg)
            hit = self._records.get(key)
        return None if hit is None else hit[1].as_cached()

    def __len__(self) -> int:
        with self._lock:
            self._refresh()
            return len(self._records)

    def __contains__(self, request: object) -> bool:
        if not isinstance(request, Request):
            return False
        with self._lock:
            self._refresh()
            return request.key() in self._records

    def items(self) -> Iterator[tuple[Request, Completion]]:
        with self._lock:
            self._refresh()
            values = list(self._records.values())
        return iter(values)

    def models(self) -> Counter[str]:
        """How many records each model has."""
        return Counter(req.model or "" for req, _ in self.items())

    def damaged(self) -> list[tuple[int, str]]:
        """(line number, reason) of every damaged line."""
        with self._lock:
            self._refresh()
            bad = list(self._damaged.values()) + self._unkeyed
        return sorted((b.line_no, b.reason) for b in bad)

    # -- writing -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with open(lock_path, "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def put(self, request: Request, completion: Completion) -> None:
        """Store one completion (replacing any older record of the same request)."""
        self.put_many([(request, completion)])

    def put_many(self, items: Sequence[tuple[Request, Completion]]) -> None:
        """Store completions: appended to the file as new lines (a later line of the same request
        replaces an earlier one), under a file lock, flushed to disk before returning."""
        if not items:
            return
        for req, _ in items:
            if not req.model:
                msg = "Only requests with a model can be recorded (resolve the model first)."
                raise ValueError(msg)
        with self._lock, self._file_lock():
            if self._stamp is None or self._file_stamp() != self._stamp:
                # someone else wrote since we last read: take in what they left on disk
                self._records, self._damaged, self._unkeyed = self._parse()
            lines = []
            for req, comp in items:
                key = req.key()
                self._records[key] = (req, _uncached(comp))
                self._damaged.pop(key, None)
                lines.append(self._encode(key, req, _uncached(comp)) + "\n")
            self._append("".join(lines))
            self._stamp = self._file_stamp()

    def compact(self) -> None:
        """Rewrite the file sorted by key with one line per request (readable diffs); damaged
        lines are kept, at the end, so nothing is silently dropped. ``itc-lab record`` does this
        when it finishes."""
        with self._lock, self._file_lock():
            records, damaged, unkeyed = self._parse()
            lines = {key: self._encode(key, req, comp) for key, (req, comp) in records.items()}
            lines.update({key: bad.raw for key, bad in damaged.items()})
            body = "".join(lines[k] + "\n" for k in sorted(lines))
            body += "".join(b.raw + "\n" for b in unkeyed)
            self._atomic_write(body)
            self._records, self._damaged, self._unkeyed = records, damaged, unkeyed
            self._stamp = self._file_stamp()

    def _append(self, text: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        with os.fdopen(fd, "r+b") as fh:
            size = fh.seek(0, os.SEEK_END)
            if size:
                fh.seek(size - 1)
                if fh.read(1) != b"\n":  # a line cut short by a crash stays a line of its own
                    text = "\n" + text
            fh.write(text.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())

    @staticmethod
    def _encode(key: str, request: Request, completion: Completion) -> str:
        req_d, comp_d = request.to_dict(), completion.to_dict()
        record = {"key": key, "request": req_d, "completion": comp_d,
                  "check": _checksum(req_d, comp_d)}
        return json.dumps(record, sort_keys=True, ensure_ascii=False)

    def _atomic_write(self, body: str) -> None:
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp",
                                   dir=self.path.parent)
        try:
            os.fchmod(fd, 0o644)  # mkstemp makes it private; recordings are meant to be shared
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(body)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise


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
