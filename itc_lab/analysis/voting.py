"""Scoring many samples: pass@k, majority voting, maj@k curves, bootstrap intervals, early stopping.

Everything here is pure Python and works on plain answers (strings already extracted from the
completions; ``None`` for a sample whose answer could not be parsed). Results are exact where
possible: ``pass_at_k`` is the closed-form unbiased estimator, and ``maj_at_k`` enumerates answer
counts rather than sampling unless that would take too long. Introduced in lesson 02.

Conventions used throughout:

- ``None`` answers are samples without a parseable answer. They use up budget, but never win a
  vote and are never correct.
- ``majority_vote`` breaks ties towards the answer that appeared first, so a vote is reproducible;
  ``maj_at_k`` instead counts a tie among the top answers as a fractional win (an expectation over
  a fair coin toss among the tied answers).
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

from .._checks import quantile, whole

__all__ = [
    "METRICS",
    "TopTwo",
    "accuracy_curve",
    "adaptive_consistency",
    "bootstrap_ci",
    "composition_count",
    "early_stopping",
    "leader_probability",
    "maj_at_k",
    "majority_vote",
    "mean",
    "pass_at_k",
]

METRICS = ("maj", "pass")
"""The metrics ``accuracy_curve`` knows: majority vote of k samples, or any of k samples correct."""





def _check_answers(answers: Sequence[str | None], name: str = "answers") -> list[str | None]:
    if isinstance(answers, str):
        msg = (f"{name} must be a list of answers, not one string {answers[:40]!r}: "
               "wrap it in a list.")
        raise ValueError(msg)
    items = list(answers)
    for i, a in enumerate(items):
        if a is not None and not isinstance(a, str):
            msg = (f"{name}[{i}] is a {type(a).__name__}; answers must be strings, or None for "
                   "a sample without a parseable answer. Extract the answer from each completion "
                   "first.")
            raise ValueError(msg)
    return items


def mean(values: Sequence[float]) -> float:
    """The arithmetic mean, summed with ``math.fsum``. Introduced in lesson 02."""
    if len(values) == 0:
        msg = "mean of no values: give at least one value."
        raise ValueError(msg)
    return math.fsum(values) / len(values)


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k estimate from ``n`` samples of which ``c`` are correct.

    pass@k = 1 - C(n-c, k) / C(n, k) (Chen et al. 2021): the probability that a uniformly random
    set of ``k`` of the ``n`` samples (drawn without replacement) holds at least one correct one.
    Computed as a product of ``min(c, k)`` factors in log space, so large ``n`` neither overflows
    nor loses precision. Needs ``n >= 1``, ``0 <= c <= n`` and ``1 <= k <= n``.
    Introduced in lesson 02.
    """
    n = whole("n (number of samples)", n, 1)
    c = whole("c (number of correct samples)", c, 0, n, " It cannot exceed n.")
    k = whole("k", k, 1, n, " Draw at least k samples per problem to estimate pass@k.")
    if c == 0:
        return 0.0
    if n - c < k:
        return 1.0
    # C(n-c, k) / C(n, k) = prod_{j<k} (1 - c/(n-j)) = prod_{n-c < i <= n} (1 - k/i).
    if k <= c:
        log_fail = math.fsum(math.log1p(-c / (n - j)) for j in range(k))
    else:
        log_fail = math.fsum(math.log1p(-k / i) for i in range(n - c + 1, n + 1))
    return -math.expm1(log_fail)


