"""Exercises: packs of TOML files, checked in the notebook and graded from saved notebooks.

``check("ID", answer, *context)`` gives feedback in a lesson; ``hint("ID")`` a hint;
``mistake_examples("ID", *context)`` the common wrong answers an exercise diagnoses;
``embed({...})`` registers an exercise a built notebook carries (without its solution).
``itc_lab.exercises.packs`` reads and checks packs; ``itc_lab.exercises.build`` writes student
and solution notebooks and grades them (``itc-lab exercises``). Introduced in lesson 00.
"""

from .packs import (
    DEFAULT_TOLERANCE,
    ENTRY_POINT_GROUP,
    GRADE_REPORT_ENV,
    PACKS_ENV,
    Exercise,
    ExerciseCheck,
    ExercisePackError,
    Feedback,
    Hint,
    Mistake,
    Verdict,
    builtin_pack_dir,
    catalog,
    check,
    check_namespace,
    embed,
    feedback_html,
    get_exercise,
    grade_answer,
    hint,
    load_pack,
    mistake_examples,
    pack_dirs,
    register_pack,
    require,
)

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
