"""Exercises checked inside the notebook: ``itc_lab.check("02-pass-at-k", my_answer, K, c, 4)``.

Each exercise is one TOML file written by an instructor: its prompt, the starter and solution code,
and ``[[checks]]`` (Python expressions over ``answer`` and the values the lesson passes after it).
The context is what the lesson computed, so the expected value is never typed in by hand. The
files are trusted code (they are the instructor's); the answer is passed to them as a value and
model text is never evaluated.

Exercise files are grouped in packs (folders). The built-in pack (``lessons/exercises/``; in an
installed wheel the ``itc_lab._exercises`` package) is registered the same way an instructor's is:
folders in ``ITC_LAB_EXERCISES`` (separated by ``os.pathsep``), folders given to
:func:`register_pack`, and installed packages that declare an entry point in the group
``itc_lab.exercises`` (a module whose folder holds the files, or a callable returning the folder).

One rule grades an answer everywhere: :func:`check` in the notebook runs every check, hidden ones
included, with the exercise's one ``tolerance``, so the notebook says "Correct" exactly when
``itc-lab exercises grade`` gives the points. A failing answer that matches one of the exercise's
``[[mistakes]]`` (common wrong answers) gets that mistake's message. When ``ITC_LAB_GRADE_REPORT``
names a file, every :func:`check` also appends one JSON line ``{id, passed_visible, passed_all,
points, possible, message, answer}`` to it (``itc-lab exercises grade`` uses this).

A notebook can carry an exercise without its pack: :func:`embed` registers an exercise's
definition (its checks, without its solution) for the notebook's kernel; built student notebooks
do this for an instructor's exercises. A pack's exercise of the same id always wins.
Introduced in lesson 00.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import functools
import html
import importlib.metadata
import importlib.resources
import itertools
import json
import keyword
import math
import numbers
import os
import re
import statistics
import tomllib
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any

__all__ = [
    "DEFAULT_TOLERANCE",
    "ENTRY_POINT_GROUP",
    "GRADE_REPORT_ENV",
    "PACKS_ENV",
    "Exercise",
    "ExerciseCheck",
    "ExercisePackError",
    "Feedback",
    "Hint",
    "Mistake",
    "Verdict",
    "builtin_pack_dir",
    "catalog",
    "check",
    "check_namespace",
    "embed",
    "feedback_html",
    "get_exercise",
    "grade_answer",
    "hint",
    "load_pack",
    "mistake_examples",
    "pack_dirs",
    "register_pack",
    "require",
]

PACKS_ENV = "ITC_LAB_EXERCISES"
"""Environment variable: extra exercise folders, separated by ``os.pathsep``."""
GRADE_REPORT_ENV = "ITC_LAB_GRADE_REPORT"
"""Environment variable: a file to which every :func:`check` appends its full verdict (JSON)."""
ENTRY_POINT_GROUP = "itc_lab.exercises"
"""Entry-point group through which an installed package contributes an exercise pack."""

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_LESSON = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_FIELDS = ("id", "lesson", "title", "points", "prompt", "context", "setup", "starter",
           "solution", "call", "hints", "define", "tolerance", "checks", "mistakes")
_CHECK_FIELDS = ("expr", "message", "success", "hidden")
_MISTAKE_FIELDS = ("answer", "expr", "example", "message")
DEFAULT_TOLERANCE = 1e-6
"""The tolerance of ``close()`` when an exercise file sets none: relative and absolute."""
_HIDDEN_MESSAGE = ("the visible checks pass, but a check that is shown only when grading fails; "
                   "reread the task.")


class ExercisePackError(ValueError):
    """An exercise file or pack cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class ExerciseCheck:
    """One ``[[checks]]`` table of an exercise file."""

    expr: str
    """A Python expression over ``answer``, the context names and :func:`check_namespace`."""
    message: str
    """Shown when the expression is false: an f-string body evaluated in the same namespace."""
    success: str = ""
    """Shown when every visible check passes (the last visible one that has it is used)."""
    hidden: bool = False
    """Hidden checks run only when grading (``ITC_LAB_GRADE_REPORT`` or :func:`grade_answer`)."""
    _code: CodeType | None = field(default=None, repr=False, compare=False)
    _message_code: CodeType | None = field(default=None, repr=False, compare=False)
    _success_code: CodeType | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Mistake:
    """One ``[[mistakes]]`` table: a common wrong answer and what it says about the reasoning."""

    message: str
    """Shown instead of the failing check's message: an f-string body, like a check's."""
    answer: str = ""
    """An expression for the wrong answer (e.g. ``1 - (1 - c / n) ** k``); an answer matches it
    by the exercise's rule: ``close()`` for numbers, ``==`` otherwise."""
    expr: str = ""
    """Or a condition on ``answer`` (e.g. ``close(answer, want, 1e-3)``: rounded)."""
    example: str = ""
    """With ``expr``: an expression for one answer the condition catches (``round(want, 4)``),
    so the mistake can be tried (:func:`mistake_examples`)."""
    _code: CodeType | None = field(default=None, repr=False, compare=False)
    _message_code: CodeType | None = field(default=None, repr=False, compare=False)
    _example_code: CodeType | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Exercise:
    """One exercise, read from one TOML file. Introduced in lesson 00."""

    id: str
    """Unique across all packs, e.g. ``"02-pass-at-k"`` (letters, digits, ``-`` and ``_``)."""
    lesson: str
    """The lesson notebook's stem, e.g. ``"02_self_consistency"``."""
    title: str
    points: int
    """What the exercise is worth when every check (hidden ones included) passes (points)."""
    prompt: str
    """Markdown shown to the student; its first line is the one-line task."""
    context: tuple[str, ...]
    """Names of the values ``check()`` receives after the answer, in order."""
    starter: str
    """Code the student sees; it sets ``my_answer = None``."""
    solution: str
    """Code that sets ``my_answer`` correctly (solution notebooks)."""
    call: str = ""
    """The lesson's expressions for the context, e.g. ``"K, c, 4"``."""
    setup: str = ""
    """Code run before the starter or solution in the same cell."""
    hints: tuple[str, ...] = ()
    define: str = ""
    """Code run before the checks (in their namespace), e.g. ``want = pass_at_k(n, c, k)``."""
    checks: tuple[ExerciseCheck, ...] = ()
    mistakes: tuple[Mistake, ...] = ()
    """Common wrong answers, each with the misconception it shows (tried in order)."""
    tolerance: float = DEFAULT_TOLERANCE
    """How close a number must be to count as equal (relative and absolute): ``close()``'s
    default in the checks and the mistakes, in the notebook and when grading alike."""
    path: Path | None = None
    """The file it was read from (None when embedded in a notebook)."""
    _define_code: CodeType | None = field(default=None, repr=False, compare=False)

    @property
    def summary(self) -> str:
        """The prompt's first line as plain text (Markdown backticks and stars removed)."""
        first = next((line.strip() for line in self.prompt.splitlines() if line.strip()), "")
        return first.replace("`", "").replace("**", "").replace("__", "")

    @property
    def check_call(self) -> str:
        """The line a notebook runs: ``itc_lab.check("ID", my_answer, <call>)``."""
        tail = f", {self.call}" if self.call.strip() else ""
        return f'itc_lab.check("{self.id}", my_answer{tail})'


