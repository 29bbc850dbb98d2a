"""Pictures of analysis.scaling: accuracy against compute with fits and the frontier. Introduced in
lesson 06."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt

from .._checks import row_field, row_number
from ..analysis.scaling import LogLinearFit, SaturatingFit, pareto_frontier
from .base import chart_rows, safe_data, safe_text

__all__ = [
    "SIMULATED_SUFFIX",
    "scaling_chart",
]


SIMULATED_SUFFIX = " (simulated)"

_FRONTIER_COLOR = "#444444"

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


    items = chart_rows(rows, f"row with {x!r} and {y!r}",
                  "aggregate per technique and budget first (scaling.aggregate).")
    for i, r in enumerate(items):
        xv = row_number(r, x, i)
        row_number(r, y, i)
        if log_x and xv <= 0:
            msg = f"rows[{i}][{x!r}] is {r[x]!r}; the x axis is logarithmic, so use values > 0."
            raise ValueError(msg)
        if color is not None:
            row_field(r, color, i)
        r["series"] = _label(r, color)
        r["source"] = "simulated" if r.get("simulated") is True else "measured"
    reserved = {"series", "source"}
    extra = [k for k in items[0] if k not in {x, y, color, *reserved}
             and all(k in r for r in items)]
    # field names as safe_data writes the rows' keys (model text or not, nothing in the spec
    # may read as markup)
    fx, fy, series_title = safe_text(x), safe_text(y), safe_text(color or "series")
    tips = [alt.Tooltip("series:N", title=series_title),
            alt.Tooltip(f"{fx}:Q", format=",.4~g"), alt.Tooltip(f"{fy}:Q", format=".3~g")]
    tips += [alt.Tooltip(safe_text(k), type="quantitative" if isinstance(items[0][k], int | float)
                         and not isinstance(items[0][k], bool) else "nominal") for k in extra]
    scale = alt.Scale(type="log") if log_x else alt.Scale(zero=False)
    x_enc = alt.X(f"{fx}:Q", scale=scale, title=f"{fx} (log scale)" if log_x else fx)
    y_enc = alt.Y(f"{fy}:Q", title=fy, scale=alt.Scale(zero=False))
    series_enc = alt.Color("series:N", title=series_title)
    any_simulated = any(r["source"] == "simulated" for r in items)
    dash = alt.StrokeDash("source:N", title="source",
                          scale=alt.Scale(domain=["measured", "simulated"],
                                          range=[[1, 0], [6, 4]]),
                          legend=alt.Legend() if any_simulated else None)
    base = alt.Chart(safe_data(items)).encode(x=x_enc, y=y_enc, color=series_enc)
    layers: list[alt.Chart] = [
        base.mark_line(opacity=0.7).encode(strokeDash=dash, order=alt.Order(f"{fx}:Q"),
                                           detail="series:N").properties(name="measured_lines")]
    # A layer whose filter keeps no row has an empty extent, which Vega warns about in the
    # learner's console ("Infinite extent"): draw each kind of point only when there is one.
    if any(r["source"] == "measured" for r in items):
        layers.append(base.mark_point(size=60, filled=True, opacity=1).encode(
            tooltip=tips).transform_filter(alt.datum.source == "measured").properties(
            name="measured_points"))
    if any_simulated:
        layers.append(base.mark_point(size=60, filled=False, strokeWidth=2).encode(
            tooltip=tips).transform_filter(alt.datum.source == "simulated").properties(
            name="simulated_points"))
    if fits:
        curve_rows = []
        for key, fit in fits.items():
            if not isinstance(fit, SaturatingFit | LogLinearFit):
                msg = f"fits[{key!r}] must be a SaturatingFit or LogLinearFit, not {fit!r}."
                raise ValueError(msg)
            mine = [r for r in items if color is None or str(r[color]) == str(key)]
            if color is not None and not mine:
                msg = (f"fits has {key!r}, which is not a {color!r} of any row; fits are keyed "
                       "by series name (fit_series gives such a dict).")
                raise ValueError(msg)
            xs = [float(r[x]) for r in mine]
            for xv in _curve_xs(min(xs), max(xs), log_x):
                if xv > 0:
                    curve_rows.append({x: xv, y: fit(xv), "series": mine[0]["series"],
                                       "fit": f"{key} fit"})
        layers.append(alt.Chart(safe_data(curve_rows)).mark_line(
            strokeDash=[2, 2], strokeWidth=1.5, opacity=0.9).encode(
            x=x_enc, y=y_enc, color=series_enc, detail="fit:N",
            tooltip=[alt.Tooltip("fit:N")]).properties(name="fitted_curves"))
    chosen = items
    if not isinstance(frontier, bool):
        if isinstance(frontier, str) or not isinstance(frontier, Sequence):
            msg = (f"frontier must be True, False or a list of series names (values of "
                   f"{color!r}), not {frontier!r}.")
            raise ValueError(msg)
        if color is None:
            msg = "frontier lists series, but color=None draws one series: pass frontier=True."
            raise ValueError(msg)
        names = {str(r[color]) for r in items}
        keep = {str(f) for f in frontier}
        if not keep or not keep <= names:
            msg = (f"frontier names {sorted(keep - names) or 'no series'}; the {color!r} values "
                   f"of the rows are {sorted(names)}.")
            raise ValueError(msg)
        chosen = [r for r in items if str(r[color]) in keep]
    if frontier:
        front = pareto_frontier(chosen, cost=x, quality=y)
        front_rows = [{x: r[x], y: r[y], "series": r["series"], "frontier": "Pareto frontier"}
                      for r in front]
        layers.append(alt.Chart(safe_data(front_rows)).mark_line(
            interpolate="step-after", color=_FRONTIER_COLOR, strokeWidth=1.5,
            opacity=0.8).encode(x=x_enc, y=y_enc, tooltip=[
                alt.Tooltip("frontier:N", title="line"), alt.Tooltip("series:N"),
                alt.Tooltip(f"{fx}:Q", format=",.4~g"), alt.Tooltip(f"{fy}:Q", format=".3~g")]
        ).properties(name="pareto_frontier"))
    heading = title or f"{y} against {x}"
    if any(r["source"] == "simulated" for r in items):
        heading += " (dashed, hollow: simulated)"
    return alt.LayerChart(layer=layers).properties(title=safe_text(heading), width=440,
                                                   height=300)
