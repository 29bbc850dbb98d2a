"""Latency percentiles and the slowest-of-k. Introduced in lesson 07."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any, Literal

from ..types import Completion

__all__ = [
    "PERCENTILES",
    "latency_percentiles",
    "latency_table",
]


PERCENTILES: tuple[int, ...] = (50, 90, 95, 99)

# -- latency ------------------------------------------------------------------------------------
def latency_percentiles(values: Sequence[float], ps: Sequence[float] = PERCENTILES, *,
                        method: Literal["linear", "nearest"] = "linear") -> dict[float, float]:
    """Percentiles of latencies (seconds in, seconds out), keyed by ``p``.

    ``method="linear"`` (default) interpolates between the two nearest ranks: with the values
    sorted, the ``p``-th percentile sits at position ``p/100 * (n - 1)`` (numpy's default).
    ``method="nearest"`` is the nearest-rank percentile: the smallest value with at least ``p``
    percent of the values at or below it, always one of the measured values.
    """
    items = [float(v) for v in values]
    if not items:
        msg = "latency_percentiles needs at least one latency."
        raise ValueError(msg)
    if not all(math.isfinite(v) and v >= 0 for v in items):
        msg = "Latencies must be finite numbers >= 0 (seconds); drop the failed requests first."
        raise ValueError(msg)
    if method not in ("linear", "nearest"):
        msg = f"method must be 'linear' or 'nearest', not {method!r}."
        raise ValueError(msg)
    ordered = sorted(items)
    n = len(ordered)
    out: dict[float, float] = {}
    for p in ps:
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0 <= p <= 100:
            msg = f"Percentiles must be numbers from 0 to 100 (e.g. 50, 95, 99), not {p!r}."
            raise ValueError(msg)
        if method == "nearest":
            rank = max(1, math.ceil(Fraction(str(p)) * n / 100))
            out[p] = ordered[rank - 1]
        else:
            pos = p / 100 * (n - 1)
            lo = math.floor(pos)
            hi = min(lo + 1, n - 1)
            out[p] = ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
    return out

def _latency_row(item: Completion | Mapping[str, Any], i: int) -> dict[str, Any]:
    if isinstance(item, Completion):
        return {"model": item.model, "backend": item.backend, "latency_s": item.latency_s,
                "completion_tokens": item.completion_tokens, "cached": item.cached}
    if not isinstance(item, Mapping) or "latency_s" not in item:
        msg = (f"item {i} must be a Completion or a dict with 'latency_s' (seconds), "
               f"not {item!r:.80}.")
        raise ValueError(msg)
    return dict(item)

def latency_table(completions_or_rows: Sequence[Completion | Mapping[str, Any]], *,
                  by: str | None = None, ps: Sequence[float] = PERCENTILES,
                  method: Literal["linear", "nearest"] = "linear") -> list[dict[str, Any]]:
    """One row of latency statistics per group (or one row for all, ``by=None``).

    Items are completions, or dicts with ``latency_s`` (seconds) and optionally
    ``completion_tokens`` and the ``by`` field (e.g. ``by="model"``; completions offer ``model``,
    ``backend`` and ``cached``). Each row: the group value, ``n``, ``mean_s``, ``p50_s`` … (one
    per ``ps``, see :func:`latency_percentiles`), ``max_s`` and, when every item has
    ``completion_tokens``, ``tokens_per_s`` (generated tokens per second of summed latency).
    """
    rows = [_latency_row(item, i) for i, item in enumerate(completions_or_rows)]
    if not rows:
        msg = "latency_table needs at least one completion or row."
        raise ValueError(msg)
    groups: dict[Any, list[dict[str, Any]]] = {}
    for i, r in enumerate(rows):
        if by is not None and by not in r:
            msg = f"item {i} has no {by!r} field to group by; its fields are {sorted(r)}."
            raise ValueError(msg)
        groups.setdefault(r[by] if by is not None else None, []).append(r)
    table = []
    for value, members in groups.items():
        latencies = [float(r["latency_s"]) for r in members]
        row: dict[str, Any] = {by: value} if by is not None else {}
        row["n"] = len(members)
        row["mean_s"] = math.fsum(latencies) / len(latencies)
        for p, v in latency_percentiles(latencies, ps, method=method).items():
            row[f"p{p:g}_s"] = v
        row["max_s"] = max(latencies)
        if all("completion_tokens" in r for r in members):
            total = math.fsum(latencies)
            tokens = sum(int(r["completion_tokens"]) for r in members)
            row["tokens_per_s"] = tokens / total if total > 0 else 0.0
        table.append(row)
    return table
