"""Exercise cells in notebooks: build student and solution notebooks from the exercise files,
keep the lessons in step with the files, and grade notebooks. The ``itc-lab exercises`` command.

A lesson's exercise cells carry cell metadata ``{"itc_lab": {"exercise": ID, "part": PART}}``
with PART ``"prompt"`` (Markdown: title, points, prompt) or ``"code"`` (setup, starter or
solution, and the ``itc_lab.check(...)`` call); nbgrader builds add a ``"test"`` cell, and built
notebooks an ``"embed"`` cell for each exercise that is not built in: its definition without the
solution, so the notebook checks it with no pack at hand. Exercises of a pack that have no cell in
their lesson yet are added after its last exercise cell. Introduced in lesson 00.
"""

from __future__ import annotations

import argparse
import copy
import csv
import hashlib
import json
import os
import pprint
import shutil
import subprocess
import sys
import tempfile
import textwrap
import tomllib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..connect import lessons_dir
from .packs import (
    GRADE_REPORT_ENV,
    PACKS_ENV,
    Exercise,
    ExercisePackError,
    Feedback,
    builtin_pack_dir,
    catalog,
)

__all__ = [
    "CSV_FIELDS",
    "VERSIONS",
    "ExerciseScore",
    "NotebookGrade",
    "add_exercises_command",
    "build",
    "format_grades",
    "grade",
    "lesson_files",
    "render_code",
    "render_embed",
    "render_notebook",
    "render_prompt",
    "render_test",
    "run_exercises_command",
    "sync",
    "write_grades_csv",
]

VERSIONS = ("student", "solution")
"""The notebooks ``build`` writes for each lesson: ``OUT/student/`` and ``OUT/solutions/``."""

_FOLDERS = {"student": "student", "solution": "solutions"}
_PARTS = ("prompt", "embed", "code", "test")
_NBGRADER_SCHEMA = 3
_BEGIN, _END = "### BEGIN SOLUTION", "### END SOLUTION"


# ---------------------------------------------------------------------------------------------
# Rendering cells
# ---------------------------------------------------------------------------------------------


def render_prompt(ex: Exercise) -> str:
    """The Markdown of an exercise's prompt cell: heading with title and points, the prompt,
    and where to find hints."""
    unit = "point" if ex.points == 1 else "points"
    text = f"## Exercise: {ex.title} ({ex.points} {unit})\n\n{ex.prompt}"
    if len(ex.hints) == 1:
        text += f'\n\nStuck? Run `itc_lab.hint("{ex.id}")` for a hint.'
    elif ex.hints:
        text += (f'\n\nStuck? Run `itc_lab.hint("{ex.id}")` for a hint, and '
                 f'`itc_lab.hint("{ex.id}", 2)` for the next ({len(ex.hints)} in all).')
    return text


def render_code(ex: Exercise, version: str = "student", *, nbgrader: bool = False) -> str:
    """The code of an exercise's cell: setup, then the starter (``"student"``) or the solution
    (``"solution"``; between nbgrader's solution markers when ``nbgrader``), then the check."""
    if version not in VERSIONS:
        msg = f"version must be one of {VERSIONS}, not {version!r}."
        raise ValueError(msg)
    body = ex.starter if version == "student" else ex.solution
    if version == "solution" and nbgrader:
        body = f"{_BEGIN}\n{body}\n{_END}"
    return "\n".join(part for part in (ex.setup, body, ex.check_call) if part)


def render_test(ex: Exercise) -> str:
    """The code of an nbgrader test cell: raises ``AssertionError`` unless every check,
    hidden ones included, passes; its output is the points earned (a number, which nbgrader
    reads as the score)."""
    tail = f", {ex.call}" if ex.call else ""
    return (f"# Autograder test for {ex.id!r}: every check, hidden ones included\n"
            f'itc_lab.exercises.require("{ex.id}", my_answer{tail}).points')


def _definition(ex: Exercise) -> dict[str, Any]:
    """The exercise's file as a dict, without its solution."""
    if ex.path is None:
        msg = f"Exercise {ex.id!r} has no file to embed."
        raise ExercisePackError(msg)
    with ex.path.open("rb") as f:
        data = tomllib.load(f)
    data.pop("solution", None)
    return data


