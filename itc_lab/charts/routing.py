"""Pictures of analysis.routing: routers against fixed budgets. Introduced in lesson 07."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt

from ..analysis.routing import RouterReport, cost_field
from ..tables import as_records
from .base import MAX_ROWS, safe_data, safe_text

__all__ = [
    "router_chart",
]


# -- picture ------------------------------------------------------------------------------------
def router_chart(reports: Sequence[RouterReport], fixed_curve: Sequence[Mapping[str, Any]],
                 x: str = "mean_samples", title: str = "", width: int = 300) -> alt.LayerChart:
    """Accuracy against compute: the fixed-budget curve as a line, each router as a point.

    A router point above the line beats fixed allocation at the same mean compute. ``x`` is
    ``"mean_samples"`` or ``"mean_tokens"`` (per problem). Two charts side by side
    (``router_chart(a) | router_chart(b)``) fit a notebook at the default ``width``. Used in
    lesson 07.
    """
    x = cost_field(x)
    router_rows = [r.to_row() for r in reports]
    keys = ("policy", "budget", "accuracy", "mean_samples", "mean_tokens")
    fixed_rows: list[dict[str, Any]] = [{k: r[k] for k in keys if k in r}
                                        for r in as_records(fixed_curve)]
    if not fixed_rows:
        msg = "fixed_curve is empty: build it with fixed_budget_curve(pools, budgets)."
        raise ValueError(msg)
    for i, r in enumerate(fixed_rows):
        for key in (x, "accuracy"):
            if key not in r:
                msg = f"fixed_curve[{i}] has no {key!r}; build it with fixed_budget_curve()."
                raise ValueError(msg)
        r["label"] = f"fixed {r.get('budget', '')}".strip()
    for r in router_rows:
        r["thresholds"] = ", ".join(f"{t:.3g}" for t in r["thresholds"])
        r["budgets"] = "/".join(map(str, r["budgets"]))
        r["tier_counts"] = "/".join(map(str, r["tier_counts"]))
    if len(router_rows) + len(fixed_rows) > MAX_ROWS:
        msg = (f"{len(router_rows) + len(fixed_rows)} points are more than the {MAX_ROWS} a "
               "chart holds: draw the Pareto-efficient routers only (tune_router returns them).")
        raise ValueError(msg)
    title_x = "mean samples per problem" if x == "mean_samples" else "mean tokens per problem"
    domain = ["fixed budget", "router"]
    # one legend for colour and shape: grey dots on a dashed line are fixed budgets, blue
    # diamonds are routers; at the bottom, so two charts side by side fit a notebook's width
    legend = alt.Legend(orient="bottom", title=None)
    color = alt.Color("policy_name:N", legend=legend,
                      scale=alt.Scale(domain=domain, range=["#999999", "#0072B2"]))
    shape = alt.Shape("policy_name:N", legend=legend,
                      scale=alt.Scale(domain=domain, range=["circle", "diamond"]))
    x_enc = alt.X(f"{x}:Q", title=title_x, scale=alt.Scale(zero=False))
    y_enc = alt.Y("accuracy:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%"),
                  title="accuracy")
    fixed = alt.Chart(safe_data(fixed_rows)).transform_calculate(
        policy_name="'fixed budget'").encode(x=x_enc, y=y_enc, color=color)
    fixed_line = fixed.mark_line(strokeDash=[4, 3])
    fixed_points = fixed.mark_point(filled=True, size=40).encode(shape=shape, tooltip=[
        alt.Tooltip("budget:Q", title="samples per problem"),
        alt.Tooltip("accuracy:Q", format=".1%"),
        alt.Tooltip("mean_tokens:Q", format=",.0f", title="mean tokens")])
    layers = [fixed_line, fixed_points]
    if router_rows:
        routers = alt.Chart(safe_data(router_rows)).transform_calculate(
            policy_name="'router'").encode(x=x_enc, y=y_enc, color=color)
        layers.append(routers.mark_point(filled=True, size=90).encode(shape=shape, tooltip=[
            alt.Tooltip("router:N"), alt.Tooltip("accuracy:Q", format=".1%"),
            alt.Tooltip("mean_samples:Q", format=".2f", title="mean samples"),
            alt.Tooltip("mean_tokens:Q", format=",.0f", title="mean tokens"),
            alt.Tooltip("thresholds:N"), alt.Tooltip("budgets:N", title="budgets per tier"),
            alt.Tooltip("tier_counts:N", title="problems per tier")]))
    return alt.LayerChart(layer=layers).properties(
        title=safe_text(title or "Routing against fixed budgets at equal compute"), width=width,
        height=260)
