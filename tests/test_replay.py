"""Replay at recorded speed: timing kept in recordings, and paced replay equal to instant replay."""

import json

import pytest

from itc_lab import RecordingBackend, RecordingStore, Request
from itc_lab.backends import recordings
from itc_lab.backends.recordings import SPEED_ENV, replay_schedule, replay_speed
from itc_lab.live import SampleFinished, TokenArrived, watch
from itc_lab.types import Completion, Timing, Token

MODEL = "fake-model"


def _timed(seed: int, text: str, pieces: list[int], times: list[int], latency: float,
           sent_ms: int = 1_700_000_000_000) -> Completion:
    return Completion(text=text, model=MODEL, backend="embedded", seed=seed,
                      completion_tokens=len(pieces), latency_s=latency,
                      timing=Timing(sent_ms, tuple(times), tuple(pieces)))


def _store(tmp_path, completions, prompt="q"):
    store = RecordingStore(tmp_path / "rec.jsonl")
    req = Request(prompt=prompt, model=MODEL)
    store.put_many([(req.with_seed(c.seed), c) for c in completions])
    return req


# -- timing in records ---------------------------------------------------------------------------

def test_timing_round_trips_through_json_and_a_recording(tmp_path):
    c = _timed(0, "Hello, world!", [5, 2, 6], [812, 840, 903], 0.95)
    d = c.to_dict()
    # written compactly: gaps between arrivals, characters per piece
    assert d["timing"] == {"sent_ms": 1_700_000_000_000, "gaps_ms": [812, 28, 63],
                           "chars": [5, 2, 6]}
    assert Completion.from_dict(json.loads(json.dumps(d))) == c
    req = _store(tmp_path, [c])
    back = RecordingStore(tmp_path / "rec.jsonl").get(req.with_seed(0))
    assert back is not None and back.timing == c.timing
    assert back.timing.pieces(back.text) == [(0.812, "Hello"), (0.84, ", "), (0.903, "world!")]


def test_a_record_without_timing_reads_and_writes_as_before():
    old = {"backend": "embedded", "cached": False, "completion_tokens": 3, "finish_reason": "stop",
           "latency_s": 1.5, "model": MODEL, "options": {}, "prompt_tokens": 4, "seed": 2,
           "text": "a b c", "thinking": None, "tokens": []}
    c = Completion.from_dict(old)
    assert c.timing is None
    assert c.to_dict() == old  # no "timing": null added to older records


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"piece_ms": (1, 2), "piece_chars": (1,)}, "one arrival time per piece"),
    ({"piece_ms": (5, 3), "piece_chars": (1, 1)}, "never decrease"),
    ({"piece_ms": (1.5,), "piece_chars": (1,)}, "whole milliseconds"),
    ({"piece_ms": (1,), "piece_chars": (-1,)}, "whole numbers >= 0"),
    ({"sent_ms": -4}, "sent_ms"),
])
def test_bad_timing_is_a_clear_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Timing(**kwargs)


def test_unknown_timing_fields_are_refused():
    with pytest.raises(ValueError, match="no field"):
        Timing.from_dict({"sent_ms": 0, "gap": [1]})


# -- the schedule --------------------------------------------------------------------------------

def test_schedule_follows_the_recorded_sends_and_ends():
    t = 1_700_000_000_000
    a = _timed(0, "aa bb", [2, 3], [100, 900], 1.0, t)
    b = _timed(1, "cc", [2], [50], 0.2, t)              # sent with a, ends first
    c = _timed(2, "dd", [2], [30], 0.3, t + 200)        # sent 0.2 s later
    d = _timed(3, "ee", [2], [10], 0.1, t + 3_600_000)  # an hour later: recorded in another run
    sched = replay_schedule([a, b, c, d])
    assert [r.completion.seed for r in sched] == [1, 2, 0, 3]
    by_seed = {r.completion.seed: r for r in sched}
    assert by_seed[2].sent == pytest.approx(0.2)
    assert by_seed[2].end == pytest.approx(0.5)
    assert by_seed[0].pieces == [(0.1, "aa"), (0.9, " bb")]
    # the late one waits only until every sample sent before it has ended
    assert by_seed[3].sent == pytest.approx(1.0)
    assert by_seed[3].end == pytest.approx(1.1)