def render_embed(ex: Exercise) -> str:
    """The code of a cell that registers an exercise in the notebook's kernel (its checks,
    hints and prompt, without the solution), so that ``check`` and ``hint`` work with no pack
    installed. A pack's exercise of the same id wins, so grading uses the instructor's file."""
    literal = pprint.pformat(_definition(ex), width=96, sort_dicts=False)
    return (f"# Exercise {ex.id!r}, carried by this notebook so that its check works anywhere "
            "(no solution in it).\n# Run this cell before the exercise; do not edit it.\n"
            f"itc_lab.exercises.embed({literal})")


def _cell_id(exercise_id: str, part: str) -> str:
    return hashlib.sha1(f"{exercise_id}/{part}".encode()).hexdigest()[:8]


def _tag(cell: Any) -> tuple[str, str] | None:
    meta = cell.get("metadata", {}).get("itc_lab")
    if isinstance(meta, Mapping) and isinstance(meta.get("exercise"), str):
        return meta["exercise"], str(meta.get("part", ""))
    return None


def _part(cell: Any) -> str | None:
    tag = _tag(cell)
    return None if tag is None else tag[1]


def _nbgrader_meta(ex: Exercise, part: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"schema_version": _NBGRADER_SCHEMA, "grade": False,
                            "solution": False, "locked": True, "task": False,
                            "grade_id": f"{ex.id}-{part}"}
    if part == "code":
        meta.update(solution=True, locked=False)
    elif part == "test":
        meta.update(grade=True, grade_id=ex.id, points=ex.points)
    return meta


def _unanswered_output(ex: Exercise, count: int | None) -> dict[str, Any]:
    from nbformat.v4 import new_output

    feedback = Feedback(ex.id, False, f"Not answered yet: {ex.summary}")
    data = {"text/html": feedback._repr_html_(), "text/plain": repr(feedback)}
    output: dict[str, Any] = new_output(  # type: ignore[no-untyped-call]
        "execute_result", data=data, execution_count=count)
    return output


def _render_cell(ex: Exercise, part: str, version: str, *, nbgrader: bool, old: Any = None,
                 keep_outputs: bool = False) -> Any:
    from nbformat.v4 import new_code_cell, new_markdown_cell

    if part == "prompt":
        cell = new_markdown_cell(render_prompt(ex))  # type: ignore[no-untyped-call]
    elif part == "embed":
        cell = new_code_cell(render_embed(ex))  # type: ignore[no-untyped-call]
    elif part == "code":
        cell = new_code_cell(  # type: ignore[no-untyped-call]
            render_code(ex, version, nbgrader=nbgrader))
    else:
        cell = new_code_cell(render_test(ex))  # type: ignore[no-untyped-call]
    metadata = dict(old.get("metadata", {})) if old is not None else {}
    metadata.pop("nbgrader", None)
    metadata["itc_lab"] = {"exercise": ex.id, "part": part}
    if part == "embed":
        metadata["jupyter"] = {"source_hidden": True}
        metadata["editable"] = False
    if nbgrader:
        metadata["nbgrader"] = _nbgrader_meta(ex, part)
    cell["metadata"] = metadata
    cell["id"] = old["id"] if old is not None and old.get("id") else _cell_id(ex.id, part)
    if part == "code" and keep_outputs:
        outputs = [] if old is None else [o for o in old.get("outputs", [])
                                          if o.get("output_type") == "stream"]
        previous = [o.get("execution_count") for o in (old or {}).get("outputs", [])
                    if o.get("output_type") == "execute_result"]
        count = previous[0] if previous else (old or {}).get("execution_count")
        cell["outputs"] = [*outputs, _unanswered_output(ex, count)]
        cell["execution_count"] = count
    return cell


