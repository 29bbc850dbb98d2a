"""Exercises as files: loading, checking, building student and solution notebooks, grading."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import random
import re
import subprocess
import sys
from fractions import Fraction
from itertools import combinations
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import nbformat
import pytest

import itc_lab
from itc_lab.analysis import maj_at_k
from itc_lab.analysis.scaling import fit_log_linear
from itc_lab.connect import lessons_dir
from itc_lab.datasets import evaluate
from itc_lab.exercises import (
    ExercisePackError,
    catalog,
    check,
    get_exercise,
    grade_answer,
    hint,
    load_pack,
    mistake_examples,
    register_pack,
    require,
)
from itc_lab.exercises import packs as exercises
from itc_lab.exercises.build import (
    add_exercises_command,
    build,
    lesson_files,
    render_code,
    render_prompt,
    run_exercises_command,
    sync,
)
from itc_lab.types import Alternative, Completion, Token

REPO = Path(__file__).resolve().parents[1]
LESSONS = REPO / "lessons"
BUILTIN_IDS = {"00-least-likely-token", "01-accuracy-per-token", "02-pass-at-k", "02-maj-at-k",
               "03-game24", "04-kept-right", "05-constraints", "06-extrapolate-a-scaling-line",
               "07-cache-hit-rate"}


@pytest.fixture(autouse=True)
def only_builtin_packs(monkeypatch):
    """Every test starts from the built-in pack alone, and leaves no pack registered."""
    monkeypatch.delenv(exercises.PACKS_ENV, raising=False)
    monkeypatch.delenv(exercises.GRADE_REPORT_ENV, raising=False)
    monkeypatch.setenv("ITC_LAB_LESSONS", str(LESSONS))
    saved = list(exercises._REGISTERED)
    exercises._REGISTERED.clear()
    yield
    exercises._REGISTERED[:] = saved
    exercises._entry_point_dirs.cache_clear()


def write_exercise(folder: Path, name: str, **fields: Any) -> Path:
    """An exercise file with sensible defaults; ``fields`` override them (None removes one)."""
    data: dict[str, Any] = {
        "id": name, "lesson": "00_meet_your_model", "title": "Count the tokens", "points": 4,
        "prompt": "Set `my_answer` to the number of tokens in the greedy answer.\n\nCount them.",
        "context": ["completion"], "call": "greedy", "starter": "my_answer = None",
        "solution": "my_answer = len(greedy.tokens)", "hints": ["len() counts.", "Of tokens."],
    }
    data.update(fields)
    checks = data.pop("checks", [
        {"expr": "answer == len(completion.tokens)", "message": "count greedy.tokens, not {answer}",
         "success": "{answer} tokens."},
        {"expr": "is_whole(answer)", "message": "a whole number, not {answer!r}", "hidden": True},
    ])
    mistakes = data.pop("mistakes", [])
    lines = [f"{k} = {json.dumps(v)}" for k, v in data.items() if v is not None]
    for table, rows in (("checks", checks), ("mistakes", mistakes)):
        for row in rows:
            lines.append(f"\n[[{table}]]")
            lines += [f"{k} = {json.dumps(v)}" for k, v in row.items()]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_exercise_cell(ex: exercises.Exercise, version: str, lesson_state: dict[str, Any]
                      ) -> tuple[Any, tuple[Any, ...]]:
    """Run an exercise's cell code (without the check) in a hand-made lesson state; return
    my_answer and the context values the check call passes."""
    ns = {"math": math, **lesson_state}
    body = ex.starter if version == "student" else ex.solution
    with contextlib.redirect_stdout(io.StringIO()):
        exec(f"{ex.setup}\n{body}", ns)
    context = eval(f"({ex.call},)", ns)
    return ns["my_answer"], context


# ---------------------------------------------------------------------------------------------
# Built-in exercises against oracles
# ---------------------------------------------------------------------------------------------


def test_every_builtin_is_a_file_of_the_builtin_pack():
    found = catalog()
    assert set(found) == BUILTIN_IDS
    for ex in found.values():
        assert ex.path is not None and ex.path.parent == exercises.builtin_pack_dir()
        assert ex.path.suffix == ".toml" and ex.points >= 1 and ex.hints
        assert ex.lesson in lesson_files(LESSONS)


def _starter_is_unanswered(ex_id: str, state: dict[str, Any]) -> None:
    ex = get_exercise(ex_id)
    answer, context = run_exercise_cell(ex, "student", state)
    assert answer is None
    fb = check(ex_id, answer, *context)
    assert not fb and fb.message == f"Not answered yet: {ex.summary}"
    verdict = grade_answer(ex_id, answer, *context)
    assert not verdict.passed_all and verdict.points == 0


def _solution_passes(ex_id: str, state: dict[str, Any]) -> tuple[Any, tuple[Any, ...]]:
    ex = get_exercise(ex_id)
    answer, context = run_exercise_cell(ex, "solution", state)
    assert check(ex_id, answer, *context), check(ex_id, answer, *context)
    verdict = grade_answer(ex_id, answer, *context)
    assert verdict.passed_all and verdict.points == ex.points == verdict.possible
    assert verdict.message.startswith("Correct: ")
    return answer, context


def _token(text: str, p: float, *alternatives: tuple[str, float]) -> Token:
    top = tuple(Alternative(t, math.log(q)) for t, q in ((text, p), *alternatives))
    return Token(text, math.log(p), top)


def test_00_least_likely_candidate():
    greedy = Completion(text="The answer is 5", model="m", backend="b", seed=0, tokens=(
        _token("The", 0.9, ("A", 0.05)),
        _token(" answer", 0.4, (" sum", 0.3), (" total", 0.1), (" end", 0.05), (" rest", 0.02)),
        _token(" is", 0.6, (" was", 0.3)),
        _token(" 5", 0.5, (" 6", 0.01)),  # the least likely candidate of the whole answer
    ))
    state = {"greedy": greedy}
    _starter_is_unanswered("00-least-likely-token", state)
    answer, context = _solution_passes("00-least-likely-token", state)
    assert answer == " rest"  # the least sure position is " answer"; its last candidate
    assert "p=0.020" in check("00-least-likely-token", answer, *context).message
    for wrong, says in [(" answer", "the right position. Now look at the other candidates"),
                        (" end", "printed above"), (" sum", "runner-up"),
                        (" 6", "whole answer"), ("rest", "leading space"),
                        (" is", "is not it: find the least sure position first")]:
        fb = check("00-least-likely-token", wrong, greedy)
        assert not fb and says in fb.message, (wrong, fb.message)
    assert "string" in check("00-least-likely-token", greedy.tokens[1], greedy).message
    bare = Completion(text="x", model="m", backend="b", seed=0, tokens=(Token("x"),))
    assert "no logprobs" in check("00-least-likely-token", "x", bare).message
    # with no candidates listed, the least likely candidate is the least likely token
    plain = Completion(text="a b", model="m", backend="b", seed=0,
                       tokens=(Token("a", -0.1), Token(" b", -2.0)))
    assert check("00-least-likely-token", " b", plain)
    assert not check("00-least-likely-token", "a", plain)


def test_01_accuracy_per_token():
    table = [{"technique": "direct", "correct": 3, "tokens": 100},
             {"technique": "zero-shot CoT", "correct": 5, "tokens": 1000},
             {"technique": "few-shot CoT", "correct": 8, "tokens": 200}]
    # per 1,000 tokens: 30, 5 and 40
    state = {"table": table}
    _starter_is_unanswered("01-accuracy-per-token", state)
    answer, _ = _solution_passes("01-accuracy-per-token", state)
    assert answer == "few-shot CoT"
    assert "40.0 correct per 1,000 tokens" in check("01-accuracy-per-token", answer, table).message
    costly = [*table[:2], dict(table[2], tokens=400)]  # few-shot: most correct, 20 per 1,000
    assert "most correct answers in all" in check("01-accuracy-per-token", "few-shot CoT",
                                                  costly).message
    assert "least token-efficient" in check("01-accuracy-per-token", "zero-shot CoT",
                                            table).message
    assert "not the most token-efficient" in check("01-accuracy-per-token", "direct",
                                                   table).message
    assert "not a technique" in check("01-accuracy-per-token", "best", table).message
    assert "as a string" in check("01-accuracy-per-token", 3, table).message


def test_02_pass_at_k_against_counting_every_draw():
    pattern = [True, False, False, True, False, False, False, True, False, False, False, False,
               True, False, True, False]
    shown = SimpleNamespace(samples=[SimpleNamespace(correct=b) for b in pattern])
    state = {"shown": shown, "K": 16}
    # oracle: the share of all 4-sample draws that hold at least one correct sample
    draws = list(combinations(pattern, 4))
    oracle = Fraction(sum(any(d) for d in draws), len(draws))
    _starter_is_unanswered("02-pass-at-k", state)
    answer, context = _solution_passes("02-pass-at-k", state)
    assert context == (16, 5, 4)
    assert answer == pytest.approx(float(oracle), abs=1e-12)
    assert answer == pytest.approx(1 - math.comb(11, 4) / math.comb(16, 4), abs=1e-12)
    assert check("02-pass-at-k", round(float(oracle), 8), *context)  # 6 decimals are enough
    rounded = round(float(oracle), 4)  # one rule: the same verdict in the notebook and grading
    shown, graded = check("02-pass-at-k", rounded, *context), grade_answer("02-pass-at-k", rounded,
                                                                           *context)
    assert not shown and not graded.passed_all and graded.points == 0
    assert "rounded" in shown.message and shown.message == graded.message
    n, c, k = context
    for wrong, says in [(math.comb(n - c, k) / math.comb(n, k), "one minus it"),
                        (1 - (1 - c / n) ** k, "with replacement"),
                        ((1 - c / n) ** k, "all 4 draws are wrong, and drawn with replacement"),
                        (c / n, "pass@1"), (min(1, k * c / n), "counts twice")]:
        fb = check("02-pass-at-k", wrong, *context)
        assert not fb and says in fb.message, (wrong, fb.message)
    assert "math.comb" in check("02-pass-at-k", 0.5, *context).message
    assert "number from 0 to 1" in check("02-pass-at-k", "lots", *context).message
    assert "from 0 to 1" in check("02-pass-at-k", 1.5, *context).message
    assert not check("02-pass-at-k", True, *context)  # a bool is not a number here


@pytest.mark.parametrize(("answers", "oracle"), [
    # the 5 ways to leave one answer out: 3 wins twice (0), 7 wins twice (1), a 7-3 tie once (1/2)
    (["7", "7", "3", "3", None], Fraction(1, 2)),
    (["7"] * 6, Fraction(1)),
    (["3", "3", None, "4", "5", None], Fraction(0)),
    # one 4-set of a 4-pool: 7 and 3 tie with one vote each, None never wins
    (["7", "3", None, None], Fraction(1, 2)),
])
def test_02_maj_at_k_against_hand_counts(answers, oracle):
    shown = SimpleNamespace(answers=answers, problem=SimpleNamespace(answer="7"))
    state = {"shown": shown}
    _starter_is_unanswered("02-maj-at-k", state)
    answer, context = _solution_passes("02-maj-at-k", state)
    assert answer == pytest.approx(float(oracle), abs=1e-12)
    if 0 < oracle < 1:
        far = float(oracle) + 0.2 if oracle < 0.8 else float(oracle) - 0.2
        assert "sets of 4 answers" in check("02-maj-at-k", far, *context).message
        near = float(oracle) + 5e-4  # the same verdict in the notebook and when grading
        assert not check("02-maj-at-k", near, *context)
        assert not grade_answer("02-maj-at-k", near, *context).passed_all
        assert "do not round" in check("02-maj-at-k", near, *context).message


def test_02_maj_at_k_names_the_misconception():
    # sets of 4 of these 5: {7,7,3,3} ties 7-3 (1/2), {7,7,3,None} x2 win, {7,3,3,None} x2 lose
    answers = ["7", "7", "3", "3", None]
    context = (answers, "7", 4)
    assert check("02-maj-at-k", 0.5, *context)
    for wrong, says in [(0.6, "as a whole win"), (0.4, "every tie as a loss"),
                        (0.4, "every tie as a loss"), (0.4 + 1e-9, "every tie as a loss")]:
        fb = check("02-maj-at-k", wrong, *context)
        assert not fb and says in fb.message, (wrong, fb.message)
    share = check("02-maj-at-k", 0.4, ["7", "3", "4", "5", "6"], "7", 4)
    assert "maj@1" in share.message or "tie" in share.message


def test_03_game24_with_a_safe_evaluator():
    puzzles = [None, SimpleNamespace(meta={"numbers": [2, 6, 8, 12]})]
    state = {"puzzles": puzzles}
    _starter_is_unanswered("03-game24", state)
    answer, context = _solution_passes("03-game24", state)
    assert evaluate(answer) == 24
    assert sorted(int(n) for n in re.findall(r"\d+", answer)) == [2, 6, 8, 12]
    assert check("03-game24", "12 * 8 / (6 - 2)", *context)
    assert "equals 12, not 24" in check("03-game24", "12 * 8 / (6 + 2)", *context).message
    assert "does not use" in check("03-game24", "2 * 12", *context).message
    assert "as a string" in check("03-game24", 24, *context).message
    hostile = "__import__('os').system('echo no')"
    assert not check("03-game24", hostile, *context)  # parsed, never evaluated


def test_04_kept_right():
    before = [False, True, False, True, False, True, True]
    after = [True, True, False, False, True, True, False]
    # by hand: right at first 1, 3, 5, 6 (4 problems); still right 1 and 5: kept 2 of 4
    state = {"rounds": [before, [True] * 7, after]}
    _starter_is_unanswered("04-kept-right", state)
    answer, context = _solution_passes("04-kept-right", state)
    assert answer == 0.5
    assert "2 stayed right and 2 became wrong: self-correction kept 50%" in check(
        "04-kept-right", 0.5, *context).message
    for wrong, says in [(2, "how many stayed right"), (2 / 7, "divides by all 7"),
                        (4 / 7, "accuracy after two rounds"), (4 / 4, "fixed (wrong"),
                        (2 / 3, "share of wrong answers it fixed"), (0.5004, "rounded")]:
        fb = check("04-kept-right", wrong, *context)
        assert not fb and says in fb.message, (wrong, fb.message)
    assert "number from 0 to 1" in check("04-kept-right", "1", *context).message
    assert not check("04-kept-right", True, *context)
    assert "nothing to keep" in check("04-kept-right", 0.0, [False] * 3, [True] * 3).message


def test_05_constraints():
    meta = {"required": ["road", "wind"], "max_words": 12, "forbidden": "e"}
    tasks = [SimpleNamespace(question="Write one sentence about the mountains.", meta=meta)]
    state = {"tasks": tasks}
    _starter_is_unanswered("05-constraints", state)
    answer, _ = _solution_passes("05-constraints", state)
    words = re.findall(r"[A-Za-z']+", answer.lower())
    assert {"road", "wind"} <= set(words) and len(words) <= 12 and "e" not in answer.lower()
    wrong = check("05-constraints", "The wind on the road", meta)
    assert not wrong and "no letter 'e'" in wrong.message
    assert "string" in check("05-constraints", ["road", "wind"], meta).message


# ---------------------------------------------------------------------------------------------
# check(), hint(), require() and the grading hook
# ---------------------------------------------------------------------------------------------


def test_06_extrapolate_a_scaling_line_against_the_line_solved_by_hand():
    # accuracy = 0.1 * log10(tokens) + 0.2 reaches 50% at 10 ** 3 = 1000 tokens
    lines = {"majority": fit_log_linear([10, 100, 1000], [0.3, 0.4, 0.5])}
    state = {"lines": lines, "VOTING": "majority", "limit": 0.35}
    _starter_is_unanswered("06-extrapolate-a-scaling-line", state)
    answer, context = _solution_passes("06-extrapolate-a-scaling-line", state)
    assert answer == pytest.approx(1000)
    assert context[1:] == (0.5, 0.35)
    assert "levels off at 35.0%" in check("06-extrapolate-a-scaling-line", answer, *context).message
    assert not check("06-extrapolate-a-scaling-line", 900, *context)
    near = grade_answer("06-extrapolate-a-scaling-line", 1005, *context)  # within 1%, not exact
    assert not near.passed_all and not check("06-extrapolate-a-scaling-line", 1005, *context)
    assert "within 1% but not exact" in near.message
    for wrong, says in [(3.0, "log10(tokens), not tokens"), (math.exp(3), "natural logarithm"),
                        (10 ** -3, "check the sign"), (10 ** (0.5 / 0.1 - 0.2), "check the order")]:
        fb = check("06-extrapolate-a-scaling-line", wrong, *context)
        assert not fb and says in fb.message, (wrong, fb.message)
    reachable = (lines["majority"], 0.5, 0.6)
    assert "within reach" in check("06-extrapolate-a-scaling-line", 1000, *reachable).message
    assert "greater than 0" in check("06-extrapolate-a-scaling-line", "1000", *context).message


def lru_by_hand(draws: list[int], capacity: int) -> int:
    """Hits of a least-recently-used cache, written out differently: the last use of each
    cached question, and the oldest one goes."""
    last_use: dict[int, int] = {}
    hits = 0
    for t, q in enumerate(draws):
        if q in last_use:
            hits += 1
        elif len(last_use) == capacity:
            del last_use[min(last_use, key=last_use.__getitem__)]
        last_use[q] = t
    return hits


def test_07_cache_hit_rate():
    draws = [0, 1, 2, 0, 3, 1, 0, 0, 2, 4, 0, 1, 5, 2]
    hits = lru_by_hand(draws, 3)  # 0 (at 3), 0 (at 6), 0 (at 7), 0 (at 10): 4 hits
    assert hits == 4
    state = {"draws": draws}
    _starter_is_unanswered("07-cache-hit-rate", state)
    answer, context = _solution_passes("07-cache-hit-rate", state)
    assert context == (draws, 3) and answer == hits / len(draws)
    assert "4 of the 14 requests hit" in check("07-cache-hit-rate", answer, *context).message
    unlimited = (len(draws) - len(set(draws))) / len(draws)  # 8 of 14
    for wrong, says in [(unlimited, "keeps every answer"), (1 - answer, "miss rate"),
                        (4, "number of hits"), (0.286, "rounded"),
                        (5 / 14, "first in, first out"),  # 1 and 0 stay: 0, 1, 0, 0, 0 hit
                        (11 / 14, "most popular"),  # 0, 1 and 2 cached from the start
                        (lru_by_hand(draws, 4) / 14, "a cache of 4"),
                        (lru_by_hand(draws, 2) / 14, "a cache of 2")]:
        fb = check("07-cache-hit-rate", wrong, *context)
        assert not fb and says in fb.message, (wrong, fb.message)
    assert "number from 0 to 1" in check("07-cache-hit-rate", "0.625", *context).message
    rng = random.Random(3)
    for _ in range(200):  # the solution against the hand count on random workloads
        workload = [rng.randrange(6) for _ in range(rng.randint(1, 30))]
        capacity = rng.randint(1, 4)
        mine, _ = run_exercise_cell(get_exercise("07-cache-hit-rate"), "solution",
                                      {"draws": workload})
        assert mine == lru_by_hand(workload, 3) / len(workload)
        assert check("07-cache-hit-rate", lru_by_hand(workload, capacity) / len(workload),
                     workload, capacity)


def test_first_failing_check_speaks_and_a_raising_check_counts_as_failed(tmp_path):
    write_exercise(tmp_path, "t-order", context=["n"], call="3", checks=[
        {"expr": "answer > 0", "message": "positive, please"},
        {"expr": "1 / (answer - n) > 0", "message": "more than {n}", "success": "{answer} > {n}"},
    ])
    register_pack(tmp_path)
    assert check("t-order", -1, 3).message == "Not yet: positive, please"
    assert check("t-order", 2, 3).message == "Not yet: more than 3"
    crashed = check("t-order", 3, 3)
    assert not crashed
    assert crashed.message.startswith("Not yet: could not check this answer (ZeroDivisionError")
    assert check("t-order", 5, 3).message == "Correct: 5 > 3"
    assert repr(check("t-order", ..., 3)) == ("[t-order] Not answered yet: Set my_answer to the "
                                              "number of tokens in the greedy answer.")
    with pytest.raises(TypeError, match=r"takes 1 value\(s\) after the answer \(n\)"):
        check("t-order", 5)
    with pytest.raises(ValueError, match="known:"):
        check("99-nope", 1)


def test_hints_and_require(tmp_path):
    write_exercise(tmp_path, "t-hint")
    register_pack(tmp_path)
    assert hint("t-hint") == "len() counts." and hint("t-hint", 2) == "Of tokens."
    with pytest.raises(ValueError, match="has 2 hint"):
        hint("t-hint", 3)
    greedy = Completion(text="a b", model="m", backend="b", seed=0,
                        tokens=(Token("a", -1.0), Token(" b", -1.0)))
    assert require("t-hint", 2, greedy).points == 4
    with pytest.raises(AssertionError, match="a whole number"):
        require("t-hint", 2.0, greedy)  # passes the visible check, fails the hidden one


def test_grade_report_hook_records_hidden_checks(tmp_path, monkeypatch):
    write_exercise(tmp_path / "pack", "t-report")
    register_pack(tmp_path / "pack")
    report = tmp_path / "report.jsonl"
    monkeypatch.setenv(exercises.GRADE_REPORT_ENV, str(report))
    greedy = Completion(text="a b c", model="m", backend="b", seed=0,
                        tokens=(Token("a"), Token(" b"), Token(" c")))
    # one verdict: the notebook says "Not yet" exactly when grading gives no points, and keeps
    # a hidden check's own message for the instructor
    hidden = check("t-report", 3.0, greedy)
    assert not hidden and "shown only when grading" in hidden.message
    assert "whole number" not in hidden.message
    assert not check("t-report", None, greedy)
    assert check("t-report", 3, greedy)
    lines = [json.loads(line) for line in report.read_text().splitlines()]
    assert [(e["passed_visible"], e["passed_all"], e["points"]) for e in lines] == [
        (True, False, 0), (False, False, 0), (True, True, 4)]
    assert {e["id"] for e in lines} == {"t-report"} and "whole number" in lines[0]["message"]
    assert lines[1]["message"].startswith("Not answered yet")
    assert [e["answer"] for e in lines] == ["3.0", "", "3"]


def test_check_never_evaluates_a_text_answer(tmp_path):
    write_exercise(tmp_path, "t-text", context=[], call=None, checks=[
        {"expr": "answer == 'x'", "message": "you said {answer!r}"}])
    register_pack(tmp_path)
    marker = tmp_path / "touched"
    text = f"{{__import__('pathlib').Path({str(marker)!r}).touch()}}"
    assert not check("t-text", text)
    assert not marker.exists()


# ---------------------------------------------------------------------------------------------
# Packs and loader errors
# ---------------------------------------------------------------------------------------------


def test_packs_from_environment_register_pack_and_entry_points(tmp_path, monkeypatch):
    write_exercise(tmp_path / "env", "t-env")
    write_exercise(tmp_path / "reg", "t-reg")
    monkeypatch.setenv(exercises.PACKS_ENV, f"{tmp_path / 'env'}")
    register_pack(tmp_path / "reg")
    package = tmp_path / "site" / "itc_test_pack"
    write_exercise(package, "t-module")
    (package / "__init__.py").write_text("")
    (package / "more.py").write_text(
        "from pathlib import Path\n\ndef folder():\n"
        "    return Path(__file__).parent / 'extra'\n")
    write_exercise(package / "extra", "t-callable")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    from importlib.metadata import EntryPoint

    eps = [EntryPoint("mod", "itc_test_pack", exercises.ENTRY_POINT_GROUP),
           EntryPoint("call", "itc_test_pack.more:folder", exercises.ENTRY_POINT_GROUP)]
    monkeypatch.setattr(exercises.importlib.metadata, "entry_points",
                        lambda group: eps if group == exercises.ENTRY_POINT_GROUP else [])
    exercises._entry_point_dirs.cache_clear()
    found = catalog()
    assert {"t-env", "t-reg", "t-module", "t-callable"} | BUILTIN_IDS == set(found)
    monkeypatch.setenv(exercises.PACKS_ENV, str(tmp_path / "missing"))
    with pytest.raises(ExercisePackError, match="not a folder"):
        catalog()


def test_an_edited_file_is_read_again(tmp_path):
    path = write_exercise(tmp_path, "t-edit", title="Before")
    register_pack(tmp_path)
    assert get_exercise("t-edit").title == "Before"
    write_exercise(tmp_path, "t-edit", title="After, and a longer title")
    assert path.exists() and get_exercise("t-edit").title == "After, and a longer title"


def test_duplicate_id_names_both_files(tmp_path):
    first = write_exercise(tmp_path / "a", "t-dup")
    second = write_exercise(tmp_path / "b", "t-dup-file", id="t-dup")
    with pytest.raises(ExercisePackError) as err:
        catalog([tmp_path / "a", tmp_path / "b"])
    assert str(first) in str(err.value) and str(second) in str(err.value)
    clash = write_exercise(tmp_path / "c", "t-clash", id="02-pass-at-k")
    register_pack(tmp_path / "c")  # fine on its own, a clash with the built-in pack
    with pytest.raises(ExercisePackError, match="defined twice") as err:
        catalog()
    assert str(clash) in str(err.value) and "02-pass-at-k.toml" in str(err.value)


@pytest.mark.parametrize(("fields", "expected"), [
    ({"solution": None}, r"the field 'solution' is missing"),
    ({"points": "3"}, r"the field 'points' must be a whole number"),
    ({"points": None}, r"the field 'points' is missing"),
    ({"id": "two words"}, r"the field 'id' must use letters"),
    ({"context": ["n", "k"], "call": "greedy"}, r"the field 'call' must be 2"),
    ({"context": ["answer"]}, r"the field 'context' has 'answer'"),
    ({"starter": "x = None"}, r"the field 'starter' must set my_answer"),
    ({"solution": "my_answer = ("}, r"the field 'solution' is not valid Python"),
    ({"lesson": "00_meet_your_model.ipynb"}, r"the field 'lesson' must be"),
    ({"colour": "red"}, r"unknown field\(s\) \['colour'\]"),
    ({"checks": []}, r"the field 'checks' is missing"),
    ({"checks": [{"expr": "answer ==", "message": "m"}]}, r"'checks\[0\]\.expr' is not valid"),
    ({"checks": [{"expr": "True", "message": "{answer"}]}, r"'checks\[0\]\.message' is not valid"),
    ({"checks": [{"expr": "True", "message": "m", "hidden": "yes"}]},
     r"'checks\[0\]\.hidden' must be true or false"),
    ({"checks": [{"expr": "True", "message": "m", "hidden": True}]}, r"every check is hidden"),
    ({"checks": [{"expr": "True"}]}, r"'checks\[0\]\.message' is missing"),
])
def test_malformed_files_name_the_file_and_the_field(tmp_path, fields, expected):
    path = write_exercise(tmp_path, "t-bad", **fields)
    with pytest.raises(ExercisePackError, match=expected) as err:
        load_pack(tmp_path)
    assert str(err.value).startswith(f"{path}: ")


def test_bad_toml_names_the_file_and_the_line(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('id = "t-broken"\ntitle = "no closing quote\n', encoding="utf-8")
    with pytest.raises(ExercisePackError, match=r"not valid TOML: .*line 2") as err:
        load_pack(tmp_path)
    assert str(path) in str(err.value)
    (tmp_path / "nothing").mkdir()
    with pytest.raises(ExercisePackError, match="holds no exercise files"):
        load_pack(tmp_path / "nothing")


def test_unknown_lesson_lists_the_lessons(tmp_path):
    path = write_exercise(tmp_path, "t-lesson", lesson="09_time_travel")
    with pytest.raises(ExercisePackError, match="'09_time_travel', which is not a lesson") as err:
        load_pack(tmp_path, lessons=lesson_files(LESSONS))
    assert str(path) in str(err.value) and "02_self_consistency" in str(err.value)
    with pytest.raises(ExercisePackError, match=r"09_time_travel\.ipynb; lessons: 00_meet"):
        build(tmp_path / "out", packs=[tmp_path], lessons=["00"])


# ---------------------------------------------------------------------------------------------
# The lessons and the files never drift
# ---------------------------------------------------------------------------------------------


def test_lesson_exercise_cells_are_what_the_builder_renders():
    found = catalog()
    cells_of: dict[str, set[str]] = {}
    for stem, path in lesson_files(LESSONS).items():
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            tag = cell.metadata.get("itc_lab")
            if not tag:
                assert "itc_lab.check(" not in cell.source, f"{stem}: untagged check cell"
                continue
            ex = found[tag["exercise"]]
            assert ex.lesson == stem
            want = render_prompt(ex) if tag["part"] == "prompt" else render_code(ex, "student")
            assert cell.source == want, f"{stem}: {ex.id} {tag['part']} differs from its file"
            cells_of.setdefault(ex.id, set()).add(tag["part"])
    assert cells_of == {i: {"prompt", "code"} for i in BUILTIN_IDS}
    assert sync(dry_run=True) == []  # stored "Not answered yet" results too


# ---------------------------------------------------------------------------------------------
# Build and grade
# ---------------------------------------------------------------------------------------------


def exercise_cells(nb: Any) -> dict[tuple[str, str], Any]:
    return {(c.metadata["itc_lab"]["exercise"], c.metadata["itc_lab"]["part"]): c
            for c in nb.cells if "itc_lab" in c.metadata}


def cli(*argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="itc-lab")
    add_exercises_command(parser.add_subparsers(dest="command", required=True))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = run_exercises_command(parser.parse_args(argv))
    return code, out.getvalue()


@pytest.mark.lessons
def test_build_and_grade_lesson_00_with_a_pack_from_another_folder(tmp_path):
    pack = tmp_path / "my-pack"
    write_exercise(pack, "00-count-tokens")
    out = tmp_path / "out"
    code, listing = cli("exercises", "list", "--pack", str(pack))
    assert code == 0 and re.search(r"00-count-tokens\s+00_meet_your_model\s+4\s", listing)
    code, _ = cli("exercises", "build", "--pack", str(pack), "--out", str(out),
                  "--lessons", "00")
    assert code == 0
    student = out / "student" / "00_meet_your_model.ipynb"
    solution = out / "solutions" / "00_meet_your_model.ipynb"
    lesson = nbformat.read(LESSONS / "00_meet_your_model.ipynb", as_version=4)
    for path, version in ((student, "student"), (solution, "solution")):
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        assert nb.metadata["itc_lab"] == {"lesson": "00_meet_your_model", "version": version}
        assert (path.parent / "recordings" / "00_meet_your_model.jsonl").is_file()
        cells = exercise_cells(nb)
        assert set(cells) == {(i, p) for i in ("00-least-likely-token", "00-count-tokens")
                              for p in ("prompt", "code")} | {("00-count-tokens", "embed")}
        # the instructor's exercise travels with the notebook, without its solution
        embed = cells[("00-count-tokens", "embed")]
        assert "itc_lab.exercises.embed(" in embed.source and "'solution'" not in embed.source
        assert "len(greedy.tokens)" not in embed.source
        assert embed.metadata["jupyter"] == {"source_hidden": True}
        ids = [c.id for c in nb.cells]
        assert ids.index(cells[("00-count-tokens", "prompt")].id) < ids.index(embed.id)
        mine = cells[("00-count-tokens", "code")]
        assert ids.index(embed.id) < ids.index(mine.id)
        body = "my_answer = None" if version == "student" else "my_answer = len(greedy.tokens)"
        assert mine.source == f'{body}\nitc_lab.check("00-count-tokens", my_answer, greedy)'
        assert cells[("00-count-tokens", "prompt")].source.startswith(
            "## Exercise: Count the tokens (4 points)\n\nSet `my_answer`")
        assert all(c.outputs == [] and c.execution_count is None
                   for c in cells.values() if c.cell_type == "code")
        # the added exercise follows the lesson's own, and every other cell is the lesson's
        assert ids.index(mine.id) > ids.index(cells[("00-least-likely-token", "code")].id)
        others = [c for c in nb.cells if "itc_lab" not in c.metadata]
        assert others == [c for c in lesson.cells if "itc_lab" not in c.metadata]

    # a student who answered one exercise with a float (hidden check fails), deleted the other
    # exercise's cell, and has a cell that raises
    edited = nbformat.read(student, as_version=4)
    cells = exercise_cells(edited)
    cells[("00-count-tokens", "code")].source = cells[("00-count-tokens", "code")].source.replace(
        "my_answer = None", "my_answer = float(len(greedy.tokens))")
    edited.cells.remove(cells[("00-least-likely-token", "code")])
    edited.cells.insert(3, nbformat.v4.new_code_cell("raise RuntimeError('student bug')"))
    partial = out / "student" / "edited.ipynb"
    nbformat.write(edited, partial)

    code, text = cli("exercises", "grade", str(student), str(solution), str(partial),
                     "--pack", str(pack), "--json", "--csv", str(tmp_path / "grades.csv"))
    assert code == 0
    report = json.loads(text)
    by_name = {Path(g["notebook"]).name: g for g in report["notebooks"]}
    student_grade, solution_grade = report["notebooks"][0], report["notebooks"][1]
    assert (student_grade["total"], student_grade["possible"]) == (0, 5)
    assert student_grade["cell_errors"] == 0
    assert all(e["reached"] and not e["passed_visible"] and
               e["message"].startswith("Not answered yet") for e in student_grade["exercises"])
    assert (solution_grade["total"], solution_grade["possible"]) == (5, 5)
    assert solution_grade["cell_errors"] == 0
    assert all(e["passed_all"] for e in solution_grade["exercises"])
    edited_grade = by_name["edited.ipynb"]
    scores = {e["id"]: e for e in edited_grade["exercises"]}
    assert edited_grade["cell_errors"] == 1 and edited_grade["total"] == 0
    assert scores["00-least-likely-token"]["message"] == "not reached"
    assert not scores["00-least-likely-token"]["reached"]
    assert scores["00-count-tokens"]["passed_visible"]
    assert not scores["00-count-tokens"]["passed_all"]
    assert "whole number" in scores["00-count-tokens"]["message"]
    # the solution notebook is the answer key: graded, never in the students' total
    assert [g["answer_key"] for g in report["notebooks"]] == [False, True, False]
    assert (report["total"], report["possible"]) == (0, 10)


NBGRADER_V3 = {  # nbgrader's cell metadata schema, version 3
    "type": "object",
    "properties": {
        "schema_version": {"type": "integer", "minimum": 3, "maximum": 3},
        "grade": {"type": "boolean"}, "locked": {"type": "boolean"},
        "solution": {"type": "boolean"}, "task": {"type": "boolean"},
        "grade_id": {"type": "string", "pattern": r"^[a-zA-Z0-9_\-]*$"},
        "points": {"type": "number", "minimum": 0},
        "checksum": {"type": "string"}, "cell_type": {"type": "string"},
    },
    "required": ["schema_version", "grade", "locked", "solution"],
    "additionalProperties": False,
}


def test_nbgrader_metadata_is_well_formed(tmp_path):
    pack = tmp_path / "pack"
    write_exercise(pack, "02-extra", lesson="02_self_consistency", context=[], call=None,
                   solution="my_answer = 1", checks=[{"expr": "answer == 1", "message": "1"}])
    build(tmp_path / "out", packs=[pack], lessons=["02"], nbgrader=True)
    found = catalog([pack])
    for version in ("student", "solutions"):
        nb = nbformat.read(tmp_path / "out" / version / "02_self_consistency.ipynb",
                           as_version=4)
        nbformat.validate(nb)
        graded = [c for c in nb.cells if "nbgrader" in c.metadata]
        grade_ids = [c.metadata["nbgrader"]["grade_id"] for c in graded]
        # 3 exercises x prompt, code, test; and the instructor's exercise's embed cell
        assert len(grade_ids) == len(set(grade_ids)) == 10
        points = {}
        for cell in graded:
            meta = cell.metadata["nbgrader"]
            jsonschema.validate(meta, NBGRADER_V3)
            part = cell.metadata["itc_lab"]["part"]
            assert (meta["grade"], meta["solution"], meta["locked"]) == {
                "prompt": (False, False, True), "code": (False, True, False),
                "test": (True, False, True), "embed": (False, False, True)}[part]
            assert (cell.cell_type == "markdown") == (part == "prompt")
            if part == "test":
                points[meta["grade_id"]] = meta["points"]
                # the cell's output is the points earned: a number nbgrader reads as the score
                assert "itc_lab.exercises.require(" in cell.source
                assert cell.source.rstrip().endswith(").points")
            if part == "code" and version == "solutions":
                ex = found[cell.metadata["itc_lab"]["exercise"]]
                assert cell.source.count("### BEGIN SOLUTION") == 1
                assert f"### BEGIN SOLUTION\n{ex.solution}\n### END SOLUTION" in cell.source
            if version == "student":
                assert "BEGIN SOLUTION" not in cell.source
        assert points == {"02-pass-at-k": 2, "02-maj-at-k": 3, "02-extra": 4}
        order = [c.metadata["itc_lab"]["part"] for c in graded]
        assert order == ["prompt", "code", "test"] * 2 + ["prompt", "embed", "code", "test"]


def test_sync_rewrites_and_adds_exercise_cells(tmp_path, monkeypatch):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    nb = nbformat.read(LESSONS / "00_meet_your_model.ipynb", as_version=4)
    prompt = next(c for c in nb.cells if c.metadata.get("itc_lab", {}).get("part") == "prompt")
    prompt.source = "## Exercise\n\nAn old wording."
    nbformat.write(nb, lessons / "00_meet_your_model.ipynb")
    monkeypatch.setenv("ITC_LAB_LESSONS", str(lessons))
    pack = tmp_path / "pack"
    write_exercise(pack, "00-count-tokens")
    assert sync(packs=[pack], dry_run=True) == [lessons / "00_meet_your_model.ipynb"]
    assert sync(packs=[pack]) == [lessons / "00_meet_your_model.ipynb"]
    assert sync(packs=[pack]) == []
    cells = exercise_cells(nbformat.read(lessons / "00_meet_your_model.ipynb", as_version=4))
    assert cells[("00-least-likely-token", "prompt")].source == render_prompt(
        get_exercise("00-least-likely-token"))
    added = cells[("00-count-tokens", "code")]
    assert added.outputs[0]["data"]["text/plain"] == (
        "[00-count-tokens] Not answered yet: Set my_answer to the number of tokens in the "
        "greedy answer.")
    assert "itc-lab-feedback" in added.outputs[0]["data"]["text/html"]
    assert ("00-count-tokens", "embed") not in cells  # lessons load packs; only builds embed
    assert isinstance(added.execution_count, int)


def test_every_public_name_is_listed():
    from itc_lab.exercises import build as exercise_build

    for module in (exercises, exercise_build):
        public = {n for n, v in vars(module).items() if not n.startswith("_")
                  and callable(v) and getattr(v, "__module__", "") == module.__name__}
        assert public - {"annotations"} <= set(module.__all__), module.__name__
        assert all(hasattr(module, n) for n in module.__all__)
    assert itc_lab.check is exercises.check


def _nbval(notebook: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ITC_LAB_MODE="replay", ITC_LAB_LESSONS=str(lessons_dir()))
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "--nbval-lax", str(notebook),
                           "-p", "no:cacheprovider", "-o", "addopts=",
                           "--rootdir", str(notebook.parent)],
                          env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.lessons
def test_solution_notebooks_pass_nbval_and_student_notebooks_fail_until_solved(tmp_path):
    from itc_lab.exercises.build import build

    build(tmp_path, lessons=["00"], nbgrader=True)
    solution = tmp_path / "solutions" / "00_meet_your_model.ipynb"
    student = tmp_path / "student" / "00_meet_your_model.ipynb"
    done = _nbval(solution)
    assert done.returncode == 0, done.stdout[-3000:]
    assert " passed" in done.stdout and "failed" not in done.stdout
    todo = _nbval(student)
    assert todo.returncode != 0
    assert "1 failed" in todo.stdout and "00-least-likely-token" in todo.stdout


# ---------------------------------------------------------------------------------------------
# The lessons' own exercises, on the lessons' own data
# ---------------------------------------------------------------------------------------------

RUN_LESSONS = r'''
"""Run every lesson in this process in replay mode, answer each exercise with its solution, and
print JSON: the solution's verdict, which values shown above the exercise its check would accept,
and the feedback each listed mistake gets (with the mistakes left out, too)."""
import contextlib, dataclasses, html, io, json, os, re, sys
from pathlib import Path

import nbformat
from IPython.display import display

from itc_lab.exercises import catalog, check, mistake_examples
from itc_lab.exercises import packs

NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?%?")
QUOTED = re.compile(r"'([^'\n]{1,200})'|\"([^\"\n]{1,200})\"")


def shown(output):
    """What a reader sees of a stored output: printed text, a result's text, the visible text
    of HTML (not hover titles); not chart images, whose text is axis labels."""
    if output.get("output_type") == "stream":
        return output.get("text", "")
    data = output.get("data", {})
    texts = [data.get("text/plain", "")]
    if "text/html" in data:
        markup = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", data["text/html"], flags=re.S)
        markup = re.sub(r"</t[dh]>", "\t", markup)  # a table row reads as one line, as printed
        texts.append(html.unescape(re.sub(r"<(?!/t[dh])[^>]*>", "\n",
                                          re.sub(r"<t[dh][^>]*>", "", markup))))
    return "\n".join(texts)


def candidates(text):
    for m in NUMBER.finditer(text):
        raw = m.group(0)
        value = float(raw.rstrip("%").replace(",", ""))
        yield raw, value / 100 if raw.endswith("%") else value
        if not raw.endswith("%") and value == int(value) and abs(value) < 10**9:
            yield raw, int(value)
    for m in QUOTED.finditer(text):
        yield m.group(0), m.group(1) if m.group(1) is not None else m.group(2)
    for line in text.splitlines():
        if line.strip():
            yield line, line.strip()


found = catalog()
report = []
for path in sorted(Path(sys.argv[1]).glob("[0-9][0-9]_*.ipynb")):
    nb = nbformat.read(path, as_version=4)
    ns = {"__name__": "__main__", "display": display}  # as a notebook's kernel has it
    seen = []
    os.chdir(path.parent)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        seen += [shown(o) for o in cell.get("outputs", [])]
        tag = cell.metadata.get("itc_lab")
        if not (tag and tag.get("part") == "code"):
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(cell.source, f"{path.name}", "exec"), ns)
            continue
        ex = found[tag["exercise"]]
        with contextlib.redirect_stdout(io.StringIO()):
            exec("\n".join(p for p in (ex.setup, ex.solution) if p), ns)
        context = eval(f"({ex.call},)", ns)
        answer = ns["my_answer"]
        accepted = sorted({raw for text in seen for raw, value in candidates(text)
                           if check(ex.id, value, *context)})
        bare = dataclasses.replace(ex, mistakes=())
        mistakes = []
        for mistake, value in mistake_examples(ex.id, *context):
            if value is None:
                continue
            fb = check(ex.id, value, *context)
            mistakes.append({"answer": repr(value), "passed": fb.passed,
                             "message": fb.message.removeprefix("Not yet: "),
                             "generic": packs._run(bare, value, context)[2]})
        report.append({"id": ex.id, "lesson": path.stem, "answer": repr(answer),
                       "solution": check(ex.id, answer, *context).message,
                       "accepted": accepted, "mistakes": mistakes})
print(json.dumps(report))
'''


@pytest.fixture(scope="module")
def lesson_exercises() -> dict[str, dict[str, Any]]:
    """Every lesson run once in replay mode (one fresh Python, no exercise packs but the
    built-in one), its exercises answered by their solutions."""
    env = {k: v for k, v in os.environ.items() if k not in (exercises.PACKS_ENV,
                                                              exercises.GRADE_REPORT_ENV)}
    env.update(ITC_LAB_MODE="replay", ITC_LAB_LESSONS=str(LESSONS))
    done = subprocess.run([sys.executable, "-c", RUN_LESSONS, str(LESSONS)], env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return {r["id"]: r for r in json.loads(done.stdout)}


@pytest.mark.lessons
@pytest.mark.parametrize("ex_id", sorted(BUILTIN_IDS))
def test_lesson_exercise_answer_is_not_shown_above_it(lesson_exercises, ex_id):
    """No value shown in the stored outputs above an exercise (numbers, percentages, quoted
    strings, whole lines) is accepted by its check: the learner has to work it out. (For
    01-accuracy-per-token the answer is the name of one of the techniques listed; no line
    names it as the answer, and the numbers that decide it are not shown.)"""
    report = lesson_exercises[ex_id]
    assert report["solution"].startswith("Correct: "), report
    assert report["accepted"] == [], f"{ex_id}: shown above it: {report['accepted']}"


@pytest.mark.lessons
@pytest.mark.parametrize("ex_id", sorted(BUILTIN_IDS - {"05-constraints"}))
def test_lesson_exercise_names_the_misconception_of_common_wrong_answers(lesson_exercises,
                                                                         ex_id):
    """Each common wrong answer listed in the exercise's file, computed on the lesson's data,
    gets a message of its own, not the check's general one."""
    report = lesson_exercises[ex_id]
    wrong = [m for m in report["mistakes"] if not m["passed"]]  # a few equal the answer here
    assert len(wrong) >= 2, report
    for m in wrong:
        assert m["message"] != m["generic"], (ex_id, m)
    assert len({m["message"] for m in wrong}) >= 2