def majority_vote(answers: Sequence[str | None],
                  weights: Sequence[float] | None = None) -> tuple[str | None, dict[str, float]]:
    """The winning answer and every answer's vote total.

    Each sample votes for its answer with weight 1 (or ``weights[i]``, a number >= 0). Returns
    ``(winner, totals)`` where ``totals`` maps each parsed answer to its total, in order of first
    appearance.

    - ``None`` answers (unparseable) never win and are *not* keys of ``totals``; count them with
      ``sum(a is None for a in answers)``.
    - Ties go to the tied answer that appeared first in ``answers``.
    - ``winner`` is ``None`` when no parsed answer has a positive total (no answers, all ``None``,
      or all weights 0).

    Introduced in lesson 02.
    """
    items = _check_answers(answers)
    if weights is None:
        ws = [1.0] * len(items)
    else:
        ws = list(weights)
        if len(ws) != len(items):
            msg = (f"weights has {len(ws)} values but answers has {len(items)}: give one weight "
                   "per answer.")
            raise ValueError(msg)
        for i, w in enumerate(ws):
            if isinstance(w, bool) or not isinstance(w, int | float) or not (
                    math.isfinite(w) and w >= 0):
                msg = f"weights[{i}] must be a finite number >= 0, not {w!r}."
                raise ValueError(msg)
    totals: dict[str, float] = {}
    for a, w in zip(items, ws, strict=True):
        if a is not None:
            totals[a] = totals.get(a, 0.0) + float(w)
    winner: str | None = None
    best = 0.0
    for a, total in totals.items():  # first appearance first, so ">" keeps the earliest on ties
        if total > best:
            winner, best = a, total
    return winner, totals


def composition_count(answers: Sequence[str | None], k: int) -> int:
    """How many answer-count vectors a size-``k`` subset of ``answers`` can have.

    A composition gives, for every distinct answer (``None`` counted as one more "answer"), how
    many of the ``k`` drawn samples have it. ``maj_at_k`` is exact by enumerating these when there
    are at most ``exact_limit`` of them. Introduced in lesson 02.
    """
    items = _check_answers(answers)
    k = whole("k", k, 0, len(items))
    caps = list(Counter(items).values())
    ways = [1] + [0] * k  # ways[r]: vectors over the answers seen so far that sum to r
    for cap in caps:
        prefix = [0]
        for w in ways:
            prefix.append(prefix[-1] + w)
        ways = [prefix[r + 1] - prefix[max(0, r - cap)] for r in range(k + 1)]
    return ways[k]


def _gold_win(counts: Counter[str | None], gold: str) -> float:
    """Gold's share of the win under one subset's answer counts (ties split evenly)."""
    g = counts.get(gold, 0)
    if g == 0:
        return 0.0
    tied = 1
    for a, v in counts.items():
        if a is None or a == gold:
            continue
        if v > g:
            return 0.0
        if v == g:
            tied += 1
    return 1.0 / tied


def _maj_exact(items: list[str | None], gold: str, k: int) -> float:
    counts = Counter(items)
    n_gold = counts.pop(gold, 0)
    n_none = counts.pop(None, 0)
    others = sorted(counts.values(), reverse=True)
    # Item 0 is the unparseable answers (they only take up slots); the rest are the other answers.
    sizes = [n_none, *others]
    combs = [[math.comb(s, x) for x in range(s + 1)] for s in sizes]
    last = len(sizes)
    by_ties: dict[int, int] = {}  # number of other answers tied with gold -> summed weight
    for xg in range(1, min(n_gold, k) + 1):
        # Other answers may not exceed gold's count (those subsets contribute 0): cap them at xg.
        caps = [n_none] + [min(s, xg) for s in others]
        room = [0] * (last + 1)  # room[i]: most slots items i.. can fill
        for i in range(last - 1, -1, -1):
            room[i] = room[i + 1] + caps[i]
        start = k - xg
        if start > room[0]:
            continue
        stack = [(0, start, math.comb(n_gold, xg), 0)]
        while stack:
            i, r, w, t = stack.pop()
            if r == 0 or i == last:  # r == 0 here when i == last, by the bounds below
                by_ties[t] = by_ties.get(t, 0) + w
                continue
            row = combs[i]
            for x in range(max(0, r - room[i + 1]), min(caps[i], r) + 1):
                stack.append((i + 1, r - x, w * row[x], t + (i > 0 and x == xg)))
    total = sum((Fraction(w, t + 1) for t, w in by_ties.items()), Fraction(0))
    return float(total / math.comb(len(items), k))


def _maj_monte_carlo(items: list[str | None], gold: str, k: int, samples: int,
                     seed: int) -> float:
    rng = random.Random(seed)
    wins = math.fsum(_gold_win(Counter(rng.sample(items, k)), gold) for _ in range(samples))
    return wins / samples


