"""Self-refine's ways to keep a revision (plain, or the checker's best of several), what each
round costs, and the per-round analysis, against the scripted fake model."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

from itc_lab import datasets
from itc_lab.analysis import round_table, score_changes, scores_by_round
from itc_lab.datasets.writing import score_text
from itc_lab.techniques.self_refine import MODEL_FEEDBACK_PROMPT, self_refine
from itc_lab.types import Request

from .fakes import ScriptedBackend

TASK = datasets.load("constrained-writing", n=1, seed=0)[0]
W1, W2 = TASK.meta["required"]
# texts whose exact scores on TASK are known: 1/4, 2/4, 3/4 and every rule met
QUARTER, HALF, THREE, ALL = "", "zzz", W1, f"{W1} {W2}"


def test_the_scripted_texts_score_as_named():
    assert [score_text(t, TASK.meta)[0] for t in (QUARTER, HALF, THREE, ALL)] == [
        0.25, 0.5, 0.75, 1.0]


def scripted(by_seed: dict[int, str], feedback: str = "Use the words.") -> ScriptedBackend:
    """Drafts and revisions by seed (missing seeds give QUARTER); the model's feedback is
    ``feedback``."""
    def reply(request: Request) -> str:
        if request.chat()[-1].content.endswith(MODEL_FEEDBACK_PROMPT[-30:]):
            return feedback
        return by_seed.get(request.seed, QUARTER)
    return ScriptedBackend(reply, completion_tokens="words", prompt_tokens=0, latency=0.0)


# first draft (seed 0) scores 1/2; round 1 (seeds 1-4) holds one better revision at index 2;
# round 2 (seeds 5-8) only worse ones; round 3 (seeds 9-12) one that meets every rule
SCRIPT = {0: HALF, 1: QUARTER, 2: HALF, 3: THREE, 4: QUARTER, 12: ALL}


def test_keep_best_keeps_the_best_revision_and_never_falls():
    run = self_refine(TASK, scripted(SCRIPT), rounds=3, critic="checker", revisions=4,
                      keep="best")
    assert run.scores == (0.5, 0.75, 0.75, 1.0)
    assert run.drafts == (HALF, THREE, THREE, ALL)  # round 2's revisions were all worse
    assert run.revision_scores == ((0.25, 0.5, 0.75, 0.25), (0.25,) * 4, (0.25,) * 3 + (1.0,))
    assert run.stopped == "met" and run.correct and run.answer == ALL
    assert len(run.feedback) == 3 and "is missing" in run.feedback[1]


def test_the_plain_loop_takes_every_revision_even_a_worse_one():
    # revisions=1: round r uses seed r, so the plain loop walks 1/2 -> 1/4 -> 1/2 -> 3/4
    run = self_refine(TASK, scripted(SCRIPT), rounds=3, critic="checker")
    assert run.scores == (0.5, 0.25, 0.5, 0.75)
    assert score_changes([run]) == {"rose": 1, "fell": 0, "same": 0, "tasks": 1}
    fallen = self_refine(TASK, scripted({0: HALF}), rounds=1, critic="checker")
    assert fallen.scores == (0.5, 0.25)
    kept = self_refine(TASK, scripted({0: HALF}), rounds=1, critic="checker", keep="best")
    assert kept.scores == (0.5, 0.5) and kept.drafts == (HALF, HALF)


def test_ties_keep_the_current_draft_and_the_earliest_revision():
    run = self_refine(TASK, scripted({0: HALF, 1: "yyy", 2: THREE, 3: "a " + W1}), rounds=1,
                      critic="checker", revisions=3, keep="best")
    assert run.drafts == (HALF, THREE)  # "yyy" ties the draft: not taken; two 3/4: the first
    same = self_refine(TASK, scripted({0: HALF, 1: "yyy"}), rounds=1, critic="checker",
                       revisions=1, keep="best")
    assert same.drafts == (HALF, HALF)


@pytest.mark.parametrize("case", range(40))
def test_the_kept_score_is_the_running_best_on_random_scripts(case):
    rng = random.Random(case)
    texts = (QUARTER, HALF, THREE, ALL, "the " + W2, "e e e e e e e e e e e e e e")
    script = {s: rng.choice(texts[:-3] if rng.random() < 0.8 else texts) for s in range(40)}
    k, rounds = rng.randint(1, 5), rng.randint(0, 4)
    critic = rng.choice(("checker", "model", "none"))
    backend = scripted(script)
    run = self_refine(TASK, backend, rounds=rounds, critic=critic, revisions=k, keep="best")
    assert all(b >= a for a, b in zip(run.scores, run.scores[1:], strict=False))
    assert len(run.revision_scores) == len(run.scores) - 1
    for before, after, tried in zip(run.scores, run.scores[1:], run.revision_scores,
                                    strict=False):
        assert after == max(before, *tried)
    assert run.scores == tuple(score_text(d, TASK.meta)[0] for d in run.drafts)
    # no completed sample lost: every answer the model gave is in samples, in order
    assert [s.completion.text for s in run.samples] == [backend._text(r, 0)
                                                         for r in backend.requests]
    assert sum(run.tokens_by_round) == run.tokens == sum(
        len(backend._text(r, 0).split()) for r in backend.requests)
    assert sum(run.calls_by_round) == len(run.samples) == len(backend.requests)


def test_tokens_and_calls_are_counted_per_round():
    backend = scripted(SCRIPT, feedback="Add the words now please.")
    run = self_refine(TASK, backend, rounds=3, critic="model", revisions=4, keep="best")
    assert run.calls_by_round == (1, 5, 5, 5)  # a draft; then feedback + 4 revisions a round
    feedback_words = 5  # "Add the words now please."
    assert run.tokens_by_round == (1, feedback_words + 2, feedback_words + 0,
                                   feedback_words + 2)
    assert run.usage.calls == 16 and run.tokens == sum(run.tokens_by_round)
    df = run.to_pandas()
    assert list(df["tokens"]) == list(run.tokens_by_round)
    assert list(df["calls"]) == [1, 5, 5, 5]
    assert list(df["best revision"])[1:] == [0.75, 0.25, 1.0]


def test_no_feedback_asks_for_fresh_drafts_of_the_task():
    backend = scripted(SCRIPT)
    run = self_refine(TASK, backend, rounds=2, critic="none", revisions=4, keep="best")
    prompts = {r.chat()[-1].content for r in backend.requests}
    assert prompts == {TASK.question + " Reply with the sentence only."}
    assert run.scores == (0.5, 0.75, 0.75) and run.calls_by_round == (1, 4, 4)
    assert [r.seed for r in backend.requests] == list(range(9))  # distinct seeds, in order


def test_a_critic_that_finds_nothing_stops_and_its_tokens_still_count():
    backend = scripted({0: HALF}, feedback="All constraints are met.")
    run = self_refine(TASK, backend, rounds=3, critic="model", revisions=4, keep="best")
    assert run.stopped == "no feedback" and run.drafts == (HALF,)
    assert run.calls_by_round == (1, 1) and sum(run.tokens_by_round) == run.tokens


def test_bad_settings_say_what_to_pass():
    backend = scripted(SCRIPT)
    with pytest.raises(ValueError, match="keep='best'"):
        self_refine(TASK, backend, revisions=4)
    with pytest.raises(ValueError, match="keep must be one of"):
        self_refine(TASK, backend, keep="first")
    with pytest.raises(ValueError, match="critic must be one of"):
        self_refine(TASK, backend, critic="teacher")
    with pytest.raises(ValueError, match="revisions must be a whole number"):
        self_refine(TASK, backend, revisions=0, keep="best")
    assert backend.requests == []  # refused before any call


@dataclass
class Run:
    scores: tuple[float, ...]
    tokens_by_round: tuple[int, ...]
    calls_by_round: tuple[int, ...]


def test_round_table_means_intervals_and_cumulative_cost():
    runs = [Run((0.25, 0.5, 1.0), (10, 20, 30), (1, 4, 4)),  # met in round 2
            Run((0.5, 0.5), (12, 40), (1, 4)),               # stopped after round 1
            Run((0.0, 0.25, 0.5), (8, 20, 20), (1, 4, 4))]
    rows = round_table({"best of 4": runs}, 2)
    assert [r["round"] for r in rows] == [0, 1, 2]
    assert [r["rules met"] for r in rows] == pytest.approx([0.25, 1.25 / 3, 2 / 3])
    assert [r["all met"] for r in rows] == [0, 0, 1] and rows[0]["tasks"] == 3
    assert [r["tokens"] for r in rows] == pytest.approx([10, 110 / 3, 160 / 3])
    assert [r["calls"] for r in rows] == pytest.approx([1, 5, 23 / 3])
    for r in rows:
        assert 0 <= r["low"] <= r["rules met"] <= r["high"] <= 1
        assert r["gain low"] <= r["gain"] <= r["gain high"]
    assert [r["gain"] for r in rows] == pytest.approx([0, 0.5 / 3, 1.25 / 3])
    assert rows[0]["gain low"] == rows[0]["gain high"] == 0  # round 0 is the first draft
    assert rows[2]["gain low"] >= 0  # no task below its first draft: no negative resample
    fell = round_table({"plain": [Run((0.5, 0.25), (1, 1), (1, 1)),
                                  Run((0.25, 0.5), (1, 1), (1, 1))]}, 1)
    assert fell[1]["gain"] == 0 and fell[1]["gain low"] < 0 < fell[1]["gain high"]
    assert scores_by_round(runs, 2) == pytest.approx([r["rules met"] for r in rows])
    assert score_changes(runs) == {"rose": 2, "fell": 0, "same": 1, "tasks": 3}
    with pytest.raises(ValueError, match="at least one setting"):
        round_table({}, 2)
    with pytest.raises(ValueError, match="at least one run"):
        round_table({"empty": []}, 2)


def test_the_round_table_draws_with_its_own_y_field():
    from itc_lab.charts import accuracy_chart

    runs = [Run((0.25, 0.5), (10, 20), (1, 4)), Run((0.5, 0.75), (12, 40), (1, 4))]
    rows = round_table({"best of 4": runs, "plain": runs[:1]}, 1)
    spec = accuracy_chart(rows, x="round", y="rules met",
                          y_title="fraction of rules met").to_dict()
    line = spec["layer"][1]["encoding"]
    assert line["y"]["field"] == "rules met" and line["y"]["title"] == "fraction of rules met"
    assert line["color"]["field"] == "method"  # one line per setting
    with pytest.raises(ValueError, match="accuracy"):
        accuracy_chart(rows, x="round")  # the default y field is absent from these rows


def test_on_round_reports_the_kept_draft_of_each_round():
    seen = []
    run = self_refine(TASK, scripted(SCRIPT), rounds=3, critic="checker", revisions=4,
                      keep="best", on_round=seen.append)
    assert [(r.index, r.draft, r.score) for r in seen[:-1]] == list(
        zip(range(4), run.drafts, run.scores, strict=True))
    assert seen[-1].stopped == "met" and seen[-1].draft == ALL


class _StoppedAt:
    """A backend whose ``stop_call``-th call comes back empty, as a stopped watch's call in
    flight does (``Watch.stop()`` keeps what finished, here nothing)."""

    def __init__(self, inner: ScriptedBackend, stop_call: int) -> None:
        self.inner, self.stop_call, self.calls = inner, stop_call, 0

    def generate(self, request: Request, n: int = 1, **kwargs: object) -> list:
        self.calls += 1
        if self.calls >= self.stop_call:
            return []
        return self.inner.generate(request, n)


@pytest.mark.parametrize(("critic", "stop_call"), [("model", 2), ("checker", 2), ("model", 3)])
def test_a_stop_during_a_call_ends_the_run_as_stopped_with_what_came_back(critic: str,
                                                                         stop_call: int) -> None:
    """A stop while the model's feedback (or a revision) was on its way: the run ends as
    "stopped" with its drafts so far, never an IndexError or "no feedback"."""
    backend = _StoppedAt(scripted({0: HALF}), stop_call)
    run = self_refine(TASK, backend, rounds=3, critic=critic)  # type: ignore[arg-type]
    assert run.stopped == "stopped"
    assert run.drafts[0] == HALF and len(run.drafts) == 1


def test_a_stop_before_the_first_draft_says_there_is_nothing_to_refine() -> None:
    from itc_lab.live import RunStopped

    with pytest.raises(RunStopped, match="nothing to refine"):
        self_refine(TASK, _StoppedAt(scripted({}), 1), rounds=2)  # type: ignore[arg-type]