_STYLES = {  # verdict: (label, its colour, background): opaque, with the text's own colour, so
    # the box reads the same (at least 4.5:1) under a light or a dark theme
    "Correct": ("✓ Correct", "#116329", "#e6f4ea"),
    "Not yet": ("✗ Not yet", "#953800", "#fbefe6"),
    "Not answered yet": ("… Not answered yet", "#57606a", "#f0f1f3"),
}
_CODE_SPAN = re.compile(r"`([^`\n]+)`")


def _inline_html(text: str) -> str:
    """``text`` escaped for HTML, with Markdown `code` spans and **bold** kept as such."""
    escaped = html.escape(text, quote=True)
    escaped = _CODE_SPAN.sub(r'<code style="background-color: #ffffff; color: #1f2328; '
                             r'padding: 0 3px">\1</code>', escaped)
    return re.sub(r"\*\*([^*\n]+)\*\*", r"<strong>\1</strong>", escaped)


def feedback_html(exercise: str, message: str) -> str:
    """The HTML a notebook shows for feedback ``message`` ("Correct: …", "Not yet: …" or
    "Not answered yet: …") on ``exercise``: styled, with every piece of text escaped."""
    verdict, _, rest = message.partition(": ")
    label, colour, background = _STYLES.get(verdict, _STYLES["Not yet"])
    if verdict not in _STYLES:
        rest = message
    return (f'<div class="itc-lab-feedback" style="border-left: 4px solid {colour}; '
            f"background: {background}; color: #1f2328; padding: 6px 10px; margin: 2px 0; "
            f'line-height: 1.45"><strong style="color: {colour}">{html.escape(label)}</strong> '
            f'<span style="color: #57606a">[{html.escape(exercise)}]</span> '
            f"{_inline_html(rest)}</div>")


@dataclass(frozen=True)
class Feedback:
    """The verdict on one answer; true when it passed. A notebook shows it styled (HTML), and
    as one line of plain text where HTML is not shown."""

    exercise: str
    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return f"[{self.exercise}] {self.message}"

    def _repr_html_(self) -> str:
        return feedback_html(self.exercise, self.message)


