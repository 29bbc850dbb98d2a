"""Judge, self-correction, self-refine and the constrained-writing scorer with scripted models."""

from __future__ import annotations

import math

import pytest

import itc_lab
from itc_lab import Alternative, Token, datasets
from itc_lab.datasets.writing import feedback_from_checks, score_text
from itc_lab.techniques.judge import llm_judge
from itc_lab.techniques.self_correction import self_correct
from itc_lab.techniques.self_refine import self_refine

from .fakes import ScriptedBackend


def Replies(replies: list[str], first_token: Token | None = None) -> ScriptedBackend:
    """Returns the next scripted reply for every request (the last one repeats)."""
    return ScriptedBackend(replies, by="call", name="replies", model="replies", logprob=None,
                           first_token=first_token, completion_tokens="words", prompt_tokens=0,
                           latency=0.0)


META = {"required": ["blue", "road"], "max_words": 8, "forbidden": "i"}


def test_score_text_checks_each_rule():
    score, checks = score_text("A blue road.", META)
    assert score == 1.0 and all(c.ok for c in checks)
    score, checks = score_text("The blue sky over the long winding road here.", META)
    assert score == pytest.approx(2 / 4)  # words present; too long; uses 'e'
    text = feedback_from_checks(checks)
    assert "at most 8 words" in text and "no letter 'i'" in text and "winding" in text
    assert score_text("", META)[0] == pytest.approx(1 / 4)  # only the forbidden letter holds


def test_self_refine_with_checker_feedback_stops_when_met():
    task = datasets.load("constrained-writing", n=1, seed=0)[0]
    w1, w2 = task.meta["required"]
    good = f"{w1} {w2}."
    backend = Replies(["zzz", good])
    run = self_refine(task, backend, rounds=3, critic="checker")
    assert run.drafts == ("zzz", good)
    assert run.scores[-1] == 1.0 and run.scores[0] < 1.0
    assert run.stopped == "met" and len(run.feedback) == 1
    assert run.correct and run.answer == good and len(run.samples) == 2
    assert "is missing" in run.feedback[0]
    with pytest.raises(ValueError, match="critic must be"):
        self_refine(task, backend, critic="teacher")


def test_self_refine_stops_when_the_model_critic_finds_nothing():
    task = datasets.load("constrained-writing", n=1, seed=0)[0]
    backend = Replies(["zzz", "All constraints are met."])
    run = self_refine(task, backend, rounds=3, critic="model")
    assert run.stopped == "no feedback" and run.drafts == ("zzz",)
    assert not run.correct and len(run.samples) == 2  # the draft and the critic's reply


def test_self_correction_records_every_round():
    problems = datasets.load("arith", n=4, seed=0, difficulty=1)
    p = problems[0]
    wrong = str(int(p.answer) + 1)
    backend = Replies([f"The answer is {wrong}.", f"Sorry. The answer is {p.answer}.",
                       f"The answer is {wrong}."])
    run = self_correct(p, backend, dataset=problems, rounds=2)
    assert run.correct_by_round == [False, True, False]
    assert not run.correct and run.answer == wrong and len(run.rounds) == 3
    last = backend.requests[-1].messages
    assert last[-1].content.startswith("Review your answer") and last[-2].role == "assistant"


def test_judge_score_is_yes_against_no():
    problems = datasets.load("arith", n=1, seed=0, difficulty=1)
    tok = Token("Yes", math.log(0.6), (Alternative("Yes", math.log(0.6)),
                                       Alternative(" no", math.log(0.2)),
                                       Alternative("Maybe", math.log(0.1))))
    p = problems[0]
    v = llm_judge(p, Replies(["Yes"], tok), solution="The answer is 3.")
    assert v.score == pytest.approx(0.75) and v.answer == "yes" and v.text == "Yes"
    assert v.correct == p.check("The answer is 3.")  # a "yes" is right only for a right answer
    right = llm_judge(p, Replies(["Yes"], tok), solution=f"The answer is {p.answer}.")
    assert right.correct
    assert llm_judge(p, Replies(["hmm"]), solution="x").score == 0.5


def test_exercises_of_lessons_04_and_05():
    before, after = [False, True, True, False], [True, True, False, False]
    assert itc_lab.check("04-kept-right", 0.5, before, after)  # 1 of the 2 right at first kept
    assert not itc_lab.check("04-kept-right", 1 / 4, before, after)
    assert "divides by all 4" in itc_lab.check("04-kept-right", 1 / 4, before, after).message
    assert itc_lab.check("05-constraints", "A blue road.", META)
    assert not itc_lab.check("05-constraints", "The blue road is wide.", META)
