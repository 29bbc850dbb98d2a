"""Pictures of analysis.voting: votes, accuracy against samples or cost, early stopping. Introduced
in lesson 02."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt

from .._checks import row_number, shorten
from ..analysis.voting import majority_vote
from ..tables import as_values
from .base import (
    MAX_ROWS,
    chart_rows,
    is_number,
    param_name,
    safe_data,
    safe_text,
    series_field,
    too_many_rows,
)

__all__ = [
    "NO_ANSWER",
    "STATUS_COLORS",
    "TRACE_CHARS",
    "accuracy_chart",
    "cost_accuracy_chart",
    "early_stopping_chart",
    "vote_chart",
]

"""Most data rows in one chart (Altair's default limit); more raise a ValueError."""

NO_ANSWER = "(no answer)"

"""The bar label of samples without a parseable answer (``None``)."""

TRACE_CHARS = 200

"""Traces are shown with whitespace collapsed and cut to this many characters."""

TRACE_PANEL_WIDTH = 560
"""Width (px) of ``vote_chart``'s trace panel: with the axis labels, the chart fits a notebook
column beside JupyterLab's file browser on a 1280 px screen."""

STATUS_COLORS = {
    "correct": "#009E73",
    "wrong": "#E69F00",
    "no answer": "#999999",
    "answer": "#56B4E9",
}

"""Bar colours (Okabe-Ito, readable with colour-blindness). ``"answer"`` is used when no gold
answer is given, so correctness is unknown."""

def vote_chart(answers: Sequence[str | None], gold: str | None = None,
               traces: Sequence[str] | None = None, title: str = "") -> alt.VConcatChart:
    """Bars of how many samples gave each answer; click a bar to read the traces behind it.

    One bar per distinct answer, most votes first; unparseable answers (``None``) get their own
    grey bar labelled ``NO_ANSWER`` at the end. With ``gold``, the correct answer's bar is green
    and the others orange (legend "correct" / "wrong" / "no answer"; without it, parsed answers
    are blue, "answer"). The ``majority_vote`` winner (ties: the answer seen first) is marked
    "★ majority" above its bar.

    The bars carry a point selection named ``"answer"``: with ``traces`` (one text per answer,
    e.g. each completion's text), clicking a bar lists the traces of the samples that voted for
    it in a text panel below (shift-click adds bars). Traces are cut to ``TRACE_CHARS``
    characters. Without ``traces`` the chart is the bars alone, still a ``VConcatChart``.
    Used in lesson 02.
    """
    answers = as_values(answers)  # a list, or a DataFrame's column
    winner, totals = majority_vote(answers)  # also checks that answers are strings or None
    items = list(answers)
    if not items:
        msg = "vote_chart needs at least one answer."
        raise ValueError(msg)
    if gold is not None and not isinstance(gold, str):
        msg = f"gold must be the correct answer as a string (or None), not {gold!r}."
        raise ValueError(msg)
    if len(totals) + 1 > MAX_ROWS:
        raise too_many_rows(len(totals), "distinct answers",
                        "normalise the answers (e.g. strip spaces and case) before voting.")
    trace_list: list[str] | None = None
    if traces is not None:
        if isinstance(traces, str):
            msg = "traces must be a list with one text per answer, not a single string."
            raise ValueError(msg)
        trace_list = as_values(traces)
        if len(trace_list) != len(items):
            msg = (f"traces has {len(trace_list)} texts but answers has {len(items)}: give one "
                   "trace per answer, in the same order.")
            raise ValueError(msg)
        if not all(isinstance(t, str) for t in trace_list):
            msg = "traces must be strings (e.g. [c.text for c in completions])."
            raise ValueError(msg)
        if len(trace_list) > MAX_ROWS:
            raise too_many_rows(len(trace_list), "traces",
                            "pass traces=None (the bars work for any number of answers) or "
                            "chart a sample of the answers.")

    no_answer = NO_ANSWER
    while no_answer in totals:  # a model literally answered "(no answer)": keep the bars apart
        no_answer = f"({no_answer})"
    n_none = sum(a is None for a in items)
    first_seen = {a: i for i, a in reversed(list(enumerate(items))) if a is not None}
    order = sorted(totals, key=lambda a: (-totals[a], first_seen[a]))
    domain = ["answer", "no answer"] if gold is None else ["correct", "wrong", "no answer"]

    def status(a: str) -> str:
        if gold is None:
            return "answer"
        return "correct" if a == gold else "wrong"

    bar_rows: list[dict[str, Any]] = []
    for rank, a in enumerate(order):
        votes = int(totals[a])
        bar_rows.append({"answer": a, "rank": rank, "votes": votes, "share": votes / len(items),
                         "status": status(a), "winner": a == winner,
                         "label": f"{votes} ★ majority" if a == winner else str(votes)})
    if n_none:
        bar_rows.append({"answer": no_answer, "rank": len(order), "votes": n_none,
                         "share": n_none / len(items),
                         "status": "no answer", "winner": False, "label": str(n_none)})

    # names unique to this chart's content: combined charts (a | b) keep separate selections
    pick = alt.selection_point(name=param_name("answer", bar_rows, traces is not None),
                               fields=["answer"], empty=False)
    bars_name = param_name("vote_bars", bar_rows, traces is not None)
    # Sorted by a data field, not a list of answers, so model text stays in the data only.
    longest = max(len(str(r["answer"])) for r in bar_rows)
    x = alt.X("answer:N", sort=alt.EncodingSortField(field="rank", op="min", order="ascending"),
              title="answer", axis=alt.Axis(labelAngle=-30 if longest > 6 else 0, labelLimit=160))
    y = alt.Y("votes:Q", title="votes (samples)", axis=alt.Axis(tickMinStep=1))
    base = alt.Chart(safe_data(bar_rows)).encode(x=x, y=y)
    bars = base.mark_bar(cursor="pointer").encode(
        color=alt.Color("status:N", title=None,
                        scale=alt.Scale(domain=domain,
                                        range=[STATUS_COLORS[s] for s in domain]),
                        # above the bars: beside them it would sit past the trace panel's width
                        legend=alt.Legend(orient="top", direction="horizontal")),
        opacity=alt.when(pick, empty=True).then(alt.value(1.0)).otherwise(alt.value(0.45)),
        tooltip=[alt.Tooltip("answer:N"), alt.Tooltip("votes:Q"),
                 alt.Tooltip("share:Q", format=".0%"), alt.Tooltip("status:N")],
    ).add_params(pick).properties(name=bars_name)
    labels = base.mark_text(baseline="bottom", dy=-3).encode(text="label:N")
    heading = title or (f"Votes of {len(items)} samples" + (f" (gold: {gold})" if gold else ""))
    top = alt.LayerChart(layer=[bars, labels]).properties(title=safe_text(heading))
    if trace_list is None:
        return alt.vconcat(top)

    # Every sample has its row from the start, sorted by answer, so the panel's height is fixed
    # (one line per sample) and a click only fills in text: nothing is drawn outside the chart.
    trace_rows = [{"answer": no_answer if a is None else a, "sample": f"#{i}",
                   "order": i, "trace": shorten(t, TRACE_CHARS)}
                  for i, (a, t) in enumerate(zip(items, trace_list, strict=True))]
    line = 16
    panel = alt.Chart(safe_data(trace_rows)).mark_text(
        align="left", baseline="middle", x=0, fontSize=11, limit=TRACE_PANEL_WIDTH - 10,
    ).encode(
        y=alt.Y("sample:N", sort=alt.EncodingSortField(field="order", order="ascending"),
                title=None, axis=alt.Axis(labelOpacity=0.6, ticks=False, domain=False)),
        text=alt.when(pick).then(alt.Text("trace:N")).otherwise(alt.value("")),
    ).properties(
        width=TRACE_PANEL_WIDTH, height=line * len(trace_rows),
        title="Traces of the clicked answer (click a bar; shift-click adds bars)")
    return alt.vconcat(top, panel)

def accuracy_chart(rows: Sequence[Mapping[str, Any]], x: str = "k",
                   title: str = "", y_title: str = "accuracy",
                   y: str = "accuracy") -> alt.LayerChart:
    """Accuracy against ``x`` (default the number of samples k): one line per series.

    ``rows`` are dicts with ``x`` and ``"accuracy"`` (0 to 1), as ``accuracy_curve`` returns;
    rows from several curves can be concatenated. Lines are coloured by the first of the fields
    ``"series"``, ``"technique"``, ``"method"``, ``"metric"`` the rows have. When every row has
    ``"low"`` and ``"high"`` a shaded band shows that interval. The x axis is log2 when the x
    values span more than 8x (e.g. k = 1 … 64). ``y_title`` names what the 0-1 values are (e.g.
    "fraction of rules met" in lesson 05) and ``y`` the field that holds them (e.g.
    ``"rules met"``, as ``round_table`` gives). ``rows`` may also be a pandas DataFrame. Used
    in lessons 02 onwards.
    """
    items = chart_rows(rows, "row with k and accuracy (see accuracy_curve)",
                  "average over problems first (accuracy_curve gives one row per k).")
    xs = [row_number(r, x, i) for i, r in enumerate(items)]
    for i, r in enumerate(items):
        row_number(r, y, i)
    series = series_field(items)
    log = min(xs) > 0 and max(xs) / min(xs) > 8
    distinct = sorted(set(xs))
    axis = alt.Axis(values=distinct) if len(distinct) <= 12 else alt.Axis()
    scale = alt.Scale(type="log", base=2) if log else alt.Scale(zero=False)
    field = safe_text(x)  # the rows' keys are made inert too (safe_data)
    x_enc = alt.X(f"{field}:Q", scale=scale, axis=axis, title=field)
    y_field = safe_text(y)
    y_enc = alt.Y(f"{y_field}:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%"),
                  title=safe_text(y_title))
    color = (alt.Color(f"{series}:N", title=series) if series
             else alt.value(STATUS_COLORS["answer"]))
    tips = [alt.Tooltip(f"{field}:Q"), alt.Tooltip(f"{y_field}:Q", format=".1%")]
    if series:
        tips.insert(0, alt.Tooltip(f"{series}:N"))
    band_ok = all("low" in r and "high" in r for r in items)
    if band_ok:
        for i, r in enumerate(items):
            row_number(r, "low", i)
            row_number(r, "high", i)
        tips += [alt.Tooltip("low:Q", format=".1%"), alt.Tooltip("high:Q", format=".1%")]
    if all("n_problems" in r for r in items):
        tips.append(alt.Tooltip("n_problems:Q", title="problems"))
    base = alt.Chart(safe_data(items)).encode(x=x_enc, color=color)
    layers = []
    if band_ok:
        layers.append(base.mark_area(opacity=0.18).encode(
            y=alt.Y("low:Q", scale=alt.Scale(domain=[0, 1]), title=safe_text(y_title)),
            y2=alt.Y2("high:Q")))
    layers.append(base.mark_line().encode(y=y_enc))
    layers.append(base.mark_point(filled=True, size=50).encode(y=y_enc, tooltip=tips))
    return alt.LayerChart(layer=layers).properties(
        title=safe_text(title or f"Accuracy against {x}"), width=420, height=280)

