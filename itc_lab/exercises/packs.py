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

When ``ITC_LAB_GRADE_REPORT`` names a file, every :func:`check` also runs the hidden checks and
appends one JSON line ``{id, passed_visible, passed_all, points, possible, message}`` to it
(``itc-lab exercises grade`` uses this). Introduced in lesson 00.
"""

from __future__ import annotations

import ast
import builtins
import functools
import importlib.metadata
import importlib.resources
import itertools
import json
import keyword
import math
import os
import re
import statistics
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any

__all__ = [
    "ENTRY_POINT_GROUP",
    "GRADE_REPORT_ENV",
    "PACKS_ENV",
    "Exercise",
    "ExerciseCheck",
    "ExercisePackError",
    "Feedback",
    "Verdict",
    "builtin_pack_dir",
    "catalog",
    "check",
    "check_namespace",
    "get_exercise",
    "grade_answer",
    "hint",
    "load_pack",
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
           "solution", "call", "hints", "define", "checks")
_CHECK_FIELDS = ("expr", "message", "success", "hidden")


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
    path: Path | None = None
    """The file it was read from."""
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


@dataclass(frozen=True)
class Feedback:
    """The verdict on one answer; true when it passed, shown as one line in a notebook."""

    exercise: str
    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return f"[{self.exercise}] {self.message}"


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
    """The first failing check's message, or the success message."""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.exercise, "passed_visible": self.passed_visible,
                "passed_all": self.passed_all, "points": self.points,
                "possible": self.possible, "message": self.message}


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


def _read_exercise(path: Path, lessons: Iterable[str] | None = None) -> Exercise:
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        msg = f"this file is not valid TOML: {e}. Fix the syntax (see https://toml.io)."
        raise _fail(path, msg) from None
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
    solution = _text(path, data, "solution")
    for label, source in (("setup", setup), ("starter", starter), ("solution", solution)):
        _compile(path, label, source, "exec")
    _sets_my_answer(path, "starter", starter)
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
    return Exercise(
        id=ex_id, lesson=lesson, title=_text(path, data, "title").strip(), points=points,
        prompt=_text(path, data, "prompt").strip(), context=tuple(context),
        starter=starter.strip(), solution=solution.strip(), call=call.strip(),
        setup=setup.strip(), hints=tuple(h.strip() for h in hints), define=define.strip(),
        checks=checks, path=path,
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


def catalog(extra: Iterable[str | os.PathLike[str]] = ()) -> dict[str, Exercise]:
    """All exercises of every pack (see :func:`pack_dirs`), by id. Files are re-read when they
    change. Introduced in lesson 00."""
    folders = pack_dirs(extra)
    key = tuple((str(f), _stamp(f)) for f in folders)
    if key not in _CACHE:
        found: dict[str, Exercise] = {}
        for folder in folders:
            for ex in load_pack(folder).values():
                _add(found, ex)
        _CACHE.clear()
        _CACHE[key] = found
    return dict(_CACHE[key])


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
    return isinstance(x, int | float | Fraction) and not isinstance(x, bool) and math.isfinite(x)


def _is_whole(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _close(a: Any, b: float, tol: float = 1e-6) -> bool:
    return _is_number(a) and math.isclose(float(a), float(b), rel_tol=tol, abs_tol=tol)


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
    ``Fraction``, ``Counter``, ``itertools``, ``statistics``; ``is_number(x)`` (int, float or
    Fraction, not bool, finite), ``is_whole(x)``, ``close(a, b, tol=1e-6)``; the functions of
    :mod:`itc_lab.analysis`; ``check_expression`` (Game of 24); ``score_text`` and
    ``feedback_from_checks`` (constrained writing)."""
    return dict(_helpers())


def _show(code: CodeType | None, ns: dict[str, Any], fallback: str) -> str:
    if code is None:
        return fallback
    try:
        return str(eval(code, ns))
    except Exception:
        return fallback


def _run(ex: Exercise, answer: Any, context: Sequence[Any], hidden: bool
         ) -> tuple[bool, str, bool, str]:
    """(passed visible, visible message, passed all, first failing message overall)."""
    ns: dict[str, Any] = {"__builtins__": builtins, **_helpers()}
    ns.update(zip(ex.context, context, strict=True))
    ns["answer"] = answer
    if ex._define_code is not None:
        try:
            exec(ex._define_code, ns)
        except Exception as e:
            why = f"could not check this answer ({type(e).__name__}: {e})"
            return False, why, False, why
    success = "all checks pass."
    for chk in ex.checks:
        if chk.hidden:
            continue
        ok, why = _one(chk, ns)
        if not ok:
            return False, why, False, why
        if chk._success_code is not None:
            success = _show(chk._success_code, ns, chk.success)
    if hidden:
        for chk in ex.checks:
            if chk.hidden:
                ok, why = _one(chk, ns)
                if not ok:
                    return True, success, False, why
    return True, success, hidden, success


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


def _verdict(exercise_id: str, answer: Any, context: Sequence[Any], hidden: bool
             ) -> tuple[Feedback, Verdict]:
    ex = get_exercise(exercise_id)
    _arity(ex, context)
    if answer is None or answer is ...:
        why = f"Not answered yet: {ex.summary}"
        return Feedback(ex.id, False, why), Verdict(ex.id, False, False, 0, ex.points, why)
    ok, visible, ok_all, overall = _run(ex, answer, context, hidden)
    prefix = "Correct" if ok else "Not yet"
    feedback = Feedback(ex.id, ok, f"{prefix}: {visible}")
    overall_prefix = "Correct" if ok_all else "Not yet"
    verdict = Verdict(ex.id, ok, ok_all, ex.points if ok_all else 0, ex.points,
                      f"{overall_prefix}: {overall}")
    return feedback, verdict


def check(exercise_id: str, answer: Any, *context: Any) -> Feedback:
    """Check an answer and say why. Never raises for a wrong or missing answer: ``None`` means
    "not answered yet". The visible checks run in order; the first that fails gives the
    message. Introduced in lesson 00."""
    report = os.environ.get(GRADE_REPORT_ENV)
    feedback, verdict = _verdict(exercise_id, answer, context, hidden=bool(report))
    if report:
        with open(report, "a", encoding="utf-8") as f:
            f.write(json.dumps(verdict.to_dict(), ensure_ascii=False) + "\n")
    return feedback


def grade_answer(exercise_id: str, answer: Any, *context: Any) -> Verdict:
    """Check an answer against every check, hidden ones included, and score it."""
    return _verdict(exercise_id, answer, context, hidden=True)[1]


def require(exercise_id: str, answer: Any, *context: Any) -> Verdict:
    """Like :func:`grade_answer`, but raise ``AssertionError`` with the message unless every
    check passes (for autograder test cells, e.g. nbgrader's)."""
    verdict = grade_answer(exercise_id, answer, *context)
    if not verdict.passed_all:
        msg = f"[{verdict.exercise}] {verdict.message}"
        raise AssertionError(msg)
    return verdict


def hint(exercise_id: str, n: int = 1) -> str:
    """The ``n``-th hint (from 1) of an exercise. Introduced in lesson 00."""
    ex = get_exercise(exercise_id)
    if not ex.hints:
        msg = f"Exercise {ex.id!r} has no hints; reread its prompt: {ex.summary}"
        raise ValueError(msg)
    if not (isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= len(ex.hints)):
        msg = (f"Exercise {ex.id!r} has {len(ex.hints)} hint(s); ask for "
               f"hint({ex.id!r}, n) with n from 1 to {len(ex.hints)}, not {n!r}.")
        raise ValueError(msg)
    return ex.hints[n - 1]