def render_notebook(nb: Any, lesson: str, exercises: Mapping[str, Exercise], version: str,
                    *, nbgrader: bool = False, keep_outputs: bool = False,
                    embedded: Collection[str] = ()) -> Any:
    """A copy of a lesson notebook whose exercise cells are rendered from ``exercises``.

    Tagged cells are re-rendered in place (their ids kept); exercises of ``lesson`` with no cell
    yet are added after the last exercise cell (or at the end). Exercise code cells lose their
    outputs, unless ``keep_outputs`` (used to sync lessons): then their printed output is kept
    and their result is what an unanswered check shows. The exercises in ``embedded`` get an
    ``"embed"`` cell before their code (:func:`render_embed`).
    """
    out = copy.deepcopy(nb)
    cells: list[Any] = []
    present: dict[str, set[str]] = {}
    last = -1
    for cell in nb.cells:
        tag = _tag(cell)
        if tag is None:
            cells.append(copy.deepcopy(cell))
            continue
        ex_id, part = tag
        if ex_id not in exercises:
            msg = (f"Lesson {lesson!r} has an exercise cell for {ex_id!r}, which no exercise "
                   f"pack defines; known: {', '.join(sorted(exercises))}. Add its pack "
                   f"(--pack or {PACKS_ENV}) or remove the cell's itc_lab metadata.")
            raise ExercisePackError(msg)
        if part not in _PARTS:
            msg = (f"Lesson {lesson!r}: an exercise cell of {ex_id!r} has part {part!r}; "
                   f"use one of {', '.join(_PARTS)}.")
            raise ExercisePackError(msg)
        if part in present.setdefault(ex_id, set()):
            msg = (f"Lesson {lesson!r} has two {part!r} cells for exercise {ex_id!r}; "
                   "remove one.")
            raise ExercisePackError(msg)
        present[ex_id].add(part)
        if part in ("test", "embed"):
            continue  # rebuilt below when asked for
        cells.append(_render_cell(exercises[ex_id], part, version, nbgrader=nbgrader, old=cell,
                                  keep_outputs=keep_outputs))
        last = len(cells) - 1
    missing = [e for e in exercises.values()
               if e.lesson == lesson and not present.get(e.id, set()) & {"prompt", "code"}]
    for ex in sorted(missing, key=lambda e: e.id):
        new = [_render_cell(ex, p, version, nbgrader=nbgrader, keep_outputs=keep_outputs)
               for p in ("prompt", "code")]
        at = last + 1 if last >= 0 else len(cells)
        cells[at:at] = new
        last = at + len(new) - 1
        present[ex.id] = {"prompt", "code"}
    cells = _complete(cells, exercises, version, nbgrader=nbgrader, keep_outputs=keep_outputs,
                      embedded=embedded)
    if keep_outputs:
        _number_new_cells(cells)
    out.cells = cells
    return out


def _number_new_cells(cells: list[Any]) -> None:
    """Give an added exercise cell with a stored result an execution count (one more than the
    code cell before it): a never-run cell with outputs reads as stale to nbval."""
    previous = 0
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        count = cell.get("execution_count")
        if count is None and _tag(cell) is not None and cell.get("outputs"):
            count = previous + 1
            cell["execution_count"] = count
            for output in cell["outputs"]:
                if output.get("output_type") == "execute_result":
                    output["execution_count"] = count
        if isinstance(count, int):
            previous = count


def _complete(cells: list[Any], exercises: Mapping[str, Exercise], version: str, *,
              nbgrader: bool, keep_outputs: bool, embedded: Collection[str] = ()) -> list[Any]:
    """Add a missing prompt or code cell next to its partner, the embed cells and nbgrader's
    test cells."""
    done: list[Any] = []
    parts: dict[str, set[str]] = {}
    for cell in cells:
        tag = _tag(cell)
        if tag is not None:
            parts.setdefault(tag[0], set()).add(tag[1])
    for cell in cells:
        tag = _tag(cell)
        if tag is None:
            done.append(cell)
            continue
        ex = exercises[tag[0]]
        if tag[1] == "code" and "prompt" not in parts[ex.id]:
            done.append(_render_cell(ex, "prompt", version, nbgrader=nbgrader))
        if tag[1] == "code" and ex.id in embedded:
            done.append(_render_cell(ex, "embed", version, nbgrader=nbgrader))
        done.append(cell)
        if tag[1] == "prompt" and "code" not in parts[ex.id]:
            if ex.id in embedded:
                done.append(_render_cell(ex, "embed", version, nbgrader=nbgrader))
            done.append(_render_cell(ex, "code", version, nbgrader=nbgrader,
                                     keep_outputs=keep_outputs))
        if nbgrader and (tag[1] == "code" or "code" not in parts[ex.id]):
            done.append(_render_cell(ex, "test", version, nbgrader=nbgrader))
    return done


