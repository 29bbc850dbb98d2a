"""A refinement that shows each round as it is produced: on_round, DiffView.add_round and the
live view."""

from __future__ import annotations

import re

import pytest

from itc_lab import datasets
from itc_lab.live import RunStopped, watch
from itc_lab.live.growing import LiveRefineView, LiveTreeView
from itc_lab.search import bfs
from itc_lab.techniques.self_refine import RefineRound, self_refine
from itc_lab.views.diff_view import DiffView

from .fakes import ScriptedBackend
from .test_search import Digits


def _task():
    return datasets.load("constrained-writing", n=1, seed=0)[0]


def _replies(replies):
    return ScriptedBackend(replies, by="call", logprob=None, completion_tokens="words")


def _drafts(task):
    w1, w2 = task.meta["required"]
    return ["zzz", f"{w1} zzz", f"{w1} {w2}."]


def test_each_draft_is_reported_as_it_is_scored_then_the_end():
    task = _task()
    seen: list[RefineRound] = []
    run = self_refine(task, _replies(_drafts(task)), rounds=3, critic="checker",
                      on_round=seen.append)
    assert [r.index for r in seen] == [0, 1, 2, 2]
    assert [r.draft for r in seen[:3]] == list(run.drafts)
    assert [r.score for r in seen[:3]] == list(run.scores)
    assert [r.feedback for r in seen[:3]] == [None, *run.feedback]
    assert [r.stopped for r in seen] == [None, None, None, "met"]
    assert run.stopped == "met"


def test_a_failing_on_round_is_warned_about_once_and_the_refinement_goes_on():
    task = _task()
    calls = []

    def broken(r):
        calls.append(r)
        raise ValueError("no view")

    with pytest.warns(RuntimeWarning, match="on_round failed.*no view"):
        run = self_refine(task, _replies(_drafts(task)), rounds=3, critic="checker",
                          on_round=broken)
    assert len(calls) == 1
    assert run == self_refine(task, _replies(_drafts(task)), rounds=3, critic="checker")
    with pytest.raises(TypeError, match="on_round must be a function"):
        self_refine(task, _replies(["x"]), on_round=42)


def test_a_growing_diff_view_ends_as_the_static_one():
    task = _task()
    view = DiffView(title="live")
    counts = []
    run = self_refine(task, _replies(_drafts(task)), rounds=3, critic="checker",
                      on_round=lambda r: (view.add_round(r), counts.append(len(view.rounds))))
    assert counts == [0, 1, 2, 2]
    static = DiffView(run.drafts, run.feedback, run.scores, title="live")
    assert view.rounds == static.rounds
    assert not view.growing and view.stopped == "met"
    assert view.current == len(view.rounds) - 1
    assert "stopped: met" in view._static_html()
    assert static._static_html() in view._static_html()


def test_the_newest_round_is_shown_unless_the_reader_went_back():
    view = DiffView()
    view.add_round(RefineRound(0, "one", 0.25, None))
    assert view.growing and view.rounds == [] and view.first["draft"] == "one"
    assert "Draft 1" in view._static_html() and "refining" in view._static_html()
    view.add_round(RefineRound(1, "one two", 0.5, "add two"))
    view.add_round(RefineRound(2, "one two three", 0.75, "add three"))
    assert view.current == 1
    view.current = 0  # the reader goes back to round 1
    view.add_round(RefineRound(3, "one two three four", 1.0, "add four"))
    assert view.current == 0 and len(view.rounds) == 3
    assert view.rounds[-1]["score_before"] == 0.75 and view.rounds[-1]["feedback"] == "add four"
    with pytest.raises(ValueError, match="give the drafts in order"):
        view.add_round(RefineRound(9, "x", 0.0, None))


def test_model_text_in_a_growing_diff_view_stays_text():
    view = DiffView()
    view.add_round(RefineRound(0, "<script>alert(1)</script>", 0.0, None))
    assert "<script>" not in view._static_html()
    view.add_round(RefineRound(1, "<img src=x onerror=alert(2)>", 0.0, "<b>bold</b>"))
    html = view._static_html()
    assert not re.search(r"<(img|b|script)\b", html)
    assert "onerror" in html and "&lt;" in html


def test_the_stop_button_ends_the_refinement_with_the_drafts_so_far():
    task = _task()
    view = LiveRefineView(title="checker feedback")
    watched = view.watch(_replies(["zzz", "yyy", "xxx", "www"]))

    def on_round(r):
        view.add_round(r)
        if r.index == 1:
            view.stop()

    run = self_refine(task, watched, rounds=3, critic="checker", on_round=on_round)
    assert run.stopped == "stopped" and run.drafts == ("zzz", "yyy")
    assert len(view.rounds) == 1 and view.stopped == "stopped" and not view.growing
    assert view.meter["state"] == "stopped"
    html = view._static_html()
    assert "stopped" in html and "yyy" in html
    # a run stopped before its first draft has nothing to keep: it says so
    with pytest.raises(RunStopped):
        self_refine(task, watched, rounds=3, critic="checker")


def test_a_live_tree_view_counts_what_its_watched_calls_spend():
    view = LiveTreeView(title="digits")
    tree = bfs(Digits(), beam_width=2, on_progress=view.grow)
    assert not view.growing and view.payload["count"] == len(tree.nodes)
    assert "searching" not in view._static_html()
    assert view._static_html().startswith("<strong>digits</strong>")
    assert "bfs" in repr(view)


def test_a_failed_call_ends_a_live_refinement_view():
    task = _task()
    view = LiveRefineView()
    failing = ScriptedBackend(["zzz"], fail_seeds=[1])  # the revision (seed 1) fails
    with pytest.raises(RuntimeError, match="scripted failure"):
        self_refine(task, view.watch(failing), rounds=2, critic="checker",
                    on_round=view.add_round)
    assert not view.growing and view.stopped == "failed"
    assert view.first["draft"] == "zzz"
    assert watch  # the module's watch is the one the view uses
