"""The event layer of itc_lab.live: watch() against the scripted model."""

from __future__ import annotations

import asyncio
import threading
import time
import warnings

import pytest

from itc_lab.backends.base import emit_token, set_ambient_watch
from itc_lab.backends.recordings import RecordingBackend
from itc_lab.live import (
    CallFailed,
    CallFinished,
    CallStarted,
    EngineEvent,
    Event,
    Meter,
    RunStopped,
    SampleFinished,
    TokenArrived,
    instant,
    watch,
)
from itc_lab.types import Request, Token
from tests.fakes import ScriptedBackend

REQ = Request(prompt="count", max_tokens=20)


class Log:
    """A listener that keeps every event (thread-safe: the watch runs listeners one at a time)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def kinds(self) -> list[str]:
        return [type(e).__name__ for e in self.events]

    def of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]


def test_events_of_one_call_in_order() -> None:
    log = Log()
    backend = ScriptedBackend("one two three", token_delay=0.001, concurrency=2)
    out = watch(backend, log).generate(REQ, n=3)
    assert [c.seed for c in out] == [0, 1, 2]
    kinds = log.kinds()
    assert kinds[0] == "CallStarted" and kinds[-1] == "CallFinished"
    start = log.of(CallStarted)[0]
    assert start.n == 3 and start.seeds == (0, 1, 2) and start.request == REQ
    # every sample: its tokens (in order) before its SampleFinished
    for i in range(3):
        mine = [e for e in log.events if getattr(e, "index", None) == i]
        assert [type(e).__name__ for e in mine] == ["TokenArrived"] * 3 + ["SampleFinished"]
        assert "".join(e.token.text for e in mine[:3]) == "one two three"
        assert mine[-1].completion is out[i]
    end = log.of(CallFinished)[0]
    assert end.completions == tuple(out) and not end.stopped
    assert all(a.t <= b.t for a, b in zip(log.events, log.events[1:], strict=False))


def test_tokens_arrive_before_the_sample_ends() -> None:
    seen: list[tuple[float, str]] = []

    def listener(e: Event) -> None:
        if isinstance(e, TokenArrived | SampleFinished):
            seen.append((time.perf_counter(), type(e).__name__))

    backend = ScriptedBackend("a b c d e", token_delay=0.03)
    watch(backend, listener).generate(REQ)
    first_token = next(t for t, k in seen if k == "TokenArrived")
    finished = next(t for t, k in seen if k == "SampleFinished")
    assert finished - first_token > 0.08  # the first token came well before the end


def test_a_backend_that_does_not_stream_still_reports_each_sample() -> None:
    log = Log()
    out = watch(ScriptedBackend(), log).generate(REQ, n=4)
    assert not log.of(TokenArrived)
    assert sorted(e.seed for e in log.of(SampleFinished)) == [0, 1, 2, 3]
    assert [c.text for c in out] == [f"count #{i}" for i in range(4)]


def test_the_callers_on_result_still_runs_once_per_sample() -> None:
    got: list[int] = []
    watch(ScriptedBackend(concurrency=3), Log()).generate(REQ, n=5,
                                                         on_result=lambda c: got.append(c.seed))
    assert sorted(got) == [0, 1, 2, 3, 4]


def test_listener_errors_are_isolated_and_no_sample_is_lost() -> None:
    log = Log()

    def broken(e: Event) -> None:
        raise ValueError("a broken view")

    w = watch(ScriptedBackend("x y", token_delay=0.001, concurrency=4), broken, log)
    with pytest.warns(RuntimeWarning, match="listener .* failed"):
        out = w.generate(REQ, n=6)
    assert len(out) == 6
    assert len(log.of(SampleFinished)) == 6  # the next listener still heard everything
    assert w.errors and all(isinstance(e, ValueError) for e in w.errors)


def test_stop_keeps_the_finished_samples_and_ends_the_call_early() -> None:
    log = Log()
    # seed 0 and 1 are short; the rest take long: stop once two have finished
    backend = ScriptedBackend(lambda r: "quick" if r.seed < 2 else "slow " * 200,
                              token_delay=0.01, concurrency=4)
    w = watch(backend, log)

    def stop_after_two(e: Event) -> None:
        if isinstance(e, SampleFinished) and len(log.of(SampleFinished)) == 2:
            w.stop("enough")

    w.listeners.append(stop_after_two)
    t0 = time.perf_counter()
    out = w.generate(REQ, n=8)
    took = time.perf_counter() - t0
    assert [c.seed for c in out] == [0, 1]
    assert took < 1.0  # the slow samples (200 tokens x 10 ms) were cut, not awaited
    end = log.of(CallFinished)[-1]
    assert end.stopped and [c.seed for c in end.completions] == [0, 1]
    assert w.stopped and w.stop_reason == "enough"
    # nothing is reported after the call ended
    assert log.kinds()[-1] == "CallFinished"
    with pytest.raises(RunStopped, match="stopped"):
        w.generate(REQ)


def test_stop_from_another_thread_cuts_a_serial_call() -> None:
    backend = ScriptedBackend("w " * 500, token_delay=0.01, concurrency=1)
    w = watch(backend, Log())
    threading.Timer(0.2, w.stop).start()
    t0 = time.perf_counter()
    out = w.generate(REQ, n=2)
    assert out == [] and time.perf_counter() - t0 < 2.0


def test_a_failing_sample_is_reported_with_the_samples_before_it() -> None:
    log = Log()
    w = watch(ScriptedBackend(concurrency=1, fail_seeds=[2]), log)
    with pytest.raises(RuntimeError, match="seed 2"):
        w.generate(REQ, n=4)
    failed = log.of(CallFailed)[0]
    assert [c.seed for c in failed.completions] == [0, 1]
    assert isinstance(failed.error, RuntimeError)


def test_interrupt_is_reported_and_raised() -> None:
    log = Log()

    def interrupt(e: Event) -> None:
        if isinstance(e, SampleFinished):
            raise KeyboardInterrupt

    w = watch(ScriptedBackend(concurrency=1), log)
    # a KeyboardInterrupt is not an error of a listener: it ends the call as Ctrl-C would
    w.listeners.insert(0, interrupt)
    with pytest.raises(KeyboardInterrupt):
        w.generate(REQ, n=3)
    assert isinstance(log.of(CallFailed)[0].error, KeyboardInterrupt)


def test_engine_start_is_reported_once() -> None:
    log = Log()
    w = watch(ScriptedBackend(start_delay=0.05), log)
    w.generate(REQ)
    w.generate(REQ.with_seed(5))
    engine = log.of(EngineEvent)
    assert [e.state for e in engine] == ["starting", "ready"]
    assert all(e.call == 0 for e in engine)


def test_agenerate_reports_the_same_events() -> None:
    log = Log()
    w = watch(ScriptedBackend("p q", token_delay=0.001, concurrency=3), log)
    out = asyncio.run(w.agenerate(REQ, n=3))
    assert [c.seed for c in out] == [0, 1, 2]
    assert len(log.of(TokenArrived)) == 6 and len(log.of(SampleFinished)) == 3
    assert log.kinds()[-1] == "CallFinished"


def test_agenerate_can_be_stopped() -> None:
    backend = ScriptedBackend(lambda r: "x" if r.seed == 0 else "y " * 300, token_delay=0.01,
                              concurrency=4)
    w = watch(backend)

    def stop_on_first(e: Event) -> None:
        if isinstance(e, SampleFinished):
            w.stop()

    w.listeners.append(stop_on_first)
    out = asyncio.run(w.agenerate(REQ, n=4))
    assert [c.seed for c in out] == [0]


def test_tokens_are_matched_to_their_call_only() -> None:
    log = Log()
    w = watch(ScriptedBackend(), log)
    emit_token(0, Token("outside"))  # no watched call: nothing happens
    w.generate(REQ)
    assert not log.of(TokenArrived)


def test_meter_totals() -> None:
    meter = Meter()
    w = watch(ScriptedBackend("a b c", token_delay=0.001, concurrency=2), meter)
    w.generate(REQ, n=4)
    w.generate(REQ.with_seed(10), n=2)
    s = meter.summary()
    assert (s["calls"], s["samples"], s["asked"], s["tokens"]) == (2, 6, 6, 18)
    assert s["state"] == "done" and s["seconds"] > 0


def test_meter_counts_tokens_of_cut_samples() -> None:
    meter = Meter()
    backend = ScriptedBackend(lambda r: "one" if r.seed == 0 else "z " * 300, token_delay=0.005,
                              concurrency=2)
    w = watch(backend, meter)

    def stop(e: Event) -> None:
        if isinstance(e, SampleFinished):
            w.stop()

    w.listeners.append(stop)
    w.generate(REQ, n=2)
    assert meter.samples == 1 and meter.tokens >= 1 and meter.state == "stopped"


def test_watch_forwards_the_backends_attributes() -> None:
    backend = ScriptedBackend(name="fake", model="m")
    w = watch(backend)
    assert (w.name, w.model, w.concurrency) == ("fake", "m", 4)
    assert "listener" in repr(w)
    with pytest.raises(TypeError, match="needs a backend"):
        watch("not a backend")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="callable"):
        watch(backend, 3)  # type: ignore[arg-type]


def test_instant_knows_replay(tmp_path) -> None:
    rec = RecordingBackend(tmp_path / "r.jsonl", None, "replay", model="m")
    assert instant(rec) and instant(watch(rec))
    assert not instant(ScriptedBackend())


def test_ambient_hook_watches_unwatched_live_calls() -> None:
    log = Log()
    before = set_ambient_watch(lambda b: watch(b, log))
    try:
        backend = ScriptedBackend(concurrency=2)
        backend.generate(REQ, n=2)
        assert len(log.of(CallStarted)) == 1 and len(log.of(SampleFinished)) == 2
        # an explicitly watched call is not watched twice
        watch(backend).generate(REQ)
        assert len(log.of(CallStarted)) == 1
    finally:
        set_ambient_watch(before)


def test_a_failing_ambient_hook_never_stops_a_call() -> None:
    def broken(b: object) -> None:
        raise RuntimeError("no display")

    before = set_ambient_watch(broken)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert len(ScriptedBackend().generate(REQ, n=2)) == 2
    finally:
        set_ambient_watch(before)


def test_a_watch_of_a_watch_hears_the_tokens_and_its_stop_cuts() -> None:
    outer_log, inner_log = Log(), Log()
    backend = ScriptedBackend(lambda r: "a b" if r.seed == 0 else "c " * 300, token_delay=0.005,
                              concurrency=2, start_delay=0.01)
    inner = watch(backend, inner_log)
    outer = watch(inner, outer_log)

    def stop(e: Event) -> None:
        if isinstance(e, SampleFinished):
            outer.stop()

    outer.listeners.append(stop)
    t0 = time.perf_counter()
    out = outer.generate(REQ, n=2)
    assert [c.seed for c in out] == [0] and time.perf_counter() - t0 < 1.0
    for log in (outer_log, inner_log):
        assert [e.state for e in log.of(EngineEvent)] == ["starting", "ready"]
        assert log.of(TokenArrived)