def test_an_old_record_is_estimated_from_its_latency_in_even_pieces():
    words = Completion(text="one two three four", model=MODEL, backend="embedded", seed=0,
                       latency_s=2.0)
    tokens = Completion(text="ab", model=MODEL, backend="embedded", seed=1, latency_s=1.0,
                        tokens=(Token("a", -0.1), Token("b", -0.2)))
    by_seed = {r.completion.seed: r for r in replay_schedule([words, tokens])}
    assert by_seed[0].sent == 0.0 and by_seed[0].end == 2.0
    assert by_seed[0].pieces == [(0.5, "one"), (1.0, " two"), (1.5, " three"), (2.0, " four")]
    assert by_seed[1].pieces == [(0.5, "a"), (1.0, "b")]


# -- replay --------------------------------------------------------------------------------------

def _recording(tmp_path):
    t = 1_700_000_000_000
    timed = [
        _timed(0, "The answer is 4.", [3, 7, 3, 3], [200, 260, 400, 520], 0.6, t),
        _timed(1, "It is 5", [2, 3, 2], [150, 180, 210], 0.25, t),
        _timed(2, "Four.", [4, 1], [300, 310], 0.35, t + 400),
    ]
    old = Completion(text="maybe 4", model=MODEL, backend="embedded", seed=3, latency_s=0.45)
    return _store(tmp_path, [*timed, old])


def _run(backend, request, n):
    """What a watcher sees: the samples returned, delivered (on_result) and streamed."""
    results, tokens, finished = [], [], []

    def listen(event):
        if isinstance(event, TokenArrived):
            tokens.append((event.seed, event.token.text))
        elif isinstance(event, SampleFinished):
            finished.append(event.seed)

    out = watch(backend, listen).generate(request, n, on_result=results.append)
    assert finished == [c.seed for c in results]
    return out, results, tokens


def test_paced_replay_gives_the_same_samples_in_the_same_order_as_instant(tmp_path):
    req = _recording(tmp_path)
    instant = RecordingBackend(tmp_path / "rec.jsonl", mode="replay", speed=0)
    paced = RecordingBackend(tmp_path / "rec.jsonl", mode="replay", speed=20)
    out_i, res_i, tok_i = _run(instant, req, 4)
    out_p, res_p, tok_p = _run(paced, req, 4)
    assert out_p == out_i
    assert [c.seed for c in out_p] == [0, 1, 2, 3]
    # delivered in the order they ended when recorded, by both
    assert [c.seed for c in res_p] == [c.seed for c in res_i] == [1, 3, 0, 2]
    assert res_p == res_i
    # paced: every sample's pieces spell its text, and the samples interleave as they arrived
    for c in out_p:
        assert "".join(p for s, p in tok_p if s == c.seed) == c.text
    assert tok_p[:3] == [(1, "It"), (1, " is"), (0, "The")]
    assert tok_i == []  # at once: nothing streams, the samples arrive whole