class Hint(str):
    """One hint: the hint's text (a ``str``), shown in a notebook as formatted Markdown and as
    plain text (without Markdown backticks) elsewhere."""

    exercise: str
    number: int
    total: int

    def __new__(cls, text: str, exercise: str = "", number: int = 1, total: int = 1) -> Hint:
        self = super().__new__(cls, text)
        self.exercise, self.number, self.total = exercise, number, total
        return self

    @property
    def heading(self) -> str:
        return f"Hint {self.number} of {self.total} ({self.exercise})"

    def __repr__(self) -> str:
        return f"{self.heading}: {self.replace('`', '')}"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))

    def _repr_markdown_(self) -> str:
        more = ("" if self.number >= self.total else
                f' Next: `itc_lab.hint("{self.exercise}", {self.number + 1})`.')
        return f"**💡 {self.heading}:** {self}{more}"


@dataclass(frozen=True)
class Verdict:
    """An answer checked against every check, hidden ones included (what grading records)."""

    exercise: str
    passed_visible: bool
    """Every visible check passed (what the student saw as "Correct")."""
    passed_all: bool
    """Every check passed, hidden ones included."""
    points: int
    """Points earned: the exercise's points when ``passed_all``, else 0 (points)."""
    possible: int
    """The exercise's points (points)."""
    message: str
    """The first failing check's message (or its mistake's), or the success message."""
    answer: str = ""
    """The answer checked, as ``repr()`` shows it ("" when not answered)."""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.exercise, "passed_visible": self.passed_visible,
                "passed_all": self.passed_all, "points": self.points,
                "possible": self.possible, "message": self.message, "answer": self.answer}


# ---------------------------------------------------------------------------------------------
# Reading files
# ---------------------------------------------------------------------------------------------


def _fail(path: Path, message: str) -> ExercisePackError:
    return ExercisePackError(f"{path}: {message}")


def _text(path: Path, data: Mapping[str, Any], name: str, *, required: bool = True,
          where: str = "") -> str:
    label = f"{where}{name}"
    if name not in data:
        if required:
            msg = f"the field {label!r} is missing; add {name} = \"...\"."
            raise _fail(path, msg)
        return ""
    value = data[name]
    if not isinstance(value, str):
        msg = f"the field {label!r} must be a string, not {type(value).__name__}."
        raise _fail(path, msg)
    if required and not value.strip():
        msg = f"the field {label!r} is empty."
        raise _fail(path, msg)
    return value


def _compile(path: Path, label: str, source: str, mode: str) -> CodeType:
    try:
        return compile(source, f"{path} ({label})", mode)
    except SyntaxError as e:
        msg = f"the field {label!r} is not valid Python: {e.msg} (line {e.lineno} of the field)."
        raise _fail(path, msg) from None


def _fstring(path: Path, label: str, text: str) -> CodeType:
    """``text`` compiled as the body of an f-string (``{expr}`` is replaced by its value)."""
    for quote in ('"""', "'''"):
        if quote not in text and not text.endswith(quote[0]) and not text.endswith("\\"):
            return _compile(path, label, f"rf{quote}{text}{quote}", "eval")
    msg = (f"the field {label!r} holds both ''' and \"\"\" (or ends with a quote or a "
           "backslash); rephrase it.")
    raise _fail(path, msg)


def _sets_my_answer(path: Path, label: str, source: str) -> None:
    tree = ast.parse(source)
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = [node.target]
        for target in targets:
            if any(isinstance(n, ast.Name) and n.id == "my_answer" for n in ast.walk(target)):
                return
    msg = f"the field {label!r} must set my_answer (e.g. my_answer = None)."
    raise _fail(path, msg)


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


@functools.cache
def _answer_names(define: str) -> frozenset[str]:
    """``answer`` and the names ``define`` computes from it (``ok, reason = f(answer)``)."""
    found = {"answer"}
    try:
        tree = ast.parse(define)
    except SyntaxError:
        return frozenset(found)
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign):
            value, targets = stmt.value, list(stmt.targets)
        elif isinstance(stmt, ast.AugAssign | ast.AnnAssign) and stmt.value is not None:
            value, targets = stmt.value, [stmt.target]
        else:
            continue
        if _names(value) & found:
            for target in targets:
                found |= _names(target)
    return frozenset(found)


@functools.cache
def _about_answer(expr: str, define: str) -> bool:
    """Whether a check looks at the answer (``answer``, or what ``define`` computes from it).
    A check that does not is about the lesson's values: its message is never replaced by a
    mistake's."""
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError:
        return True
    return bool(_names(tree) & _answer_names(define))


