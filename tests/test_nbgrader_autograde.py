"""nbgrader on the notebooks ``itc-lab exercises build --nbgrader`` writes: generate_assignment,
autograde and export score a right answer full points and a wrong one 0, exercise by exercise,
as ``itc-lab exercises grade`` does on the same notebooks."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from itc_lab.exercises import catalog, packs, require
from itc_lab.exercises.build import build, grade

REPO = Path(__file__).resolve().parents[1]
LESSON = "00_meet_your_model"
ASSIGNMENT = "week1"
STUB = "my_answer = None  # YOUR CODE HERE"

# An instructor's own pack for lesson 00: a hidden check, a tolerance, a common wrong answer.
PACK = {
    "00-count-tokens": '''
id = "00-count-tokens"
lesson = "00_meet_your_model"
title = "Count the tokens"
points = 4
prompt = "Set `my_answer` to the number of tokens in the greedy answer."
context = ["completion"]
call = "greedy"
starter = "my_answer = None  # a whole number"
solution = "my_answer = len(greedy.tokens)  # SOLUTION-MARK-1"
define = "want = len(completion.tokens)"

[[checks]]
expr = "answer == want"
message = "count the items of `greedy.tokens`, not {answer!r}."
success = "{want} tokens."

[[checks]]
expr = "is_whole(answer)"
message = "a count is a whole number, not a {type(answer).__name__}."
hidden = true

[[mistakes]]
answer = "len(completion.text.split())"
message = "{answer} counts the words; a token is often a piece of a word."
''',
    "00-mean-probability": '''
id = "00-mean-probability"
lesson = "00_meet_your_model"
title = "Mean confidence"
points = 2
prompt = "Set `my_answer` to the mean probability of the greedy answer's tokens."
context = ["completion"]
call = "greedy"
starter = "my_answer = None  # a number from 0 to 1"
solution = "my_answer = sum(t.prob for t in greedy.tokens) / len(greedy.tokens)  # SOLUTION-MARK-2"
define = "want = sum(t.prob for t in completion.tokens) / len(completion.tokens)"

[[checks]]
expr = "is_number(answer)"
message = "a number, not {answer!r}."

[[checks]]
expr = "close(answer, want)"
message = "average `t.prob` over `greedy.tokens`."
success = "mean p = {want:.4f}."

[[mistakes]]
expr = "close(answer, want, 1e-3)"
example = "round(want, 2)"
message = "rounded: compute it in Python, without rounding."
''',
}

# Wrong answers: the chosen token (a listed mistake), a float count (fails the hidden check only),
# a rounded mean (a mistake within 1e-3, outside the tolerance).
WRONG = {
    "00-least-likely-token": "my_answer = min(greedy.tokens, key=lambda t: t.prob).text",
    "00-count-tokens": "my_answer = float(len(greedy.tokens))",
    "00-mean-probability":
        "my_answer = round(sum(t.prob for t in greedy.tokens) / len(greedy.tokens), 2)",
}
WRONG_SAYS = {  # what the failing test cell's AssertionError says (what nbgrader's grader reads)
    "00-least-likely-token": "the token the model chose",
    "00-count-tokens": "a count is a whole number",
    "00-mean-probability": "rounded",
}


def _exercise_cells(nb: Any) -> dict[tuple[str, str], Any]:
    return {(c.metadata["itc_lab"]["exercise"], c.metadata["itc_lab"]["part"]): c
            for c in nb.cells if "itc_lab" in c.metadata}


def _answer(notebook: Path, answers: dict[str, str]) -> None:
    """Replace nbgrader's stub in each answer cell with the student's code."""
    nb = nbformat.read(notebook, as_version=4)
    for (ex_id, part), cell in _exercise_cells(nb).items():
        if part == "code" and ex_id in answers:
            assert cell.source.count(STUB) == 1, cell.source
            cell.source = cell.source.replace(STUB, answers[ex_id])
    nbformat.write(nb, notebook)


def _nbgrader(course: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "ERROR" not in done.stderr, done.stderr[-3000:]
    return done.stderr


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The environment nbgrader runs in: replay mode, no exercise pack, no lessons folder (the
    recordings travel with the assignment), the virtual environment's tools first on PATH
    (nbgrader runs ``alembic`` from there)."""
    for name in (packs.PACKS_ENV, packs.GRADE_REPORT_ENV, "ITC_LAB_LESSONS"):
        monkeypatch.delenv(name, raising=False)
    saved = list(packs._REGISTERED)
    packs._REGISTERED.clear()
    env = dict(os.environ)
    env["ITC_LAB_MODE"] = "replay"
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    yield env
    packs._REGISTERED[:] = saved


