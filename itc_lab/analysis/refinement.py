"""Refinement across rounds: the score of the drafts after each round, with its uncertainty, what
each round cost, and how many tasks ended above or below their first draft. Introduced in
lesson 05."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from .._checks import whole
from .voting import bootstrap_ci

__all__ = ["round_table", "score_changes", "scores_by_round"]


class _Scored(Protocol):
    @property
    def scores(self) -> Sequence[float]: ...


class _Spent(_Scored, Protocol):
    @property
    def tokens_by_round(self) -> Sequence[int]: ...

    @property
    def calls_by_round(self) -> Sequence[int]: ...


def _check_runs(runs: Sequence[_Scored], what: str) -> None:
    if not runs:
        msg = f"{what} needs at least one run (a Refinement from self_refine)."
        raise ValueError(msg)
    if any(not r.scores for r in runs):
        msg = "Every run must have at least one scored draft."
        raise ValueError(msg)


def _at(scores: Sequence[float], i: int) -> float:
    """The score after round ``i``: a run that stopped early keeps its last draft."""
    return scores[min(i, len(scores) - 1)]


def scores_by_round(runs: Sequence[_Scored], rounds: int) -> list[float]:
    """The mean score of every run's draft after round 0 (the first draft), 1, …, ``rounds``.

    A run that stopped early (all rules met, or no feedback) keeps its last draft for the
    rounds it did not run, as a learner reading the final text would.
    """
    _check_runs(runs, "scores_by_round")
    rounds = whole("rounds", rounds, 0)
    return [math.fsum(_at(r.scores, i) for r in runs) / len(runs) for i in range(rounds + 1)]


def round_table(settings: Mapping[str, Sequence[_Spent]], rounds: int, *,
                seed: int = 0) -> list[dict[str, Any]]:
    """One row per setting (its ``method``) and round (0 is the first draft), for a table or
    ``accuracy_chart(rows, x="round", y="rules met")``::

        {"method": "keep best of 4", "round": 2, "rules met": 0.56, "low": 0.49,
         "high": 0.63, "gain": 0.12, "gain low": 0.07, "gain high": 0.18, "all met": 3,
         "tasks": 24, "tokens": 412.5, "calls": 9.0}

    ``rules met`` is the mean score (fraction of rules met) after that round, ``low``/``high``
    its 95% bootstrap interval over tasks (``bootstrap_ci``, ``seed``); ``gain`` is the mean
    change of each task's score since its own first draft (paired, so the tasks' different
    difficulty cancels out), with its bootstrap interval ``gain low``/``gain high``: a gain
    whose interval lies above 0 is a measured improvement. ``all met`` is how many
    tasks meet every rule, and ``tokens``/``calls`` the mean generated tokens and completions
    per task spent up to and including that round. A run that stopped early keeps its last
    draft and spends nothing more. Every setting must hold runs of the same tasks.
    """
    rounds = whole("rounds", rounds, 0)
    if not settings:
        msg = "round_table needs at least one setting, e.g. {'checker feedback': runs}."
        raise ValueError(msg)
    rows: list[dict[str, Any]] = []
    for name, runs in settings.items():
        _check_runs(runs, f"round_table[{name!r}]")
        for i in range(rounds + 1):
            scores = [_at(r.scores, i) for r in runs]
            low, high = bootstrap_ci(scores, seed=seed)
            gains = [s - r.scores[0] for s, r in zip(scores, runs, strict=True)]
            gain_low, gain_high = bootstrap_ci(gains, seed=seed)
            rows.append({"method": name, "round": i,
                         "rules met": math.fsum(scores) / len(scores), "low": low, "high": high,
                         "gain": math.fsum(gains) / len(gains), "gain low": gain_low,
                         "gain high": gain_high,
                         "all met": sum(s == 1.0 for s in scores), "tasks": len(runs),
                         "tokens": math.fsum(sum(r.tokens_by_round[:i + 1]) for r in runs)
                         / len(runs),
                         "calls": math.fsum(sum(r.calls_by_round[:i + 1]) for r in runs)
                         / len(runs)})
    return rows


def score_changes(runs: Sequence[_Scored]) -> dict[str, int]:
    """How many runs ended above (``"rose"``), below (``"fell"``) or at (``"same"``) the score
    of their first draft, and ``"tasks"`` in all: the count behind "refinement helped"."""
    _check_runs(runs, "score_changes")
    rose = sum(r.scores[-1] > r.scores[0] for r in runs)
    fell = sum(r.scores[-1] < r.scores[0] for r in runs)
    return {"rose": rose, "fell": fell, "same": len(runs) - rose - fell, "tasks": len(runs)}