def _check_table(path: Path, i: int, data: Any) -> ExerciseCheck:
    where = f"checks[{i}]."
    if not isinstance(data, dict):
        msg = f"checks[{i}] must be a table ([[checks]] with expr = ... and message = ...)."
        raise _fail(path, msg)
    unknown = sorted(set(data) - set(_CHECK_FIELDS))
    if unknown:
        msg = (f"checks[{i}] has unknown field(s) {unknown}; a check has "
               f"{', '.join(_CHECK_FIELDS)}.")
        raise _fail(path, msg)
    expr = _text(path, data, "expr", where=where)
    message = _text(path, data, "message", where=where)
    success = _text(path, data, "success", required=False, where=where)
    hidden = data.get("hidden", False)
    if not isinstance(hidden, bool):
        msg = f"the field '{where}hidden' must be true or false, not {hidden!r}."
        raise _fail(path, msg)
    return ExerciseCheck(
        expr=expr, message=message, success=success, hidden=hidden,
        _code=_compile(path, f"{where}expr", expr.strip(), "eval"),
        _message_code=_fstring(path, f"{where}message", message.strip()),
        _success_code=_fstring(path, f"{where}success", success.strip()) if success else None)


def _mistake_table(path: Path, i: int, data: Any) -> Mistake:
    where = f"mistakes[{i}]."
    if not isinstance(data, dict):
        msg = (f"mistakes[{i}] must be a table ([[mistakes]] with answer = ... or expr = ..., "
               "and message = ...).")
        raise _fail(path, msg)
    unknown = sorted(set(data) - set(_MISTAKE_FIELDS))
    if unknown:
        msg = (f"mistakes[{i}] has unknown field(s) {unknown}; a mistake has "
               f"{', '.join(_MISTAKE_FIELDS)}.")
        raise _fail(path, msg)
    answer = _text(path, data, "answer", required=False, where=where).strip()
    expr = _text(path, data, "expr", required=False, where=where).strip()
    if bool(answer) == bool(expr):
        msg = (f"mistakes[{i}] needs exactly one of 'answer' (an expression for the wrong "
               "answer) and 'expr' (a condition on answer).")
        raise _fail(path, msg)
    example = _text(path, data, "example", required=False, where=where).strip()
    if example and answer:
        msg = (f"mistakes[{i}] has 'answer' and 'example': the answer is its own example; keep "
               "'example' for a mistake given by 'expr'.")
        raise _fail(path, msg)
    message = _text(path, data, "message", where=where)
    label = f"{where}answer" if answer else f"{where}expr"
    return Mistake(message=message, answer=answer, expr=expr, example=example,
                   _code=_compile(path, label, answer or expr, "eval"),
                   _message_code=_fstring(path, f"{where}message", message.strip()),
                   _example_code=(_compile(path, f"{where}example", example, "eval")
                                  if example else None))


def _read_exercise(path: Path, lessons: Iterable[str] | None = None) -> Exercise:
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        msg = f"this file is not valid TOML: {e}. Fix the syntax (see https://toml.io)."
        raise _fail(path, msg) from None
    return _parse_exercise(data, path, lessons)


