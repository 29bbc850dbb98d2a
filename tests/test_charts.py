import json
from typing import Any

import altair as alt
import pytest

from itc_lab.analysis import accuracy_curve, early_stopping
from itc_lab.charts import (
    MAX_ROWS,
    NO_ANSWER,
    STATUS_COLORS,
    TRACE_CHARS,
    accuracy_chart,
    cost_accuracy_chart,
    early_stopping_chart,
    vote_chart,
)

SCRIPT = "<script>alert('pwned')</script> & <b>bold</b>"
SHOWN = "‹script›alert('pwned')‹/script› & ‹b›bold‹/b›"  # SCRIPT as the charts carry it


def spec_of(chart: Any) -> dict[str, Any]:
    spec = chart.to_dict()  # validates against the Vega-Lite schema
    assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
    assert spec == chart.to_dict()  # deterministic: same spec every time (nbval-friendly)
    return spec


def all_data(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Every data row of a spec: inline values anywhere, plus top-level datasets."""
    rows: list[dict[str, Any]] = []
    for values in spec.get("datasets", {}).values():
        rows.extend(values)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            data = node.get("data")
            if isinstance(data, dict) and "values" in data:
                rows.extend(data["values"])
            for key, value in node.items():
                if key not in {"data", "datasets"}:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    return rows


def without_data(spec: dict[str, Any]) -> Any:
    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items()
                    if k != "datasets" and not (k == "data" and "values" in v)}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return strip(spec)


def views(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """All unit views (those with a mark), depth first."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "mark" in node:
                found.append(node)
            for key in ("layer", "vconcat", "hconcat", "concat"):
                for child in node.get(key, []):
                    walk(child)

    walk(spec)
    return found


def mark_type(view: dict[str, Any]) -> str:
    mark = view["mark"]
    return mark if isinstance(mark, str) else mark["type"]


# ---------------------------------------------------------------------------------------------
# vote_chart

ANSWERS = ["12", "7", None, "12", "7", "12", SCRIPT]
TRACES = [f"trace {i}: the answer is {a}" for i, a in enumerate(ANSWERS)]
TRACES[6] = SCRIPT


def test_vote_chart_bars_colours_and_winner():
    spec = spec_of(vote_chart(ANSWERS, gold="7", traces=TRACES))
    assert len(spec["vconcat"]) == 2
    bars = [v for v in views(spec) if mark_type(v) == "bar"]
    assert len(bars) == 1
    enc = bars[0]["encoding"]
    assert enc["x"]["field"] == "answer"
    assert enc["x"]["sort"] == {"field": "rank", "op": "min", "order": "ascending"}
    ranked = sorted((r for r in all_data(spec) if "rank" in r), key=lambda r: r["rank"])
    assert [r["answer"] for r in ranked] == ["12", "7", SHOWN, NO_ANSWER]  # none last
    assert enc["y"]["field"] == "votes"
    scale = enc["color"]["scale"]
    assert scale["domain"] == ["correct", "wrong", "no answer"]
    assert scale["range"] == [STATUS_COLORS["correct"], STATUS_COLORS["wrong"],
                              STATUS_COLORS["no answer"]]
    assert len(set(scale["range"])) == 3
    rows = {r["answer"]: r for r in all_data(spec) if "votes" in r}
    assert rows["7"]["status"] == "correct"
    assert rows["12"]["status"] == "wrong"
    assert rows[NO_ANSWER] == {"answer": NO_ANSWER, "rank": 3, "votes": 1, "share": 1 / 7,
                               "status": "no answer", "winner": False, "label": "1"}
    assert rows["12"]["winner"] is True and rows["12"]["label"] == "3 ★ majority"
    assert [a for a, r in rows.items() if r["winner"]] == ["12"]
    texts = [v for v in views(spec) if mark_type(v) == "text"]
    assert any(v["encoding"]["text"]["field"] == "label" for v in texts)


def test_vote_chart_selection_fills_a_fixed_size_trace_panel():
    spec = spec_of(vote_chart(ANSWERS, gold="7", traces=TRACES))
    params = spec["params"]
    [name] = [p["name"] for p in params]
    assert name.startswith("answer_")  # unique to the data: combined charts stay separate
    assert name == spec_of(vote_chart(ANSWERS, gold="7", traces=TRACES))["params"][0]["name"]
    assert params[0]["select"] == {"type": "point", "fields": ["answer"]}
    bar = next(v for v in views(spec) if mark_type(v) == "bar")
    assert params[0]["views"] == [bar["name"]] and bar["name"].startswith("vote_bars_")
    assert bar["encoding"]["opacity"]["condition"][0]["param"] == name
    panel = spec["vconcat"][1]
    assert mark_type(panel) == "text"
    text = panel["encoding"]["text"]
    assert text["condition"] == {"param": name, "empty": False, "field": "trace",
                                 "type": "nominal"}
    assert text["value"] == ""  # unselected samples keep their line, empty
    assert "transform" not in panel  # every sample has its line: the height never changes
    assert panel["height"] == 16 * len(ANSWERS)
    traces = [r for r in all_data(spec) if "trace" in r]
    assert [r["answer"] for r in traces] == ["12", "7", NO_ANSWER, "12", "7", "12", SHOWN]
    assert traces[1]["trace"] == "trace 1: the answer is 7"


def test_vote_chart_puts_model_text_in_data_only():
    chart = vote_chart(ANSWERS, gold="7", traces=TRACES)
    spec = spec_of(chart)
    data = all_data(spec)
    # readable, with look-alikes for < and > (see charts.safe_text; test_chart_safety.py)
    assert any(r.get("trace") == SHOWN for r in data)
    assert any(r.get("answer") == SHOWN for r in data)
    assert "<" not in json.dumps(data)
    rest = json.dumps(without_data(spec))
    assert "<script>" not in rest and "<b>" not in rest
    assert "html" not in rest.lower()
    for view in views(spec):
        assert "href" not in view.get("encoding", {})
    # The chart is returned, not displayed: no renderer or mimetype choices are made.
    assert alt.renderers.active == "default"
    assert alt.data_transformers.active == "default"


def test_vote_chart_truncates_long_traces():
    long = "word " * 200
    spec = spec_of(vote_chart(["a", "b"], traces=[long, "short\n\n trace"]))
    traces = [r["trace"] for r in all_data(spec) if "trace" in r]
    assert len(traces[0]) == TRACE_CHARS and traces[0].endswith("…")
    assert traces[1] == "short trace"


def test_vote_chart_without_gold_or_traces():
    spec = spec_of(vote_chart(["a", "b", "a", None]))
    assert len(spec["vconcat"]) == 1
    assert spec["params"][0]["name"].startswith("answer_")
    bar = next(v for v in views(spec) if mark_type(v) == "bar")
    assert bar["encoding"]["color"]["scale"]["domain"] == ["answer", "no answer"]
    assert {r["status"] for r in all_data(spec)} == {"answer", "no answer"}


def test_vote_chart_ties_and_a_literal_no_answer_string():
    spec = spec_of(vote_chart(["b", "a", "a", "b", NO_ANSWER, None]))
    rows = [r for r in all_data(spec) if "votes" in r]
    assert [r["answer"] for r in rows] == ["b", "a", NO_ANSWER, f"({NO_ANSWER})"]
    assert [r["winner"] for r in rows] == [True, False, False, False]
    assert rows[2]["status"] == "answer" and rows[2]["votes"] == 1
    assert rows[3]["status"] == "no answer" and rows[3]["votes"] == 1


def test_vote_chart_with_only_unparseable_answers():
    spec = spec_of(vote_chart([None, None], gold="3"))
    rows = [r for r in all_data(spec) if "votes" in r]
    assert rows == [{"answer": NO_ANSWER, "rank": 0, "votes": 2, "share": 1.0,
                     "status": "no answer",
                     "winner": False, "label": "2"}]


@pytest.mark.parametrize("kwargs, words", [
    ({"answers": []}, "at least one answer"),
    ({"answers": ["a"], "traces": ["x", "y"]}, "traces has 2 texts but answers has 1"),
    ({"answers": ["a"], "traces": "x"}, "not a single string"),
    ({"answers": ["a"], "traces": [3]}, "traces must be strings"),
    ({"answers": ["a", 1]}, "answers must be strings"),
    ({"answers": ["a"] * (MAX_ROWS + 1), "traces": ["t"] * (MAX_ROWS + 1)},
     "pass traces=None"),
])
def test_vote_chart_rejects_bad_input(kwargs, words):
    with pytest.raises(ValueError, match=words):
        vote_chart(**kwargs)


def test_vote_chart_counts_any_number_of_answers():
    answers = ["a", "b", None] * 4000
    spec = spec_of(vote_chart(answers, gold="a"))
    assert sum(r["votes"] for r in all_data(spec)) == 12000


# ---------------------------------------------------------------------------------------------
# accuracy_chart

POOLS = [["a", "a", "b", None, "a", "c", "a", "b"] * 8, ["x", "y", "y", "y", "x", None] * 11]
GOLDS = ["a", "y"]


def test_accuracy_chart_log2_axis_band_and_colour_by_metric():
    rows = (accuracy_curve(POOLS, GOLDS, [1, 2, 4, 8, 16, 64])
            + accuracy_curve(POOLS, GOLDS, [1, 2, 4, 8, 16, 64], metric="pass"))
    spec = spec_of(accuracy_chart(rows))
    marks = [mark_type(v) for v in views(spec)]
    assert marks == ["area", "line", "point"]
    for view in views(spec):
        assert view["encoding"]["x"]["scale"] == {"type": "log", "base": 2}
        assert view["encoding"]["color"]["field"] == "metric"
    area = views(spec)[0]["encoding"]
    assert area["y"]["field"] == "low" and area["y2"]["field"] == "high"
    assert views(spec)[1]["encoding"]["y"]["field"] == "accuracy"
    assert views(spec)[1]["encoding"]["x"]["axis"]["values"] == [1, 2, 4, 8, 16, 64]
    assert len(all_data(spec)) == 12


def test_accuracy_chart_linear_when_span_is_small_and_series_field_wins():
    rows = [{"k": k, "accuracy": 0.5, "series": s, "metric": "maj"}
            for k in (1, 2, 4, 8) for s in ("CoT", "plain")]
    spec = spec_of(accuracy_chart(rows, title="t"))
    assert [mark_type(v) for v in views(spec)] == ["line", "point"]  # no low/high: no band
    for view in views(spec):
        assert view["encoding"]["x"]["scale"].get("type") != "log"
        assert view["encoding"]["color"]["field"] == "series"
    assert spec["title"] == "t"


def test_accuracy_chart_rejects_bad_rows():
    with pytest.raises(ValueError, match="No rows to draw"):
        accuracy_chart([])
    with pytest.raises(ValueError, match=r"rows\[0\] has no 'accuracy' field"):
        accuracy_chart([{"k": 1}])
    with pytest.raises(ValueError, match="must be a finite number"):
        accuracy_chart([{"k": 1, "accuracy": "high"}])
    with pytest.raises(ValueError, match="give every row a 'series'"):
        accuracy_chart([{"k": 1, "accuracy": 0.5, "series": "a"}, {"k": 2, "accuracy": 0.5}])
    too_many = [{"k": 1, "accuracy": 0.5}] * (MAX_ROWS + 1)
    with pytest.raises(ValueError, match="average over problems first"):
        accuracy_chart(too_many)


# ---------------------------------------------------------------------------------------------
# cost_accuracy_chart

COST_ROWS = [
    {"technique": "self-consistency", "tokens": 120.0, "accuracy": 0.40, "k": 1},
    {"technique": "self-consistency", "tokens": 960.0, "accuracy": 0.55, "k": 8},
    {"technique": "self-consistency", "tokens": 480.0, "accuracy": 0.52, "k": 4},
    {"technique": "chain-of-thought", "tokens": 300.0, "accuracy": 0.47, "k": 1},
]


def test_cost_accuracy_chart_log_x_and_one_label_per_technique():
    spec = spec_of(cost_accuracy_chart(COST_ROWS))
    # two text layers: self-consistency's name sits left of its point, at the right edge
    assert [mark_type(v) for v in views(spec)] == ["line", "point", "text", "text"]
    for view in views(spec):
        assert view["encoding"]["x"]["field"] == "tokens"
        assert view["encoding"]["x"]["scale"]["type"] == "log"
        assert view["encoding"]["color"]["field"] == "technique"
    labels = {r["point_label"] for r in all_data(spec)}
    assert labels == {"", "self-consistency", "chain-of-thought"}
    labelled = [r for r in all_data(spec) if r["point_label"] == "self-consistency"]
    assert [r["tokens"] for r in labelled] == [960.0]  # at the most expensive point
    tips = [t["field"] for t in views(spec)[1]["encoding"]["tooltip"]]
    assert "k" in tips


def test_cost_accuracy_chart_stacks_labels_of_points_that_sit_together():
    """Methods with the same cost and accuracy (lesson 03: three searches at 1/30) would write
    their names over each other: each later label goes to the nearest free line that keeps its
    text inside the plot (one lower, then one higher: two lower would cross the x axis)."""
    rows = [{"technique": name, "tokens": 200.0, "accuracy": 1 / 30}
            for name in ("BFS, model prior", "MCTS, model prior", "MCTS, uniform prior")]
    rows.append({"technique": "CoT", "tokens": 80.0, "accuracy": 0.9})  # far away: unmoved
    spec = spec_of(cost_accuracy_chart(rows))
    texts = [v for v in views(spec) if mark_type(v) == "text"]
    offsets = sorted(v["mark"]["dy"] for v in texts)
    assert offsets == [-20, -7, 6]  # three lines: one per label that would overlap
    dy = {r["technique"]: r["label_dy"] for r in all_data(spec) if "label_dy" in r}
    assert dy == {"BFS, model prior": -7, "MCTS, model prior": 6, "MCTS, uniform prior": -20,
                  "CoT": -7}
    height = spec["height"]
    for r in all_data(spec):  # every label's baseline inside the plot, clear of the x axis
        if r.get("point_label"):
            assert 10 <= (1 - r["accuracy"]) * height + r["label_dy"] <= height - 3
    for view in texts:  # each layer draws only the labels at its own offset
        dx, dy = view["mark"]["dx"], view["mark"]["dy"]
        assert view["transform"] == [
            {"filter": f"((datum.label_dx === {dx}) && (datum.label_dy === {dy}))"}]


def test_cost_accuracy_chart_keeps_labels_out_of_the_legend_and_inside_the_top():
    """Lesson 03: the exhaustive search sits at the right edge and at 100%; its name is written
    to the left of the point (right-aligned) and below it, not over the legend or the title."""
    rows = [{"technique": "CoT", "tokens": 80.0, "accuracy": 0.0},
            {"technique": "BFS, uniform prior", "tokens": 950.0, "accuracy": 1.0}]
    spec = spec_of(cost_accuracy_chart(rows))
    marks = {(v["mark"]["align"], v["mark"]["dx"], v["mark"]["dy"])
             for v in views(spec) if mark_type(v) == "text"}
    placed = {r["technique"]: (r["label_dx"], r["label_dy"]) for r in all_data(spec)}
    assert placed["BFS, uniform prior"] == (-7, 19)  # left of the point, below the top edge
    assert placed["CoT"] == (7, -7)  # at 0%: just above the point, clear of the x axis
    assert marks == {("right", -7, 19), ("left", 7, -7)}


def test_cost_accuracy_chart_error_bars_and_validation():
    rows = [dict(r, low=r["accuracy"] - 0.1, high=r["accuracy"] + 0.1) for r in COST_ROWS]
    spec = spec_of(cost_accuracy_chart(rows))
    assert [mark_type(v) for v in views(spec)] == ["line", "rule", "point", "text", "text"]
    with pytest.raises(ValueError, match="logarithmic"):
        cost_accuracy_chart([{"technique": "x", "tokens": 0, "accuracy": 0.5}])
    with pytest.raises(ValueError, match="add a 'technique' field"):
        cost_accuracy_chart([{"tokens": 10, "accuracy": 0.5}])


# ---------------------------------------------------------------------------------------------
# early_stopping_chart


def stopping_rows(budget: int) -> list[dict[str, Any]]:
    pools = [["a"] * 16, ["a", "b"] * 8, ["b"] * 4 + ["a"] * 12]
    golds = ["a", "a", "a"]
    rows = []
    for i, (pool, gold) in enumerate(zip(pools, golds, strict=True)):
        r = early_stopping(pool, window=4, max_samples=budget)
        rows.append({"problem": i, "method": "ESC (window 4)", "samples": r["stopped_at"],
                     "correct": r["answer"] == gold})
        rows.append({"problem": i, "method": "fixed", "samples": budget,
                     "correct": pool[:budget].count(gold) * 2 > budget})
    return rows


def test_early_stopping_chart_panels_rule_and_summary():
    spec = spec_of(early_stopping_chart(stopping_rows(16), budget=16))
    left, right = spec["vconcat"]  # stacked: side by side they overflow a notebook column
    assert [mark_type(v) for v in views(left)] == ["point", "rule"]
    dots, rule = views(left)
    assert dots["encoding"]["x"]["scale"]["domain"] == [0, 16]
    assert dots["encoding"]["yOffset"]["field"] == "result"
    assert dots["encoding"]["size"]["field"] == "problems"
    assert rule["encoding"]["x"]["field"] == "budget"
    # one line per rule, whatever the number of problems: the chart stays short
    assert left["height"] == 44 * 2
    many = spec_of(early_stopping_chart(
        [{"problem": i, "method": m, "samples": 4, "correct": i % 2 == 0}
         for i in range(500) for m in ("a", "b")], budget=16))
    assert many["vconcat"][0]["height"] == 44 * 2
    cells = [r for r in all_data(spec) if "problems" in r and "result" in r]
    assert sum(c["problems"] for c in cells) == len(stopping_rows(16))  # every problem counted
    assert [mark_type(v) for v in views(right)] == ["rule", "text", "point"]
    assert right["layer"][2]["encoding"]["color"]["legend"]["orient"] == "bottom"
    summary = {r["method"]: r for r in all_data(spec) if "mean_samples" in r}
    assert summary["fixed"]["mean_samples"] == 16 and summary["fixed"]["saved"] == 0
    # ESC stops at 4, never (16, the a/b tie goes to "a", seen first) and at 4 on a wrong "b".
    assert summary["ESC (window 4)"]["mean_samples"] == pytest.approx(8)
    assert summary["ESC (window 4)"]["accuracy"] == pytest.approx(2 / 3)
    assert summary["ESC (window 4)"]["saved"] == pytest.approx(0.5)
    assert summary["fixed"]["accuracy"] == pytest.approx(2 / 3)
    assert {"budget": 16, "label": "fixed budget = 16"} in all_data(spec)


@pytest.mark.parametrize("rows, budget, words", [
    ([{"problem": 0, "method": "m", "samples": 9, "correct": True}], 8, "outside 0"),
    ([{"problem": 0, "method": "m", "samples": 4}], 8, "no 'correct' field"),
    ([{"problem": 0, "method": "m", "samples": 4, "correct": "yes"}], 8, "True or False"),
    ([{"problem": 0, "method": "m", "samples": 4, "correct": True}], 0, "budget must be"),
    ([], 8, "No rows to draw"),
])
def test_early_stopping_chart_rejects_bad_rows(rows, budget, words):
    with pytest.raises(ValueError, match=words):
        early_stopping_chart(rows, budget=budget)


def test_accuracy_chart_takes_a_dataframe_and_names_its_y_axis():
    import pandas as pd

    rows = [{"k": 1, "accuracy": 0.25, "series": "maj"}, {"k": 4, "accuracy": 0.5, "series": "maj"}]
    spec = spec_of(accuracy_chart(pd.DataFrame(rows), y_title="fraction of rules met"))
    assert spec_of(accuracy_chart(rows, y_title="fraction of rules met")) == spec
    line = next(v for v in views(spec) if mark_type(v) == "line")
    assert line["encoding"]["y"]["title"] == "fraction of rules met"
    assert sorted(r["k"] for r in all_data(spec)) == [1, 4]