def test_05_wrong_sentences_are_told_which_rule_they_break():
    meta = {"required": ["road", "wind"], "max_words": 12, "forbidden": "e"}
    for sentence, says in [("The wind on the road", "no letter 'e'"),
                           ("A cold wind blows.", "'road' is missing"),
                           ("wind road " * 7, "at most 12 words")]:
        fb = check("05-constraints", sentence, meta)
        assert not fb and says in fb.message, (sentence, fb.message)


# ---------------------------------------------------------------------------------------------
# An instructor's own exercises, handed out and graded
# ---------------------------------------------------------------------------------------------

INSTRUCTOR_PACK = {
    "00-count-tokens": {
        "title": "Count the tokens", "points": 4,
        "prompt": "Set `my_answer` to the number of tokens in the greedy answer.",
        "starter": "my_answer = None  # a whole number",
        "solution": "my_answer = len(greedy.tokens)  # SOLUTION-MARK-1",
        "define": "want = len(completion.tokens)",
        "checks": [{"expr": "answer == want", "message": "count `greedy.tokens`, not {answer}",
                    "success": "{want} tokens."},
                   {"expr": "is_whole(answer)", "message": "a whole number", "hidden": True}],
        "mistakes": [{"answer": "len(completion.text.split())",
                      "message": "{answer} counts the words; a token is often part of a word."}],
    },
    "00-mean-probability": {
        "title": "Mean confidence", "points": 2,
        "prompt": "Set `my_answer` to the mean probability of the greedy answer's tokens.",
        "starter": "my_answer = None  # a number from 0 to 1",
        "solution": ("my_answer = sum(t.prob for t in greedy.tokens) / len(greedy.tokens)"
                     "  # SOLUTION-MARK-2"),
        "define": "want = sum(t.prob for t in completion.tokens) / len(completion.tokens)",
        "checks": [{"expr": "is_number(answer)", "message": "a number, not {answer!r}"},
                   {"expr": "close(answer, want)", "message": "average `t.prob`",
                    "success": "mean p = {want:.4f}."}],
        "mistakes": [{"expr": "close(answer, want, 1e-3)", "example": "round(want, 2)",
                      "message": "rounded: compute it in Python."}],
    },
}