# ---------------------------------------------------------------------------------------------
# Lessons, build and sync
# ---------------------------------------------------------------------------------------------


def lesson_files(folder: str | os.PathLike[str] | None = None) -> dict[str, Path]:
    """The lesson notebooks (``NN_slug.ipynb``) of a lessons folder (default: ``lessons_dir()``),
    by name."""
    where = Path(folder) if folder is not None else lessons_dir()
    return {p.stem: p for p in sorted(where.glob("[0-9][0-9]_*.ipynb"))}


def _select(wanted: Sequence[str] | None, available: Mapping[str, Path]) -> list[str]:
    if not wanted:
        return list(available)
    chosen: list[str] = []
    for name in wanted:
        stem = Path(name).stem
        matches = [s for s in available if s == stem] or [s for s in available
                                                          if s.startswith(stem)]
        if len(matches) != 1:
            which = "several lessons match" if matches else "no lesson matches"
            msg = f"{which} {name!r}; lessons: {', '.join(available) or 'none'}."
            raise ExercisePackError(msg)
        if matches[0] not in chosen:
            chosen.append(matches[0])
    return chosen


def _exercises(packs: Iterable[str | os.PathLike[str]], available: Mapping[str, Path]
               ) -> dict[str, Exercise]:
    found = catalog(packs)
    builtin = builtin_pack_dir().resolve()
    for ex in found.values():
        # a lessons folder may hold some of the lessons only: built-ins for others are unused
        mine = ex.path is not None and ex.path.parent.resolve() != builtin
        if mine and ex.lesson not in available:
            where = next(iter(available.values())).parent if available else lessons_dir()
            msg = (f"{ex.path}: the field 'lesson' names {ex.lesson!r}, but {where} has no "
                   f"{ex.lesson}.ipynb; lessons: {', '.join(available) or 'none'}.")
            raise ExercisePackError(msg)
    return found


def _read(path: Path) -> Any:
    import nbformat

    return nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]


def _write(nb: Any, path: Path) -> None:
    import nbformat

    nbformat.validate(nb)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)  # type: ignore[no-untyped-call]


def build(out: str | os.PathLike[str], *, packs: Sequence[str | os.PathLike[str]] = (),
          lessons: Sequence[str] | None = None, nbgrader: bool = False) -> list[Path]:
    """Write ``OUT/student/<lesson>.ipynb`` and ``OUT/solutions/<lesson>.ipynb`` for each lesson
    (default: all), with each lesson's recording in ``recordings/`` beside them so the folders
    run on their own. ``packs``: exercise folders besides the registered ones. Exercises that are
    not built in are carried by the notebooks (an embed cell each, without the solution), so the
    student notebooks check them with no pack and no ``ITC_LAB_EXERCISES``. Returns the
    notebooks written."""
    available = lesson_files()
    chosen = _select(lessons, available)
    found = _exercises(packs, available)
    builtin = builtin_pack_dir().resolve()
    own = {i for i, ex in found.items()
           if ex.path is not None and ex.path.parent.resolve() != builtin}
    written: list[Path] = []
    for stem in chosen:
        nb = _read(available[stem])
        recording = available[stem].parent / "recordings" / f"{stem}.jsonl"
        for version in VERSIONS:
            rendered = render_notebook(nb, stem, found, version, nbgrader=nbgrader,
                                       embedded=own)
            rendered.metadata["itc_lab"] = {"lesson": stem, "version": version}
            target = Path(out) / _FOLDERS[version] / f"{stem}.ipynb"
            _write(rendered, target)
            written.append(target)
            if recording.exists():
                (target.parent / "recordings").mkdir(exist_ok=True)
                shutil.copy2(recording, target.parent / "recordings" / recording.name)
    return written


