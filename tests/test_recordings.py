import json
import multiprocessing as mp

import pytest

from itc_lab import RecordingBackend, RecordingDamaged, RecordingMissing, RecordingStore, Request
from itc_lab.backends.base import LiveBackend

from .conftest import FakeBackend


def test_generate_is_batch_first_with_seed_per_sample(fake):
    out = fake.generate(Request(prompt="q", seed=10), n=4)
    assert [c.seed for c in out] == [10, 11, 12, 13]
    assert len({c.text for c in out}) == 4
    assert all(c.model == "fake-model" for c in out)


def test_bad_n_is_a_clear_error(fake):
    with pytest.raises(ValueError, match="whole number >= 1"):
        fake.generate(Request(prompt="q"), n=0)


def test_record_then_replay_serves_identical_completions(tmp_path, fake):
    path = tmp_path / "rec.jsonl"
    rec = RecordingBackend(path, fake, mode="record")
    first = rec.generate(Request(prompt="q"), n=3)
    assert not any(c.cached for c in first)
    replay = RecordingBackend(path, None, mode="replay")
    assert replay.model == "fake-model"  # learned from the store
    again = replay.generate(Request(prompt="q"), n=3)
    assert [c.text for c in again] == [c.text for c in first]
    assert all(c.cached for c in again)
    # the file is text, one record per line; compacted (as `itc-lab record` does), sorted by key
    RecordingStore(path).compact()
    lines = path.read_text().splitlines()
    assert len(lines) == 3
    keys = [json.loads(line)["key"] for line in lines]
    assert keys == sorted(keys)


def test_replay_miss_names_the_request_and_the_fix(tmp_path, fake):
    path = tmp_path / "rec.jsonl"
    RecordingBackend(path, fake, mode="record").generate(Request(prompt="q"), n=2)
    replay = RecordingBackend(path, None, mode="replay", record_hint="run itc-lab record 00")
    with pytest.raises(RecordingMissing) as err:
        replay.generate(Request(prompt="q"), n=3)
    text = str(err.value)
    assert "1 of 3" in text and "seed=2" in text and "itc-lab record 00" in text


def test_auto_serves_hits_and_records_misses(tmp_path, fake):
    path = tmp_path / "rec.jsonl"
    auto = RecordingBackend(path, fake, mode="auto")
    auto.generate(Request(prompt="q"), n=2)
    assert len(fake.calls) == 2
    out = auto.generate(Request(prompt="q"), n=4)
    assert len(fake.calls) == 4  # only seeds 2 and 3 were new
    assert [c.cached for c in out] == [True, True, False, False]
    assert (auto.hits, auto.misses) == (2, 4)
    assert len(RecordingStore(path)) == 4


def test_completed_samples_survive_a_failing_sample(tmp_path):
    path = tmp_path / "rec.jsonl"
    failing = FakeBackend(concurrency=1, fail_seeds=(2,))
    auto = RecordingBackend(path, failing, mode="auto")
    with pytest.raises(RuntimeError, match="seed 2"):
        auto.generate(Request(prompt="q"), n=4)
    store = RecordingStore(path)
    assert len(store) == 2  # seeds 0 and 1 were kept
    failing.fail_seeds.clear()
    out = auto.generate(Request(prompt="q"), n=4)
    assert [c.cached for c in out] == [True, True, False, False]


def test_damaged_record_is_detected_and_never_used(tmp_path, fake):
    path = tmp_path / "rec.jsonl"
    RecordingBackend(path, fake, mode="record").generate(Request(prompt="q"), n=2)
    lines = path.read_text().splitlines()
    record = json.loads(lines[0])
    record["completion"]["text"] = "tampered"
    lines[0] = json.dumps(record)
    path.write_text("\n".join(lines) + "\n")
    store = RecordingStore(path)
    assert [reason for _, reason in store.damaged()] == [
        "checksum mismatch: the record was edited or truncated"]
    bad_request = Request.from_dict(record["request"])
    with pytest.raises(RecordingDamaged, match="damaged"):
        store.get(bad_request)
    replay = RecordingBackend(store, None, mode="replay")
    with pytest.raises(RecordingDamaged):
        replay.generate(Request(prompt="q"), n=2)
    # re-recording repairs it
    RecordingBackend(path, fake, mode="record").generate(Request(prompt="q"), n=2)
    assert RecordingStore(path).damaged() == []


def test_truncated_line_is_kept_in_the_file_and_reported(tmp_path, fake):
    path = tmp_path / "rec.jsonl"
    RecordingBackend(path, fake, mode="record").generate(Request(prompt="q"), n=1)
    path.write_text(path.read_text() + '{"key": "abc", "request": {\n')
    store = RecordingStore(path)
    assert len(store.damaged()) == 1
    store.put(*_one(fake, "other"))
    assert '{"key": "abc", "request": {' in path.read_text()  # nothing silently dropped
    assert len(RecordingStore(path)) == 2