@pytest.mark.lessons
def test_nbgrader_autograde_gives_the_scores_grade_gives(tmp_path, clean_env, monkeypatch):
    try:
        from nbgrader.api import Gradebook
    except ImportError:
        pytest.fail("nbgrader is not installed: `./run setup` installs the dev extra")

    pack = tmp_path / "my-course" / "exercises"
    pack.mkdir(parents=True)
    for ex_id, text in PACK.items():
        (pack / f"{ex_id}.toml").write_text(text.lstrip(), encoding="utf-8")
    found = catalog([pack])
    ids = ["00-least-likely-token", "00-count-tokens", "00-mean-probability"]
    points = {i: found[i].points for i in ids}
    assert points == {"00-least-likely-token": 1, "00-count-tokens": 4, "00-mean-probability": 2}

    # the instructor's build, from the clone's root
    monkeypatch.chdir(REPO)
    build(tmp_path / "class", packs=[pack], lessons=["00"], nbgrader=True)

    # an nbgrader course: the solution notebooks are the source
    course = tmp_path / "course"
    source = course / "source" / ASSIGNMENT
    shutil.copytree(tmp_path / "class" / "solutions", source)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.ClearSolutions.code_stub = {{'python': {STUB!r}}}\n"
        "c.Execute.timeout = 600\n", encoding="utf-8")
    monkeypatch.chdir(course)
    _nbgrader(course, clean_env, "generate_assignment", ASSIGNMENT)
    release = course / "release" / ASSIGNMENT
    assert (release / "recordings" / f"{LESSON}.jsonl").is_file()
    released = (release / f"{LESSON}.ipynb").read_text(encoding="utf-8")
    assert "SOLUTION-MARK" not in released and "BEGIN SOLUTION" not in released
    cells = _exercise_cells(nbformat.reads(released, as_version=4))
    for i in ids:
        assert cells[(i, "code")].source == f"{STUB}\n{found[i].check_call}"
        assert cells[(i, "test")].metadata["nbgrader"]["points"] == points[i]

    # three students hand in the released folder: right answers, wrong ones, nothing
    answers = {"ada": {i: found[i].solution for i in ids}, "bob": WRONG, "cyd": {}}
    submitted = {}
    for student, code in answers.items():
        folder = course / "submitted" / student / ASSIGNMENT
        shutil.copytree(release, folder)
        _answer(folder / f"{LESSON}.ipynb", code)
        submitted[student] = folder / f"{LESSON}.ipynb"
    _nbgrader(course, clean_env, "autograde", ASSIGNMENT)

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        by_nbgrader = {}
        for student in answers:
            notebook = gradebook.find_submission_notebook(LESSON, ASSIGNMENT, student)
            by_nbgrader[student] = {g.name: (g.auto_score, g.max_score) for g in notebook.grades}
            assert not any(g.needs_manual_grade for g in notebook.grades)
    expected = {"ada": {i: (float(p), float(p)) for i, p in points.items()},
                "bob": {i: (0.0, float(p)) for i, p in points.items()},
                "cyd": {i: (0.0, float(p)) for i, p in points.items()}}
    assert by_nbgrader == expected

    # what the autograded notebooks show: the right verdicts, "Not answered yet" under the stub,
    # and each failing test cell says why
    for student in answers:
        ran = nbformat.read(course / "autograded" / student / ASSIGNMENT / f"{LESSON}.ipynb",
                            as_version=4)
        cells = _exercise_cells(ran)
        for i in ids:
            [shown] = [o.data["text/plain"] for o in cells[(i, "code")].outputs
                       if o.output_type == "execute_result"]
            test_out = cells[(i, "test")].outputs
            if student == "ada":
                assert shown.startswith(f"[{i}] Correct: "), shown
                assert [o.data["text/plain"] for o in test_out] == [str(points[i])]
                continue
            assert shown.startswith(f"[{i}] " + ("Not yet: " if student == "bob" else
                                                 "Not answered yet: ")), shown
            [error] = test_out
            assert error.output_type == "error" and error.ename == "AssertionError"
            if student == "bob":
                assert WRONG_SAYS[i] in error.evalue, error.evalue

    _nbgrader(course, clean_env, "export", "--to", str(course / "grades.csv"))
    with (course / "grades.csv").open(encoding="utf-8") as f:
        totals = {r["student_id"]: (float(r["score"]), float(r["max_score"]))
                  for r in csv.DictReader(f)}
    assert totals == {"ada": (7.0, 7.0), "bob": (0.0, 7.0), "cyd": (0.0, 7.0)}

    # itc-lab's own grader on the same notebooks, and on the source (the answer key), from the
    # folder that holds lessons/
    monkeypatch.chdir(REPO)
    graded = grade([*submitted.values(), source / f"{LESSON}.ipynb"], packs=[pack])
    by_itc_lab = {student: {s.exercise: (float(s.points), float(s.possible)) for s in g.scores}
                  for student, g in zip([*answers, "key"], graded, strict=True)}
    assert by_itc_lab.pop("key") == expected["ada"]
    assert by_itc_lab == by_nbgrader
    assert [g.answer_key for g in graded] == [False, False, False, True]
    assert [g.cell_errors for g in graded] == [0, 0, 0, 0]  # failing test cells are scores
    bob = {s.exercise: s.message for s in graded[1].scores}
    assert all(WRONG_SAYS[i] in bob[i] for i in ids), bob
    assert all(s.message.startswith("Not answered yet") for s in graded[2].scores)


def test_require_is_silent_when_a_check_warns(tmp_path, monkeypatch):
    """nbgrader gives 0 to a test cell that writes to stderr, so a warning raised while
    checking must not reach it."""
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "00-warns.toml").write_text('''
id = "00-warns"
lesson = "00_meet_your_model"
title = "Warns"
points = 3
prompt = "Set `my_answer` to 1."
starter = "my_answer = None"
solution = "my_answer = 1"
define = "import warnings; warnings.warn('a warning from the checks', DeprecationWarning)"

[[checks]]
expr = "answer == 1"
message = "not 1"
''', encoding="utf-8")
    monkeypatch.setenv(packs.PACKS_ENV, str(pack))
    monkeypatch.setenv("ITC_LAB_LESSONS", str(REPO / "lessons"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert require("00-warns", 1).points == 3
        with pytest.raises(AssertionError, match=re.escape("[00-warns] Not yet: not 1")):
            require("00-warns", 2)
    assert caught == []