def sync(lessons: Sequence[str] | None = None, *, packs: Sequence[str | os.PathLike[str]] = (),
         dry_run: bool = False) -> list[Path]:
    """Rewrite the lessons' exercise cells (student version) from the exercise files, adding
    cells for exercises that have none; returns the lessons that changed (with ``dry_run``:
    that would change). The stored result of each exercise cell becomes the "Not answered yet"
    line; printed output is kept (refresh it with ``itc-lab record NN --outputs-only``)."""
    import nbformat

    available = lesson_files()
    chosen = _select(lessons, available)
    found = _exercises(packs, available)
    changed: list[Path] = []
    for stem in chosen:
        path = available[stem]
        before = path.read_text(encoding="utf-8")
        nb = nbformat.reads(before, as_version=4)  # type: ignore[no-untyped-call]
        after = render_notebook(nb, stem, found, "student", keep_outputs=True)
        nbformat.validate(after)
        text = nbformat.writes(after) + "\n"  # type: ignore[no-untyped-call]
        if text != before:
            changed.append(path)
            if not dry_run:
                path.write_text(text, encoding="utf-8")
    return changed


# ---------------------------------------------------------------------------------------------
# Grading
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExerciseScore:
    """One exercise of a graded notebook."""

    exercise: str
    title: str
    points: int
    """Points earned (points)."""
    possible: int
    """Points the exercise is worth (points)."""
    reached: bool
    """Whether its check ran at all."""
    passed_visible: bool
    passed_all: bool
    has_hidden: bool
    """Whether the exercise has hidden checks."""
    message: str
    answer: str = ""
    """The answer checked last, as ``repr()`` shows it."""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.exercise, "title": self.title, "points": self.points,
                "possible": self.possible, "reached": self.reached,
                "passed_visible": self.passed_visible, "passed_all": self.passed_all,
                "has_hidden": self.has_hidden, "message": self.message, "answer": self.answer}


@dataclass(frozen=True)
class NotebookGrade:
    """The grade of one executed notebook."""

    notebook: str
    lesson: str
    scores: tuple[ExerciseScore, ...]
    cell_errors: int
    """Cells that raised an error while the notebook ran (a failing nbgrader test cell is
    its exercise's 0, not counted here)."""
    answer_key: bool = False
    """A solution notebook written by ``build`` (the answer key): graded, never counted as a
    student's."""

    @property
    def total(self) -> int:
        """Points earned in this notebook (points)."""
        return sum(s.points for s in self.scores)

    @property
    def possible(self) -> int:
        """Points available in this notebook (points)."""
        return sum(s.possible for s in self.scores)

    def to_dict(self) -> dict[str, Any]:
        return {"notebook": self.notebook, "lesson": self.lesson, "answer_key": self.answer_key,
                "total": self.total, "possible": self.possible,
                "cell_errors": self.cell_errors,
                "exercises": [s.to_dict() for s in self.scores]}


def _expected(nb: Any, path: Path, found: Mapping[str, Exercise]) -> tuple[str, list[str]]:
    ids: list[str] = []
    for cell in nb.cells:
        tag = _tag(cell)
        if tag is not None and tag[0] not in ids:
            ids.append(tag[0])
    meta = nb.metadata.get("itc_lab", {})
    lesson = meta.get("lesson") if isinstance(meta, Mapping) else None
    lessons = {ex.lesson for ex in found.values()}
    if not isinstance(lesson, str) or lesson not in lessons:
        lesson = path.stem if path.stem in lessons else None
    if lesson is None:
        tagged = [found[i].lesson for i in ids if i in found]
        lesson = tagged[0] if tagged else ""
    ids += sorted(ex.id for ex in found.values() if ex.lesson == lesson and ex.id not in ids)
    return lesson, ids


def _is_answer_key(nb: Any) -> bool:
    """A solution notebook from ``build``. nbgrader's release keeps the source notebook's
    metadata but replaces each solution with its stub: a notebook whose nbgrader answer cells
    have no solution markers is a student's (a release, or a submission made from one)."""
    meta = nb.metadata.get("itc_lab", {})
    if not (isinstance(meta, Mapping) and meta.get("version") == "solution"):
        return False
    answers = [cell for cell in nb.cells if _part(cell) == "code"
               and "nbgrader" in cell.get("metadata", {})]
    return not answers or any(_BEGIN in cell.get("source", "") for cell in answers)


