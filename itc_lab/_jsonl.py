"""The durable append-only JSON Lines log shared by recordings and sweeps (one definition).

A log file holds one record per line: a JSON object ``{"key": ..., <fields>, "check": ...}`` whose
``check`` is the SHA-256 of the canonical JSON of the fields a :class:`LineFormat` names. What a
:class:`JsonlLog` guarantees:

- **Appends are durable.** A record is one line, written (with the others of its batch) in one
  write under an inter-process file lock (``<file>.lock``: ``fcntl.flock`` on POSIX,
  ``msvcrt.locking`` on Windows, imported when first needed), then flushed and fsynced (the folder
  too when the file is new) before ``append`` returns. A crash loses nothing already appended.
- **Lines are split on the byte ``\\n`` only.** JSON never writes a raw newline inside a line, and
  the log writes U+2028, U+2029 and U+0085 (which ``str.splitlines`` and some JSON readers take
  for line ends) as ``\\u2028``-style escapes, so a line reads the same in every process and with
  any reader. A lone surrogate (e.g. from a server's ``"\\ud800"``) is written as its ``\\udXXX``
  escape and reads back as the same string; two surrogates that form a pair read back joined.
- **A damaged line is reported and never used, nor deleted**: not UTF-8 or not JSON, a missing key
  or checksum, a checksum that does not match, or fields the format refuses. Readers list it by
  line number with the reason; compaction keeps it.
- **A last line without a newline** (a write cut off by a crash, or one in progress) is not read.
  Under the lock, a writer either cuts it away (``torn="cut"``) or ends it with a newline, so it
  stays in the file as a damaged line (``torn="seal"``).
- **Readers index incrementally.** A refresh reads only the bytes after the offset read so far;
  a file that was replaced (compaction), truncated or rewritten is read again from the start.
  Appending does not read the file (unless the format keeps the first record of a key, or the
  caller asks to append only absent keys: then it reads what others appended since).
- **Compaction is atomic**: under the lock, one line per key sorted by key (damaged lines kept,
  in an order that reads the same), written to a temporary file, fsynced, and renamed over the
  log.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Generic, Literal, TypeVar

__all__ = [
    "Damaged",
    "JsonlLog",
    "LineFormat",
    "Update",
    "atomic_write",
    "canonical",
    "checksum",
    "dump_line",
    "file_lock",
    "fsync_dir",
]

T = TypeVar("T")

_CHUNK = 1 << 20
_MARK = 64
"""Bytes before the read offset remembered, to tell an appended file from a rewritten one."""
_UNSAFE = re.compile("[\u0085\u2028\u2029\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_KEY_RE = re.compile(rb'"key"\s*:\s*"((?:[^"\\]|\\.){1,512})"')


def canonical(obj: Any) -> str:
    """The canonical JSON text of ``obj``: sorted keys, no spaces, non-ASCII kept."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # surrogates: join the pairs, keep the lone ones as they are
        joined = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
        return joined.encode("utf-8", "surrogatepass")


