"""Accuracy against compute: scaling-curve fits, Pareto frontiers and compute-optimal allocation.

Pure functions on plain rows (lists of dicts), so the records of a sweep go straight in:

- :func:`aggregate` turns per-problem records into one point per technique and budget;
- :func:`fit_saturating` fits ``accuracy = a - b * compute**(-c)`` (a ceiling ``a`` that more
  compute approaches ever more slowly); :func:`fit_log_linear` fits the straight line on a log
  axis that scaling plots often show, for comparison;
- :func:`pareto_frontier`: the points no other point beats on both cost and accuracy;
- :func:`difficulty_bins` and :func:`compute_optimal`: Snell et al. (2024), "Scaling LLM
  test-time compute optimally": sort problems into difficulty bins by the model's own pass rate,
  pick the best technique and budget per bin, and compare with one technique for all problems at
  the same mean compute;
- :func:`scaling_chart` and :func:`compute_optimal_chart` draw them (Altair, imported only when a
  chart is built).

Rows that come from a simulated model (``"simulated": True``) are labelled as such in every
chart. Introduced in lesson 06.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import altair as alt

__all__ = [
    "ALLOCATIONS",
    "BinChoice",
    "ComputeOptimalReport",
    "LogLinearFit",
    "PolicyPoint",
    "SaturatingFit",
    "Strategy",
    "aggregate",
    "compute_optimal",
    "compute_optimal_chart",
    "difficulty_bins",
    "fit_log_linear",
    "fit_saturating",
    "fit_series",
    "pareto_frontier",
    "scaling_chart",
]

ALLOCATIONS = ("mean", "per_bin")
"""How :func:`compute_optimal` reads a compute level: a cap on the mean cost per problem over all
problems (``"mean"``: hard bins may use what easy bins save), or a cap on every bin's mean cost
(``"per_bin"``: Snell et al.'s per-question budget)."""

C_RANGE = (1e-3, 5.0)
"""The exponents ``c`` that :func:`fit_saturating` searches (log-spaced, then refined)."""

SIMULATED_SUFFIX = " (simulated)"
"""Appended to the legend label of rows marked ``"simulated": True``."""

_GRID = 161
_GOLDEN_STEPS = 200
_MAX_POLICIES = 200_000
_FRONTIER_COLOR = "#444444"
_OPTIMAL = "compute-optimal"


def _bad(message: str) -> ValueError:
    return ValueError(message)


def _finite(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        msg = f"{name} must be a finite number, not {value!r}."
        raise _bad(msg)
    return float(value)


def _field(row: Mapping[str, Any], key: str, i: int, name: str = "rows") -> Any:
    if not isinstance(row, Mapping):
        msg = f"{name}[{i}] must be a dict, not {type(row).__name__}."
        raise _bad(msg)
    if key not in row:
        msg = f"{name}[{i}] has no {key!r} field; its fields are {sorted(row)}."
        raise _bad(msg)
    return row[key]


def _row_number(row: Mapping[str, Any], key: str, i: int, name: str = "rows") -> float:
    return _finite(f"{name}[{i}][{key!r}]", _field(row, key, i, name))


def _weights(weights: Sequence[float] | None, n: int) -> list[float]:
    if weights is None:
        return [1.0] * n
    ws = [_finite(f"weights[{i}]", w) for i, w in enumerate(weights)]
    if len(ws) != n:
        msg = f"weights has {len(ws)} values but there are {n} points: give one weight per point."
        raise _bad(msg)
    if any(w < 0 for w in ws):
        msg = "weights must be >= 0 (e.g. the number of problems behind each point)."
        raise _bad(msg)
    return ws


def _points(x: Sequence[float], y: Sequence[float], weights: Sequence[float] | None,
            what: str) -> tuple[list[float], list[float], list[float]]:
    xs = [_finite(f"x[{i}]", v) for i, v in enumerate(x)]
    ys = [_finite(f"y[{i}]", v) for i, v in enumerate(y)]
    if len(xs) != len(ys):
        msg = f"x has {len(xs)} values but y has {len(ys)}: give one y per x."
        raise _bad(msg)
    bad = [v for v in xs if v <= 0]
    if bad:
        msg = (f"{what} needs compute values x > 0 (it takes powers or logs of x), not "
               f"{bad[0]!r}; drop zero-compute points.")
        raise _bad(msg)
    ws = _weights(weights, len(xs))
    used = {v for v, w in zip(xs, ws, strict=True) if w > 0}
    if len(used) < 3:
        msg = (f"{what} needs at least 3 points with different x (and weight > 0); got "
               f"{len(used)}. Measure more compute levels, e.g. k = 1, 2, 4, 8.")
        raise _bad(msg)
    return xs, ys, ws


def _line(zs: list[float], ys: list[float], ws: list[float]) -> tuple[float, float, float] | None:
    """Weighted least squares ``y = alpha + beta * z``: (alpha, beta, weighted sum of squares)."""
    total = math.fsum(ws)
    zbar = math.fsum(w * z for w, z in zip(ws, zs, strict=True)) / total
    ybar = math.fsum(w * y for w, y in zip(ws, ys, strict=True)) / total
    szz = math.fsum(w * (z - zbar) ** 2 for w, z in zip(ws, zs, strict=True))
    if not szz > 1e-300:
        return None
    szy = math.fsum(w * (z - zbar) * (y - ybar) for w, z, y in zip(ws, zs, ys, strict=True))
    beta = szy / szz
    alpha = ybar - beta * zbar
    sse = math.fsum(w * (y - alpha - beta * z) ** 2 for w, z, y in zip(ws, zs, ys, strict=True))
    return alpha, beta, sse


# ---------------------------------------------------------------------------------------------
# Fits
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SaturatingFit:
    """``y = a - b * x**(-c)``: accuracy rises towards the ceiling ``a`` as compute ``x`` grows.

    Introduced in lesson 06.
    """

    a: float
    """The ceiling: accuracy as compute grows without bound (same units as y, e.g. 0 to 1)."""
    b: float
    """How far below the ceiling accuracy is at x = 1 (y units)."""
    c: float
    """How fast the gap closes: doubling x shrinks it by a factor 2**c (> 0)."""
    rmse: float
    """Root mean squared error of the fit (weighted when weights were given; y units)."""
    n: int
    """Points fitted."""
    notes: tuple[str, ...] = ()
    """Warnings about the fit, e.g. a ceiling above 1 (the values are never clipped)."""

    def __call__(self, x: float) -> float:
        """Predicted y at compute ``x`` (> 0)."""
        x = _finite("x", x)
        if x <= 0:
            msg = f"x must be > 0 (compute), not {x!r}."
            raise _bad(msg)
        return self.a - self.b * math.pow(x, -self.c)

    def x_for(self, y: float) -> float:
        """The compute at which the fitted curve reaches ``y``; ``inf`` when ``y >= a`` (the
        ceiling is never reached). An extrapolation outside the measured range."""
        y = _finite("y", y)
        if y >= self.a:
            return math.inf
        if self.b <= 0:
            return 0.0  # the whole curve is at or above the ceiling, so every x > 0 reaches y
        try:
            return math.pow(self.b / (self.a - y), 1.0 / self.c)
        except OverflowError:
            return math.inf

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["notes"] = list(self.notes)
        return d


@dataclass(frozen=True)
class LogLinearFit:
    """``y = m * log10(x) + q``: a straight line on a log-x axis. Introduced in lesson 06."""

    m: float
    """Gain in y per tenfold compute (y units per decade)."""
    q: float
    """y at x = 1."""
    rmse: float
    """Root mean squared error of the fit (weighted when weights were given; y units)."""
    n: int
    """Points fitted."""

    def __call__(self, x: float) -> float:
        """Predicted y at compute ``x`` (> 0)."""
        x = _finite("x", x)
        if x <= 0:
            msg = f"x must be > 0 (compute), not {x!r}."
            raise _bad(msg)
        return self.m * math.log10(x) + self.q

    def x_for(self, y: float) -> float:
        """The compute at which the line reaches ``y``. A line never levels off, so far from
        the data this overstates what more compute buys."""
        y = _finite("y", y)
        if self.m <= 0:
            msg = (f"The fitted line does not rise with compute (slope {self.m:g} per decade), so "
                   "no amount of compute is predicted to reach a target.")
            raise _bad(msg)
        try:
            return math.pow(10.0, (y - self.q) / self.m)
        except OverflowError:
            return math.inf

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fit_saturating(x: Sequence[float], y: Sequence[float], *,
                   weights: Sequence[float] | None = None) -> SaturatingFit:
    """Fit ``y = a - b * x**(-c)`` with ``c`` in :data:`C_RANGE` by weighted least squares.

    For a given ``c`` the model is a straight line in ``z = x**(-c)``, so ``a`` and ``b`` have a
    closed form; ``c`` is found by a log-spaced grid search and then golden-section refinement
    around the best grid point. ``weights`` (>= 0, e.g. problems per point) weight the squared
    errors. Needs at least 3 distinct x > 0. The fit is never clipped: a ceiling ``a`` outside
    0 … 1, a falling curve, or ``c`` at the edge of its range is reported in ``notes``.
    Introduced in lesson 06.
    """
    xs, ys, ws = _points(x, y, weights, "fit_saturating")
    logs = [math.log(v) for v in xs]

    def sse(log_c: float) -> tuple[float, float, float]:
        c = math.exp(log_c)
        fit = _line([math.exp(-c * lx) for lx in logs], ys, ws)
        if fit is None:
            return math.inf, math.nan, math.nan
        alpha, beta, err = fit
        return err, alpha, -beta

    lo, hi = math.log(C_RANGE[0]), math.log(C_RANGE[1])
    grid = [lo + (hi - lo) * i / (_GRID - 1) for i in range(_GRID)]
    errors = [sse(g)[0] for g in grid]
    best = min(range(_GRID), key=lambda i: errors[i])
    left, right = grid[max(0, best - 1)], grid[min(_GRID - 1, best + 1)]
    ratio = (math.sqrt(5) - 1) / 2
    p1, p2 = right - ratio * (right - left), left + ratio * (right - left)
    e1, e2 = sse(p1)[0], sse(p2)[0]
    for _ in range(_GOLDEN_STEPS):
        if e1 <= e2:
            right, p2, e2 = p2, p1, e1
            p1 = right - ratio * (right - left)
            e1 = sse(p1)[0]
        else:
            left, p1, e1 = p1, p2, e2
            p2 = left + ratio * (right - left)
            e2 = sse(p2)[0]
    candidates = [(errors[best], grid[best]), (e1, p1), (e2, p2)]
    err, log_c = min(candidates)
    if not math.isfinite(err):
        msg = "fit_saturating could not fit these points: check that x values differ."
        raise _bad(msg)
    _, a, b = sse(log_c)
    c = math.exp(log_c)
    notes = []
    if not 0 <= a <= 1:
        notes.append(f"The ceiling a = {a:.3g} is outside 0 … 1, so the points do not pin it "
                     "down; treat it as a rough extrapolation (it is not clipped).")
    if b <= 0:
        notes.append(f"b = {b:.3g} <= 0: the fitted curve does not rise with compute.")
    if best in (0, _GRID - 1):
        notes.append(f"c = {c:.3g} is at the edge of the searched range {C_RANGE}; a saturating "
                     "power law may not describe these points.")
    rmse = math.sqrt(err / math.fsum(ws))
    return SaturatingFit(a=a, b=b, c=c, rmse=rmse, n=len(xs), notes=tuple(notes))


def fit_log_linear(x: Sequence[float], y: Sequence[float], *,
                   weights: Sequence[float] | None = None) -> LogLinearFit:
    """Fit ``y = m * log10(x) + q`` by (weighted) least squares; needs 3 distinct x > 0.

    Introduced in lesson 06.
    """
    xs, ys, ws = _points(x, y, weights, "fit_log_linear")
    fit = _line([math.log10(v) for v in xs], ys, ws)
    if fit is None:
        msg = "fit_log_linear could not fit these points: check that x values differ."
        raise _bad(msg)
    q, m, err = fit
    return LogLinearFit(m=m, q=q, rmse=math.sqrt(err / math.fsum(ws)), n=len(xs))


def fit_series(rows: Sequence[Mapping[str, Any]], *, x: str = "tokens", y: str = "accuracy",
               by: str = "technique",
               form: str = "saturating") -> dict[str, SaturatingFit | LogLinearFit]:
    """One fit per series: rows grouped by ``by`` (e.g. technique), ``form`` ``"saturating"``
    or ``"log_linear"``. The result can be passed to :func:`scaling_chart` as ``fits``.
    Introduced in lesson 06."""
    if form not in ("saturating", "log_linear"):
        msg = f"form must be 'saturating' or 'log_linear', not {form!r}."
        raise _bad(msg)
    groups: dict[str, tuple[list[float], list[float]]] = {}
    for i, r in enumerate(rows):
        key = str(_field(r, by, i))
        xs, ys = groups.setdefault(key, ([], []))
        xs.append(_row_number(r, x, i))
        ys.append(_row_number(r, y, i))
    if not groups:
        msg = "fit_series needs rows, e.g. aggregate(sweep_records)."
        raise _bad(msg)
    out: dict[str, SaturatingFit | LogLinearFit] = {}
    for key, (xs, ys) in groups.items():
        try:
            out[key] = fit_saturating(xs, ys) if form == "saturating" else fit_log_linear(xs, ys)
        except ValueError as e:
            msg = f"Series {key!r}: {e}"
            raise _bad(msg) from None
    return out


# ---------------------------------------------------------------------------------------------
# Rows: aggregating a sweep, Pareto frontier, difficulty bins
# ---------------------------------------------------------------------------------------------


def _correct(value: object, where: str) -> float:
    if isinstance(value, bool):
        return float(value)
    number = _finite(where, value)
    if not 0 <= number <= 1:
        msg = f"{where} must be True/False or a number from 0 to 1, not {value!r}."
        raise _bad(msg)
    return number


def aggregate(rows: Sequence[Mapping[str, Any]], *,
              by: Sequence[str] = ("technique", "budget"), cost_key: str = "tokens",
              correct_key: str = "correct") -> list[dict[str, Any]]:
    """One point per group of per-problem records: mean cost and accuracy.

    ``rows`` hold one record per problem and setting, e.g.
    ``{"technique": "majority", "budget": 8, "problem_id": "arith-7", "tokens": 512,
    "correct": True}``. Returns, in order of first appearance, one dict per distinct value of
    the ``by`` fields with those fields, ``cost_key`` (mean per record), ``"accuracy"`` (mean of
    ``correct_key``, which may be a bool or a number from 0 to 1), ``"n"`` (records) and
    ``"simulated"`` (True when any record of the group is). Introduced in lesson 06.
    """
    keys = [by] if isinstance(by, str) else list(by)
    groups: dict[tuple[Hashable, ...], list[tuple[float, float, bool]]] = {}
    for i, r in enumerate(rows):
        group = tuple(_field(r, k, i) for k in keys)
        cost = _row_number(r, cost_key, i)
        hit = _correct(_field(r, correct_key, i), f"rows[{i}][{correct_key!r}]")
        groups.setdefault(group, []).append((cost, hit, r.get("simulated") is True))
    if not groups:
        msg = "aggregate needs at least one record."
        raise _bad(msg)
    out = []
    for group, members in groups.items():
        row: dict[str, Any] = dict(zip(keys, group, strict=True))
        row[cost_key] = math.fsum(c for c, _, _ in members) / len(members)
        row["accuracy"] = math.fsum(h for _, h, _ in members) / len(members)
        row["n"] = len(members)
        row["simulated"] = any(sim for _, _, sim in members)
        out.append(row)
    return out


def pareto_frontier(points: Sequence[Mapping[str, Any]], *, cost: str = "tokens",
                    quality: str = "accuracy") -> list[dict[str, Any]]:
    """The rows no other row dominates, cheapest first.

    A row is dominated when another costs no more and is no worse, and is strictly better in
    one of the two. Rows equal in both are all kept. Returns copies of the rows, sorted by cost
    (then by quality, best first). Introduced in lesson 06.
    """
    items = []
    for i, r in enumerate(points):
        items.append((_row_number(r, cost, i, "points"), _row_number(r, quality, i, "points"), i))
    items.sort(key=lambda t: (t[0], -t[1], t[2]))
    kept: list[dict[str, Any]] = []
    best = -math.inf  # the best quality of every strictly cheaper row
    j = 0
    while j < len(items):
        group_end = j
        while group_end < len(items) and items[group_end][0] == items[j][0]:
            group_end += 1
        top = items[j][1]  # the group is sorted best first
        if top > best:
            kept += [dict(points[i]) for c, q, i in items[j:group_end] if q == top]
            best = top
        j = group_end
    return kept


def difficulty_bins(pass_rates: Mapping[str, float], n_bins: int = 5) -> dict[str, int]:
    """Quantile bins of difficulty from the model's own pass rates (Snell et al. 2024).

    Bin 1 holds the easiest problems (highest pass rate), bin ``n_bins`` the hardest. Without
    ties the bins differ in size by at most one. Problems with the same pass rate always share a
    bin: the one their middle rank falls in, so a large tie can leave a neighbouring bin empty.
    Pass the rates of a *separate* estimate (other samples, a cheaper probe) to avoid grading
    difficulty with the very samples being scored. Introduced in lesson 06.
    """
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
        msg = f"n_bins must be a whole number >= 1, not {n_bins!r}."
        raise _bad(msg)
    rates = {pid: _finite(f"pass_rates[{pid!r}]", r) for pid, r in pass_rates.items()}
    if not rates:
        msg = "difficulty_bins needs at least one problem's pass rate."
        raise _bad(msg)
    out_of_range = [pid for pid, r in rates.items() if not 0 <= r <= 1]
    if out_of_range:
        msg = (f"Pass rates are from 0 to 1; problem {out_of_range[0]!r} has "
               f"{rates[out_of_range[0]]!r}.")
        raise _bad(msg)
    order = sorted(rates, key=lambda pid: (-rates[pid], str(pid)))
    n = len(order)
    bins: dict[str, int] = {}
    first = 0
    while first < n:
        last = first
        while last + 1 < n and rates[order[last + 1]] == rates[order[first]]:
            last += 1
        mid = (first + last) / 2
        b = min(n_bins, math.floor(mid * n_bins / n) + 1)
        for pid in order[first:last + 1]:
            bins[pid] = b
        first = last + 1
    return bins


# ---------------------------------------------------------------------------------------------
# Compute-optimal allocation
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Strategy:
    """One technique at one budget, measured on every problem. Introduced in lesson 06."""

    technique: str
    budget: Any
    """The budget as given in the rows (e.g. samples k)."""
    accuracy: float
    """Mean correctness over all problems (0 to 1)."""
    mean_cost: float
    """Mean cost per problem (cost units, e.g. tokens)."""
    by_bin: Mapping[int, tuple[float, float]] = field(hash=False)
    """Bin → (accuracy, mean cost per problem) within that bin."""

    @property
    def label(self) -> str:
        return f"{self.technique}@{self.budget}"


@dataclass(frozen=True)
class BinChoice:
    """What the compute-optimal policy does in one difficulty bin. Introduced in lesson 06."""

    bin: int
    strategy: str
    """``"technique@budget"``."""
    accuracy: float
    """Mean correctness in this bin (0 to 1)."""
    mean_cost: float
    """Mean cost per problem in this bin (cost units)."""
    n_problems: int


@dataclass(frozen=True)
class PolicyPoint:
    """The compute-optimal policy and the baseline at one compute level. Introduced in lesson 06.
    """

    level: float
    """The compute level (cost units per problem; see ``ComputeOptimalReport.allocation``)."""
    accuracy: float
    """Accuracy of the compute-optimal policy over all problems (0 to 1)."""
    mean_cost: float
    """Its mean cost per problem (cost units; at most ``level``)."""
    choices: tuple[BinChoice, ...]
    """One choice per bin, easiest bin first."""
    baseline: str | None
    """The baseline's best ``technique@budget`` whose mean cost is at most ``level``."""
    baseline_accuracy: float | None
    baseline_cost: float | None
    """Its mean cost per problem (cost units)."""

    @property
    def choice(self) -> str:
        """The choices in one line: ``"bin 1: A@2 · bin 2: B@8"``."""
        return " · ".join(f"bin {c.bin}: {c.strategy}" for c in self.choices)


def _cost_to_reach(points: Sequence[tuple[float, float]], target: float) -> float | None:
    """Cost at which the upper envelope of (cost, accuracy) points reaches ``target``, with
    linear interpolation between measured points; ``None`` when it never does. An accuracy below
    the target by rounding error only (the same mean summed in another order) reaches it."""
    ordered = sorted(points)
    lowest = target - 1e-9 * max(1.0, abs(target))
    best = -math.inf
    prev: tuple[float, float] | None = None
    for cost, acc in ordered:
        if acc >= lowest and acc > best:
            if prev is None or prev[1] >= target:
                return cost
            c0, a0 = prev
            return c0 + min(1.0, (target - a0) / (acc - a0)) * (cost - c0)
        if acc > best:
            best = acc
        prev = (cost, best)
    return None


@dataclass(frozen=True)
class ComputeOptimalReport:
    """Compute-optimal accuracy against a baseline, level by level. Introduced in lesson 06."""

    baseline: str
    """The baseline technique (all of its budgets)."""
    allocation: str
    """``"mean"`` or ``"per_bin"`` (see :data:`ALLOCATIONS`)."""
    cost_key: str
    """What cost means (the rows' field, e.g. ``"tokens"``)."""
    bin_sizes: Mapping[int, int] = field(hash=False)
    """Problems per difficulty bin."""
    strategies: tuple[Strategy, ...]
    points: tuple[PolicyPoint, ...]
    """One per compute level the policy can afford, cheapest first."""

    def rows(self) -> list[dict[str, Any]]:
        """Plain rows for a chart: per level, one for the compute-optimal policy and one for the
        baseline (when it can afford that level), with ``level``, ``strategy``, ``accuracy``,
        ``mean_cost`` and ``choice`` (what was run)."""
        out: list[dict[str, Any]] = []
        for p in self.points:
            out.append({"level": p.level, "strategy": _OPTIMAL, "accuracy": p.accuracy,
                        "mean_cost": p.mean_cost, "choice": p.choice})
            if p.baseline is not None:
                out.append({"level": p.level, "strategy": self.baseline,
                            "accuracy": p.baseline_accuracy, "mean_cost": p.baseline_cost,
                            "choice": p.baseline})
        return out

    def efficiency(self, target_accuracy: float) -> float | None:
        """How many times more compute the baseline needs than the compute-optimal policy to
        reach ``target_accuracy``.

        Each side's compute is read off its measured (mean cost, accuracy) points with linear
        interpolation between neighbours (the baseline: its budgets; the policy: its levels).
        ``inf`` when only the policy reaches the target, ``None`` when the policy does not.
        """
        target = _finite("target_accuracy", target_accuracy)
        mine = _cost_to_reach([(p.mean_cost, p.accuracy) for p in self.points], target)
        if mine is None:
            return None
        theirs = _cost_to_reach([(s.mean_cost, s.accuracy) for s in self.strategies
                                 if s.technique == self.baseline], target)
        if theirs is None:
            return math.inf
        if mine == 0:
            return 1.0 if theirs == 0 else math.inf
        return theirs / mine

    def to_dict(self) -> dict[str, Any]:
        return {"baseline": self.baseline, "allocation": self.allocation,
                "cost_key": self.cost_key,
                "bin_sizes": {str(b): n for b, n in self.bin_sizes.items()},
                "strategies": [{"technique": s.technique, "budget": s.budget,
                                "accuracy": s.accuracy, "mean_cost": s.mean_cost,
                                "by_bin": {str(b): list(v) for b, v in s.by_bin.items()}}
                               for s in self.strategies],
                "points": [{"level": p.level, "accuracy": p.accuracy, "mean_cost": p.mean_cost,
                            "choices": [asdict(c) for c in p.choices], "baseline": p.baseline,
                            "baseline_accuracy": p.baseline_accuracy,
                            "baseline_cost": p.baseline_cost} for p in self.points]}


def _budget_order(budget: Any) -> tuple[int, float, str]:
    if isinstance(budget, int | float) and not isinstance(budget, bool):
        return (0, float(budget), "")
    return (1, 0.0, str(budget))


def _measure(rows: Sequence[Mapping[str, Any]], bins: Mapping[Any, int], keys: dict[str, str],
             technique_keys: list[str]) -> tuple[list[Strategy], dict[int, int]]:
    budget_key = keys["budget"]
    problem_key, cost_key, correct_key = keys["problem"], keys["cost"], keys["correct"]
    per: dict[tuple[str, Any], dict[Any, list[tuple[float, float]]]] = {}
    for i, r in enumerate(rows):
        technique = " / ".join(str(_field(r, k, i)) for k in technique_keys)
        budget = _field(r, budget_key, i)
        pid = _field(r, problem_key, i)
        hit = _correct(_field(r, correct_key, i), f"rows[{i}][{correct_key!r}]")
        cost = _row_number(r, cost_key, i)
        if cost < 0:
            msg = f"rows[{i}][{cost_key!r}] is {cost!r}; a cost must be >= 0."
            raise _bad(msg)
        if pid not in bins:
            msg = (f"Problem {pid!r} (rows[{i}]) has no difficulty bin; give bins for every "
                   "problem, e.g. bins=difficulty_bins(pass_rates).")
            raise _bad(msg)
        per.setdefault((technique, budget), {}).setdefault(pid, []).append((hit, cost))
    if not per:
        msg = "compute_optimal needs rows: one per technique, budget and problem."
        raise _bad(msg)
    problems = {pid for by_problem in per.values() for pid in by_problem}
    for (technique, budget), by_problem in per.items():
        missing = problems - set(by_problem)
        if missing:
            msg = (f"{technique}@{budget} has no rows for {len(missing)} problem(s), e.g. "
                   f"{sorted(map(str, missing))[0]!r}: run every technique and budget on the "
                   "same problems, so their accuracies compare.")
            raise _bad(msg)
    bin_of: dict[Any, int] = {}
    for pid in problems:
        b = bins[pid]
        if isinstance(b, bool) or not isinstance(b, int):
            msg = f"bins[{pid!r}] must be a whole number (the bin), not {b!r}."
            raise _bad(msg)
        bin_of[pid] = b
    sizes: dict[int, int] = {}
    for b in bin_of.values():
        sizes[b] = sizes.get(b, 0) + 1
    sizes = dict(sorted(sizes.items()))
    n = len(problems)
    strategies = []
    for (technique, budget), by_problem in per.items():
        sums: dict[int, list[float]] = {b: [0.0, 0.0] for b in sizes}
        for pid, records in by_problem.items():
            b = bin_of[pid]
            sums[b][0] += math.fsum(h for h, _ in records) / len(records)
            sums[b][1] += math.fsum(c for _, c in records) / len(records)
        by_bin = {b: (sums[b][0] / sizes[b], sums[b][1] / sizes[b]) for b in sizes}
        acc = 0.0
        cost = 0.0
        for b in sizes:  # the same order of summation as the policy search below
            acc += sizes[b] / n * by_bin[b][0]
            cost += sizes[b] / n * by_bin[b][1]
        strategies.append(Strategy(technique, budget, acc, cost, by_bin))
    strategies.sort(key=lambda s: (s.technique, _budget_order(s.budget)))
    return strategies, sizes


def _close_below(value: float, level: float) -> bool:
    return value <= level + 1e-9 * max(1.0, abs(level))


_Policy = tuple[float, float, tuple[int, ...]]
"""(mean cost, accuracy, index of the strategy chosen in each bin)."""


def _policy_frontier(strategies: list[Strategy], sizes: dict[int, int]) -> list[_Policy]:
    """Every per-bin assignment not beaten on both mean cost and accuracy, cheapest first."""
    n = sum(sizes.values())
    frontier: list[_Policy] = [(0.0, 0.0, ())]
    for b, size in sizes.items():
        w = size / n
        options = sorted(((w * s.by_bin[b][1], w * s.by_bin[b][0], i)
                          for i, s in enumerate(strategies)), key=lambda t: (t[0], -t[1], t[2]))
        useful = []
        best = -math.inf
        for cost, acc, i in options:
            if acc > best:
                useful.append((cost, acc, i))
                best = acc
        if len(frontier) * len(useful) > _MAX_POLICIES:
            msg = (f"Too many combinations to search ({len(frontier) * len(useful):,}); use fewer "
                   "bins or budgets, or allocation='per_bin'.")
            raise _bad(msg)
        grown = sorted(((c + oc, a + oa, (*picks, i)) for c, a, picks in frontier
                        for oc, oa, i in useful), key=lambda t: (t[0], -t[1], t[2]))
        frontier = []
        best = -math.inf
        for policy in grown:
            if policy[1] > best:
                frontier.append(policy)
                best = policy[1]
    return frontier


def _per_bin_choice(strategies: list[Strategy], sizes: dict[int, int],
                    level: float) -> _Policy | None:
    n = sum(sizes.values())
    picks = []
    cost = 0.0
    acc = 0.0
    for b, size in sizes.items():
        affordable = [(-s.by_bin[b][0], s.by_bin[b][1], i) for i, s in enumerate(strategies)
                      if _close_below(s.by_bin[b][1], level)]
        if not affordable:
            return None
        _, _, i = min(affordable)
        picks.append(i)
        cost += size / n * strategies[i].by_bin[b][1]
        acc += size / n * strategies[i].by_bin[b][0]
    return cost, acc, tuple(picks)


def compute_optimal(rows: Sequence[Mapping[str, Any]], *, bins: Mapping[Any, int],
                    baseline: str = "majority", budget_key: str = "budget",
                    cost_key: str = "tokens",
                    technique_key: str | Sequence[str] = "technique",
                    problem_key: str = "problem_id", correct_key: str = "correct",
                    levels: Sequence[float] | None = None,
                    allocation: str = "mean") -> ComputeOptimalReport:
    """Pick the best technique and budget per difficulty bin at each compute level.

    ``rows`` hold one record per (technique, budget, problem) — repeats are averaged — with
    ``correct_key`` (True/False or 0 … 1) and ``cost_key`` (e.g. tokens). Every technique and
    budget must cover the same problems. ``bins`` maps each problem id to its difficulty bin;
    with :func:`difficulty_bins` of the very pass rates being scored this is Snell et al.'s
    *oracle* difficulty, with a separate estimate (a probe, another seed) it is the
    *predicted* difficulty a deployed system would have.

    At each compute ``level`` (cost per problem) the policy picks one technique@budget per bin:

    - ``allocation="mean"``: the assignment with the best overall accuracy whose mean cost over
      all problems is at most the level, found exactly (hard bins can spend what easy bins
      save). Any single technique@budget is one such assignment, so the policy is never worse
      than it at equal mean cost.
    - ``allocation="per_bin"``: in each bin, the best accuracy whose mean cost *in that bin* is
      at most the level (a per-question budget, as in Snell et al.).

    ``technique_key`` may name several fields, e.g. ``("model", "arm")`` for a sweep over two
    models; a strategy's name is then their values joined by ``" / "`` (``baseline`` too, e.g.
    ``"simulated:small / majority"``). The baseline at a level is the best budget of the
    ``baseline`` technique whose mean cost is at most the level. ``levels`` defaults to every
    cost at which either can change. Levels that the policy cannot afford in some bin are left
    out. Introduced in lesson 06.
    """
    if allocation not in ALLOCATIONS:
        msg = f"allocation must be one of {ALLOCATIONS}, not {allocation!r}."
        raise _bad(msg)
    if not isinstance(bins, Mapping):
        msg = "bins must map each problem id to its bin, e.g. difficulty_bins(pass_rates)."
        raise _bad(msg)
    technique_keys = [technique_key] if isinstance(technique_key, str) else list(technique_key)
    if not technique_keys:
        msg = "technique_key is empty: name the field(s) that tell strategies apart."
        raise _bad(msg)
    keys = {"budget": budget_key, "problem": problem_key, "cost": cost_key,
            "correct": correct_key}
    strategies, sizes = _measure(rows, bins, keys, technique_keys)
    base = [s for s in strategies if s.technique == baseline]
    if not base:
        names = sorted({s.technique for s in strategies})
        msg = f"The baseline {baseline!r} is not in the rows; choose one of {names}."
        raise _bad(msg)
    frontier = _policy_frontier(strategies, sizes) if allocation == "mean" else []
    if levels is None:
        found = {s.mean_cost for s in base}
        if allocation == "mean":
            found |= {c for c, _, _ in frontier}
        else:
            found |= {s.by_bin[b][1] for s in strategies for b in sizes}
        level_list = sorted(found)
    else:
        level_list = sorted(_finite(f"levels[{i}]", v) for i, v in enumerate(levels))
        if not level_list:
            msg = "levels is empty: give compute levels (cost per problem), or None for all."
            raise _bad(msg)
    points = []
    bin_list = list(sizes)
    for level in level_list:
        policy: _Policy | None
        if allocation == "mean":
            affordable = [p for p in frontier if _close_below(p[0], level)]
            policy = affordable[-1] if affordable else None  # the frontier rises with cost
        else:
            policy = _per_bin_choice(strategies, sizes, level)
        if policy is None:
            continue
        cost, acc, picks = policy
        choices = tuple(BinChoice(bin=b, strategy=strategies[i].label,
                                  accuracy=strategies[i].by_bin[b][0],
                                  mean_cost=strategies[i].by_bin[b][1], n_problems=sizes[b])
                        for b, i in zip(bin_list, picks, strict=True))
        fits = [s for s in base if _close_below(s.mean_cost, level)]
        chosen = max(fits, key=lambda s: (s.accuracy, -s.mean_cost)) if fits else None
        points.append(PolicyPoint(
            level=level, accuracy=acc, mean_cost=cost, choices=choices,
            baseline=chosen.label if chosen else None,
            baseline_accuracy=chosen.accuracy if chosen else None,
            baseline_cost=chosen.mean_cost if chosen else None))
    return ComputeOptimalReport(baseline=baseline, allocation=allocation, cost_key=cost_key,
                                bin_sizes=sizes, strategies=tuple(strategies),
                                points=tuple(points))


# ---------------------------------------------------------------------------------------------
# Charts
# ---------------------------------------------------------------------------------------------


def _label(row: Mapping[str, Any], color: str | None) -> str:
    name = str(row[color]) if color is not None else "measured"
    return name + SIMULATED_SUFFIX if row.get("simulated") is True else name


def _curve_xs(lo: float, hi: float, log_x: bool, n: int = 60) -> list[float]:
    if hi <= lo:
        return [lo]
    if log_x:
        a, b = math.log(lo), math.log(hi)
        return [math.exp(a + (b - a) * i / (n - 1)) for i in range(n)]
    return [lo + (hi - lo) * i / (n - 1) for i in range(n)]


def scaling_chart(rows: Sequence[Mapping[str, Any]], *, x: str = "tokens",
                  y: str = "accuracy", color: str | None = "technique",
                  fits: Mapping[str, SaturatingFit | LogLinearFit] | None = None,
                  frontier: bool | Sequence[str] = True, log_x: bool = True,
                  title: str = "") -> alt.LayerChart:
    """Accuracy against compute: measured points and lines per series, fitted curves, and the
    Pareto frontier as a step line.

    ``rows`` hold ``x`` (compute, > 0 on a log axis), ``y`` and the series name ``color`` (e.g.
    :func:`aggregate` output); other fields show in the tooltip. ``fits`` maps a series name to
    a fit (e.g. :func:`fit_series`), drawn as a thin line over that series' x range. Rows with
    ``"simulated": True`` get ``" (simulated)"`` after their legend label, hollow points and
    dashed lines, so a simulated model is never mistaken for a measured one. ``frontier``:
    the Pareto frontier of all rows (True), of none (False), or of the rows of the named series
    only (a list of ``color`` values, e.g. to leave out an oracle no deployed system can reach).
    Introduced in lesson 06.
    """
    import altair as alt

    from .charts import _rows

    items = _rows(rows, f"row with {x!r} and {y!r}",
                  "aggregate per technique and budget first (scaling.aggregate).")
    for i, r in enumerate(items):
        xv = _row_number(r, x, i)
        _row_number(r, y, i)
        if log_x and xv <= 0:
            msg = f"rows[{i}][{x!r}] is {r[x]!r}; the x axis is logarithmic, so use values > 0."
            raise _bad(msg)
        if color is not None:
            _field(r, color, i)
        r["series"] = _label(r, color)
        r["source"] = "simulated" if r.get("simulated") is True else "measured"
    reserved = {"series", "source"}
    extra = [k for k in items[0] if k not in {x, y, color, *reserved}
             and all(k in r for r in items)]
    tips = [alt.Tooltip("series:N", title=color or "series"),
            alt.Tooltip(f"{x}:Q", format=",.4~g"), alt.Tooltip(f"{y}:Q", format=".3~g")]
    tips += [alt.Tooltip(k, type="quantitative" if isinstance(items[0][k], int | float)
                         and not isinstance(items[0][k], bool) else "nominal") for k in extra]
    scale = alt.Scale(type="log") if log_x else alt.Scale(zero=False)
    x_enc = alt.X(f"{x}:Q", scale=scale, title=f"{x} (log scale)" if log_x else x)
    y_enc = alt.Y(f"{y}:Q", title=y, scale=alt.Scale(zero=False))
    series_enc = alt.Color("series:N", title=color or "series")
    any_simulated = any(r["source"] == "simulated" for r in items)
    dash = alt.StrokeDash("source:N", title="source",
                          scale=alt.Scale(domain=["measured", "simulated"],
                                          range=[[1, 0], [6, 4]]),
                          legend=alt.Legend() if any_simulated else None)
    base = alt.Chart(alt.InlineData(values=items)).encode(x=x_enc, y=y_enc, color=series_enc)
    layers: list[alt.Chart] = [
        base.mark_line(opacity=0.7).encode(strokeDash=dash, order=alt.Order(f"{x}:Q"),
                                           detail="series:N").properties(name="measured_lines"),
        base.mark_point(size=60, filled=True, opacity=1).encode(tooltip=tips).transform_filter(
            alt.datum.source == "measured").properties(name="measured_points"),
        base.mark_point(size=60, filled=False, strokeWidth=2).encode(
            tooltip=tips).transform_filter(alt.datum.source == "simulated").properties(
            name="simulated_points"),
    ]
    if fits:
        curve_rows = []
        for key, fit in fits.items():
            if not isinstance(fit, SaturatingFit | LogLinearFit):
                msg = f"fits[{key!r}] must be a SaturatingFit or LogLinearFit, not {fit!r}."
                raise _bad(msg)
            mine = [r for r in items if color is None or str(r[color]) == str(key)]
            if color is not None and not mine:
                msg = (f"fits has {key!r}, which is not a {color!r} of any row; fits are keyed "
                       "by series name (fit_series gives such a dict).")
                raise _bad(msg)
            xs = [float(r[x]) for r in mine]
            for xv in _curve_xs(min(xs), max(xs), log_x):
                if xv > 0:
                    curve_rows.append({x: xv, y: fit(xv), "series": mine[0]["series"],
                                       "fit": f"{key} fit"})
        layers.append(alt.Chart(alt.InlineData(values=curve_rows)).mark_line(
            strokeDash=[2, 2], strokeWidth=1.5, opacity=0.9).encode(
            x=x_enc, y=y_enc, color=series_enc, detail="fit:N",
            tooltip=[alt.Tooltip("fit:N")]).properties(name="fitted_curves"))
    chosen = items
    if not isinstance(frontier, bool):
        if isinstance(frontier, str) or not isinstance(frontier, Sequence):
            msg = (f"frontier must be True, False or a list of series names (values of "
                   f"{color!r}), not {frontier!r}.")
            raise _bad(msg)
        if color is None:
            msg = "frontier lists series, but color=None draws one series: pass frontier=True."
            raise _bad(msg)
        names = {str(r[color]) for r in items}
        keep = {str(f) for f in frontier}
        if not keep or not keep <= names:
            msg = (f"frontier names {sorted(keep - names) or 'no series'}; the {color!r} values "
                   f"of the rows are {sorted(names)}.")
            raise _bad(msg)
        chosen = [r for r in items if str(r[color]) in keep]
    if frontier:
        front = pareto_frontier(chosen, cost=x, quality=y)
        front_rows = [{x: r[x], y: r[y], "series": r["series"], "frontier": "Pareto frontier"}
                      for r in front]
        layers.append(alt.Chart(alt.InlineData(values=front_rows)).mark_line(
            interpolate="step-after", color=_FRONTIER_COLOR, strokeWidth=1.5,
            opacity=0.8).encode(x=x_enc, y=y_enc, tooltip=[
                alt.Tooltip("frontier:N", title="line"), alt.Tooltip("series:N"),
                alt.Tooltip(f"{x}:Q", format=",.4~g"), alt.Tooltip(f"{y}:Q", format=".3~g")]
        ).properties(name="pareto_frontier"))
    heading = title or f"{y} against {x}"
    if any(r["source"] == "simulated" for r in items):
        heading += " (dashed, hollow: simulated)"
    return alt.LayerChart(layer=layers).properties(title=heading, width=440, height=300)


def compute_optimal_chart(report: ComputeOptimalReport, *, log_x: bool = True,
                          show_strategies: bool = True, title: str = "") -> alt.LayerChart:
    """The compute-optimal policy against the baseline: accuracy against mean cost per problem.

    Both are drawn as step lines with points (the tooltip names what runs in each bin);
    ``show_strategies`` adds every single technique@budget as a small grey point. Introduced
    in lesson 06.
    """
    import altair as alt

    from .charts import MAX_ROWS

    if not isinstance(report, ComputeOptimalReport):
        msg = f"report must be a ComputeOptimalReport (from compute_optimal), not {report!r}."
        raise _bad(msg)
    items = report.rows()
    if not items:
        msg = "The report has no levels the policy can afford; pass lower or more levels."
        raise _bad(msg)
    if len(items) + len(report.strategies) > MAX_ROWS:
        msg = (f"{len(items)} rows is more than a chart holds ({MAX_ROWS}): pass fewer levels "
               "to compute_optimal.")
        raise _bad(msg)
    if log_x and any(r["mean_cost"] <= 0 for r in items):
        msg = "Some mean costs are 0, which a log axis cannot show: pass log_x=False."
        raise _bad(msg)
    unit = report.cost_key
    scale = alt.Scale(type="log") if log_x else alt.Scale(zero=False)
    x_enc = alt.X("mean_cost:Q", scale=scale, title=f"mean {unit} per problem"
                  + (" (log scale)" if log_x else ""))
    y_enc = alt.Y("accuracy:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%"),
                  title="accuracy")
    names = [_OPTIMAL, report.baseline]
    color = alt.Color("strategy:N", title=None,
                      scale=alt.Scale(domain=names, range=["#0072B2", "#E69F00"]))
    tips = [alt.Tooltip("strategy:N"), alt.Tooltip("accuracy:Q", format=".1%"),
            alt.Tooltip("mean_cost:Q", format=",.0f", title=f"mean {unit}"),
            alt.Tooltip("level:Q", format=",.0f"), alt.Tooltip("choice:N", title="runs")]
    base = alt.Chart(alt.InlineData(values=items)).encode(x=x_enc, y=y_enc, color=color)
    layers: list[alt.Chart] = []
    if show_strategies:
        singles = [{"mean_cost": s.mean_cost, "accuracy": s.accuracy, "strategy": s.label}
                   for s in report.strategies if not log_x or s.mean_cost > 0]
        layers.append(alt.Chart(alt.InlineData(values=singles)).mark_point(
            color="#999999", size=30).encode(
            x=x_enc, y=y_enc, tooltip=[alt.Tooltip("strategy:N", title="single strategy"),
                                       alt.Tooltip("accuracy:Q", format=".1%"),
                                       alt.Tooltip("mean_cost:Q", format=",.0f")]
        ).properties(name="single_strategies"))
    layers.append(base.mark_line(interpolate="step-after").encode(
        order=alt.Order("mean_cost:Q")).properties(name="policy_lines"))
    layers.append(base.mark_point(filled=True, size=60).encode(tooltip=tips).properties(
        name="policy_points"))
    heading = title or (f"Compute-optimal ({report.allocation} budget) against "
                        f"{report.baseline}")
    return alt.LayerChart(layer=layers).properties(title=heading, width=440, height=300)