def _cell_errors(nb: Any) -> int:
    """Cells that raised, not counting nbgrader test cells (a failing one is a score of 0,
    not an error in the notebook)."""
    return sum(1 for cell in nb.cells
               if _part(cell) != "test"
               and any(o.get("output_type") == "error" for o in cell.get("outputs", [])))


def _execute(path: Path, env: Mapping[str, str], timeout: int, log: Path) -> tuple[Any, str]:
    """Run a copy of the notebook in its folder, going on after cell errors; returns the run
    notebook and why it stopped early ("" when it ran to the end). The kernel's own messages
    (warnings on its stderr) go to ``log``, never to the grade's output."""
    import logging

    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    nb = _read(path)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            interrupt_on_timeout=True,
                            resources={"metadata": {"path": str(path.resolve().parent)}})
    client.log.setLevel(logging.ERROR)
    with log.open("ab") as kernel_log:
        try:
            client.execute(env={**os.environ, **env}, stdout=kernel_log, stderr=kernel_log,
                           stdin=subprocess.DEVNULL)
        except DeadKernelError as e:
            return nb, f"the kernel died ({e}){_tail(log)}"
        except Exception as e:  # a timeout that could not be interrupted, a kernel that won't start
            return nb, f"{type(e).__name__}: {e}{_tail(log)}"
    return nb, ""


def _tail(log: Path) -> str:
    text = log.read_text(encoding="utf-8", errors="replace").strip()
    lines = [line for line in text.splitlines() if "WARNING" not in line][-5:]
    return ("; the kernel said: " + " / ".join(lines)) if lines else ""


def grade(notebooks: Sequence[str | os.PathLike[str]], *,
          packs: Sequence[str | os.PathLike[str]] = (), timeout: int = 600
          ) -> list[NotebookGrade]:
    """Run each notebook in replay mode (recordings from ``lessons_dir()``) and score its
    exercises: an exercise earns its points when every check, hidden ones included, passes on
    the last answer checked (the rule ``check`` applies in the notebook); one whose check never
    ran scores 0, "not reached". A solution notebook from ``build`` is marked as the answer
    key."""
    extra = [str(Path(p).resolve()) for p in packs]
    found = catalog(extra)
    env_packs = os.pathsep.join([p for p in os.environ.get(PACKS_ENV, "").split(os.pathsep)
                                 if p.strip()] + extra)
    grades: list[NotebookGrade] = []
    for name in notebooks:
        path = Path(name)
        if not path.is_file():
            msg = f"No notebook {path}; give the path of an .ipynb file to grade."
            raise FileNotFoundError(msg)
        submitted = _read(path)
        lesson, ids = _expected(submitted, path, found)
        with tempfile.TemporaryDirectory(prefix="itc-lab-grade-") as tmp:
            report = Path(tmp) / "report.jsonl"
            report.touch()
            env = {"ITC_LAB_MODE": "replay", "ITC_LAB_LESSONS": str(lessons_dir().resolve()),
                   GRADE_REPORT_ENV: str(report), PACKS_ENV: env_packs}
            ran, stopped = _execute(path, env, timeout, Path(tmp) / "kernel.log")
            lines = report.read_text(encoding="utf-8").splitlines()
        last: dict[str, dict[str, Any]] = {}
        for line in lines:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                last[entry["id"]] = entry
        errors = _cell_errors(ran)
        scores = [_score(i, found.get(i), last.get(i), stopped) for i in ids]
        grades.append(NotebookGrade(str(path), lesson, tuple(scores), errors,
                                    _is_answer_key(submitted)))
    return grades


