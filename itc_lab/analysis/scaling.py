"""Accuracy against compute: scaling-curve fits, aggregation of sweep rows and the Pareto frontier.
Introduced in lesson 06."""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from .._checks import finite, row_field, row_number, truth_value

if TYPE_CHECKING:
    pass

__all__ = [
    "C_RANGE",
    "LogLinearFit",
    "SaturatingFit",
    "aggregate",
    "fit_log_linear",
    "fit_saturating",
    "fit_series",
    "gflops",
    "pareto_frontier",
    "pareto_indices",
]

"""How :func:`compute_optimal` reads a compute level: a cap on the mean cost per problem over all
problems (``"mean"``: hard bins may use what easy bins save), or a cap on every bin's mean cost
(``"per_bin"``: Snell et al.'s per-question budget)."""

C_RANGE = (1e-3, 5.0)

"""The exponents ``c`` that :func:`fit_saturating` searches (log-spaced, then refined)."""

"""Appended to the legend label of rows marked ``"simulated": True``."""

_GRID = 161

_GOLDEN_STEPS = 200





def _weights(weights: Sequence[float] | None, n: int) -> list[float]:
    if weights is None:
        return [1.0] * n
    ws = [finite(f"weights[{i}]", w) for i, w in enumerate(weights)]
    if len(ws) != n:
        msg = f"weights has {len(ws)} values but there are {n} points: give one weight per point."
        raise ValueError(msg)
    if any(w < 0 for w in ws):
        msg = "weights must be >= 0 (e.g. the number of problems behind each point)."
        raise ValueError(msg)
    return ws

