"""Techniques and exercises with a scripted model: known outputs, known outcomes."""

from __future__ import annotations

import json

import pytest

import itc_lab
from itc_lab import Completion, Token, datasets
from itc_lab.techniques import (
    TECHNIQUES,
    TechniqueResult,
    evaluate,
    few_shot_cot,
    register_technique,
    self_consistency,
)

from .fakes import ScriptedBackend


def Scripted(script: list[str], logprobs: list[float] | None = None) -> ScriptedBackend:
    """Sample i (seed base+i) answers script[i % len(script)], with logprobs[i] if given."""
    return ScriptedBackend(script, name="scripted", model="scripted", concurrency=1,
                           logprob=logprobs or -0.1, completion_tokens="words", prompt_tokens=0,
                           latency=0.0)


@pytest.fixture
def problems():
    return datasets.load("arith", n=6, seed=0, difficulty=1)


def test_few_shot_never_shows_the_problem_itself(problems):
    target = problems[2]
    backend = Scripted([f"So it is {target.answer}. The answer is {target.answer}."])
    result = few_shot_cot(target, backend, dataset=problems, shots=3)
    assert result.correct and result.answer == target.answer
    sent = backend.requests[0].messages
    users = [m.content for m in sent if m.role == "user"]
    assert users[-1] == target.question
    assert target.question not in users[:-1]
    assert len(users) == 4  # 3 exemplars + the question
    assert all(m.content.endswith(".") for m in sent if m.role == "assistant")


def test_self_consistency_majority_and_weighted_vote(problems):
    p = problems[0]
    wrong = str(int(p.answer) + 1)
    script = [f"The answer is {p.answer}."] * 3 + [f"The answer is {wrong}."] * 4 + ["no idea"]
    backend = Scripted(script, logprobs=[-0.01] * 3 + [-3.0] * 4 + [-0.5])
    plain = self_consistency(p, backend, k=8, dataset=problems)
    assert plain.answer == wrong and not plain.correct
    assert plain.votes == {p.answer: 3, wrong: 4}
    assert plain.answers.count(None) == 1  # unreadable answers are counted, never a crash
    assert [r.seed for r in backend.requests] == list(range(8))
    weighted = self_consistency(p, backend, k=8, dataset=problems, weighted=True)
    assert weighted.answer == p.answer and weighted.correct


def test_results_round_trip_through_json(problems):
    backend = Scripted([f"The answer is {problems[1].answer}."])
    r = self_consistency(problems[1], backend, k=3, dataset=problems)
    again = TechniqueResult.from_dict(json.loads(json.dumps(r.to_dict())))
    assert again == r
    assert again.tokens == r.tokens == 3 * 4


def test_evaluate_runs_every_problem_and_names_unknown_techniques(problems):
    backend = Scripted(["The answer is 1."])
    results = evaluate("direct", problems, backend, dataset=problems, progress=False)
    assert [r.problem.id for r in results] == [p.id for p in problems]
    assert all(r.technique == "direct" for r in results)
    with pytest.raises(ValueError, match="choose one of direct"):
        evaluate("telepathy", problems, backend)


def test_self_consistency_rejects_k_zero(problems):
    with pytest.raises(ValueError, match="k must be at least 1"):
        self_consistency(problems[0], Scripted(["x"]), k=0)


def test_register_technique_extends_the_table(problems):
    def always_one(problem, backend, **_):
        return few_shot_cot(problem, backend, dataset=problems)

    register_technique("always_one", always_one)
    try:
        out = evaluate("always_one", problems[:2], Scripted(["The answer is 1."]),
                       progress=False)
        assert len(out) == 2
        with pytest.raises(ValueError, match="exists already"):
            register_technique("always_one", always_one)
    finally:
        TECHNIQUES.pop("always_one")


def test_check_gives_feedback_and_never_raises_for_wrong_answers(problems):
    c = Completion(text="a b", model="m", backend="b", seed=0,
                   tokens=(Token("a", -0.1), Token(" b", -2.0)))
    assert not itc_lab.check("00-least-likely-token", None, c)
    assert "Not answered yet" in repr(itc_lab.check("00-least-likely-token", None, c))
    assert itc_lab.check("00-least-likely-token", " b", c)
    assert not itc_lab.check("00-least-likely-token", "a", c)
    table = [{"technique": "x", "correct": 3, "tokens": 1000},
             {"technique": "y", "correct": 2, "tokens": 100}]
    assert itc_lab.check("01-accuracy-per-token", "y", table)
    assert not itc_lab.check("01-accuracy-per-token", "x", table)
    assert itc_lab.check("02-pass-at-k", 1 - 495 / 1820, 16, 4, 4)  # 1 - C(12,4)/C(16,4)
    assert not itc_lab.check("02-pass-at-k", 0.5, 16, 4, 4)
    assert not itc_lab.check("02-pass-at-k", "lots", 16, 4, 4)
    with pytest.raises(ValueError, match="known:"):
        itc_lab.check("99-nope", 1)


def test_every_technique_is_registered_and_runs_through_evaluate():
    """All ten techniques share one signature, so evaluate() runs each by name."""
    from itc_lab.techniques import TECHNIQUES, TechniqueResult, evaluate

    assert sorted(TECHNIQUES) == sorted([
        "direct", "zero_shot_cot", "few_shot_cot", "self_consistency", "llm_judge",
        "self_correct", "self_refine", "tree_of_thoughts", "game24_cot", "game24_search"])
    arith = datasets.load("arith", n=5, seed=0, difficulty=1)
    puzzles = datasets.load("game24", n=2, seed=0, difficulty=1)
    writing = datasets.load("constrained-writing", n=2, seed=0)
    config = {
        "direct": (arith, {"dataset": arith, "shots": 2}), "zero_shot_cot": (arith, {}),
        "few_shot_cot": (arith, {"dataset": arith, "shots": 2}),
        "self_consistency": (arith, {"dataset": arith, "k": 3, "temperature": 0.8,
                                      "shots": 2}),
        "llm_judge": (arith, {"solution": "The answer is 4."}),
        "self_correct": (arith, {"dataset": arith, "rounds": 1, "shots": 2}),
        "self_refine": (writing, {"rounds": 1, "critic": "checker"}),
        "tree_of_thoughts": (puzzles, {"budget_calls": 4, "max_depth": 2}),
        "game24_cot": (puzzles, {"k": 2}),
        "game24_search": (puzzles, {"prior": "model", "beam_width": 1, "samples": 2}),
    }
    assert set(config) == set(TECHNIQUES)
    for name, (problems, kwargs) in config.items():
        backend = ScriptedBackend("blue river. The answer is 4.", concurrency=2, prompt_tokens=3)
        results = evaluate(name, problems, backend, progress=False, **kwargs)
        assert len(results) == len(problems), name
        for problem, result in zip(problems, results, strict=True):
            assert isinstance(result, TechniqueResult), name
            assert result.technique == name and result.problem.id == problem.id
            assert isinstance(result.correct, bool) and result.tokens >= 0
        assert backend.calls, f"{name} never asked the model"
