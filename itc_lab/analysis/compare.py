"""One rule for wording a comparison of two success rates: "A beats B" only when their 95%
intervals do not overlap; otherwise the difference is "within noise".

``compare("CoT", 2, 36, "BFS", 20, 36)`` gives a :class:`Comparison` with both estimates (rate
and Wilson 95% interval) and a ``sentence`` that says which one beats the other, or that they
are within noise. ``compare_outcomes`` takes 0/1 lists (one per problem) instead of counts. Every
comparative sentence of a lesson's "What this run says" comes from here. Introduced in lesson 03.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .._checks import whole
from ..tables import frame

__all__ = [
    "Comparison",
    "Estimate",
    "compare",
    "compare_outcomes",
    "wilson_interval",
]

_Z95 = 1.959963984540054
"""The standard normal quantile for a two-sided 95% interval."""


def wilson_interval(successes: int, n: int, z: float = _Z95) -> tuple[float, float]:
    """The Wilson score interval ``(low, high)`` for ``successes`` out of ``n`` (95% by
    default). Unlike ``rate ± z·se`` it stays inside [0, 1] and is not empty at 0 or n
    successes: 0 of 36 gives (0, 0.096)."""
    n = whole("n", n, 1)
    successes = whole("successes", successes, 0, n, f" (at most n = {n})")
    if not (isinstance(z, int | float) and math.isfinite(z) and z > 0):
        msg = f"z must be a number > 0 (1.96 gives a 95% interval), not {z!r}."
        raise ValueError(msg)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Estimate:
    """A success rate with its 95% Wilson interval."""

    name: str
    successes: int
    n: int
    low: float
    high: float

    @property
    def rate(self) -> float:
        return self.successes / self.n

    @property
    def text(self) -> str:
        """``"9/36 (25%, 95% interval 14–41%)"``."""
        return (f"{self.successes}/{self.n} ({self.rate:.0%}, 95% interval "
                f"{self.low:.0%}–{self.high:.0%})")

    @classmethod
    def of(cls, name: str, successes: int, n: int) -> Estimate:
        low, high = wilson_interval(successes, n)
        return cls(name, successes, n, low, high)


@dataclass(frozen=True)
class Comparison:
    """Two estimates and the verdict: ``winner`` is the name whose interval lies wholly above
    the other's, ``None`` when the intervals overlap (touching counts as overlapping)."""

    a: Estimate
    b: Estimate

    @property
    def winner(self) -> str | None:
        if self.a.low > self.b.high:
            return self.a.name
        if self.b.low > self.a.high:
            return self.b.name
        return None

    @property
    def overlap(self) -> bool:
        return self.winner is None

    @property
    def sentence(self) -> str:
        """``"BFS beats CoT: 20/36 (...) against 2/36 (...)."`` or ``"CoT and BFS are within
        noise: 2/36 (...) against 4/36 (...); the intervals overlap."``"""
        if self.winner is None:
            return (f"{self.a.name} and {self.b.name} are within noise: {self.a.text} against "
                    f"{self.b.text}; the intervals overlap.")
        win, lose = (self.a, self.b) if self.winner == self.a.name else (self.b, self.a)
        return f"{win.name} beats {lose.name}: {win.text} against {lose.text}."

    def __str__(self) -> str:
        return self.sentence

    def to_pandas(self) -> Any:
        """Two rows, one per estimate: ``name``, ``successes``, ``n``, ``rate`` and the 95%
        interval as ``low`` and ``high`` (0 to 1)."""
        return frame(({"name": e.name, "successes": e.successes, "n": e.n, "rate": e.rate,
                       "low": e.low, "high": e.high} for e in (self.a, self.b)),
                     ["name", "successes", "n", "rate", "low", "high"])


def compare(name_a: str, successes_a: int, n_a: int, name_b: str, successes_b: int,
            n_b: int) -> Comparison:
    """Compare two success counts (``successes_a`` of ``n_a`` against ``successes_b`` of
    ``n_b``): both estimates with 95% Wilson intervals, and "A beats B" only when the
    intervals do not overlap (see :class:`Comparison`)."""
    if name_a == name_b:
        msg = f"Give the two estimates different names, not {name_a!r} twice."
        raise ValueError(msg)
    return Comparison(Estimate.of(name_a, successes_a, n_a), Estimate.of(name_b, successes_b, n_b))


def compare_outcomes(name_a: str, outcomes_a: Sequence[bool | int], name_b: str,
                     outcomes_b: Sequence[bool | int]) -> Comparison:
    """:func:`compare` on two lists of 0/1 outcomes (one per problem, e.g. ``[r.correct for r
    in results]``)."""
    counts = []
    for name, outcomes in ((name_a, outcomes_a), (name_b, outcomes_b)):
        values = list(outcomes)
        if not values or any(v not in (0, 1) for v in values):
            msg = (f"{name}: give a non-empty list of 0/1 (or True/False) outcomes, one per "
                   "problem.")
            raise ValueError(msg)
        counts.append((int(sum(values)), len(values)))
    (sa, na), (sb, nb) = counts
    return compare(name_a, sa, na, name_b, sb, nb)