def _points(x: Sequence[float], y: Sequence[float], weights: Sequence[float] | None,
            what: str) -> tuple[list[float], list[float], list[float]]:
    xs = [finite(f"x[{i}]", v) for i, v in enumerate(x)]
    ys = [finite(f"y[{i}]", v) for i, v in enumerate(y)]
    if len(xs) != len(ys):
        msg = f"x has {len(xs)} values but y has {len(ys)}: give one y per x."
        raise ValueError(msg)
    bad = [v for v in xs if v <= 0]
    if bad:
        msg = (f"{what} needs compute values x > 0 (it takes powers or logs of x), not "
               f"{bad[0]!r}; drop zero-compute points.")
        raise ValueError(msg)
    ws = _weights(weights, len(xs))
    used = {v for v, w in zip(xs, ws, strict=True) if w > 0}
    if len(used) < 3:
        msg = (f"{what} needs at least 3 points with different x (and weight > 0); got "
               f"{len(used)}. Measure more compute levels, e.g. k = 1, 2, 4, 8.")
        raise ValueError(msg)
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
    ceiling_identified: bool = True
    """Whether the points pin the ceiling down: False when ``a`` lies outside 0 … 1, when the
    curve does not rise (``b <= 0``), or when ``c`` sits at the low edge of :data:`C_RANGE`
    (no bend: the points lie on a straight line on a log axis, where ``a`` and ``b`` grow
    together without limit). Then ``a`` is a constant of the fitted curve over the measured
    range, not an accuracy; read :attr:`ceiling`, not ``a``."""

    @property
    def ceiling(self) -> float | None:
        """The accuracy the curve levels off at, or ``None`` when these points do not identify
        one (see :attr:`ceiling_identified`)."""
        return self.a if self.ceiling_identified else None

    def summary(self) -> str:
        """One line a learner can read: the ceiling (or that the points do not identify one),
        how fast the gap closes, and the error."""
        if self.ceiling is None:
            head = (f"ceiling not identifiable from these {self.n} points (no bend within the "
                    f"measured range: the fitted a = {self.a:.3g} is a constant of the curve, "
                    "not an accuracy)")
        else:
            head = (f"ceiling a = {self.a:.3g}, reached slowly or fast as doubling the compute "
                    f"shrinks the gap by {2 ** self.c:.3g}x (b = {self.b:.3g}, c = {self.c:.3g})")
        return f"{head}; rmse {self.rmse:.3f}"

    def __repr__(self) -> str:
        if self.ceiling is None:
            return (f"SaturatingFit(ceiling not identifiable, a={self.a:.4g}, b={self.b:.4g}, "
                    f"c={self.c:.4g}, rmse={self.rmse:.4g}, n={self.n})")
        return (f"SaturatingFit(a={self.a:.4g}, b={self.b:.4g}, c={self.c:.4g}, "
                f"rmse={self.rmse:.4g}, n={self.n})")

    def _repr_html_(self) -> str:
        from ..tables import summary_html

        return summary_html("SaturatingFit · y = a − b · x^(−c)", [
            ("ceiling", "not identifiable from these points" if self.ceiling is None
             else f"{self.a:.3g}"),
            ("a, b, c", f"{self.a:.4g}, {self.b:.4g}, {self.c:.4g}"),
            ("rmse", f"{self.rmse:.3g}"), ("points", self.n)], " ".join(self.notes) or None)

    def __call__(self, x: float) -> float:
        """Predicted y at compute ``x`` (> 0)."""
        x = finite("x", x)
        if x <= 0:
            msg = f"x must be > 0 (compute), not {x!r}."
            raise ValueError(msg)
        return self.a - self.b * math.pow(x, -self.c)

    def x_for(self, y: float) -> float:
        """The compute at which the fitted curve reaches ``y``; ``inf`` when ``y >= a`` (the
        ceiling is never reached). An extrapolation outside the measured range."""
        y = finite("y", y)
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
        x = finite("x", x)
        if x <= 0:
            msg = f"x must be > 0 (compute), not {x!r}."
            raise ValueError(msg)
        return self.m * math.log10(x) + self.q

    def x_for(self, y: float) -> float:
        """The compute at which the line reaches ``y``. A line never levels off, so far from
        the data this overstates what more compute buys."""
        y = finite("y", y)
        if self.m <= 0:
            msg = (f"The fitted line does not rise with compute (slope {self.m:g} per decade), so "
                   "no amount of compute is predicted to reach a target.")
            raise ValueError(msg)
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
        raise ValueError(msg)
    _, a, b = sse(log_c)
    c = math.exp(log_c)
    notes = []
    no_bend = best == 0
    if no_bend:
        notes.append(f"c = {c:.3g} is at the low edge of the searched range {C_RANGE}: the "
                     "points lie on a straight line on a log axis, with no bend to show where "
                     "they level off, so the ceiling is not identifiable from them; "
                     "fit_log_linear describes them with two numbers.")
    elif best == _GRID - 1:
        notes.append(f"c = {c:.3g} is at the high edge of the searched range {C_RANGE}; a "
                     "saturating power law may not describe these points.")
    if not 0 <= a <= 1 and not no_bend:
        notes.append(f"The fitted a = {a:.3g} is outside 0 … 1, so it is not a ceiling these "
                     "points identify (it is not clipped).")
    if b <= 0:
        notes.append(f"b = {b:.3g} <= 0: the fitted curve does not rise with compute.")
    rmse = math.sqrt(err / math.fsum(ws))
    identified = not no_bend and 0 <= a <= 1 and b > 0
    return SaturatingFit(a=a, b=b, c=c, rmse=rmse, n=len(xs), notes=tuple(notes),
                         ceiling_identified=identified)