def maj_at_k(answers: Sequence[str | None], gold: str, k: int, *, exact_limit: int = 200_000,
             samples: int = 20_000, seed: int = 0) -> float:
    """The probability that majority voting over ``k`` of the ``answers`` gives ``gold``.

    The ``k`` samples are a uniformly random subset of the N answers (without replacement), so
    this is the expected maj@k of a k-sample budget, estimated from a larger pool. ``None``
    answers take up slots but never win; a subset of only ``None`` answers has no winner. When
    ``gold`` ties with other answers for the most votes it counts as ``1 / (number tied)`` of a
    win (the expected result of breaking the tie at random).

    Exact when there are at most ``exact_limit`` compositions (see ``composition_count``): the
    answer counts of a subset follow a multivariate hypergeometric law, so the function sums
    ``prod C(n_a, x_a) / C(N, k)`` over count vectors ``x`` (skipping those where another answer
    beats ``gold``) in exact rational arithmetic. Beyond that it draws ``samples`` random subsets
    with ``random.Random(seed)`` (standard error at most ``0.5 / sqrt(samples)``, about 0.004 at
    the default). Introduced in lesson 02.
    """
    items = _check_answers(answers)
    if not items:
        msg = "maj_at_k needs at least one answer."
        raise ValueError(msg)
    if not isinstance(gold, str):
        msg = f"gold must be the correct answer as a string, not {gold!r}."
        raise ValueError(msg)
    k = whole("k", k, 1, len(items),
               f" There are {len(items)} answers; k cannot be more than that.")
    exact_limit = whole("exact_limit", exact_limit, 0)
    samples = whole("samples", samples, 1)
    seed = whole("seed", seed, 0)
    if gold not in items:
        return 0.0
    if composition_count(items, k) <= exact_limit:
        return _maj_exact(items, gold, k)
    return _maj_monte_carlo(items, gold, k, samples, seed)



def bootstrap_ci(values: Sequence[float], *, n_boot: int = 2000, alpha: float = 0.05,
                 seed: int = 0,
                 stat: Callable[[Sequence[float]], float] = mean) -> tuple[float, float]:
    """A percentile bootstrap confidence interval ``(low, high)`` for ``stat(values)``.

    Resamples the items (e.g. one accuracy per problem) with replacement ``n_boot`` times using
    ``random.Random(seed)``, so the same seed gives the same interval, and returns the
    ``alpha/2`` and ``1 - alpha/2`` quantiles of the resampled statistic (coverage ``1 - alpha``).
    Introduced in lesson 02.
    """
    items = [float(v) for v in values]
    if not items:
        msg = "bootstrap_ci needs at least one value (e.g. one score per problem)."
        raise ValueError(msg)
    if not all(math.isfinite(v) for v in items):
        msg = "bootstrap_ci values must be finite numbers; drop or fix the NaN/inf ones."
        raise ValueError(msg)
    n_boot = whole("n_boot", n_boot, 1)
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        msg = f"alpha must be a number between 0 and 1 (0.05 gives a 95% interval), not {alpha!r}."
        raise ValueError(msg)
    seed = whole("seed", seed, 0)
    rng = random.Random(seed)
    n = len(items)
    stats = sorted(stat(rng.choices(items, k=n)) for _ in range(n_boot))
    return quantile(stats, alpha / 2), quantile(stats, 1 - alpha / 2)


