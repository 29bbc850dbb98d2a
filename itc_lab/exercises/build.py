"""Exercise cells in notebooks: build student and solution notebooks from the exercise files,
keep the lessons in step with the files, and grade notebooks. The ``itc-lab exercises`` command.

A lesson's exercise cells carry cell metadata ``{"itc_lab": {"exercise": ID, "part": PART}}``
with PART ``"prompt"`` (Markdown: title, points, prompt) or ``"code"`` (setup, starter or
solution, and the ``itc_lab.check(...)`` call); nbgrader builds add a ``"test"`` cell. Exercises
of a pack that have no cell in their lesson yet are added after its last exercise cell.
Introduced in lesson 00.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._checks import shorten
from ..connect import lessons_dir
from .packs import (
    GRADE_REPORT_ENV,
    PACKS_ENV,
    Exercise,
    ExercisePackError,
    builtin_pack_dir,
    catalog,
)

__all__ = [
    "VERSIONS",
    "ExerciseScore",
    "NotebookGrade",
    "add_exercises_command",
    "build",
    "format_grades",
    "grade",
    "lesson_files",
    "render_code",
    "render_notebook",
    "render_prompt",
    "render_test",
    "run_exercises_command",
    "sync",
]

VERSIONS = ("student", "solution")
"""The notebooks ``build`` writes for each lesson: ``OUT/student/`` and ``OUT/solutions/``."""

_FOLDERS = {"student": "student", "solution": "solutions"}
_PARTS = ("prompt", "code", "test")
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
    hidden ones included, passes."""
    tail = f", {ex.call}" if ex.call else ""
    return (f"# Autograder test for {ex.id!r}: every check, hidden ones included\n"
            f'itc_lab.exercises.require("{ex.id}", my_answer{tail})')


def _cell_id(exercise_id: str, part: str) -> str:
    return hashlib.sha1(f"{exercise_id}/{part}".encode()).hexdigest()[:8]


def _tag(cell: Any) -> tuple[str, str] | None:
    meta = cell.get("metadata", {}).get("itc_lab")
    if isinstance(meta, Mapping) and isinstance(meta.get("exercise"), str):
        return meta["exercise"], str(meta.get("part", ""))
    return None


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

    text = f"[{ex.id}] Not answered yet: {ex.summary}"
    output: dict[str, Any] = new_output(  # type: ignore[no-untyped-call]
        "execute_result", data={"text/plain": text}, execution_count=count)
    return output


def _render_cell(ex: Exercise, part: str, version: str, *, nbgrader: bool, old: Any = None,
                 keep_outputs: bool = False) -> Any:
    from nbformat.v4 import new_code_cell, new_markdown_cell

    if part == "prompt":
        cell = new_markdown_cell(render_prompt(ex))  # type: ignore[no-untyped-call]
    elif part == "code":
        cell = new_code_cell(  # type: ignore[no-untyped-call]
            render_code(ex, version, nbgrader=nbgrader))
    else:
        cell = new_code_cell(render_test(ex))  # type: ignore[no-untyped-call]
    metadata = dict(old.get("metadata", {})) if old is not None else {}
    metadata.pop("nbgrader", None)
    metadata["itc_lab"] = {"exercise": ex.id, "part": part}
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
                    *, nbgrader: bool = False, keep_outputs: bool = False) -> Any:
    """A copy of a lesson notebook whose exercise cells are rendered from ``exercises``.

    Tagged cells are re-rendered in place (their ids kept); exercises of ``lesson`` with no cell
    yet are added after the last exercise cell (or at the end). Exercise code cells lose their
    outputs, unless ``keep_outputs`` (used to sync lessons): then their printed output is kept
    and their result is what an unanswered check shows.
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
        if part == "test":
            continue  # rebuilt below when nbgrader asks for it
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
    cells = _complete(cells, exercises, version, nbgrader=nbgrader, keep_outputs=keep_outputs)
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
              nbgrader: bool, keep_outputs: bool) -> list[Any]:
    """Add a missing prompt or code cell next to its partner, and nbgrader's test cells."""
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
        done.append(cell)
        if tag[1] == "prompt" and "code" not in parts[ex.id]:
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
    run on their own. ``packs``: exercise folders besides the registered ones. Returns the
    notebooks written."""
    available = lesson_files()
    chosen = _select(lessons, available)
    found = _exercises(packs, available)
    written: list[Path] = []
    for stem in chosen:
        nb = _read(available[stem])
        recording = available[stem].parent / "recordings" / f"{stem}.jsonl"
        for version in VERSIONS:
            rendered = render_notebook(nb, stem, found, version, nbgrader=nbgrader)
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

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.exercise, "title": self.title, "points": self.points,
                "possible": self.possible, "reached": self.reached,
                "passed_visible": self.passed_visible, "passed_all": self.passed_all,
                "has_hidden": self.has_hidden, "message": self.message}


@dataclass(frozen=True)
class NotebookGrade:
    """The grade of one executed notebook."""

    notebook: str
    lesson: str
    scores: tuple[ExerciseScore, ...]
    cell_errors: int
    """Cells that raised an error while the notebook ran."""

    @property
    def total(self) -> int:
        """Points earned in this notebook (points)."""
        return sum(s.points for s in self.scores)

    @property
    def possible(self) -> int:
        """Points available in this notebook (points)."""
        return sum(s.possible for s in self.scores)

    def to_dict(self) -> dict[str, Any]:
        return {"notebook": self.notebook, "lesson": self.lesson, "total": self.total,
                "possible": self.possible, "cell_errors": self.cell_errors,
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


def _execute(path: Path, env: Mapping[str, str], timeout: int) -> tuple[Any, str]:
    """Run a copy of the notebook in its folder, going on after cell errors; returns the run
    notebook and why it stopped early ("" when it ran to the end)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    nb = _read(path)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            interrupt_on_timeout=True,
                            resources={"metadata": {"path": str(path.resolve().parent)}})
    try:
        client.execute(env={**os.environ, **env})
    except DeadKernelError as e:
        return nb, f"the kernel died ({e})"
    except Exception as e:  # a timeout that could not be interrupted, a kernel that won't start
        return nb, f"{type(e).__name__}: {e}"
    return nb, ""