def _parse_exercise(data: Mapping[str, Any], path: Path, lessons: Iterable[str] | None = None,
                    *, embedded: bool = False) -> Exercise:
    """An exercise from its parsed file; ``embedded``: from a notebook, without a solution."""
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        msg = f"unknown field(s) {unknown}; an exercise file has {', '.join(_FIELDS)}."
        raise _fail(path, msg)
    ex_id = _text(path, data, "id").strip()
    if not _ID.match(ex_id):
        msg = (f"the field 'id' must use letters, digits, '-' and '_' only (e.g. "
               f"\"02-pass-at-k\"), not {ex_id!r}.")
        raise _fail(path, msg)
    lesson = _text(path, data, "lesson").strip()
    if not _LESSON.match(lesson) or lesson.endswith(".ipynb"):
        msg = (f"the field 'lesson' must be a lesson notebook's name without .ipynb, e.g. "
               f"\"02_self_consistency\", not {lesson!r}.")
        raise _fail(path, msg)
    known = None if lessons is None else sorted(lessons)
    if known is not None and lesson not in known:
        msg = (f"the field 'lesson' names {lesson!r}, which is not a lesson; "
               f"choose one of {', '.join(known) or 'none'}.")
        raise _fail(path, msg)
    points = data.get("points")
    if not (isinstance(points, int) and not isinstance(points, bool) and points >= 0):
        msg = ("the field 'points' is missing; add points = 1 (a whole number >= 0)."
               if points is None else
               f"the field 'points' must be a whole number >= 0, not {points!r}.")
        raise _fail(path, msg)
    context = data.get("context", [])
    if not (isinstance(context, list) and all(isinstance(c, str) for c in context)):
        msg = "the field 'context' must be a list of names, e.g. [\"n\", \"c\", \"k\"]."
        raise _fail(path, msg)
    for name in context:
        if not name.isidentifier() or keyword.iskeyword(name) or name == "answer":
            msg = (f"the field 'context' has {name!r}: each name must be a Python name other "
                   "than 'answer' (the answer's own name in the checks).")
            raise _fail(path, msg)
    if len(set(context)) != len(context):
        msg = f"the field 'context' repeats a name: {context}."
        raise _fail(path, msg)
    call = _text(path, data, "call", required=bool(context))
    try:
        parsed = ast.parse(f"({call},)" if call.strip() else "()", mode="eval").body
    except SyntaxError:
        parsed = None
    if not isinstance(parsed, ast.Tuple) or len(parsed.elts) != len(context):
        msg = (f"the field 'call' must be {len(context)} comma-separated expression(s), one per "
               f"name in context {context}, not {call!r}.")
        raise _fail(path, msg)
    setup = _text(path, data, "setup", required=False)
    starter = _text(path, data, "starter")
    solution = _text(path, data, "solution", required=not embedded)
    for label, source in (("setup", setup), ("starter", starter), ("solution", solution)):
        _compile(path, label, source, "exec")
    _sets_my_answer(path, "starter", starter)
    if not embedded:
        _sets_my_answer(path, "solution", solution)
    hints = data.get("hints", [])
    if not (isinstance(hints, list) and all(isinstance(h, str) and h.strip() for h in hints)):
        msg = "the field 'hints' must be a list of non-empty strings."
        raise _fail(path, msg)
    define = _text(path, data, "define", required=False)
    raw_checks = data.get("checks")
    if not isinstance(raw_checks, list) or not raw_checks:
        msg = ("the field 'checks' is missing; add at least one [[checks]] table with "
               "expr = \"...\" and message = \"...\".")
        raise _fail(path, msg)
    checks = tuple(_check_table(path, i, c) for i, c in enumerate(raw_checks))
    if all(c.hidden for c in checks):
        msg = "every check is hidden; add at least one visible check (hidden = false)."
        raise _fail(path, msg)
    raw_mistakes = data.get("mistakes", [])
    if not isinstance(raw_mistakes, list):
        msg = "the field 'mistakes' must be [[mistakes]] tables (answer or expr, and message)."
        raise _fail(path, msg)
    mistakes = tuple(_mistake_table(path, i, m) for i, m in enumerate(raw_mistakes))
    tolerance = data.get("tolerance", DEFAULT_TOLERANCE)
    if not (isinstance(tolerance, int | float) and not isinstance(tolerance, bool)
            and 0 <= tolerance < 1):
        msg = f"the field 'tolerance' must be a number from 0 to 1, e.g. 1e-6, not {tolerance!r}."
        raise _fail(path, msg)
    return Exercise(
        id=ex_id, lesson=lesson, title=_text(path, data, "title").strip(), points=points,
        prompt=_text(path, data, "prompt").strip(), context=tuple(context),
        starter=starter.strip(), solution=solution.strip(), call=call.strip(),
        setup=setup.strip(), hints=tuple(h.strip() for h in hints), define=define.strip(),
        checks=checks, mistakes=mistakes, tolerance=float(tolerance),
        path=None if embedded else path,
        _define_code=_compile(path, "define", define, "exec") if define.strip() else None)


def load_pack(folder: str | os.PathLike[str], *, lessons: Iterable[str] | None = None
              ) -> dict[str, Exercise]:
    """The exercises of one folder (every ``*.toml`` file in it), by id, in file-name order.

    ``lessons``: the known lesson names; when given, an exercise naming another lesson is an
    error. Raises :class:`ExercisePackError` naming the file and the field of a malformed file,
    and both files of a repeated id. Introduced in lesson 00.
    """
    path = Path(folder)
    if not path.is_dir():
        msg = f"The exercise pack {path} is not a folder; give a folder of *.toml files."
        raise ExercisePackError(msg)
    files = sorted(path.glob("*.toml"))
    if not files:
        msg = f"The exercise pack {path} holds no exercise files (*.toml)."
        raise ExercisePackError(msg)
    known = None if lessons is None else list(lessons)
    found: dict[str, Exercise] = {}
    for file in files:
        ex = _read_exercise(file, known)
        _add(found, ex)
    return found


def _add(found: dict[str, Exercise], ex: Exercise) -> None:
    if ex.id in found:
        msg = (f"The exercise id {ex.id!r} is defined twice: in {found[ex.id].path} and in "
               f"{ex.path}. Rename one (ids must be unique across all packs).")
        raise ExercisePackError(msg)
    found[ex.id] = ex


# ---------------------------------------------------------------------------------------------
# Packs
# ---------------------------------------------------------------------------------------------

_REGISTERED: list[Path] = []


def builtin_pack_dir() -> Path:
    """The built-in exercises: the ``itc_lab._exercises`` package when installed from a wheel,
    else the project's ``lessons/exercises/`` folder."""
    try:
        files = importlib.resources.files("itc_lab._exercises")
        candidate = Path(str(files))
        if candidate.is_dir() and any(candidate.glob("*.toml")):
            return candidate
    except (ModuleNotFoundError, TypeError, ValueError):
        pass
    return Path(__file__).resolve().parents[2] / "lessons" / "exercises"


