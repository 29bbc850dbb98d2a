"""Pictures of analysis.compute_optimal. Introduced in lesson 06."""

from __future__ import annotations

import altair as alt

from ..analysis.compute_optimal import OPTIMAL_LABEL, ComputeOptimalReport
from .base import MAX_ROWS, safe_data, safe_text

__all__ = [
    "compute_optimal_chart",
]


def compute_optimal_chart(report: ComputeOptimalReport, *, log_x: bool = True,
                          show_strategies: bool = True, title: str = "") -> alt.LayerChart:
    """The compute-optimal policy against the baseline: accuracy against mean cost per problem.

    Both are drawn as step lines with points (the tooltip names what runs in each bin);
    ``show_strategies`` adds every single technique@budget as a small grey point. Introduced
    in lesson 06.
    """


    if not isinstance(report, ComputeOptimalReport):
        msg = f"report must be a ComputeOptimalReport (from compute_optimal), not {report!r}."
        raise ValueError(msg)
    items = report.rows()
    if not items:
        msg = "The report has no levels the policy can afford; pass lower or more levels."
        raise ValueError(msg)
    if len(items) + len(report.strategies) > MAX_ROWS:
        msg = (f"{len(items)} rows is more than a chart holds ({MAX_ROWS}): pass fewer levels "
               "to compute_optimal.")
        raise ValueError(msg)
    if log_x and any(r["mean_cost"] <= 0 for r in items):
        msg = "Some mean costs are 0, which a log axis cannot show: pass log_x=False."
        raise ValueError(msg)
    unit = safe_text(report.cost_key)
    scale = alt.Scale(type="log") if log_x else alt.Scale(zero=False)
    x_enc = alt.X("mean_cost:Q", scale=scale, title=f"mean {unit} per problem"
                  + (" (log scale)" if log_x else ""))
    y_enc = alt.Y("accuracy:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%"),
                  title="accuracy")
    names = [safe_text(OPTIMAL_LABEL), safe_text(report.baseline)]  # as safe_data writes them
    color = alt.Color("strategy:N", title=None,
                      scale=alt.Scale(domain=names, range=["#0072B2", "#E69F00"]))
    tips = [alt.Tooltip("strategy:N"), alt.Tooltip("accuracy:Q", format=".1%"),
            alt.Tooltip("mean_cost:Q", format=",.0f", title=f"mean {unit}"),
            alt.Tooltip("level:Q", format=",.0f"), alt.Tooltip("choice:N", title="runs")]
    base = alt.Chart(safe_data(items)).encode(x=x_enc, y=y_enc, color=color)
    layers: list[alt.Chart] = []
    if show_strategies:
        singles = [{"mean_cost": s.mean_cost, "accuracy": s.accuracy, "strategy": s.label}
                   for s in report.strategies if not log_x or s.mean_cost > 0]
        layers.append(alt.Chart(safe_data(singles)).mark_point(
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
    return alt.LayerChart(layer=layers).properties(title=safe_text(heading), width=440,
                                                   height=300)
