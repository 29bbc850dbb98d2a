"""Techniques: one file each, one signature ``technique(problem, backend, **config)``.

Every technique returns a ``TechniqueResult`` (or a subclass with its own extra fields:
``Verdict``, ``SelfCorrection``, ``Refinement``, ``SearchResult``, ``StepSearchResult``,
``Game24Attempts``), so
``evaluate()`` and ``itc_lab.experiments.Sweep`` run any of them. ``TECHNIQUES`` maps a name to
its function; ``register_technique`` adds one (the built-ins are registered the same way).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..backends.base import Backend
from ..datasets.base import Problem
from .base import Sample, TechniqueResult
from .cot import few_shot_cot, zero_shot_cot
from .direct import direct
from .game24_search import StepSearchResult, game24_search
from .judge import Verdict, llm_judge
from .self_consistency import self_consistency
from .self_correction import SelfCorrection, self_correct
from .self_refine import Refinement, self_refine
from .tree_of_thoughts import Game24Attempts, SearchResult, game24_cot, tree_of_thoughts

__all__ = [
    "TECHNIQUES",
    "Game24Attempts",
    "Refinement",
    "Sample",
    "SearchResult",
    "SelfCorrection",
    "StepSearchResult",
    "Technique",
    "TechniqueResult",
    "Verdict",
    "direct",
    "evaluate",
    "few_shot_cot",
    "game24_cot",
    "game24_search",
    "llm_judge",
    "register_technique",
    "self_consistency",
    "self_correct",
    "self_refine",
    "tree_of_thoughts",
    "zero_shot_cot",
]

Technique = Callable[..., TechniqueResult]
TECHNIQUES: dict[str, Technique] = {}


def register_technique(name: str, fn: Technique, *, replace: bool = False) -> None:
    if name in TECHNIQUES and not replace:
        msg = f"A technique named {name!r} exists already (pass replace=True to override)."
        raise ValueError(msg)
    TECHNIQUES[name] = fn


for _fn in (direct, zero_shot_cot, few_shot_cot, self_consistency, llm_judge, self_correct,
            self_refine, tree_of_thoughts, game24_cot, game24_search):
    register_technique(_fn.__name__, _fn)


def evaluate(technique: str | Technique, problems: Iterable[Problem], backend: Backend, *,
             progress: bool = True, **config: Any) -> list[TechniqueResult]:
    """Run a technique on every problem, with a progress bar; returns one result per problem."""
    if isinstance(technique, str):
        try:
            fn = TECHNIQUES[technique]
        except KeyError:
            msg = f"Unknown technique {technique!r}; choose one of {', '.join(TECHNIQUES)}."
            raise ValueError(msg) from None
        name = technique
    else:
        fn, name = technique, getattr(technique, "__name__", "technique")
    items = list(problems)
    results: list[TechniqueResult] = []
    bar = None
    # replaying recordings is instant: a bar only when a live model may be asked
    may_be_live = getattr(backend, "mode", "live") != "replay" and (
        not hasattr(backend, "live") or getattr(backend, "live", None) is not None)
    if progress and may_be_live and len(items) > 1:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(items), desc=name, leave=False)
    try:
        for p in items:
            results.append(fn(p, backend, **config))
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return results