def _instructor_pack(folder: Path) -> Path:
    for ex_id, fields in INSTRUCTOR_PACK.items():
        write_exercise(folder, ex_id, context=["completion"], call="greedy", hints=["Look."],
                       **fields)
    return folder


def _answer(nb: Any, ex_id: str, code: str) -> None:
    cell = exercise_cells(nb)[(ex_id, "code")]
    cell.source = re.sub(r"^my_answer = None.*$", code, cell.source, count=1, flags=re.M)


def _run_clean(notebook: Path) -> dict[str, str]:
    """Execute a notebook in a fresh kernel with no exercise pack in the environment, from its
    own folder; returns each exercise's feedback as the notebook shows it."""
    env = {k: v for k, v in os.environ.items()
           if k not in (exercises.PACKS_ENV, exercises.GRADE_REPORT_ENV, "ITC_LAB_LESSONS")}
    env["ITC_LAB_MODE"] = "replay"
    done = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook",
                           "--execute", "--output", f"{notebook.stem}.ran.ipynb", notebook.name],
                          cwd=notebook.parent, env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    ran = nbformat.read(notebook.with_name(f"{notebook.stem}.ran.ipynb"), as_version=4)
    said = {}
    for (ex_id, part), cell in exercise_cells(ran).items():
        if part == "code":
            [result] = [o for o in cell.outputs if o.output_type == "execute_result"]
            said[ex_id] = result.data["text/plain"]
            assert "itc-lab-feedback" in result.data["text/html"]
    return said