def _one(backend: LiveBackend, prompt: str):
    req = Request(prompt=prompt, model=backend.model)
    return req, backend.generate(req)[0]


def _writer(path: str, prefix: str, count: int) -> None:
    backend = FakeBackend()
    store = RecordingStore(path)
    for i in range(count):
        req = Request(prompt=f"{prefix}{i}", model=backend.model)
        store.put(req, backend.generate(req)[0])


def test_two_writers_at_once_keep_every_record(tmp_path):
    path = str(tmp_path / "rec.jsonl")
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, p, 25)) for p in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    store = RecordingStore(path)
    assert len(store) == 50
    assert store.damaged() == []
    prompts = {req.prompt for req, _ in store.items()}
    assert prompts == {f"a{i}" for i in range(25)} | {f"b{i}" for i in range(25)}


def test_modes_are_validated(tmp_path, fake):
    with pytest.raises(ValueError, match="choose one of"):
        RecordingBackend(tmp_path / "r.jsonl", fake, mode="sometimes")
    with pytest.raises(ValueError, match="needs a live model"):
        RecordingBackend(tmp_path / "r.jsonl", None, mode="record")


def test_record_mode_answers_a_repeated_request_as_replay_will(tmp_path):
    class Drifting(FakeBackend):
        """A model whose answer to the same request changes from call to call."""

        def _sample(self, request):
            c = super()._sample(request)
            return type(c).from_dict({**c.to_dict(), "text": f"{c.text} call{len(self.calls)}"})

    path = tmp_path / "rec.jsonl"
    rec = RecordingBackend(path, Drifting(concurrency=1), mode="record")
    first = rec.generate(Request(prompt="q"))[0]
    second = rec.generate(Request(prompt="q"))[0]
    assert second.text == first.text  # asked once per run
    replayed = RecordingBackend(path, None, mode="replay").generate(Request(prompt="q"))[0]
    assert replayed.text == first.text
    fresh = RecordingBackend(path, Drifting(concurrency=1), mode="record")
    assert fresh.generate(Request(prompt="q"))[0].text.endswith("call1")  # a new run re-asks


def _completion(text: str, seed: int = 0):
    from itc_lab import Completion

    return Completion(text=text, model="m", backend="fake", seed=seed)


def test_writes_append_and_compact_keeps_the_newest_sorted(tmp_path):
    path = tmp_path / "rec.jsonl"
    store = RecordingStore(path)
    reqs = [Request(prompt=f"q{i}", model="m") for i in range(5)]
    store.put_many([(r, _completion(f"old {i}")) for i, r in enumerate(reqs)])
    before = path.read_text()
    store.put(reqs[2], _completion("new 2"))
    after = path.read_text()
    assert after.startswith(before) and len(after.splitlines()) == 6  # appended, not rewritten
    assert store.get(reqs[2]).text == "new 2"
    assert RecordingStore(path).get(reqs[2]).text == "new 2"  # a fresh reader: the later line wins
    RecordingStore(path).compact()
    lines = path.read_text().splitlines()
    keys = [json.loads(line)["key"] for line in lines]
    assert len(lines) == 5 and keys == sorted(keys)
    assert RecordingStore(path).get(reqs[2]).text == "new 2"
    assert [RecordingStore(path).get(r).text for r in reqs] == [
        "old 0", "old 1", "new 2", "old 3", "old 4"]


def test_a_line_cut_short_by_a_crash_does_not_swallow_the_next_record(tmp_path):
    path = tmp_path / "rec.jsonl"
    store = RecordingStore(path)
    a, b = Request(prompt="a", model="m"), Request(prompt="b", model="m")
    store.put(a, _completion("A"))
    with path.open("a") as fh:
        fh.write('{"check": "0123", "completion": {"text": "half a rec')  # killed mid-write
    store.put(b, _completion("B"))
    fresh = RecordingStore(path)
    assert fresh.get(a).text == "A" and fresh.get(b).text == "B"
    assert len(fresh.damaged()) == 1  # the torn line is reported, and stays in the file
    assert "half a rec" in path.read_text()


def test_two_stores_on_one_file_see_each_others_appends(tmp_path):
    path = tmp_path / "rec.jsonl"
    one, two = RecordingStore(path), RecordingStore(path)
    a, b = Request(prompt="a", model="m"), Request(prompt="b", model="m")
    one.put(a, _completion("A"))
    two.put(b, _completion("B"))
    assert one.get(b).text == "B" and two.get(a).text == "A"
    assert len(RecordingStore(path)) == 2
