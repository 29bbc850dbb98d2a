"""Altair charts for judging the judge: answer flips, best-of-n curves, calibration and ROC.

Builders return Altair chart objects and never display them. Data go in as plain dict rows
(``alt.InlineData``); selections have fixed names so specs are stable and comparable. The inputs
are the outputs of ``itc_lab.verification`` (``flip_rows``, ``best_of_n_curve``,
``judge_report``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt

from .._checks import row_number
from ..analysis.verification import FLIP_KEYS
from ..tables import as_records
from .base import chart_rows, param_name, safe_data, safe_text

__all__ = [
    "FLIP_COLORS",
    "best_of_n_chart",
    "calibration_chart",
    "flip_chart",
    "roc_chart",
]

FLIP_COLORS = {
    "wrong→right": "#009E73",
    "right→wrong": "#D55E00",
    "right→right": "#BBBBBB",
    "wrong→wrong": "#666666",
}
"""Fixed bar colours of ``flip_chart``: gains green, losses red, unchanged answers grey."""

_DIAGONAL = [{"x": 0.0, "y": 0.0}, {"x": 1.0, "y": 1.0}]




def _items(rows: Sequence[Mapping[str, Any]] | Any, what: str) -> list[dict[str, Any]]:
    return chart_rows(rows, what, "draw a sample of the rows.")


_SERIES = "#0072B2"
"""The one colour of a single-series verification chart (its line and its points)."""


def _diagonal() -> alt.Chart:
    chart: alt.Chart = alt.Chart(safe_data(_DIAGONAL)).mark_line(
        strokeDash=[4, 4], color="#999999").encode(x="x:Q", y="y:Q")
    return chart


def flip_chart(rows: Sequence[Mapping[str, Any]], title: str = "") -> alt.Chart:
    """Stacked bars per round of the four transitions (rows from ``flip_rows``).

    Colours are fixed (``FLIP_COLORS``): wrong→right green, right→wrong red, unchanged answers
    grey. Clicking a legend entry highlights that transition (selection ``"transition_…"``).
    """
    items = _items(rows, "row from flip_rows")
    for i, r in enumerate(items):
        row_number(r, "round", i)
        row_number(r, "count", i)
        if r.get("transition") not in FLIP_COLORS:
            msg = (f"rows[{i}]['transition'] must be one of {list(FLIP_KEYS)}, "
                   f"not {r.get('transition')!r}.")
            raise ValueError(msg)
        items[i].setdefault("step", str(r["round"]))
        items[i]["stack_order"] = FLIP_KEYS.index(r["transition"])
    domain = list(FLIP_KEYS)
    pick = alt.selection_point(name=param_name("transition", items), fields=["transition"],
                               bind="legend")
    chart: alt.Chart = alt.Chart(safe_data(items)).mark_bar().encode(
        x=alt.X("step:N", title="round", sort=alt.EncodingSortField(field="round", op="min")),
        y=alt.Y("count:Q", stack="zero", title="problems"),
        color=alt.Color("transition:N", title=None,
                        scale=alt.Scale(domain=domain, range=[FLIP_COLORS[k] for k in domain])),
        order=alt.Order("stack_order:Q"),
        opacity=alt.when(pick).then(alt.value(1.0)).otherwise(alt.value(0.3)),
        tooltip=[alt.Tooltip("step:N", title="round"), alt.Tooltip("transition:N"),
                 alt.Tooltip("count:Q")],
    ).add_params(pick).properties(name=param_name("flip_bars", items),
                                  title=safe_text(title or "How answers changed each round"),
                                  width=360, height=260)
    return chart


def best_of_n_chart(rows: Sequence[Mapping[str, Any]], title: str = "") -> alt.LayerChart:
    """Accuracy against n on a log2 axis, one line per ``"series"`` (e.g. best-of-n, oracle).

    ``rows`` are ``{"n", "accuracy", "series"}`` dicts as ``best_of_n_curve`` returns (rows
    without ``"series"`` are drawn as ``"best-of-n"``); rows of several judges can be
    concatenated with different series names. Clicking a legend entry highlights a line
    (selection ``"series_…"``).
    """
    items = _items(rows, "row with n and accuracy (see best_of_n_curve)")
    for i, r in enumerate(items):
        if row_number(r, "n", i) < 1:
            msg = f"rows[{i}]['n'] must be >= 1 for a log axis, not {r['n']!r}."
            raise ValueError(msg)
        row_number(r, "accuracy", i)
        items[i]["series"] = str(r.get("series", "best-of-n"))
    distinct = sorted({float(r["n"]) for r in items})
    pick = alt.selection_point(name=param_name("series", items), fields=["series"],
                               bind="legend")
    base = alt.Chart(safe_data(items)).encode(
        x=alt.X("n:Q", scale=alt.Scale(type="log", base=2), title="n (samples judged)",
                axis=alt.Axis(values=distinct) if len(distinct) <= 12 else alt.Axis()),
        y=alt.Y("accuracy:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%"),
                title="accuracy"),
        color=alt.Color("series:N", title=None),
        opacity=alt.when(pick).then(alt.value(1.0)).otherwise(alt.value(0.25)),
    )
    line = base.mark_line().add_params(pick).properties(name=param_name("best_of_n_lines", items))
    points = base.mark_point(filled=True, size=50).encode(
        tooltip=[alt.Tooltip("series:N"), alt.Tooltip("n:Q"),
                 alt.Tooltip("accuracy:Q", format=".1%")])
    return alt.LayerChart(layer=[line, points]).properties(
        title=safe_text(title or "Best-of-n accuracy against n"), width=420, height=280)


def calibration_chart(report: Mapping[str, Any], title: str = "") -> alt.LayerChart:
    """Reliability diagram of a ``judge_report``: mean score against fraction correct per bin.

    Points are sized by the bin's count; empty bins are left out. The dashed diagonal is perfect
    calibration: points below it are over-confident bins.
    """
    if "calibration" not in report:
        msg = "report has no 'calibration' table: pass the dict judge_report returns."
        raise ValueError(msg)
    items = [r for r in as_records(report["calibration"]) if r.get("count")]
    if not items:
        msg = "The calibration table has no non-empty bins to draw."
        raise ValueError(msg)
    for i, r in enumerate(items):
        row_number(r, "mean_score", i, "calibration")
        row_number(r, "fraction_correct", i, "calibration")
    ece = report.get("ece")
    heading = title or ("Calibration" + (f" (ECE {ece:.3f})" if isinstance(ece, float) else ""))
    data = safe_data(items)
    points = alt.Chart(data).mark_circle(opacity=0.8, color=_SERIES).encode(
        x=alt.X("mean_score:Q", scale=alt.Scale(domain=[0, 1]), title="mean judge score"),
        y=alt.Y("fraction_correct:Q", scale=alt.Scale(domain=[0, 1]), title="fraction correct"),
        size=alt.Size("count:Q", title="samples"),
        tooltip=[alt.Tooltip("low:Q", title="bin from"), alt.Tooltip("high:Q", title="bin to"),
                 alt.Tooltip("mean_score:Q", format=".2f"),
                 alt.Tooltip("fraction_correct:Q", format=".1%"), alt.Tooltip("count:Q")],
    )
    points_line = alt.Chart(data).mark_line(color=_SERIES).encode(
        x="mean_score:Q", y="fraction_correct:Q")
    return alt.LayerChart(layer=[_diagonal(), points_line, points]).properties(
        title=safe_text(heading), width=300, height=300)


def roc_chart(report: Mapping[str, Any], title: str = "") -> alt.LayerChart:
    """ROC curve of a ``judge_report`` (false against true positive rate) with the diagonal."""
    if "roc" not in report:
        msg = "report has no 'roc' points: pass the dict judge_report returns."
        raise ValueError(msg)
    items: list[dict[str, Any]] = []
    for i, r in enumerate(as_records(report["roc"])):
        fpr = row_number(r, "fpr", i, "roc")
        tpr = row_number(r, "tpr", i, "roc")
        t = r.get("threshold")
        shown = None if not isinstance(t, int | float) or math.isinf(t) else float(t)
        items.append({"fpr": fpr, "tpr": tpr, "threshold": shown, "order": i})
    auc = report.get("auc")
    heading = title or ("ROC" + (f" (AUC {auc:.3f})" if isinstance(auc, float) else ""))
    # the points in the line's own colour: Vega would draw them in its default blue
    curve = alt.Chart(safe_data(items)).mark_line(
        point=alt.OverlayMarkDef(color=_SERIES), color=_SERIES).encode(
        x=alt.X("fpr:Q", scale=alt.Scale(domain=[0, 1]), title="false positive rate"),
        y=alt.Y("tpr:Q", scale=alt.Scale(domain=[0, 1]), title="true positive rate"),
        order=alt.Order("order:Q"),
        tooltip=[alt.Tooltip("threshold:Q", format=".2f"), alt.Tooltip("fpr:Q", format=".2f"),
                 alt.Tooltip("tpr:Q", format=".2f")],
    )
    return alt.LayerChart(layer=[_diagonal(), curve]).properties(
        title=safe_text(heading), width=300, height=300)