@pytest.mark.lessons
def test_instructor_exercises_work_without_their_pack_and_grade_agrees(tmp_path):
    pack = _instructor_pack(tmp_path / "my-course" / "exercises")
    out = tmp_path / "class"
    assert cli("exercises", "build", "--pack", str(pack), "--out", str(out), "--lessons",
               "00")[0] == 0
    student = out / "student" / "00_meet_your_model.ipynb"
    text = student.read_text(encoding="utf-8")
    assert "SOLUTION-MARK" not in text and "'solution'" not in text  # no solution travels
    assert "SOLUTION-MARK-1" in (out / "solutions" / "00_meet_your_model.ipynb").read_text()

    right, wrong = nbformat.read(student, as_version=4), nbformat.read(student, as_version=4)
    _answer(right, "00-count-tokens", "my_answer = len(greedy.tokens)")
    _answer(right, "00-mean-probability",
            "my_answer = sum(t.prob for t in greedy.tokens) / len(greedy.tokens)")
    _answer(wrong, "00-count-tokens", "my_answer = len(greedy.text.split())")
    _answer(wrong, "00-mean-probability",
            "my_answer = round(sum(t.prob for t in greedy.tokens) / len(greedy.tokens), 2)")
    submitted = out / "student"
    nbformat.write(right, submitted / "ada.ipynb")
    nbformat.write(wrong, submitted / "bob.ipynb")

    said = {name: _run_clean(submitted / f"{name}.ipynb") for name in ("ada", "bob")}
    assert said["ada"]["00-count-tokens"].startswith("[00-count-tokens] Correct: ")
    assert said["ada"]["00-mean-probability"].startswith("[00-mean-probability] Correct: ")
    assert "counts the words" in said["bob"]["00-count-tokens"]
    assert "rounded" in said["bob"]["00-mean-probability"]  # the same verdict when graded:
    assert "Not answered yet" in said["ada"]["00-least-likely-token"]

    csv_path = tmp_path / "grades.csv"
    done = subprocess.run(
        [sys.executable, "-m", "itc_lab.cli", "exercises", "grade", str(submitted / "ada.ipynb"),
         str(submitted / "bob.ipynb"), "--pack", str(pack), "--csv", str(csv_path)],
        env={k: v for k, v in os.environ.items() if k != exercises.PACKS_ENV},
        capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    output = done.stdout + done.stderr
    assert "WARNING" not in output and "…" not in output, output  # no kernel noise, no cuts
    rows = list(__import__("csv").DictReader(csv_path.open(encoding="utf-8")))
    graded = {(Path(r["notebook"]).stem, r["exercise"]): r for r in rows}
    for name in ("ada", "bob"):
        for ex_id, shown in said[name].items():
            row = graded[(name, ex_id)]
            passed_in_notebook = "] Correct: " in shown
            assert (row["passed"] == "True") == passed_in_notebook, (name, ex_id, shown, row)
            assert int(row["points"]) == (int(row["possible"]) if passed_in_notebook else 0)
            assert shown == f"[{ex_id}] {row['message']}"  # the same words, too
    assert {r["role"] for r in rows} == {"student"}
    assert "Students" in done.stdout and "ada.ipynb" in done.stdout


# ---------------------------------------------------------------------------------------------
# Feedback, hints and the one grading rule
# ---------------------------------------------------------------------------------------------


def test_feedback_is_styled_html_with_every_text_escaped_and_a_plain_fallback(tmp_path):
    write_exercise(tmp_path, "t-html", context=[], call=None, checks=[
        {"expr": "answer == 1", "message": "you said {answer!r}: see `<b>` & **this**"}])
    register_pack(tmp_path)
    fb = check("t-html", "<script>alert('x')</script>")
    page = fb._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;" in page  # the answer is escaped
    assert "&lt;b&gt;</code>" in page and "&amp;" in page  # markdown code, escaped
    assert "<strong>this</strong>" in page and "✗ Not yet" in page
    assert 'class="itc-lab-feedback"' in page and "border-left" in page
    assert repr(fb) == ("[t-html] Not yet: you said \"<script>alert('x')</script>\": "
                        "see `<b>` & **this**")
    assert "✓ Correct" in check("t-html", 1)._repr_html_()
    assert "Not answered yet" in check("t-html", None)._repr_html_()


def test_hints_render_as_formatted_text():
    h = hint("02-pass-at-k", 2)
    assert isinstance(h, str) and h == get_exercise("02-pass-at-k").hints[1]
    assert repr(h).startswith("Hint 2 of 2 (02-pass-at-k): ") and "`" not in repr(h)
    assert not repr(h).startswith("'")  # not a quoted Python string
    first = hint("02-pass-at-k")._repr_markdown_()
    assert first.startswith("**💡 Hint 1 of 2 (02-pass-at-k):**")
    assert 'itc_lab.hint("02-pass-at-k", 2)' in first  # where the next one is
    from IPython.lib.pretty import pretty

    assert pretty(h) == repr(h)


def test_a_rounded_answer_gets_one_verdict_in_the_notebook_and_when_graded(tmp_path,
                                                                           monkeypatch):
    """The issue's case: maj@4 = 0.05563..., answered 0.0556. Before, the notebook said
    "Correct" and grading gave 0/3; now both say "Not yet", and so does require()."""
    answers = ["3"] * 13 + ["7", "9", "7"]  # maj@4 with gold "7": a small share of the sets
    context = (answers, "7", 4)
    exact = maj_at_k(answers, "7", 4)
    report = tmp_path / "report.jsonl"
    monkeypatch.setenv(exercises.GRADE_REPORT_ENV, str(report))
    for answer, ok in [(exact, True), (round(exact, 4), False), (round(exact, 8), True)]:
        shown = check("02-maj-at-k", answer, *context)
        graded = grade_answer("02-maj-at-k", answer, *context)
        assert bool(shown) == graded.passed_all == ok, answer
        assert graded.points == (3 if ok else 0)
        if not ok:
            with pytest.raises(AssertionError, match="not exact"):
                require("02-maj-at-k", answer, *context)
    logged = [json.loads(line) for line in report.read_text().splitlines()]
    assert [e["passed_all"] for e in logged] == [True, False, True]


@pytest.mark.parametrize(("fields", "expected"), [
    ({"mistakes": [{"message": "m"}]}, r"needs exactly one of 'answer'"),
    ({"mistakes": [{"answer": "1", "expr": "True", "message": "m"}]}, r"exactly one of"),
    ({"mistakes": [{"answer": "1 +", "message": "m"}]}, r"'mistakes\[0\]\.answer' is not valid"),
    ({"mistakes": [{"answer": "1", "message": "m", "example": "2"}]}, r"'answer' and 'example'"),
    ({"mistakes": [{"answer": "1", "message": "m", "why": "x"}]}, r"unknown field\(s\) \['why'\]"),
    ({"tolerance": 2}, r"'tolerance' must be a number from 0 to 1"),
])
def test_malformed_mistakes_and_tolerance_name_the_field(tmp_path, fields, expected):
    path = write_exercise(tmp_path, "t-bad-mistake", **fields)
    with pytest.raises(ExercisePackError, match=expected) as err:
        load_pack(tmp_path)
    assert str(err.value).startswith(f"{path}: ")


def test_mistakes_follow_the_exercise_tolerance_and_never_hide_a_lesson_check(tmp_path):
    write_exercise(tmp_path, "t-tol", context=["n"], call="2", tolerance=0.01, checks=[
        {"expr": "n > 0", "message": "the lesson gave n = {n}"},
        {"expr": "close(answer, 1 / n)", "message": "divide 1 by n", "success": "1/n"}],
        mistakes=[{"answer": "n", "message": "that is n itself"},
                  {"answer": "1 / n + 0.5", "message": "you added a half"}])
    register_pack(tmp_path)
    assert check("t-tol", 0.504, 2)  # within the exercise's 1%
    assert check("t-tol", 2.01, 2).message == "Not yet: that is n itself"  # matched within 1%
    assert check("t-tol", 1.0, 2).message == "Not yet: you added a half"
    assert check("t-tol", 0.7, 2).message == "Not yet: divide 1 by n"
    # a check that does not look at the answer speaks for itself, whatever the answer
    assert check("t-tol", -1, -1).message == "Not yet: the lesson gave n = -1"
    found = mistake_examples("t-tol", 2)
    assert [(m.message, v) for m, v in found] == [("that is n itself", 2),
                                                  ("you added a half", 1.0)]


def test_an_embedded_exercise_checks_without_its_pack_and_a_pack_wins(tmp_path):
    import tomllib

    path = _instructor_pack(tmp_path / "pack") / "00-count-tokens.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    data.pop("solution")
    greedy = Completion(text="a b", model="m", backend="b", seed=0,
                        tokens=(Token("a"), Token(" b"), Token("")))
    saved = dict(exercises._EMBEDDED)
    try:
        assert itc_lab.exercises.embed(data) == "00-count-tokens"
        assert check("00-count-tokens", 3, greedy) and hint("00-count-tokens") == "Look."
        assert "counts the words" in check("00-count-tokens", 2, greedy).message
        register_pack(path.parent)  # the instructor's file wins over the notebook's copy
        tampered = dict(data, checks=[{"expr": "True", "message": "anything goes"}])
        itc_lab.exercises.embed(tampered)
        assert not check("00-count-tokens", 99, greedy)
    finally:
        exercises._EMBEDDED.clear()
        exercises._EMBEDDED.update(saved)
