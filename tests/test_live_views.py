"""Live views, background runs and the waiting note, through their synced traits (no browser)."""

from __future__ import annotations

import time

import pytest

from itc_lab import live
from itc_lab.analysis.voting import adaptive_consistency, early_stopping
from itc_lab.backends.recordings import RecordingBackend, RecordingStore
from itc_lab.datasets.base import Problem
from itc_lab.live import LiveTraceView, LiveVoteView, WaitingNote, start, watch
from itc_lab.techniques.self_consistency import self_consistency
from itc_lab.types import Request
from itc_lab.views.base import STATIC_CLASS
from tests.fakes import ScriptedBackend

PROBLEM = Problem(id="t-1", question="What is 2 + 3?", answer="5")


def answers(*values: str) -> ScriptedBackend:
    """A model answering ``The answer is <values[seed]>.``, one word piece at a time."""
    return ScriptedBackend([f"so The answer is {v}." for v in values], token_delay=0.0,
                           concurrency=1)


def test_vote_view_counts_in_arrival_order_and_marks_the_rules() -> None:
    script = ["5", "4", "5", "5", "5", "5", "5", "5", "5", "5"]
    view = LiveVoteView(PROBLEM)
    votes = self_consistency(PROBLEM, view.watch(answers(*script)), k=10)
    assert len(votes.samples) == 10
    assert view.votes[0] == {"answer": "5", "votes": 9, "correct": True}
    assert view.votes[1] == {"answer": "4", "votes": 1, "correct": False}
    # maj@k after each sample: sample 2 makes a 1-1 tie that the first-seen answer (5) wins
    assert [a["majority"] for a in view.arrivals] == ["5"] * 10
    assert all(a["majority_correct"] for a in view.arrivals)
    # the marks agree with the analysis functions on the same answers
    assert view.rules["esc"]["at"] == early_stopping(script, window=5)["stopped_at"] == 10
    assert view.rules["adaptive"]["at"] == adaptive_consistency(script)["stopped_at"] == 7
    assert view.meter["state"] == "done" and view.meter["samples"] == 10
    assert not view.stoppable


def test_vote_view_stops_the_run_when_asked() -> None:
    script = ["5"] * 16
    view = LiveVoteView(PROBLEM, stop_early="adaptive")
    votes = self_consistency(PROBLEM, view.watch(answers(*script)), k=16)
    assert len(votes.samples) == 4  # four agreeing samples reach p >= 0.95
    assert votes.answer == "5" and votes.correct
    assert view.meter["state"] == "stopped"
    assert "Adaptive-Consistency stopped at 4" in view.meter["reason"]
    esc = LiveVoteView(PROBLEM, stop_early="esc", window=3)
    out = self_consistency(PROBLEM, esc.watch(answers(*script)), k=16)
    assert len(out.samples) == 3


def test_vote_view_with_a_wrong_majority_and_unreadable_answers() -> None:
    backend = ScriptedBackend(["The answer is 4.", "no idea", "The answer is 4."],
                              concurrency=1)
    view = LiveVoteView(PROBLEM)
    self_consistency(PROBLEM, view.watch(backend), k=3)
    assert view.votes == [{"answer": "4", "votes": 2, "correct": False},
                          {"answer": None, "votes": 1, "correct": False}]
    html = view._repr_mimebundle_()[0]["text/html"]
    assert "wrong (the answer is 5)" in html and "(no answer)" in html


def test_vote_view_bad_arguments() -> None:
    with pytest.raises(ValueError, match="stop_early must be one of"):
        LiveVoteView(PROBLEM, stop_early="soon")
    with pytest.raises(ValueError, match="window"):
        LiveVoteView(PROBLEM, window=0)
    with pytest.raises(ValueError, match="threshold"):
        LiveVoteView(PROBLEM, threshold=1.5)


def test_static_snapshot_of_the_vote_escapes_model_text() -> None:
    backend = ScriptedBackend("The answer is <b>x</b>.", concurrency=1)
    view = LiveVoteView(Problem(id="h", question="<script>q</script>", answer="x", kind="text"))
    self_consistency(view.problem, view.watch(backend), k=2)  # type: ignore[arg-type]
    data, meta = view._repr_mimebundle_()
    html = data["text/html"]
    assert STATIC_CLASS in html and "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html
    assert meta["itc_lab"] == {"figure": "LiveVoteView"}


def test_trace_view_streams_tokens_then_keeps_the_final_ones() -> None:
    view = LiveTraceView()
    seen: list[list[str]] = []
    w = view.watch(ScriptedBackend("one two three four", token_delay=0.001, logprob=-0.1))
    w.listeners.append(lambda e: seen.append(view.completions_text()))
    w.generate(Request(prompt="go", top_logprobs=1))
    # partial texts while the sample was being written
    assert ["one"] in seen and ["one two"] in seen
    assert view.samples[0]["done"] and view.completions_text() == ["one two three four"]
    assert view.samples[0]["tokens"][0]["prob"] == pytest.approx(0.905, abs=1e-3)
    html = view._repr_mimebundle_()[0]["text/html"]
    assert "itc-static-tok" in html and "high" in html