def checksum(obj: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of ``obj`` in UTF-8 (a lone surrogate counts as its
    three-byte form, so every string has one)."""
    return hashlib.sha256(_utf8(canonical(obj))).hexdigest()


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def dump_line(obj: Any, *, compact: bool = True) -> bytes:
    """``obj`` as one line of JSON in UTF-8, ending in ``\\n``, keys sorted; U+2028, U+2029,
    U+0085 and surrogates escaped. ``compact=False`` puts a space after ``,`` and ``:``."""
    seps = (",", ":") if compact else (", ", ": ")
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=seps)
    return _UNSAFE.sub(_escape, text).encode("utf-8") + b"\n"


# ---------------------------------------------------------------------------------------------
# Files: the lock, the folder's fsync, the atomic rewrite
# ---------------------------------------------------------------------------------------------

_no_lock_warned = False


def _lock_fd(fd: int) -> Callable[[], None]:
    """Lock the open file ``fd`` (blocking); return the function that unlocks it."""
    global _no_lock_warned
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
                break
            except OSError:
                time.sleep(0.001)

        def unlock_nt() -> None:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

        return unlock_nt
    try:
        import fcntl
    except ImportError:
        if not _no_lock_warned:
            _no_lock_warned = True
            warnings.warn("This Python has no file locks (no fcntl module): writes to a log are "
                          "serialised within this process only.", RuntimeWarning, stacklevel=4)
        return lambda: None
    fcntl.flock(fd, fcntl.LOCK_EX)
    return lambda: fcntl.flock(fd, fcntl.LOCK_UN)


@contextlib.contextmanager
def file_lock(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold the inter-process lock of the log at ``path`` (the file ``<path>.lock``, created if
    needed and left in place, so every process locks the same file)."""
    lock_path = Path(path).with_name(Path(path).name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        unlock = _lock_fd(fd)
        try:
            yield
        finally:
            unlock()
    finally:
        os.close(fd)


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Flush a folder's entries to disk (a new or renamed file survives a crash); a no-op where
    folders cannot be opened (Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace the file at ``path`` with ``data`` all at once: a temporary file in the same
    folder, fsynced, renamed over it, and the folder fsynced. Readers see the old or the new file,
    never a mix."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; logs are meant to be shared
        for attempt in range(50):
            try:
                os.replace(tmp, target)
                break
            except PermissionError:  # Windows: a reader has the file open for a moment
                if os.name != "nt" or attempt == 49:
                    raise
                time.sleep(0.02)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(target.parent)


# ---------------------------------------------------------------------------------------------
# Lines and records
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineFormat(Generic[T]):
    """How a value of type ``T`` is one line of a log, and how the log indexes the values."""

    fields: Callable[[T], tuple[str, dict[str, Any]]]
    """The value's key and the fields of its line (besides ``key`` and ``check``)."""
    value: Callable[[str, dict[str, Any]], T]
    """The value back from a line's key and fields; raises ``ValueError``, ``KeyError`` or
    ``TypeError`` when they do not make one (the line is then damaged)."""
    checked: str | tuple[str, ...]
    """What the checksum covers: one field's value (a name), or an object of the named fields."""
    compact: bool = True
    """No spaces after ``,`` and ``:`` (``False``: one space after each)."""
    keep: Literal["first", "last"] = "last"
    """Which record of a key counts when a key appears on several lines."""
    torn: Literal["cut", "seal"] = "seal"
    """What a writer does with a last line that has no newline: cut it away, or end it with a
    newline so it stays in the file as a damaged line."""

    def checked_part(self, fields: dict[str, Any]) -> Any:
        if isinstance(self.checked, str):
            return fields[self.checked]
        return {name: fields[name] for name in self.checked}

    def encode(self, value: T) -> tuple[str, bytes]:
        """The value's key and its line."""
        key, fields = self.fields(value)
        line = {**fields, "key": key, "check": checksum(self.checked_part(fields))}
        return key, dump_line(line, compact=self.compact)

    def decode(self, raw: bytes) -> tuple[str, T]:
        """The key and value of a line; ``ValueError`` (or ``KeyError``, ``TypeError``) saying
        why the line is damaged."""
        obj = json.loads(raw.decode("utf-8"))
        if not isinstance(obj, dict):
            msg = "not a JSON object"
            raise ValueError(msg)
        names = (self.checked,) if isinstance(self.checked, str) else self.checked
        missing = [k for k in ("key", *names, "check") if k not in obj]
        if missing:
            msg = f"no {', '.join(missing)}"
            raise ValueError(msg)
        key = obj.pop("key")
        check = obj.pop("check")
        if not isinstance(key, str):
            msg = "the key is not a string"
            raise ValueError(msg)
        if checksum(self.checked_part(obj)) != check:
            msg = "checksum mismatch: the record was edited or truncated"
            raise ValueError(msg)
        return key, self.value(key, obj)


@dataclass(frozen=True)
class Damaged:
    """A line that is not a valid record: never used, never deleted."""

    line_no: int
    """Its line number in the file (from 1)."""
    reason: str
    key: str | None
    """The key it names, when that can be read."""
    raw: bytes
    """The line as it is in the file (without its newline)."""


@dataclass(frozen=True)
class Update:
    """What one read of a log found."""

    damaged: tuple[Damaged, ...] = ()
    """Damaged lines read this time."""
    torn: int = 0
    """Bytes of a last line without a newline (not read)."""
    cut: bool = False
    """Whether those bytes were cut away."""


def _reason(e: Exception) -> str:
    if isinstance(e, json.JSONDecodeError | UnicodeDecodeError):
        return f"not valid JSON ({e})"
    if isinstance(e, KeyError):
        return f"the record has no field {e}"
    return str(e)


def _damaged_key(raw: bytes) -> str | None:
    with contextlib.suppress(ValueError):
        obj = json.loads(raw.decode("utf-8"))
        if isinstance(obj, dict):
            key = obj.get("key")
            return key if isinstance(key, str) else None
    m = _KEY_RE.search(raw)
    if not m:
        return None
    with contextlib.suppress(ValueError):
        key = json.loads(b'"' + m.group(1) + b'"')
        if isinstance(key, str):
            return key
    return None


def _lines(fh: IO[bytes], start: int, end: int) -> Iterator[tuple[int, bytes]]:
    """(offset after the line, line) for each complete line between ``start`` and ``end``,
    read in chunks."""
    fh.seek(start)
    pos, carry = start, b""
    while pos < end:
        chunk = fh.read(min(_CHUNK, end - pos))
        if not chunk:
            return
        pos += len(chunk)
        data = carry + chunk
        line_start = 0
        base = pos - len(data)
        while True:
            nl = data.find(b"\n", line_start)
            if nl < 0:
                break
            yield base + nl + 1, data[line_start:nl]
            line_start = nl + 1
        carry = data[line_start:]


# ---------------------------------------------------------------------------------------------
# The log
# ---------------------------------------------------------------------------------------------


class JsonlLog(Generic[T]):
    """A durable append-only JSON Lines file of values keyed by a string, indexed in memory.

    ``records`` maps each key to the record that counts (``format.keep``); ``damaged`` lists every
    damaged line read, in file order; ``last_damaged`` maps each key whose latest line is damaged
    (no valid line of it follows) to that line; ``torn`` is the size of an unfinished last line.
    Every method is safe to call from several threads; ``lock`` (reentrant) makes a sequence of
    calls atomic. Refresh before reading the index to see what other processes appended.
    """

    def __init__(self, path: str | os.PathLike[str], format: LineFormat[T]) -> None:
        self.path = Path(path)
        self.format = format
        self.lock = threading.RLock()
        self._reset()

    def _reset(self) -> None:
        self.records: dict[str, T] = {}
        self.damaged: list[Damaged] = []
        self.last_damaged: dict[str, Damaged] = {}
        self.torn = 0
        self.lines = 0
        """Complete lines read."""
        self._where: dict[str, int] = {}  # key -> line number of the record that counts
        self._offset = 0
        self._mark = b""
        self._file: tuple[int, int] | None = None  # (device, inode) read
        self._stamp: tuple[int, int, int, int] | None = None

    # -- reading ---------------------------------------------------------------------------
    def _take(self, raw: bytes, damaged: list[Damaged]) -> None:
        self.lines += 1
        if not raw.strip():
            return
        try:
            key, value = self.format.decode(raw)
        except (ValueError, KeyError, TypeError) as e:
            bad = Damaged(self.lines, _reason(e), _damaged_key(raw), raw)
            damaged.append(bad)
            if bad.key is not None:
                self.last_damaged[bad.key] = bad
            return
        self._index(key, value, self.lines)

    def _index(self, key: str, value: T, line_no: int | None) -> None:
        if self.format.keep == "last" or key not in self.records:
            self.records[key] = value
            if line_no is not None:
                self._where[key] = line_no
        self.last_damaged.pop(key, None)

    def _catch_up(self, fh: IO[bytes]) -> list[Damaged]:
        """Index the complete lines appended since the last read of the open file ``fh``."""
        st = os.fstat(fh.fileno())
        same = self._file == (st.st_dev, st.st_ino) and st.st_size >= self._offset
        if same and self._mark:
            fh.seek(self._offset - len(self._mark))
            same = fh.read(len(self._mark)) == self._mark
        if not same:  # a new, replaced or rewritten file: read it all again
            self._reset()
            self._file = (st.st_dev, st.st_ino)
        damaged: list[Damaged] = []
        start = self._offset
        for end, raw in _lines(fh, self._offset, st.st_size):
            self._take(raw, damaged)
            self._offset = end
        if self._offset != start:
            fh.seek(max(0, self._offset - _MARK))
            self._mark = fh.read(self._offset - max(0, self._offset - _MARK))
        self.damaged += damaged
        self.torn = st.st_size - self._offset
        self._stamp = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        return damaged

    def _unchanged(self) -> bool:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:  # deleted (or never written): nothing is on file
            if self._file is not None or self.records or self.damaged:
                self._reset()
            return True
        return self._stamp == (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    def refresh(self, *, repair: bool = False) -> Update:
        """Index what was appended since the last read. ``repair``: also deal with an unfinished
        last line as ``format.torn`` says, under the lock (when the file and its folder can be
        written; otherwise it is only counted in ``torn``)."""
        with self.lock:
            damaged: list[Damaged] = []
            if not self._unchanged():
                try:
                    with open(self.path, "rb") as fh:
                        damaged = self._catch_up(fh)
                except FileNotFoundError:
                    self._reset()
            if not (repair and self.torn):
                return Update(tuple(damaged), self.torn)
            try:
                with file_lock(self.path), open(self.path, "r+b") as fh:
                    damaged += self._catch_up(fh)  # what was appended meanwhile
                    torn = self.torn
                    return Update(tuple(damaged), torn, bool(torn) and self._repair(fh))
            except FileNotFoundError:
                self._reset()
                return Update()
            except OSError as e:  # a read-only copy, e.g. a shipped finished sweep
                if not (isinstance(e, PermissionError) or e.errno == errno.EROFS):
                    raise
                return Update(tuple(damaged), self.torn)

    def _repair(self, fh: IO[bytes]) -> bool:
        """Cut or seal the unfinished last line (the lock is held); whether it was cut."""
        if self.format.torn == "cut":
            fh.truncate(self._offset)
        else:
            fh.seek(0, os.SEEK_END)
            fh.write(b"\n")
        fh.flush()
        os.fsync(fh.fileno())
        self._catch_up(fh)  # a sealed line is read as damaged now; a cut file ends at the offset
        return self.format.torn == "cut"

    # -- writing ---------------------------------------------------------------------------
    def append(self, values: Sequence[T], *, if_absent: bool = False) -> tuple[list[T], Update]:
        """Append each value as one line (all in one write), flushed and fsynced before this
        returns. ``if_absent`` (always so when ``format.keep`` is ``"first"``): first index what
        others appended, and skip a value whose key is already on file. Returns the value on file
        for each value given, and what reading the file found."""
        encoded = [(*self.format.encode(v), v) for v in values]
        if not encoded:
            return [], Update()
        if_absent = if_absent or self.format.keep == "first"
        update = Update()
        out: list[T] = []
        lines: list[bytes] = []
        with self.lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with file_lock(self.path):
                created = not self.path.exists()
                fh = open(self.path, "a+b")  # noqa: SIM115  (closed after the fsync below)
                try:
                    update, current = self._before_append(fh, if_absent)
                    for key, line, value in encoded:
                        if if_absent and key in self.records:
                            out.append(self.records[key])
                            continue
                        lines.append(line)
                        out.append(value)
                        if current is True:  # nobody wrote since we read: our lines are read
                            self._take_own(key, value, line)
                        else:  # indexed now, and read again with the rest, in file order
                            self._index(key, value, None)
                    if lines:
                        fh.write((b"\n" if current is None else b"") + b"".join(lines))
                        fh.flush()
                        if current is True:
                            st = os.fstat(fh.fileno())
                            self._stamp = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
                except BaseException:
                    fh.close()
                    raise
            try:  # the fsync needs no lock: other writers' fsyncs overlap with this one
                if lines:
                    os.fsync(fh.fileno())
            finally:
                fh.close()
            if created:
                fsync_dir(self.path.parent)
            return out, update

    def _before_append(self, fh: IO[bytes], if_absent: bool) -> tuple[Update, bool | None]:
        """Under the lock, before appending: what reading found, and whether the index is
        current (``True``), lags behind what others appended (``False``), or the file ends in an
        unfinished line that the append must end first (``None``)."""
        if if_absent or self.format.torn == "cut":
            update = Update(tuple(self._catch_up(fh)), self.torn)
            if self.torn:
                update = Update(update.damaged, self.torn, self._repair(fh))
            return update, True
        st = os.fstat(fh.fileno())
        if st.st_size == 0:  # an empty (maybe new) file: nothing to know
            self._reset()
            self._file = (st.st_dev, st.st_ino)
            return Update(), True
        if self._file == (st.st_dev, st.st_ino) and st.st_size == self._offset:
            return Update(), True
        fh.seek(st.st_size - 1)
        return Update(), (False if fh.read(1) == b"\n" else None)

    def _take_own(self, key: str, value: T, line: bytes) -> None:
        self.lines += 1
        self._offset += len(line)
        self._mark = (self._mark + line)[-_MARK:]
        self._index(key, value, self.lines)

    def compact(self) -> None:
        """Rewrite the file atomically with one line per key, sorted by key: the record that
        counts, re-encoded. Damaged lines are kept: those naming a key next to its record (before
        it when they came before it, after it when they came after, so the file reads the same),
        the others at the end; an unfinished last line is cut, or kept as a line of its own, as
        ``format.torn`` says."""
        with self.lock:
            if not self.path.exists():
                self._reset()
                return
            with file_lock(self.path):
                with open(self.path, "rb") as fh:
                    self._reset()
                    self._catch_up(fh)
                    fh.seek(self._offset)
                    torn = fh.read() if self.format.torn == "seal" else b""
                keyed: dict[str, list[Damaged]] = {}
                for bad in self.damaged:
                    if bad.key is not None:
                        keyed.setdefault(bad.key, []).append(bad)
                chunks: list[bytes] = []
                for key in sorted(set(self.records) | set(keyed)):
                    bads = keyed.get(key, [])
                    at = self._where.get(key)
                    chunks += [b.raw + b"\n" for b in bads if at is None or b.line_no < at]
                    if key in self.records:
                        chunks.append(self.format.encode(self.records[key])[1])
                    chunks += [b.raw + b"\n" for b in bads if at is not None and b.line_no > at]
                chunks += [b.raw + b"\n" for b in self.damaged if b.key is None]
                if torn:
                    chunks.append(torn + b"\n")
                atomic_write(self.path, b"".join(chunks))
                self._reset()
                with open(self.path, "rb") as fh:
                    self._catch_up(fh)