def _score(ex_id: str, ex: Exercise | None, entry: Mapping[str, Any] | None, stopped: str
           ) -> ExerciseScore:
    if ex is None:
        return ExerciseScore(ex_id, "", 0, 0, False, False, False, False,
                             f"unknown exercise (add its pack with --pack or {PACKS_ENV})")
    has_hidden = any(c.hidden for c in ex.checks)
    if entry is None:
        why = "not reached" + (f": {stopped}" if stopped else "")
        return ExerciseScore(ex.id, ex.title, 0, ex.points, False, False, False, has_hidden, why)
    passed_all = entry.get("passed_all") is True
    return ExerciseScore(ex.id, ex.title, ex.points if passed_all else 0, ex.points, True,
                         entry.get("passed_visible") is True, passed_all, has_hidden,
                         str(entry.get("message", "")), str(entry.get("answer", "")))


def _role(g: NotebookGrade) -> str:
    return "answer key" if g.answer_key else "student"


def format_grades(grades: Sequence[NotebookGrade], *, width: int = 100) -> str:
    """A plain-text report: one row per notebook with the points of each exercise and the
    total, the answer keys apart (never in a student's total), then every message in full."""
    lines: list[str] = []
    students = [g for g in grades if not g.answer_key]
    keys = [g for g in grades if g.answer_key]
    ids: list[str] = []
    for g in grades:
        ids += [s.exercise for s in g.scores if s.exercise not in ids]
    for title, group in (("Students", students), ("Answer keys (solution notebooks; not "
                                                  "counted)", keys)):
        if not group:
            continue
        name_width = max(len("notebook"), *(len(g.notebook) for g in group))
        widths = {i: max(len(i), 7) for i in ids}
        lines.append(title)
        lines.append("  " + "  ".join([f"{'notebook':<{name_width}}",
                                       *(f"{i:>{widths[i]}}" for i in ids),
                                       f"{'total':>7}", "errors"]))
        for g in group:
            by_id = {s.exercise: s for s in g.scores}
            cells = [f"{by_id[i].points}/{by_id[i].possible}" if i in by_id else "" for i in ids]
            lines.append("  " + "  ".join([f"{g.notebook:<{name_width}}",
                                           *(f"{c:>{widths[i]}}" for c, i in zip(cells, ids,
                                                                                strict=True)),
                                           f"{g.total}/{g.possible}".rjust(7),
                                           str(g.cell_errors)]))
        lines.append("")
    if len(students) > 1:
        lines.append(f"Students: {len(students)} notebooks, "
                     f"{sum(g.total for g in students)}/{sum(g.possible for g in students)} "
                     "points in all.")
        lines.append("")
    lines.append("Messages")
    for g in grades:
        lines.append(f"  {g.notebook} ({_role(g)}, lesson {g.lesson or '?'})")
        for s in g.scores:
            verdict = ("not reached" if not s.reached else
                       "pass" if s.passed_all else
                       "fail (hidden check)" if s.passed_visible else "fail")
            head = f"    {s.exercise}  {s.points}/{s.possible}  {verdict}: "
            lines += textwrap.wrap(s.message, width=width, initial_indent=head,
                                   subsequent_indent=" " * 6, break_long_words=False,
                                   break_on_hyphens=False) or [head.rstrip()]
        if g.cell_errors:
            lines.append(f"    {g.cell_errors} cell(s) raised an error while the notebook ran.")
    return "\n".join(lines).rstrip() + "\n"


CSV_FIELDS = ("notebook", "role", "lesson", "exercise", "title", "points", "possible",
              "reached", "passed", "passed_visible", "message", "answer", "cell_errors")