def test_trace_view_shows_at_most_max_samples() -> None:
    view = LiveTraceView(max_samples=2)
    view.watch(ScriptedBackend(concurrency=1)).generate(Request(prompt="go"), n=5)
    assert [s["seed"] for s in view.samples] == [0, 1]
    with pytest.raises(ValueError, match="max_samples"):
        LiveTraceView(max_samples=0)


def test_start_runs_in_the_background_and_stop_keeps_the_samples() -> None:
    slow = ScriptedBackend(lambda r: "The answer is 5." if r.seed < 3 else "x " * 400,
                           token_delay=0.005, concurrency=1)
    view = LiveVoteView(PROBLEM)
    t0 = time.perf_counter()
    run = start(self_consistency, PROBLEM, view.watch(slow), k=8)
    assert run.in_background and time.perf_counter() - t0 < 0.5
    deadline = time.time() + 10
    while view.summary["samples"] < 3 and time.time() < deadline:
        time.sleep(0.02)
    view.stop()  # what the Stop button does
    votes = run.result(timeout=10)
    assert len(votes.samples) == 3 and votes.answer == "5"
    assert view.meter["state"] == "stopped" and view.meter["reason"] == "Stop button"
    assert "stopped" in repr(run)


def test_the_stop_button_message_stops_the_run() -> None:
    slow = ScriptedBackend("y " * 400, token_delay=0.005, concurrency=1)
    view = LiveTraceView()
    run = start(view.watch(slow).generate, Request(prompt="go"), 2)
    time.sleep(0.1)
    view._on_message(view, {"stop": True}, [])
    assert run.result(timeout=10) == []
    assert view.meter["state"] == "stopped"


def test_start_in_replay_runs_in_the_cell(tmp_path) -> None:
    store = RecordingStore(tmp_path / "r.jsonl")
    recorder = RecordingBackend(store, ScriptedBackend("The answer is 5.", latency=2.5), "record")
    self_consistency(PROBLEM, recorder, k=4)
    replay = RecordingBackend(store, None, "replay", model="fake-model")
    view = LiveVoteView(PROBLEM)
    run = start(self_consistency, PROBLEM, view.watch(replay), k=4)
    assert not run.in_background and run.done
    assert run.result().answer == "5"
    assert view.meter["cached"] == 4 and view.meter["state"] == "done"
    html = view._repr_mimebundle_()[0]["text/html"]
    assert "4 from the recording" in html
    # the time shown is the recording's (2.5 s for the call), not the replay's own
    assert "2.5 s when recorded" in html


def test_start_needs_a_watched_backend() -> None:
    with pytest.raises(ValueError, match="no watched backend"):
        start(self_consistency, PROBLEM, ScriptedBackend(), k=2)
    with pytest.raises(TypeError, match="function to run first"):
        start(3)  # type: ignore[arg-type]


def test_result_raises_the_runs_error() -> None:
    view = LiveVoteView(PROBLEM)
    run = start(self_consistency, PROBLEM,
                view.watch(ScriptedBackend(fail_seeds=[0], token_delay=0.0)), k=2)
    with pytest.raises(RuntimeError, match="scripted failure"):
        run.result(timeout=10)
    assert view.meter["state"] == "failed"


def test_waiting_note_speaks_after_its_delay_and_clears() -> None:
    note = WaitingNote(delay=0.05, interval=0.05)
    backend = ScriptedBackend("a b c d e f g h", token_delay=0.03, start_delay=0.2)
    watch(backend, note).generate(Request(prompt="go"), n=2)
    assert note.lines[0].startswith("Starting the model engine (first call only)")
    assert any(line.startswith("Sampling: ") and "tokens" in line for line in note.lines)
    quiet = WaitingNote(delay=5.0)
    watch(ScriptedBackend(), quiet).generate(Request(prompt="go"))
    assert quiet.lines == []  # a quick call says nothing


def test_feedback_switch() -> None:
    from itc_lab.backends import base

    live.feedback(True)
    try:
        assert base._AMBIENT[0] is not None
    finally:
        live.feedback(False)
    assert base._AMBIENT[0] is None


def test_a_stopped_run_replays_from_its_recording(tmp_path) -> None:
    """Recorded while stop_early cut it short, the lesson replays to the same result: the
    recording lacks the samples never drawn, and the replay stops before it needs them."""
    store = RecordingStore(tmp_path / "r.jsonl")
    model = ScriptedBackend("so The answer is 5.", token_delay=0.0, concurrency=1)
    live_view = LiveVoteView(PROBLEM, stop_early="adaptive")
    recorded = self_consistency(PROBLEM, live_view.watch(RecordingBackend(store, model, "record")),
                                k=16)
    assert len(recorded.samples) == 4 and len(store) == 4
    replay = RecordingBackend(store, None, "replay", model="fake-model")
    view = LiveVoteView(PROBLEM, stop_early="adaptive")
    again = start(self_consistency, PROBLEM, view.watch(replay), k=16).result()
    assert [s.completion.seed for s in again.samples] == [0, 1, 2, 3]
    assert again.answer == recorded.answer and view.meter["state"] == "stopped"
    # without the stopping rule, the missing samples are an error that names them
    with pytest.raises(Exception, match="No recording"):
        self_consistency(PROBLEM, LiveVoteView(PROBLEM).watch(replay), k=16)
