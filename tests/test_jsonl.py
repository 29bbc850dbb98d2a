"""The durable append-only log shared by recordings and sweeps (itc_lab._jsonl).

The log on its own with a small format; then what it means for recordings and sweeps: any text
survives a new process and compaction, appending does not re-read the file, and nothing needs
fcntl to import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from itc_lab import Completion, Request
from itc_lab._jsonl import JsonlLog, LineFormat, checksum, dump_line
from itc_lab.backends.recordings import RecordingStore
from itc_lab.experiments.sweep import Arm, Sweep, load_records

from .sweep_worker import DetBackend, make_problems

ROOT = Path(__file__).resolve().parents[1]
STRANGE = ("line\u2028separator, paragraph\u2029separator, next line\u0085, "
           "lone \ud800 and \udfff surrogates, \r\n and \x00, emoji \U0001f600, ok")
"""Text that str.splitlines() splits, that UTF-8 cannot encode as it is, and control characters."""
SEPARATORS = "one\u2028two\u2029three\u0085four"
"""Text that str.splitlines() splits into four."""

Item = tuple[str, str]


def _fields(item: Item) -> tuple[str, dict[str, Any]]:
    return item[0], {"value": item[1]}


def _value(key: str, fields: dict[str, Any]) -> Item:
    if not isinstance(fields["value"], str):
        msg = "the value is not a string"
        raise ValueError(msg)
    return key, fields["value"]


def fmt(keep: str = "last", torn: str = "seal") -> LineFormat[Item]:
    return LineFormat(_fields, _value, checked="value", keep=keep, torn=torn)  # type: ignore[arg-type]


def run_python(code: str, *args: str) -> str:
    """Run ``code`` in a new Python process (the repository importable); its stdout."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _answer(text: str) -> Completion:
    return Completion(text=text, model="m", backend="fake", seed=0)


# -- lines ------------------------------------------------------------------------------------


def test_a_line_escapes_line_separators_and_surrogates_and_reads_back_the_same() -> None:
    line = dump_line({"key": "k", "text": STRANGE})
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    text = line.decode("utf-8")  # valid UTF-8: the lone surrogates are escapes
    assert len(text.splitlines()) == 1  # no U+2028, U+2029, U+0085 left raw
    assert "\\u2028" in text and "\\ud800" in text and "\U0001f600" in text
    assert json.loads(text)["text"] == STRANGE
    assert len(checksum(STRANGE)) == 64


def test_the_checksum_of_existing_files_is_unchanged() -> None:
    # the rule every recording and sweep line was written with: sha256 of the canonical JSON
    import hashlib

    obj = {"b": [1, 2.5, None], "a": "é ünïcode"}
    body = json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert checksum(obj) == hashlib.sha256(body.encode("utf-8")).hexdigest()


# -- the log ----------------------------------------------------------------------------------