def write_grades_csv(grades: Sequence[NotebookGrade], path: str | os.PathLike[str]) -> Path:
    """Write one CSV row per notebook and exercise (columns :data:`CSV_FIELDS`; ``role`` is
    ``student`` or ``answer key``), for a spreadsheet or a gradebook. Returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_FIELDS)
        for g in grades:
            for s in g.scores:
                writer.writerow([g.notebook, _role(g), g.lesson, s.exercise, s.title, s.points,
                                 s.possible, s.reached, s.passed_all, s.passed_visible,
                                 s.message, s.answer, g.cell_errors])
    return target


# ---------------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------------


def add_exercises_command(sub: Any) -> None:
    """Add ``exercises list|build|sync|grade`` to the ``itc-lab`` sub-parsers ``sub``."""
    p = sub.add_parser("exercises", help="list, build, sync and grade the exercises "
                       "(one TOML file each)")
    esub = p.add_subparsers(dest="exercises_command", required=True)
    pack_help = f"another folder of exercise files (repeatable; also {PACKS_ENV})"
    q = esub.add_parser("list", help="list the exercises: id, lesson, points, file")
    q.add_argument("--pack", action="append", default=[], metavar="DIR", help=pack_help)
    q = esub.add_parser("build", help="write student and solution notebooks for each lesson")
    q.add_argument("--pack", action="append", default=[], metavar="DIR", help=pack_help)
    q.add_argument("--out", default="build/exercises", metavar="DIR",
                   help="output folder (default build/exercises)")
    q.add_argument("--lessons", nargs="+", metavar="LESSON", help="e.g. 00 02 (default: all)")
    q.add_argument("--nbgrader", action="store_true",
                   help="add nbgrader cell metadata, solution markers and test cells")
    q = esub.add_parser("sync", help="rewrite the lessons' exercise cells from the exercise "
                        "files (after editing a built-in exercise)")
    q.add_argument("--pack", action="append", default=[], metavar="DIR", help=pack_help)
    q.add_argument("--lessons", nargs="+", metavar="LESSON", help="e.g. 02 (default: all)")
    q.add_argument("--check", action="store_true",
                   help="change nothing; exit 1 if a lesson is out of step with the files")
    q = esub.add_parser("grade", help="run notebooks in replay mode and score their exercises")
    q.add_argument("notebooks", nargs="+", metavar="NOTEBOOK")
    q.add_argument("--pack", action="append", default=[], metavar="DIR", help=pack_help)
    q.add_argument("--timeout", type=int, default=600, metavar="S",
                   help="seconds per cell (default 600)")
    q.add_argument("--json", action="store_true", help="print the scores as JSON")
    q.add_argument("--csv", default="grades.csv", metavar="FILE",
                   help="also write one row per notebook and exercise to FILE "
                        "(default grades.csv; '' writes none)")


def run_exercises_command(args: argparse.Namespace) -> int:
    """Run ``itc-lab exercises ...`` as parsed by :func:`add_exercises_command`."""
    try:
        return _run(args)
    except (ExercisePackError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    command = args.exercises_command
    if command == "list":
        found = catalog(args.pack)
        width = max([len("id"), *(len(i) for i in found)])
        lesson_width = max([len("lesson"), *(len(e.lesson) for e in found.values())])
        print(f"{'id':<{width}}  {'lesson':<{lesson_width}}  {'points':>6}  file")
        for ex in found.values():
            print(f"{ex.id:<{width}}  {ex.lesson:<{lesson_width}}  {ex.points:>6}  {ex.path}")
        return 0
    if command == "build":
        written = build(args.out, packs=args.pack, lessons=args.lessons, nbgrader=args.nbgrader)
        for path in written:
            print(path)
        print(f"Built {len(written)} notebooks in {args.out}.")
        return 0
    if command == "sync":
        changed = sync(args.lessons, packs=args.pack, dry_run=args.check)
        if args.check:
            for path in changed:
                print(f"out of step with the exercise files: {path}")
            print("Run `itc-lab exercises sync` to update them." if changed else
                  "The lessons match the exercise files.")
            return 1 if changed else 0
        for path in changed:
            print(f"updated {path}")
        if changed:
            print("If an exercise's setup prints something, refresh the stored outputs with "
                  "`itc-lab record NN --outputs-only`.")
        else:
            print("The lessons already match the exercise files.")
        return 0
    grades = grade(args.notebooks, packs=args.pack, timeout=args.timeout)
    students = [g for g in grades if not g.answer_key]
    if args.json:
        print(json.dumps({"notebooks": [g.to_dict() for g in grades],
                          "total": sum(g.total for g in students),
                          "possible": sum(g.possible for g in students)},
                         indent=2, ensure_ascii=False))
    else:
        print(format_grades(grades), end="")
    if args.csv:
        csv_path = write_grades_csv(grades, args.csv)
        print(f"Wrote {csv_path}.", file=sys.stderr if args.json else sys.stdout)
    return 0
