"""Refinement across rounds: the mean score of the drafts after each round. Introduced in
lesson 05."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

__all__ = ["scores_by_round"]


class _Scored(Protocol):
    @property
    def scores(self) -> Sequence[float]: ...


def scores_by_round(runs: Sequence[_Scored], rounds: int) -> list[float]:
    """The mean score of every run's draft after round 0 (the first draft), 1, …, ``rounds``.

    A run that stopped early (all rules met, or no feedback) keeps its last draft for the
    rounds it did not run, as a learner reading the final text would.
    """
    if not runs:
        msg = "scores_by_round needs at least one run (a Refinement from self_refine)."
        raise ValueError(msg)
    if any(not r.scores for r in runs):
        msg = "Every run must have at least one scored draft."
        raise ValueError(msg)
    return [math.fsum(r.scores[min(i, len(r.scores) - 1)] for r in runs) / len(runs)
            for i in range(rounds + 1)]