def grade(notebooks: Sequence[str | os.PathLike[str]], *,
          packs: Sequence[str | os.PathLike[str]] = (), timeout: int = 600
          ) -> list[NotebookGrade]:
    """Run each notebook in replay mode (recordings from ``lessons_dir()``) and score its
    exercises: an exercise earns its points when every check, hidden ones included, passes on
    the last answer checked; one whose check never ran scores 0, "not reached"."""
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
        lesson, ids = _expected(_read(path), path, found)
        with tempfile.TemporaryDirectory(prefix="itc-lab-grade-") as tmp:
            report = Path(tmp) / "report.jsonl"
            report.touch()
            env = {"ITC_LAB_MODE": "replay", "ITC_LAB_LESSONS": str(lessons_dir().resolve()),
                   GRADE_REPORT_ENV: str(report), PACKS_ENV: env_packs}
            ran, stopped = _execute(path, env, timeout)
            lines = report.read_text(encoding="utf-8").splitlines()
        last: dict[str, dict[str, Any]] = {}
        for line in lines:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                last[entry["id"]] = entry
        errors = sum(1 for cell in ran.cells for o in cell.get("outputs", [])
                     if o.get("output_type") == "error")
        scores = [_score(i, found.get(i), last.get(i), stopped) for i in ids]
        grades.append(NotebookGrade(str(path), lesson, tuple(scores), errors))
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
                         str(entry.get("message", "")))



def format_grades(grades: Sequence[NotebookGrade]) -> str:
    """A plain-text score table per notebook, with totals."""
    lines: list[str] = []
    for g in grades:
        lines.append(f"{g.notebook}  (lesson {g.lesson or '?'})")
        width = max([len("exercise"), *(len(s.exercise) for s in g.scores)])
        lines.append(f"  {'exercise':<{width}}  {'points':>7}  {'visible':<7}  {'hidden':<6}  "
                     "message")
        for s in g.scores:
            visible = ("pass" if s.passed_visible else "fail") if s.reached else "-"
            if not (s.reached and s.has_hidden and s.passed_visible):
                hidden = "-"
            else:
                hidden = "pass" if s.passed_all else "fail"
            pts = f"{s.points}/{s.possible}"
            lines.append(f"  {s.exercise:<{width}}  {pts:>7}  {visible:<7}  {hidden:<6}  "
                         f"{shorten(s.message, 70)}")
        total = f"{g.total}/{g.possible}"
        lines.append(f"  {'total':<{width}}  {total:>7}")
        if g.cell_errors:
            lines.append(f"  {g.cell_errors} cell(s) raised an error while the notebook ran.")
        lines.append("")
    if len(grades) > 1:
        lines.append(f"all notebooks: {sum(g.total for g in grades)}/"
                     f"{sum(g.possible for g in grades)} points")
    return "\n".join(lines).rstrip() + "\n"


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
    if args.json:
        print(json.dumps({"notebooks": [g.to_dict() for g in grades],
                          "total": sum(g.total for g in grades),
                          "possible": sum(g.possible for g in grades)},
                         indent=2, ensure_ascii=False))
    else:
        print(format_grades(grades), end="")
    return 0
