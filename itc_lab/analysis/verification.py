"""Judging the judge: ROC AUC and calibration of verifier scores, answer flips, best-of-n curves.

Pure analysis on plain Python values; no model is called. A *judge* (verifier, reward model)
gives each sample a score in ``[0, 1]``; ``labels`` say whether each sample's answer is really
correct. Results are exact: the ROC AUC is the Mann-Whitney rank statistic, and
``best_of_n_curve`` computes the expected accuracy of best-of-n selection in closed form rather
than by sampling subsets.

Conventions used throughout:

- A sample is predicted correct when its score is ``>= threshold``.
- In ``flip_table`` and ``flip_rows``, ``None`` (an answer that could not be parsed) counts as
  wrong, as it does everywhere else in ``itc_lab``.
- ``best_of_n_curve`` breaks ties among the top scores uniformly at random, so a tie gives
  fractional credit (an expectation, not a coin toss).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

__all__ = [
    "FLIP_KEYS",
    "best_of_n_curve",
    "flip_rows",
    "flip_table",
    "judge_report",
]

FLIP_KEYS = ("right→wrong", "wrong→right", "right→right", "wrong→wrong")
"""The four transitions counted by ``flip_table``, in this order."""




def _scores(scores: Sequence[float], name: str = "scores") -> list[float]:
    if isinstance(scores, str):
        msg = f"{name} must be a list of numbers, not a string."
        raise ValueError(msg)
    items = list(scores)
    for i, s in enumerate(items):
        if isinstance(s, bool) or not isinstance(s, int | float) or not math.isfinite(s):
            msg = f"{name}[{i}] must be a finite number, not {s!r}."
            raise ValueError(msg)
        if not 0 <= s <= 1:
            msg = (f"{name}[{i}] = {s!r} is outside [0, 1]: judge scores must be probabilities; "
                   "rescale them first (e.g. divide a 1-10 grade by 10).")
            raise ValueError(msg)
    return [float(s) for s in items]


def _bools(values: Sequence[Any], name: str, allow_none: bool = False) -> list[bool | None]:
    if isinstance(values, str):
        msg = f"{name} must be a list of True/False values, not a string."
        raise ValueError(msg)
    items = list(values)
    for i, v in enumerate(items):
        if not isinstance(v, bool) and not (allow_none and v is None):
            extra = " or None (unparseable)" if allow_none else ""
            msg = f"{name}[{i}] must be True or False{extra}, not {v!r}."
            raise ValueError(msg)
    return items


def _auc(scores: list[float], labels: list[bool]) -> float | None:
    """Mann-Whitney AUC with mid-ranks (a tied positive/negative pair counts 1/2)."""
    n_pos = sum(labels)
    n_neg = len(labels) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    rank_sum = Fraction(0)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and scores[order[end + 1]] == scores[order[start]]:
            end += 1
        mid_rank = Fraction(start + end + 2, 2)  # 1-based ranks start+1 .. end+1
        rank_sum += mid_rank * sum(labels[order[j]] for j in range(start, end + 1))
        start = end + 1
    u = rank_sum - Fraction(n_pos * (n_pos + 1), 2)
    return float(u / (n_pos * n_neg))


def _roc_points(scores: list[float], labels: list[bool]) -> list[dict[str, float]]:
    n_pos = sum(labels)
    n_neg = len(labels) - n_pos
    points = [{"threshold": math.inf, "fpr": 0.0, "tpr": 0.0}]
    tp = fp = 0
    for t in sorted(set(scores), reverse=True):
        tp += sum(1 for s, y in zip(scores, labels, strict=True) if s == t and y)
        fp += sum(1 for s, y in zip(scores, labels, strict=True) if s == t and not y)
        points.append({"threshold": t, "fpr": fp / n_neg if n_neg else 0.0,
                       "tpr": tp / n_pos if n_pos else 0.0})
    return points


def judge_report(scores: Sequence[float], labels: Sequence[bool], threshold: float = 0.5,
                 bins: int = 5) -> dict[str, Any]:
    """How good a judge is: accuracy, precision, recall, ROC AUC, calibration and ROC points.

    ``scores[i]`` in ``[0, 1]`` is the judge's confidence that sample ``i`` is correct and
    ``labels[i]`` whether it really is. A sample is predicted correct when its score is
    ``>= threshold``. Returns a dict with:

    - ``"n"``, ``"positives"``, ``"threshold"``;
    - ``"accuracy"``: share of samples where prediction and label agree;
    - ``"precision"`` (``None`` when nothing is predicted correct) and ``"recall"`` (``None``
      when no label is True);
    - ``"auc"``: exact ROC AUC, the chance that a random correct sample scores above a random
      wrong one, ties counting 1/2; ``None`` when only one class is present;
    - ``"calibration"``: one row per equal-width score bin (``bins`` of them, the last one
      closed), with ``"bin"``, ``"low"``, ``"high"``, ``"mean_score"``, ``"fraction_correct"``
      (both ``None`` for an empty bin) and ``"count"``; counts sum to ``n``;
    - ``"ece"``: expected calibration error, the count-weighted mean of
      ``|mean_score - fraction_correct|`` over the bins;
    - ``"roc"``: ROC points ``{"threshold", "fpr", "tpr"}`` from ``(0, 0)`` (threshold
      ``inf``) to ``(1, 1)``, one per distinct score, highest first.
    """
    s = _scores(scores)
    y = [bool(v) for v in _bools(labels, "labels")]
    if len(s) != len(y):
        msg = f"scores has {len(s)} items but labels has {len(y)}: give one label per score."
        raise ValueError(msg)
    if not s:
        msg = "No scores: give at least one score and label."
        raise ValueError(msg)
    if (isinstance(threshold, bool) or not isinstance(threshold, int | float)
            or not 0 <= threshold <= 1):
        msg = f"threshold must be a number in [0, 1], not {threshold!r}."
        raise ValueError(msg)
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        msg = f"bins must be a whole number >= 1, not {bins!r}."
        raise ValueError(msg)
    pred = [v >= threshold for v in s]
    tp = sum(p and t for p, t in zip(pred, y, strict=True))
    fp = sum(p and not t for p, t in zip(pred, y, strict=True))
    n_pos = sum(y)
    agree = sum(p == t for p, t in zip(pred, y, strict=True))
    table: list[dict[str, Any]] = []
    members: list[list[int]] = [[] for _ in range(bins)]
    for i, v in enumerate(s):
        members[min(int(v * bins), bins - 1)].append(i)
    ece = 0.0
    for b, idx in enumerate(members):
        mean_score = math.fsum(s[i] for i in idx) / len(idx) if idx else None
        frac = sum(y[i] for i in idx) / len(idx) if idx else None
        if mean_score is not None and frac is not None:
            ece += len(idx) / len(s) * abs(mean_score - frac)
        table.append({"bin": b, "low": b / bins, "high": (b + 1) / bins,
                      "mean_score": mean_score, "fraction_correct": frac, "count": len(idx)})
    return {
        "n": len(s),
        "positives": n_pos,
        "threshold": float(threshold),
        "accuracy": agree / len(s),
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / n_pos if n_pos else None,
        "auc": _auc(s, y),
        "calibration": table,
        "ece": ece,
        "roc": _roc_points(s, y),
    }


def flip_table(before: Sequence[bool | None], after: Sequence[bool | None]) -> dict[str, int]:
    """Count how answers changed between two rounds (e.g. before and after self-revision).

    ``before[i]`` and ``after[i]`` say whether problem ``i`` was answered correctly; ``None``
    (no parseable answer) counts as wrong. Returns the counts of ``"right→wrong"``,
    ``"wrong→right"``, ``"right→right"`` and ``"wrong→wrong"`` (see ``FLIP_KEYS``), plus
    ``"net"`` = wrong→right − right→wrong (the change in the number correct) and ``"n"``.
    """
    b = _bools(before, "before", allow_none=True)
    a = _bools(after, "after", allow_none=True)
    if len(b) != len(a):
        msg = (f"before has {len(b)} items but after has {len(a)}: give one result per problem "
               "in both rounds.")
        raise ValueError(msg)
    counts = dict.fromkeys(FLIP_KEYS, 0)
    for x, z in zip(b, a, strict=True):
        key = f"{'right' if x else 'wrong'}→{'right' if z else 'wrong'}"
        counts[key] += 1
    return {**counts, "net": counts["wrong→right"] - counts["right→wrong"], "n": len(b)}


def flip_rows(rounds: Sequence[Sequence[bool | None]]) -> list[dict[str, Any]]:
    """Per-round transition rows for ``flip_chart``: ``rounds[r][i]`` is problem ``i`` in round r.

    For each step from round ``r - 1`` to round ``r`` (``r`` from 1) gives four rows
    ``{"round": r, "step": "0→1", "transition": key, "count": c}``, one per ``FLIP_KEYS`` entry.
    ``None`` counts as wrong. All rounds must cover the same problems.
    """
    if isinstance(rounds, str) or len(rounds) < 2:
        msg = "rounds must be a list of at least two rounds (each a list of True/False/None)."
        raise ValueError(msg)
    rows: list[dict[str, Any]] = []
    for r in range(1, len(rounds)):
        try:
            table = flip_table(rounds[r - 1], rounds[r])
        except ValueError as err:
            msg = f"rounds {r - 1} and {r}: {err}"
            raise ValueError(msg) from err
        rows.extend({"round": r, "step": f"{r - 1}→{r}", "transition": key,
                     "count": table[key]} for key in FLIP_KEYS)
    return rows


def _best_of_n_exact(scores: list[float], correct: list[bool], n: int) -> Fraction:
    """Expected correctness of the top-scored sample of a uniform random n-subset.

    For sample i with L samples scoring strictly lower and T samples (itself included) tied
    with it, i is chosen when the subset holds i, j of the other T - 1 ties and n - 1 - j lower
    samples, and then wins the tie with probability 1 / (j + 1).
    """
    big_n = len(scores)
    total = math.comb(big_n, n)
    result = Fraction(0)
    for i, si in enumerate(scores):
        if not correct[i]:
            continue
        lower = sum(1 for v in scores if v < si)
        ties = sum(1 for v in scores if v == si)
        p = Fraction(0)
        for j in range(min(ties - 1, n - 1) + 1):
            p += Fraction(math.comb(ties - 1, j) * math.comb(lower, n - 1 - j), j + 1)
        result += p / total
    return result


def best_of_n_curve(pools: Sequence[Sequence[float]], correct: Sequence[Sequence[bool]],
                    ns: Sequence[int], with_oracle: bool = False) -> list[dict[str, Any]]:
    """Exact expected accuracy of best-of-n selection by a judge, for each n in ``ns``.

    ``pools[p]`` are the judge's scores of problem p's samples (any real numbers; only their
    order matters) and ``correct[p]`` whether each sample is right. For each n the selector
    draws a uniformly random n-subset of each pool and keeps its highest-scoring sample (ties
    broken uniformly at random, so they give fractional credit); the returned accuracy is the
    exact expectation, averaged over problems. Rows: ``{"n", "accuracy", "series":
    "best-of-n"}``. With ``with_oracle=True`` rows with ``"series": "oracle (pass@n)"`` are
    added: the chance that any sample of the subset is correct, the most a perfect judge gets.
    Every n must be from 1 to the size of the smallest pool.
    """
    if isinstance(pools, str) or len(pools) == 0:
        msg = "pools must be a non-empty list of score lists (one per problem)."
        raise ValueError(msg)
    if len(pools) != len(correct):
        msg = (f"pools has {len(pools)} problems but correct has {len(correct)}: give one "
               "correctness list per pool.")
        raise ValueError(msg)
    checked: list[tuple[list[float], list[bool]]] = []
    for p, (pool, right) in enumerate(zip(pools, correct, strict=True)):
        s = list(pool)
        for i, v in enumerate(s):
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                msg = f"pools[{p}][{i}] must be a finite number, not {v!r}."
                raise ValueError(msg)
        c = [bool(v) for v in _bools(right, f"correct[{p}]")]
        if len(s) != len(c) or not s:
            msg = (f"pools[{p}] has {len(s)} scores and correct[{p}] has {len(c)} values: they "
                   "must match and be non-empty.")
            raise ValueError(msg)
        checked.append((s, c))
    smallest = min(len(s) for s, _ in checked)
    if isinstance(ns, str) or len(ns) == 0:
        msg = "ns must be a non-empty list of subset sizes, e.g. [1, 2, 4, 8]."
        raise ValueError(msg)
    for n in ns:
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= smallest:
            msg = (f"every n must be a whole number from 1 to {smallest} (the smallest pool), "
                   f"not {n!r}.")
            raise ValueError(msg)
    rows: list[dict[str, Any]] = []
    for n in ns:
        acc = sum((_best_of_n_exact(s, c, n) for s, c in checked), Fraction(0))
        rows.append({"n": n, "accuracy": float(acc / len(checked)), "series": "best-of-n"})
    if with_oracle:
        for n in ns:
            total = Fraction(0)
            for s, c in checked:
                wrong = len(c) - sum(c)
                total += 1 - Fraction(math.comb(wrong, n), math.comb(len(s), n))
            rows.append({"n": n, "accuracy": float(total / len(checked)),
                         "series": "oracle (pass@n)"})
    return rows