def cost_accuracy_chart(rows: Sequence[Mapping[str, Any]], x: str = "tokens",
                        title: str = "") -> alt.LayerChart:
    """Accuracy against mean tokens spent per problem (log x axis), one labelled point per row.

    ``rows`` are dicts with ``x`` (e.g. mean tokens per problem, > 0), ``"accuracy"`` and a name
    in the first of ``"technique"``, ``"series"``, ``"method"``, ``"metric"``. Points of the same
    technique (e.g. at several budgets) are joined in order of cost, and the name is written next
    to its most expensive point. Optional ``"low"``/``"high"`` draw vertical error bars; any other
    fields (e.g. ``"k"``) show in the tooltip. Used in lessons 02 onwards.
    """
    items = chart_rows(rows, "row with tokens, accuracy and technique",
                  "average over problems first (one row per technique and budget).")
    for i, r in enumerate(items):
        if row_number(r, x, i) <= 0:
            msg = f"rows[{i}][{x!r}] is {r[x]!r}; the cost axis is logarithmic, so use a value > 0."
            raise ValueError(msg)
        row_number(r, "accuracy", i)
    name = next((k for k in ("technique", "series", "method", "metric")
                 if all(k in r for r in items)), None)
    if name is None:
        msg = ("Every row needs a name for its technique: add a 'technique' field, e.g. "
               "{'technique': 'self-consistency', 'tokens': 812.0, 'accuracy': 0.6}.")
        raise ValueError(msg)
    last: dict[str, int] = {}
    for i, r in enumerate(items):
        key = str(r[name])
        if key not in last or r[x] >= items[last[key]][x]:
            last[key] = i
    for i, r in enumerate(items):
        r["point_label"] = str(r[name]) if last[str(r[name])] == i else ""
    width, height = 420, 280
    for r, (dx, dy) in zip(items, _label_offsets(items, field=x, width=width, height=height),
                           strict=True):
        r["label_dx"], r["label_dy"] = dx, dy
    extra = [k for k in items[0]
             if k not in {x, "accuracy", name, "point_label", "label_dx", "label_dy", "low", "high"}
             and all(k in r for r in items)]
    field = safe_text(x)  # the rows' keys are made inert too (safe_data)
    tips = [alt.Tooltip(f"{name}:N"), alt.Tooltip(f"{field}:Q", format=",.0f"),
            alt.Tooltip("accuracy:Q", format=".1%")] + [
                alt.Tooltip(safe_text(k),
                            type="quantitative" if is_number(items[0][k]) else "nominal")
                for k in extra]
    x_enc = alt.X(f"{field}:Q", scale=alt.Scale(type="log"),
                  title=f"{field} (mean per problem, log)")
    y_enc = alt.Y("accuracy:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%"),
                  title="accuracy")
    color = alt.Color(f"{name}:N", title=name)
    base = alt.Chart(safe_data(items)).encode(x=x_enc, color=color)
    layers = [base.mark_line(opacity=0.6).encode(y=y_enc, order=alt.Order(f"{field}:Q"))]
    if all("low" in r and "high" in r for r in items):
        layers.append(base.mark_rule().encode(
            y=alt.Y("low:Q", scale=alt.Scale(domain=[0, 1]), title="accuracy"),
            y2=alt.Y2("high:Q")))
    layers.append(base.mark_point(filled=True, size=70).encode(y=y_enc, tooltip=tips))
    # one text layer per offset: labels of nearby points are stacked, never drawn over each other
    for dx, dy in sorted({(r["label_dx"], r["label_dy"]) for r in items if r["point_label"]}):
        layers.append(base.transform_filter(
            (alt.datum.label_dx == dx) & (alt.datum.label_dy == dy)).mark_text(
            align="left" if dx > 0 else "right", dx=dx, dy=dy).encode(y=y_enc,
                                                                     text="point_label:N"))
    return alt.LayerChart(layer=layers).properties(
        title=safe_text(title or "Accuracy against cost"), width=width, height=height)