def register_pack(path: str | os.PathLike[str]) -> Path:
    """Add a folder of exercise files for this Python process; returns it resolved.

    The folder is read (and checked) now, and again whenever one of its files changes.
    Introduced in lesson 00.
    """
    folder = Path(path).expanduser().resolve()
    load_pack(folder)
    if folder not in _REGISTERED:
        _REGISTERED.append(folder)
    return folder


def _folder_of(value: Any, name: str) -> Path:
    if isinstance(value, ModuleType):
        locations = getattr(value, "__path__", None)
        if locations:
            return Path(next(iter(locations)))
        if value.__file__:
            return Path(value.__file__).parent
    elif callable(value):
        return Path(value())
    msg = (f"The entry point {name!r} in group {ENTRY_POINT_GROUP!r} must name a module (its "
           "folder holds the exercise files) or a callable returning a folder path.")
    raise ExercisePackError(msg)


@functools.cache
def _entry_point_dirs() -> tuple[Path, ...]:
    folders = []
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            value = ep.load()
        except Exception as e:
            msg = (f"The exercise pack entry point {ep.name!r} ({ep.value}) could not be loaded: "
                   f"{type(e).__name__}: {e}. Reinstall or uninstall the package that declares "
                   "it.")
            raise ExercisePackError(msg) from e
        folders.append(_folder_of(value, ep.name))
    return tuple(folders)


def _env_dirs() -> list[Path]:
    folders = []
    for part in os.environ.get(PACKS_ENV, "").split(os.pathsep):
        if not part.strip():
            continue
        folder = Path(part.strip()).expanduser()
        if not folder.is_dir():
            msg = (f"{PACKS_ENV} names {folder}, which is not a folder; give folders of "
                   f"exercise files separated by {os.pathsep!r}.")
            raise ExercisePackError(msg)
        folders.append(folder)
    return folders


def pack_dirs(extra: Iterable[str | os.PathLike[str]] = ()) -> list[Path]:
    """Every exercise folder in use, in order: the built-in pack, installed packages (entry
    points), ``ITC_LAB_EXERCISES``, :func:`register_pack` folders, then ``extra``."""
    folders = [builtin_pack_dir(), *_entry_point_dirs(), *_env_dirs(), *_REGISTERED,
               *(Path(p) for p in extra)]
    unique: list[Path] = []
    seen: set[Path] = set()
    for folder in folders:
        key = folder.expanduser().resolve()
        if key not in seen:
            seen.add(key)
            unique.append(folder)
    return unique


def _stamp(folder: Path) -> tuple[Any, ...]:
    try:
        return tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size)
                     for p in sorted(folder.glob("*.toml")))
    except OSError:
        return ()


_CACHE: dict[tuple[Any, ...], dict[str, Exercise]] = {}
_EMBEDDED: dict[str, Exercise] = {}


def embed(definition: Mapping[str, Any]) -> str:
    """Register an exercise carried by a notebook: its file's fields (the ``solution`` may be
    left out, and is in built student notebooks), for this Python process. An exercise of the
    same id in a pack always wins, so grading with ``--pack`` never uses a student's copy.
    Returns the exercise's id."""
    if not isinstance(definition, Mapping):
        msg = f"embed() takes an exercise's fields as a dict, not {type(definition).__name__}."
        raise ExercisePackError(msg)
    where = Path(f"<exercise {definition.get('id', '?')} embedded in this notebook>")
    ex = _parse_exercise(dict(definition), where, embedded=True)
    _EMBEDDED[ex.id] = ex
    return ex.id


def catalog(extra: Iterable[str | os.PathLike[str]] = ()) -> dict[str, Exercise]:
    """All exercises of every pack (see :func:`pack_dirs`), by id, then those embedded in the
    notebook (:func:`embed`) that no pack defines. Files are re-read when they change.
    Introduced in lesson 00."""
    folders = pack_dirs(extra)
    key = tuple((str(f), _stamp(f)) for f in folders)
    if key not in _CACHE:
        found: dict[str, Exercise] = {}
        for folder in folders:
            for ex in load_pack(folder).values():
                _add(found, ex)
        _CACHE.clear()
        _CACHE[key] = found
    known = dict(_CACHE[key])
    for ex_id, ex in _EMBEDDED.items():
        known.setdefault(ex_id, ex)
    return known


def get_exercise(exercise_id: str) -> Exercise:
    """The exercise with this id, or a ValueError listing the known ids."""
    known = catalog()
    try:
        return known[exercise_id]
    except (KeyError, TypeError):
        msg = (f"No exercise {exercise_id!r}; known: {', '.join(sorted(known))}. "
               f"Add a file to a pack folder ({PACKS_ENV} or register_pack()).")
        raise ValueError(msg) from None