def test_paced_replay_waits_the_recorded_time_divided_by_the_speed(tmp_path, monkeypatch):
    req = _recording(tmp_path)
    clock = [0.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        clock[0] += seconds

    monkeypatch.setattr(recordings.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(recordings.time, "sleep", sleep)
    arrived = []
    backend = RecordingBackend(tmp_path / "rec.jsonl", mode="replay", speed=2)
    backend.generate(req, 4, on_result=lambda c: arrived.append((clock[0], c.seed)))
    # seed 2 was sent 0.4 s after the others and took 0.35 s: the call lasted 0.75 s
    assert clock[0] == pytest.approx(0.75 / 2)
    assert arrived == [(pytest.approx(0.125), 1), (pytest.approx(0.225), 3),
                       (pytest.approx(0.3), 0), (pytest.approx(0.375), 2)]
    slept.clear()
    RecordingBackend(tmp_path / "rec.jsonl", mode="replay").generate(req, 4)
    assert slept == []  # instant replay never sleeps


def test_replay_speed_comes_from_the_argument_or_the_environment(tmp_path, monkeypatch):
    _recording(tmp_path)
    path = tmp_path / "rec.jsonl"
    monkeypatch.delenv(SPEED_ENV, raising=False)
    assert RecordingBackend(path, mode="replay").speed == 0
    monkeypatch.setenv(SPEED_ENV, "1")
    backend = RecordingBackend(path, mode="replay")
    assert backend.speed == 1
    assert "replayed at 1× the recorded speed" in backend.describe()
    assert RecordingBackend(path, mode="replay", speed=4).speed == 4
    backend.speed = "2x"
    assert backend.speed == 2
    monkeypatch.setenv(SPEED_ENV, "fast")
    with pytest.raises(ValueError, match=f"{SPEED_ENV} must be a number >= 0"):
        RecordingBackend(path, mode="replay")
    for bad in (-1, float("inf"), True, "nan"):
        with pytest.raises(ValueError, match="0 replays recordings at once"):
            replay_speed(bad)


def test_connect_passes_the_replay_speed(tmp_path, monkeypatch):
    from itc_lab import connect

    lessons = tmp_path / "lessons"
    (lessons / "recordings").mkdir(parents=True)
    monkeypatch.setenv("ITC_LAB_LESSONS", str(lessons))
    RecordingStore(lessons / "recordings" / "xx_demo.jsonl").put(
        Request(prompt="q", model=MODEL), _timed(0, "hi", [2], [10], 0.1))
    backend = connect(lesson="xx_demo", mode="replay", replay_speed=3, quiet=True)
    assert isinstance(backend, RecordingBackend) and backend.speed == 3
    monkeypatch.setenv(SPEED_ENV, "0.5")
    assert connect(lesson="xx_demo", mode="replay", quiet=True).speed == 0.5  # type: ignore[attr-defined]


def test_stopping_a_paced_replay_keeps_the_samples_delivered(tmp_path):
    req = _recording(tmp_path)
    watched = watch(RecordingBackend(tmp_path / "rec.jsonl", mode="replay", speed=50))

    def on_result(c):
        if c.seed == 3:  # the second to end
            watched.stop("enough")

    out = watched.generate(req, 4, on_result=on_result)
    assert [c.seed for c in out] == [1, 3]


def test_tokens_keep_their_logprobs_when_they_spell_the_pieces(tmp_path):
    c = Completion(text="ab", model=MODEL, backend="embedded", seed=0, latency_s=0.2,
                   tokens=(Token("a", -0.1), Token("b", -0.7)),
                   timing=Timing(1, (50, 100), (1, 1)))
    req = _store(tmp_path, [c])
    seen = []
    watched = watch(RecordingBackend(tmp_path / "rec.jsonl", mode="replay", speed=20),
                    lambda e: seen.append(e.token) if isinstance(e, TokenArrived) else None)
    watched.generate(req)
    assert seen == [Token("a", -0.1), Token("b", -0.7)]


@pytest.mark.embedded
def test_the_embedded_engine_records_when_each_piece_arrived(tmp_path):
    from itc_lab.backends.embedded.backend import EmbeddedBackend

    with EmbeddedBackend(slots=4) as engine:
        rec = RecordingBackend(tmp_path / "rec.jsonl", engine, mode="record")
        req = Request(prompt="List three fruits, one per line.", temperature=1.0,
                      max_tokens=16, stop=["\n\n"], seed=3)
        out = rec.generate(req, n=3)
    for c in out:
        t = c.timing
        assert t is not None and t.sent_ms > 0
        assert sum(t.piece_chars) == len(c.text)
        assert "".join(p for _, p in t.pieces(c.text)) == c.text
        assert 1 <= len(t.piece_ms) <= c.completion_tokens
        assert t.piece_ms[-1] <= c.latency_s * 1000 + 1
    replay = RecordingBackend(tmp_path / "rec.jsonl", mode="replay", speed=100)
    back = replay.generate(req, n=3)
    assert [c.timing for c in back] == [c.timing for c in out]