LABEL_LINE = 13
"""Pixels between two stacked point labels (11 px text)."""


def _label_offsets(items: Sequence[Mapping[str, Any]], *, field: str, width: int,
                   height: int) -> list[tuple[int, int]]:
    """The offset ``(dx, dy)`` (px) of each row's label in ``cost_accuracy_chart``. A label is
    written right of its point (``dx`` 7), or left of it (``dx`` -7, right-aligned) when it
    would run past the plot's right edge into the legend. ``dy`` is -7 (just above the point)
    unless that box would cover a label already placed or leave the plot; then one line lower,
    one line higher, two lines lower ... the first free place inside the plot. Positions are
    estimated from the chart's scales (log x over whole decades, as Vega's nice log scale draws
    it; y from 0 to 1); O(n²) in the labelled points (one per technique), as each tries at most
    one place per line of the plot."""
    xs = [math.log10(float(r[field])) for r in items]
    lo, hi = math.floor(min(xs)), math.ceil(max(xs))
    span = max(hi - lo, 1)
    lines = [-7] + [-7 + sign * k * LABEL_LINE for k in range(1, height // LABEL_LINE + 1)
                    for sign in (1, -1)]
    placed: list[tuple[float, float, float]] = []
    offsets = []
    for r, lx in zip(items, xs, strict=True):
        dx, dy = 7, -7
        label = str(r.get("point_label") or "")
        if label:
            px, wide = (lx - lo) / span * width, 6.5 * len(label)
            if px + 7 + wide > width:
                dx = -7
            left = px + 7 if dx > 0 else px - 7 - wide
            right = left + wide
            base = (1 - float(r["accuracy"])) * height
            inside = [d for d in lines if 10 <= base + d <= height - 3]  # its text stays inside
            free = [d for d in inside
                    if not any(left < b_right and b_left < right
                               and abs(base + d - b_y) < LABEL_LINE
                               for b_left, b_right, b_y in placed)]
            dy = (free or inside or [-7])[0]
            placed.append((left, right, base + dy))
        offsets.append((dx, dy))
    return offsets

def early_stopping_chart(rows: Sequence[Mapping[str, Any]], *, budget: int,
                         title: str = "") -> alt.VConcatChart:
    """Samples used and accuracy of early-stopping rules against a fixed sample budget.

    ``rows`` hold one dict per problem and method::

        {"problem": 3, "method": "ESC (window 4)", "samples": 8, "correct": True}

    with ``samples`` the samples that method used on that problem (at most ``budget``) and
    ``correct`` whether its answer was right. Add rows with ``"samples": budget`` for the fixed
    budget itself (e.g. method ``"fixed"``) to compare with plain self-consistency. For example::

        for i, (pool, gold) in enumerate(zip(pools, golds)):
            r = early_stopping(pool, window=4, max_samples=16)
            rows.append({"problem": i, "method": "ESC", "samples": r["stopped_at"],
                         "correct": r["answer"] == gold})

    Left: every problem's samples used per method (filled dot: correct, hollow: wrong), with a
    dashed rule at the fixed budget. Right: per method, accuracy against the mean samples used.
    Used in lesson 02.
    """
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        msg = f"budget must be the fixed number of samples per problem (>= 1), not {budget!r}."
        raise ValueError(msg)
    items = chart_rows(rows, "row with problem, method, samples and correct",
                  "chart fewer problems (e.g. the first 500).")
    for i, r in enumerate(items):
        for key in ("problem", "method", "correct"):
            if key not in r:
                msg = f"rows[{i}] has no {key!r} field; its fields are {sorted(r)}."
                raise ValueError(msg)
        samples = row_number(r, "samples", i)
        if not 0 <= samples <= budget:
            msg = (f"rows[{i}] used {r['samples']!r} samples, outside 0 … budget={budget}: "
                   "check the budget (max_samples) the rule ran with.")
            raise ValueError(msg)
        if not isinstance(r["correct"], bool):
            msg = f"rows[{i}]['correct'] must be True or False, not {r['correct']!r}."
            raise ValueError(msg)
        r["problem"] = str(r["problem"])
        r["method"] = str(r["method"])
        r["result"] = "correct" if r["correct"] else "wrong"
    methods = list(dict.fromkeys(r["method"] for r in items))
    summary = []
    for m in methods:
        mine = [r for r in items if r["method"] == m]
        used = math.fsum(float(r["samples"]) for r in mine) / len(mine)
        acc = sum(r["correct"] for r in mine) / len(mine)
        summary.append({"method": m, "mean_samples": used, "accuracy": acc,
                        "saved": 1 - used / budget, "problems": len(mine),
                        "label": f"{m}: {acc:.0%} at {used:.1f}"})
    shown_methods = [safe_text(m) for m in methods]  # as safe_data writes them in the rows
    color = alt.Color("method:N", title="method", scale=alt.Scale(domain=shown_methods),
                      legend=alt.Legend(orient="bottom", direction="vertical"))
    # Left: how many problems each rule stopped at each sample count, right and wrong answers on
    # two lines per rule; one row per rule keeps the chart short for any number of problems.
    counts: dict[tuple[str, int, str], int] = {}
    for r in items:
        cell = (str(r["method"]), int(r["samples"]), str(r["result"]))
        counts[cell] = counts.get(cell, 0) + 1
    cells = [{"method": m, "samples": k, "result": res, "problems": n}
             for (m, k, res), n in counts.items()]
    rule_data = safe_data([{"budget": budget, "label": f"fixed budget = {budget}"}])
    x_samples = alt.X("samples:Q", scale=alt.Scale(domain=[0, budget], nice=False),
                      title="samples used", axis=alt.Axis(tickMinStep=1))
    dots = alt.Chart(safe_data(cells)).mark_point(filled=True, opacity=0.85).encode(
        x=x_samples,
        y=alt.Y("method:N", sort=shown_methods, title=None),
        yOffset=alt.YOffset("result:N", scale=alt.Scale(domain=["correct", "wrong"])),
        size=alt.Size("problems:Q", title="problems", scale=alt.Scale(range=[20, 400]),
                      legend=alt.Legend(orient="bottom")),
        color=color,
        shape=alt.Shape("result:N", title="answer",
                        scale=alt.Scale(domain=["correct", "wrong"],
                                        range=["circle", "triangle-down"]),
                        legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip("method:N"), alt.Tooltip("samples:Q"),
                 alt.Tooltip("result:N", title="answer"), alt.Tooltip("problems:Q")],
    )
    budget_rule = alt.Chart(rule_data).mark_rule(strokeDash=[4, 3], color="#555").encode(
        x=alt.X("budget:Q", title="samples used"))
    left = alt.LayerChart(layer=[dots, budget_rule]).properties(
        title="Where each rule stopped (per problem; upper line: correct, lower: wrong)",
        width=360, height=44 * len(methods))
    points = alt.Chart(safe_data(summary)).encode(
        x=alt.X("mean_samples:Q", scale=alt.Scale(domain=[0, budget]),
                title="mean samples used per problem"),
        y=alt.Y("accuracy:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%"),
                title="accuracy"),
        color=color,
    )
    dot = points.mark_point(filled=True, size=110).encode(tooltip=[
        alt.Tooltip("label:N", title="rule"), alt.Tooltip("accuracy:Q", format=".1%"),
        alt.Tooltip("mean_samples:Q", format=".2f", title="mean samples"),
        alt.Tooltip("saved:Q", format=".0%", title="samples saved"),
        alt.Tooltip("problems:Q")])
    x_rule = alt.X("budget:Q", title="mean samples used per problem")
    rule = alt.Chart(rule_data).mark_rule(strokeDash=[4, 3], color="#555").encode(x=x_rule)
    rule_text = alt.Chart(rule_data).mark_text(align="right", dx=-4, y=8, color="#555").encode(
        x=x_rule, text="label:N")
    right = alt.LayerChart(layer=[rule, rule_text, dot]).properties(
        title="Accuracy against samples used (the legend names each rule)", width=360,
        height=220)
    # one above the other: side by side, with the rules' names as labels, they would not fit
    # a notebook's column
    return alt.vconcat(left, right).properties(
        title=safe_text(title or f"Early stopping against a fixed budget of {budget} samples"))