# ---------------------------------------------------------------------------------------------
# Checking
# ---------------------------------------------------------------------------------------------


def _is_number(x: Any) -> bool:
    return (isinstance(x, numbers.Real) and not isinstance(x, bool)
            and math.isfinite(float(x)))


def _is_whole(x: Any) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def _close(a: Any, b: Any, tol: float = DEFAULT_TOLERANCE) -> bool:
    return (_is_number(a) and _is_number(b)
            and math.isclose(float(a), float(b), rel_tol=tol, abs_tol=tol))


@functools.cache
def _helpers() -> dict[str, Any]:
    from .. import analysis
    from ..datasets.game24 import check_expression
    from ..datasets.writing import feedback_from_checks, score_text

    names: dict[str, Any] = {
        "math": math, "Fraction": Fraction, "Counter": Counter, "itertools": itertools,
        "statistics": statistics, "is_number": _is_number, "is_whole": _is_whole,
        "close": _close, "check_expression": check_expression, "score_text": score_text,
        "feedback_from_checks": feedback_from_checks,
    }
    names.update({name: getattr(analysis, name) for name in analysis.__all__})
    return names


def check_namespace() -> dict[str, Any]:
    """The names every check expression can use besides ``answer`` and the context: ``math``,
    ``Fraction``, ``Counter``, ``itertools``, ``statistics``; ``is_number(x)`` (a real number,
    not bool, finite), ``is_whole(x)``, ``close(a, b, tol=...)`` (``tol`` defaults to the
    exercise's ``tolerance``); the functions of :mod:`itc_lab.analysis`; ``check_expression``
    (Game of 24); ``score_text`` and ``feedback_from_checks`` (constrained writing)."""
    return dict(_helpers())


def _show(code: CodeType | None, ns: dict[str, Any], fallback: str) -> str:
    if code is None:
        return fallback
    try:
        return str(eval(code, ns))
    except Exception:
        return fallback


def _namespace(ex: Exercise, answer: Any, context: Sequence[Any]) -> dict[str, Any]:
    ns: dict[str, Any] = {"__builtins__": builtins, **_helpers(), "close": _closer(ex.tolerance)}
    ns.update(zip(ex.context, context, strict=True))
    ns["answer"] = answer
    return ns


def mistake_examples(exercise_id: str, *context: Any) -> list[tuple[Mistake, Any]]:
    """Each mistake of an exercise with the wrong answer it stands for in this context (its
    ``answer``, or its ``example``), for trying the feedback: ``check(ID, wrong, *context)``
    should give the mistake's message. Mistakes whose answer cannot be computed here are left
    out."""
    ex = get_exercise(exercise_id)
    _arity(ex, context)
    ns = _namespace(ex, None, context)
    if ex._define_code is not None:
        # a definition may need an answer; the examples that do not need it still work
        with contextlib.suppress(Exception):
            exec(ex._define_code, ns)
    found = []
    for m in ex.mistakes:
        code = m._code if m.answer else m._example_code
        if code is None:
            continue
        try:
            found.append((m, eval(code, ns)))
        except Exception:
            continue
    return found


def _closer(tolerance: float) -> Any:
    """``close(a, b, tol=None)`` with the exercise's tolerance as the default."""
    def close(a: Any, b: Any, tol: float | None = None) -> bool:
        return _close(a, b, tolerance if tol is None else tol)

    return close


def _same(answer: Any, wrong: Any, tol: float) -> bool:
    """The grading rule, shared by the checks' ``close`` and the mistakes: numbers within the
    tolerance, anything else equal."""
    if _is_number(answer) and _is_number(wrong):
        return _close(answer, wrong, tol)
    if _is_number(answer) != _is_number(wrong):
        return False
    try:
        return bool(answer == wrong)
    except Exception:
        return False


def _mistake(ex: Exercise, ns: dict[str, Any]) -> str | None:
    """The message of the first mistake the answer matches, if any."""
    for m in ex.mistakes:
        assert m._code is not None
        try:
            value = eval(m._code, ns)
            hit = _same(ns["answer"], value, ex.tolerance) if m.answer else bool(value)
        except Exception:
            continue
        if hit:
            return _show(m._message_code, ns, m.message)
    return None