def test_append_then_read_in_a_new_log(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    log = JsonlLog(path, fmt())
    out, _ = log.append([("a", "A"), ("b", STRANGE)])
    assert out == [("a", "A"), ("b", STRANGE)]
    assert path.read_bytes().count(b"\n") == 2
    fresh = JsonlLog(path, fmt())  # reads the file (a new process: see the recordings test)
    fresh.refresh()
    assert fresh.records == {"a": ("a", "A"), "b": ("b", STRANGE)} and fresh.damaged == []


def test_keep_first_or_last_of_a_key(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    JsonlLog(path, fmt()).append([("a", "1"), ("a", "2")])
    last, first = JsonlLog(path, fmt("last")), JsonlLog(path, fmt("first", "cut"))
    last.refresh()
    first.refresh()
    assert last.records["a"] == ("a", "2") and first.records["a"] == ("a", "1")
    out, _ = first.append([("a", "3"), ("b", "4")], if_absent=True)
    assert out == [("a", "1"), ("b", "4")]  # the value on file for a key already there
    assert path.read_bytes().count(b"\n") == 3


def test_a_reader_reads_only_what_was_appended_since(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "log.jsonl"
    writer, reader = JsonlLog(path, fmt()), JsonlLog(path, fmt())
    writer.append([(f"k{i}", f"v{i}") for i in range(100)])
    decoded: list[bytes] = []
    original = LineFormat.decode

    def counting(self: LineFormat[Item], raw: bytes) -> Item:
        decoded.append(raw)
        return original(self, raw)  # type: ignore[return-value]

    monkeypatch.setattr(LineFormat, "decode", counting)
    reader.refresh()
    assert len(decoded) == 100
    writer.append([("new", "N")])
    reader.append([("mine", "M")])  # appending reads nothing
    assert len(decoded) == 100
    reader.refresh()
    assert len(reader.records) == 102
    assert len(decoded) == 102  # the two new lines only
    reader.append([("more", "M")])  # nobody else wrote: its own line counts as read
    reader.refresh()
    assert len(decoded) == 102 and len(reader.records) == 103


def test_a_replaced_or_rewritten_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    one, two = JsonlLog(path, fmt()), JsonlLog(path, fmt())
    one.append([("a", "1"), ("b", "2"), ("a", "3")])
    two.refresh()
    one.compact()  # a new file, renamed over the old one
    assert path.read_bytes().count(b"\n") == 2
    two.refresh()
    assert two.records == {"a": ("a", "3"), "b": ("b", "2")} and two.lines == 2
    # rewritten in place (same inode), longer than what two has read: two must start over
    body = b"".join(dump_line({"key": k, "value": v, "check": checksum(v)})
                    for k, v in [("x", "long value " * 20), ("y", "y")])
    with open(path, "r+b") as fh:
        fh.write(body)
        fh.truncate()
    two.refresh()
    assert set(two.records) == {"x", "y"}


def test_damaged_lines_are_reported_never_used_and_kept_by_compaction(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    log = JsonlLog(path, fmt())
    log.append([("a", "1"), ("b", "2"), ("c", "3")])
    lines = path.read_bytes().splitlines(keepends=True)
    edited = json.loads(lines[1])
    edited["value"] = "tampered"
    lines[1] = (json.dumps(edited) + "\n").encode()  # b's latest line: damaged
    lines.append(b"not json at all\n")
    lines.append((json.dumps({"key": "c", "value": "x", "check": "0"}) + "\n").encode())
    path.write_bytes(b"".join(lines))
    log.append([("c", "4")])  # a later valid line of c: c counts again
    fresh = JsonlLog(path, fmt())
    fresh.refresh()
    assert [(d.line_no, d.key) for d in fresh.damaged] == [(2, "b"), (4, None), (5, "c")]
    assert "checksum mismatch" in fresh.damaged[0].reason
    assert "not valid JSON" in fresh.damaged[1].reason
    assert set(fresh.last_damaged) == {"b"}
    assert "b" not in fresh.records and fresh.records["c"] == ("c", "4")
    fresh.compact()
    text = path.read_bytes()
    assert lines[1] in text and b"not json at all\n" in text and lines[4] in text  # all kept
    again = JsonlLog(path, fmt())
    again.refresh()  # and the file reads the same
    assert again.records == fresh.records and set(again.last_damaged) == {"b"}
    assert len(again.damaged) == 3


@pytest.mark.parametrize("torn", ["cut", "seal"])
def test_a_torn_last_line_is_not_read_and_a_writer_cuts_or_seals_it(tmp_path: Path,
                                                                   torn: str) -> None:
    path = tmp_path / "log.jsonl"
    log = JsonlLog(path, fmt(torn=torn))
    log.append([("a", "1")])
    with open(path, "ab") as fh:
        fh.write(b'{"key": "b", "val')  # killed mid-write
    reader = JsonlLog(path, fmt(torn=torn))
    update = reader.refresh()
    assert update.torn == 17 and not update.cut and reader.damaged == []
    JsonlLog(path, fmt(torn=torn)).append([("c", "3")])
    after = JsonlLog(path, fmt(torn=torn))
    after.refresh()
    assert set(after.records) == {"a", "c"}
    if torn == "cut":
        assert b'"key": "b"' not in path.read_bytes() and after.damaged == []
    else:
        assert [d.line_no for d in after.damaged] == [2] and b'"val\n' in path.read_bytes()


# -- recordings and sweeps --------------------------------------------------------------------


def test_any_text_is_recorded_and_replayed_in_a_new_process_and_after_compaction(
        tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    store = RecordingStore(path)
    req = Request(prompt="Say something odd.", model="m", seed=3)
    store.put(req, Completion(text=STRANGE, model="m", backend="fake", seed=3))
    store.put(req.with_seed(4), Completion(text="plain", model="m", backend="fake", seed=4))
    assert store.get(req).text == STRANGE  # type: ignore[union-attr]
    code = """
        import sys
        from itc_lab import Request
        from itc_lab.backends.recordings import RecordingStore
        from tests.test_jsonl import STRANGE
        req = Request(prompt="Say something odd.", model="m", seed=3)
        for _ in range(2):  # as written, then compacted
            store = RecordingStore(sys.argv[1])
            print(store.damaged() == [], len(store), store.get(req).text == STRANGE)
            store.compact()
    """
    assert run_python(code, str(path)).split() == ["True", "2", "True"] * 2
    assert path.read_bytes().count(b"\n") == 2
    assert RecordingStore(path).get(req).text == STRANGE  # type: ignore[union-attr]
    assert RecordingStore(path).damaged() == []


def test_a_sweep_record_with_line_separators_reads_back(tmp_path: Path) -> None:
    problems = make_problems(2)
    odd = type(problems[0])(id=f"odd {SEPARATORS}", question="What is 7?", answer="7")
    path = tmp_path / "s.jsonl"
    first = Sweep(path, [Arm("greedy", "direct")], [odd, *problems], DetBackend()).run(
        progress=False)
    assert path.read_bytes().count(b"\n") == 3 and "\u2028".encode() not in path.read_bytes()
    records = load_records(path)
    assert len(records) == 3 and records[0].problem_id == f"odd {SEPARATORS}"
    again = Sweep(path, [Arm("greedy", "direct")], [odd, *problems], DetBackend())
    assert again.pending() == [] and again.result().records == first.records


def test_a_put_does_not_re_read_what_another_writer_appended(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "rec.jsonl"
    mine, theirs = RecordingStore(path), RecordingStore(path)
    theirs.put_many([(Request(prompt=f"q{i}", model="m"), _answer(f"{i}"))
                     for i in range(200)])
    assert len(mine) == 200
    decoded = 0
    original = Request.from_dict.__func__  # type: ignore[attr-defined]

    def counting(cls: type[Request], d: dict[str, Any]) -> Request:
        nonlocal decoded
        decoded += 1
        return original(cls, d)  # type: ignore[no-any-return]

    monkeypatch.setattr(Request, "from_dict", classmethod(counting))
    for i in range(20):  # two writers taking turns: each put used to re-read the whole file
        theirs.put(Request(prompt=f"theirs {i}", model="m"), _answer("t"))
        mine.put(Request(prompt=f"mine {i}", model="m"), _answer("m"))
    assert decoded == 0
    assert len(mine) == 240
    assert decoded <= 40  # then reading takes in the 40 new lines once


def test_itc_lab_imports_and_records_without_fcntl(tmp_path: Path) -> None:
    code = """
        import sys, warnings
        sys.modules["fcntl"] = None  # as on Windows: `import fcntl` raises ImportError
        warnings.simplefilter("ignore", RuntimeWarning)
        import itc_lab
        from itc_lab import Completion, Request, RecordingStore
        from itc_lab.experiments.sweep import load_records
        store = RecordingStore(sys.argv[1])
        store.put(Request(prompt="q", model="m"), Completion("A", "m", "fake", 0))
        store.compact()
        print(RecordingStore(sys.argv[1]).get(Request(prompt="q", model="m")).text,
              sys.modules["fcntl"] is None)
    """
    assert run_python(code, str(tmp_path / "rec.jsonl")).split() == ["A", "True"]
