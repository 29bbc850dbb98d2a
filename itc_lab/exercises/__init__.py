"""Exercises: packs of TOML files, checked in the notebook and graded from saved notebooks.

``check("ID", answer, *context)`` gives feedback in a lesson; ``hint("ID")`` a hint.
``itc_lab.exercises.packs`` reads and checks packs; ``itc_lab.exercises.build`` writes student
and solution notebooks and grades them (``itc-lab exercises``). Introduced in lesson 00.
"""

from .packs import (
    ENTRY_POINT_GROUP,
    GRADE_REPORT_ENV,
    PACKS_ENV,
    Exercise,
    ExerciseCheck,
    ExercisePackError,
    Feedback,
    Verdict,
    builtin_pack_dir,
    catalog,
    check,
    check_namespace,
    get_exercise,
    grade_answer,
    hint,
    load_pack,
    pack_dirs,
    register_pack,
    require,
)

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