def accuracy_curve(pools: Sequence[Sequence[str | None]], golds: Sequence[str],
                   ks: Sequence[int], metric: str = "maj") -> list[dict[str, Any]]:
    """Accuracy against the number of samples k, averaged over problems, with 95% intervals.

    ``pools[i]`` holds the sampled answers of problem ``i`` and ``golds[i]`` its correct answer.
    For each k the score of a problem is ``maj_at_k(pool, gold, k)`` (``metric="maj"``) or
    ``pass_at_k(len(pool), c, k)`` with ``c`` the answers equal to gold (``metric="pass"``).
    Returns one row per k, in the order of ``ks``::

        {"k": 4, "metric": "maj", "accuracy": 0.62, "low": 0.48, "high": 0.75, "n_problems": 40}

    where ``low``/``high`` is ``bootstrap_ci`` over problems (seed 0, 2000 resamples).
    Introduced in lesson 02.
    """
    if metric not in METRICS:
        msg = (f"metric must be one of {METRICS} (majority vote, or any sample correct), "
               f"not {metric!r}.")
        raise ValueError(msg)
    pool_list = [_check_answers(p, f"pools[{i}]") for i, p in enumerate(pools)]
    gold_list = list(golds)
    if not pool_list:
        msg = "accuracy_curve needs at least one problem (one pool of answers and its gold)."
        raise ValueError(msg)
    if len(gold_list) != len(pool_list):
        msg = (f"pools has {len(pool_list)} problems but golds has {len(gold_list)}: give one gold "
               "answer per pool.")
        raise ValueError(msg)
    k_list = [whole(f"ks[{j}]", k, 1) for j, k in enumerate(ks)]
    if not k_list:
        msg = "ks is empty: give the sample counts to evaluate, e.g. ks=[1, 2, 4, 8]."
        raise ValueError(msg)
    smallest = min(range(len(pool_list)), key=lambda i: len(pool_list[i]))
    if max(k_list) > len(pool_list[smallest]):
        msg = (f"k={max(k_list)} is more than the {len(pool_list[smallest])} answers of problem "
               f"{smallest}: every pool needs at least max(ks) answers.")
        raise ValueError(msg)
    rows: list[dict[str, Any]] = []
    for k in k_list:
        if metric == "maj":
            scores = [maj_at_k(p, g, k) for p, g in zip(pool_list, gold_list, strict=True)]
        else:
            scores = [pass_at_k(len(p), sum(a == g for a in p), k)
                      for p, g in zip(pool_list, gold_list, strict=True)]
        low, high = bootstrap_ci(scores)
        rows.append({"k": k, "metric": metric, "accuracy": mean(scores), "low": low,
                     "high": high, "n_problems": len(scores)})
    return rows


def _budget(items: list[str | None], max_samples: int | None) -> int:
    if not items:
        msg = "Give at least one answer, in the order the samples were drawn."
        raise ValueError(msg)
    if max_samples is None:
        return len(items)
    return whole("max_samples", max_samples, 1, len(items),
                  f" Only {len(items)} answers were given; pass at least max_samples answers.")


def early_stopping(answers: Sequence[str | None], *, window: int = 5,
                   max_samples: int | None = None) -> dict[str, Any]:
    """Early-Stopping Self-Consistency (Li et al. 2024, ESC) replayed on pre-drawn samples.

    ``answers`` are the samples in the order they were drawn. They are taken in consecutive
    windows of ``window``; sampling stops after the first full window whose answers all agree
    (a window of ``None`` answers is not agreement), or at ``max_samples`` (default: all answers).
    Returns ``{"stopped_at": samples used, "answer": majority_vote of those samples,
    "saved": max_samples - stopped_at}``. Introduced in lesson 02.
    """
    items = _check_answers(answers)
    budget = _budget(items, max_samples)
    window = whole("window", window, 1)
    stopped_at = budget
    for end in range(window, budget + 1, window):
        chunk = items[end - window:end]
        if chunk[0] is not None and chunk.count(chunk[0]) == window:
            stopped_at = end
            break
    return {"stopped_at": stopped_at, "answer": majority_vote(items[:stopped_at])[0],
            "saved": budget - stopped_at}


_EXACT_VOTES = 60
"""Up to this many votes in all, ``leader_probability`` sums exact fractions."""


def _leader_probability_exact(v1: int, v2: int) -> Fraction:
    # X ~ Beta(v1+1, v2+1): P(X > 1/2) = P(Binomial(v1+v2+1, 1/2) <= v1).
    n = v1 + v2 + 1
    return Fraction(sum(math.comb(n, j) for j in range(v1 + 1)), 2 ** n)


def _smaller_tail(n: int, m: int) -> float:
    """P(Binomial(n, 1/2) <= m) for m below the middle, in floating point: the terms from j = m
    down, each from log-gamma, until they no longer change the sum. Terms shrink at least
    geometrically once they are a few standard deviations (sqrt(n) / 2) from m, so this takes
    O(sqrt(n)) steps near the middle and fewer in the tail, never O(n) exact big integers."""
    log_top = math.lgamma(n + 1) - n * math.log(2)
    total = 0.0
    for j in range(m, -1, -1):
        term = math.exp(log_top - math.lgamma(j + 1) - math.lgamma(n - j + 1))
        total += term
        if term <= total * 1e-17:
            break
    return total