def _run(ex: Exercise, answer: Any, context: Sequence[Any]) -> tuple[bool, bool, str, bool]:
    """(passed the visible checks, passed every check, message, whether the message is a
    hidden check's own). The message is the success message, or the first failing check's, or
    instead the message of the first mistake the answer matches."""
    ns = _namespace(ex, answer, context)
    if ex._define_code is not None:
        try:
            exec(ex._define_code, ns)
        except Exception as e:
            return False, False, f"could not check this answer ({type(e).__name__}: {e})", False
    success = "all checks pass."
    for chk in ex.checks:
        if chk.hidden:
            continue
        ok, why = _one(chk, ns)
        if not ok:
            mistake = _mistake(ex, ns) if _about_answer(chk.expr, ex.define) else None
            return False, False, mistake or why, False
        if chk._success_code is not None:
            success = _show(chk._success_code, ns, chk.success)
    for chk in ex.checks:
        if chk.hidden:
            ok, why = _one(chk, ns)
            if not ok:
                mistake = _mistake(ex, ns) if _about_answer(chk.expr, ex.define) else None
                return True, False, mistake or why, mistake is None
    return True, True, success, False


def _one(chk: ExerciseCheck, ns: dict[str, Any]) -> tuple[bool, str]:
    assert chk._code is not None
    try:
        ok = bool(eval(chk._code, ns))
    except Exception as e:
        return False, f"could not check this answer ({type(e).__name__}: {e})"
    if ok:
        return True, ""
    return False, _show(chk._message_code, ns, chk.message)


def _arity(ex: Exercise, context: Sequence[Any]) -> None:
    if len(context) != len(ex.context):
        names = ", ".join(ex.context) or "nothing"
        msg = (f"check({ex.id!r}, answer, ...) takes {len(ex.context)} value(s) after the answer "
               f"({names}), not {len(context)}: call {ex.check_call}.")
        raise TypeError(msg)


def _verdict(exercise_id: str, answer: Any, context: Sequence[Any]) -> tuple[Feedback, Verdict]:
    """The feedback a notebook shows and the verdict grading records: one rule, one verdict.
    They differ only in the message of a failing hidden check, which the notebook replaces."""
    ex = get_exercise(exercise_id)
    _arity(ex, context)
    if answer is None or answer is ...:
        why = f"Not answered yet: {ex.summary}"
        return Feedback(ex.id, False, why), Verdict(ex.id, False, False, 0, ex.points, why)
    ok_visible, ok_all, message, secret = _run(ex, answer, context)
    prefix = "Correct" if ok_all else "Not yet"
    feedback = Feedback(ex.id, ok_all, f"{prefix}: {_HIDDEN_MESSAGE if secret else message}")
    verdict = Verdict(ex.id, ok_visible, ok_all, ex.points if ok_all else 0, ex.points,
                      f"{prefix}: {message}", _answer_repr(answer))
    return feedback, verdict


def _answer_repr(answer: Any) -> str:
    if answer is None or answer is ...:
        return ""
    try:
        return repr(answer)
    except Exception as e:
        return f"<{type(answer).__name__}: repr failed ({type(e).__name__})>"


def check(exercise_id: str, answer: Any, *context: Any) -> Feedback:
    """Check an answer and say why. Never raises for a wrong or missing answer: ``None`` means
    "not answered yet". Every check runs (hidden ones too), so "Correct" here means full points
    when grading; the first that fails gives the message, or the exercise's matching mistake
    does. Introduced in lesson 00."""
    feedback, verdict = _verdict(exercise_id, answer, context)
    report = os.environ.get(GRADE_REPORT_ENV)
    if report:
        with open(report, "a", encoding="utf-8") as f:
            f.write(json.dumps(verdict.to_dict(), ensure_ascii=False) + "\n")
    return feedback


def grade_answer(exercise_id: str, answer: Any, *context: Any) -> Verdict:
    """Check an answer against every check, hidden ones included, and score it: the same rule
    and verdict as :func:`check`."""
    return _verdict(exercise_id, answer, context)[1]


def require(exercise_id: str, answer: Any, *context: Any) -> Verdict:
    """Like :func:`grade_answer`, but raise ``AssertionError`` with the message unless every
    check passes (for autograder test cells, e.g. nbgrader's). Warnings raised while checking
    are silenced: nbgrader scores a test cell that writes to stderr 0."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        verdict = grade_answer(exercise_id, answer, *context)
    if not verdict.passed_all:
        msg = f"[{verdict.exercise}] {verdict.message}"
        raise AssertionError(msg)
    return verdict


def hint(exercise_id: str, n: int = 1) -> Hint:
    """The ``n``-th hint (from 1) of an exercise: a ``str`` that a notebook shows as formatted
    text. Introduced in lesson 00."""
    ex = get_exercise(exercise_id)
    if not ex.hints:
        msg = f"Exercise {ex.id!r} has no hints; reread its prompt: {ex.summary}"
        raise ValueError(msg)
    if not (isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= len(ex.hints)):
        msg = (f"Exercise {ex.id!r} has {len(ex.hints)} hint(s); ask for "
               f"hint({ex.id!r}, n) with n from 1 to {len(ex.hints)}, not {n!r}.")
        raise ValueError(msg)
    return Hint(ex.hints[n - 1], ex.id, n, len(ex.hints))