def fit_log_linear(x: Sequence[float], y: Sequence[float], *,
                   weights: Sequence[float] | None = None) -> LogLinearFit:
    """Fit ``y = m * log10(x) + q`` by (weighted) least squares; needs 3 distinct x > 0.

    Introduced in lesson 06.
    """
    xs, ys, ws = _points(x, y, weights, "fit_log_linear")
    fit = _line([math.log10(v) for v in xs], ys, ws)
    if fit is None:
        msg = "fit_log_linear could not fit these points: check that x values differ."
        raise ValueError(msg)
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
        raise ValueError(msg)
    groups: dict[str, tuple[list[float], list[float]]] = {}
    for i, r in enumerate(rows):
        key = str(row_field(r, by, i))
        xs, ys = groups.setdefault(key, ([], []))
        xs.append(row_number(r, x, i))
        ys.append(row_number(r, y, i))
    if not groups:
        msg = "fit_series needs rows, e.g. aggregate(sweep_records)."
        raise ValueError(msg)
    out: dict[str, SaturatingFit | LogLinearFit] = {}
    for key, (xs, ys) in groups.items():
        try:
            out[key] = fit_saturating(xs, ys) if form == "saturating" else fit_log_linear(xs, ys)
        except ValueError as e:
            msg = f"Series {key!r}: {e}"
            raise ValueError(msg) from None
    return out


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
        group = tuple(row_field(r, k, i) for k in keys)
        cost = row_number(r, cost_key, i)
        hit = truth_value(row_field(r, correct_key, i), f"rows[{i}][{correct_key!r}]")
        groups.setdefault(group, []).append((cost, hit, r.get("simulated") is True))
    if not groups:
        msg = "aggregate needs at least one record."
        raise ValueError(msg)
    out = []
    for group, members in groups.items():
        row: dict[str, Any] = dict(zip(keys, group, strict=True))
        row[cost_key] = math.fsum(c for c, _, _ in members) / len(members)
        row["accuracy"] = math.fsum(h for _, h, _ in members) / len(members)
        row["n"] = len(members)
        row["simulated"] = any(sim for _, _, sim in members)
        out.append(row)
    return out

def pareto_indices(costs: Sequence[float], qualities: Sequence[float]) -> list[int]:
    """Positions of the points no other point dominates, cheapest first (then best first).

    A point is dominated when another costs no more and is no worse, and is strictly better in
    one of the two; points equal in both are all kept. The one frontier rule of the package
    (``pareto_frontier`` on rows, ``tune_router`` on router reports). Introduced in lesson 06.
    """
    if len(costs) != len(qualities):
        msg = f"{len(costs)} costs but {len(qualities)} qualities: give one of each per point."
        raise ValueError(msg)
    items = sorted(range(len(costs)), key=lambda i: (costs[i], -qualities[i], i))
    kept: list[int] = []
    best = -math.inf  # the best quality of every strictly cheaper point
    j = 0
    while j < len(items):
        group_end = j
        while group_end < len(items) and costs[items[group_end]] == costs[items[j]]:
            group_end += 1
        top = qualities[items[j]]  # the group is sorted best first
        if top > best:
            kept += [i for i in items[j:group_end] if qualities[i] == top]
            best = top
        j = group_end
    return kept


def pareto_frontier(points: Sequence[Mapping[str, Any]], *, cost: str = "tokens",
                    quality: str = "accuracy") -> list[dict[str, Any]]:
    """The rows no other row dominates, cheapest first (see ``pareto_indices``).

    Returns copies of the rows, sorted by cost (then by quality, best first). Introduced in
    lesson 06.
    """
    costs = [row_number(r, cost, i, "points") for i, r in enumerate(points)]
    qualities = [row_number(r, quality, i, "points") for i, r in enumerate(points)]
    return [dict(points[i]) for i in pareto_indices(costs, qualities)]

"""(mean cost, accuracy, index of the strategy chosen in each bin)."""


def gflops(params: float, tokens: float) -> float:
    """Inference compute of generating ``tokens`` tokens with a ``params``-parameter model, in
    GFLOPs: about 2 FLOPs per parameter per generated token (Kaplan et al. 2020), ``2 * params *
    tokens / 1e9``. Prompt processing and pretraining are not counted. Introduced in lesson 06.
    """
    n = finite("params (model parameters)", params)
    t = finite("tokens (generated tokens)", tokens)
    if n <= 0:
        msg = (f"params must be the model's parameter count, a number > 0 (e.g. 135e6), not "
               f"{params!r}.")
        raise ValueError(msg)
    if t < 0:
        msg = f"tokens must be >= 0 (generated tokens), not {tokens!r}."
        raise ValueError(msg)
    return 2 * n * t / 1e9