def _leader_probability(v1: int, v2: int) -> float:
    n = v1 + v2 + 1
    if n <= _EXACT_VOTES:
        return float(_leader_probability_exact(v1, v2))
    # P(X <= v1) = 1 - P(X <= v2) by symmetry (n - v1 - 1 = v2): sum the smaller tail only
    return 1.0 - _smaller_tail(n, v2) if v1 >= v2 else _smaller_tail(n, v1)


def leader_probability(v1: int, v2: int) -> float:
    """P(the leader's true share exceeds the runner-up's), given ``v1`` and ``v2`` votes.

    The Beta stopping rule of Adaptive-Consistency (Aggarwal et al. 2023): with a uniform prior,
    the leader's share among the top two answers is ``p ~ Beta(v1 + 1, v2 + 1)``, and this returns
    ``P(p > 1/2)``, from the identity ``P(p > 1/2) = P(Binomial(v1 + v2 + 1, 1/2) <= v1)``:
    exactly up to 60 votes in all, beyond that to about 1e-12 in O(sqrt(v1 + v2)) steps (summing
    the smaller tail in floating point), so checking after every one of k samples stays far
    below quadratic in k. Introduced in lesson 02.
    """
    v1 = whole("v1 (leader's votes)", v1, 0)
    v2 = whole("v2 (runner-up's votes)", v2, 0)
    return _leader_probability(v1, v2)


class TopTwo:
    """The leader and the two largest vote counts as votes arrive one at a time, in O(1) per vote
    (counts only grow, so only the answer that just gained a vote can overtake). Ties go to the
    answer seen first, as in ``majority_vote``."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.first_seen: dict[str, int] = {}
        self.leader: str | None = None
        self.v1 = 0
        self.v2 = 0

    def add(self, answer: str) -> tuple[int, int]:
        """Count one vote for ``answer``; returns ``(v1, v2)``, the leader's and runner-up's."""
        self.first_seen.setdefault(answer, len(self.first_seen))
        self.counts[answer] += 1
        votes = self.counts[answer]
        if answer == self.leader:
            self.v1 = votes
        elif self.leader is None or votes > self.v1 or (
                votes == self.v1 and self.first_seen[answer] < self.first_seen[self.leader]):
            self.leader, self.v1, self.v2 = answer, votes, self.v1
        elif votes > self.v2:
            self.v2 = votes
        return self.v1, self.v2


def adaptive_consistency(answers: Sequence[str | None], *, threshold: float = 0.95,
                         max_samples: int | None = None, seed: int = 0) -> dict[str, Any]:
    """Adaptive-Consistency (Aggarwal et al. 2023) with the Beta rule, on pre-drawn samples.

    ``answers`` are the samples in the order they were drawn. After each sample, with ``v1`` the
    leading answer's votes and ``v2`` the runner-up's (0 if there is none; ``None`` answers do not
    vote), sampling stops once ``leader_probability(v1, v2) >= threshold``, or at ``max_samples``
    (default: all answers). With the default 0.95, four agreeing samples in a row are enough.
    Returns the same dict as ``early_stopping``.

    The Beta probability is computed exactly (to about 1e-12 beyond 60 votes, see
    ``leader_probability``), so the result does not depend on ``seed``; it is
    accepted (a whole number >= 0) so that calls written for sampled stopping rules run unchanged.
    Introduced in lesson 02.
    """
    items = _check_answers(answers)
    budget = _budget(items, max_samples)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not (
            0 < threshold < 1):
        msg = f"threshold must be a probability between 0 and 1 (e.g. 0.95), not {threshold!r}."
        raise ValueError(msg)
    whole("seed", seed, 0)
    target = Fraction(threshold)
    top = TopTwo()
    stopped_at = budget
    for i, a in enumerate(items[:budget], start=1):
        if a is None:
            continue
        v1, v2 = top.add(a)
        reached = (_leader_probability_exact(v1, v2) >= target if v1 + v2 + 1 <= _EXACT_VOTES
                   else _leader_probability(v1, v2) >= threshold)
        if reached:
            stopped_at = i
            break
    return {"stopped_at": stopped_at, "answer": majority_vote(items[:stopped_at])[0],
            "saved": budget - stopped_at}
