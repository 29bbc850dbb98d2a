import itertools
import json
import math
import random
from fractions import Fraction
from typing import Any

import pytest

from itc_lab.analysis.verification import (
    FLIP_KEYS,
    best_of_n_curve,
    flip_rows,
    flip_table,
    judge_report,
)
from itc_lab.charts.verification import (
    FLIP_COLORS,
    best_of_n_chart,
    calibration_chart,
    flip_chart,
    roc_chart,
)


def brute_auc(scores: list[float], labels: list[bool]) -> float:
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    total = sum(1.0 if p > q else 0.5 if p == q else 0.0 for p in pos for q in neg)
    return total / (len(pos) * len(neg))


def brute_best_of_n(pool: list[float], right: list[bool], n: int) -> Fraction:
    subsets = list(itertools.combinations(range(len(pool)), n))
    total = Fraction(0)
    for sub in subsets:
        top = max(pool[i] for i in sub)
        tied = [i for i in sub if pool[i] == top]
        total += Fraction(sum(right[i] for i in tied), len(tied))
    return total / len(subsets)


def spec_of(chart: Any) -> dict[str, Any]:
    spec: dict[str, Any] = chart.to_dict()
    assert spec == chart.to_dict()
    json.dumps(spec)
    return spec


def all_rows(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [row for values in spec.get("datasets", {}).values() for row in values]


# --- judge_report -----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(20))
def test_auc_matches_all_pairs(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(2, 30)
    scores = [rng.choice([0.0, 0.25, 0.5, 0.75, 1.0, rng.random()]) for _ in range(n)]
    labels = [rng.random() < 0.5 for _ in range(n)]
    labels[0], labels[1] = True, False
    report = judge_report(scores, labels)
    assert report["auc"] == pytest.approx(brute_auc(scores, labels))


@pytest.mark.parametrize("seed", range(10))
def test_calibration_bins_sum_to_total(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(1, 50)
    scores = [rng.random() for _ in range(n)] + [0.0, 1.0]
    labels = [rng.random() < 0.5 for _ in range(n + 2)]
    bins = rng.randint(1, 10)
    report = judge_report(scores, labels, bins=bins)
    table = report["calibration"]
    assert len(table) == bins
    assert sum(r["count"] for r in table) == n + 2 == report["n"]
    for r in table:
        if r["count"]:
            assert r["low"] <= r["mean_score"] <= r["high"]
            assert 0 <= r["fraction_correct"] <= 1
        else:
            assert r["mean_score"] is None and r["fraction_correct"] is None


def test_report_metrics_on_known_data() -> None:
    scores = [0.9, 0.8, 0.6, 0.4, 0.2, 0.1]
    labels = [True, False, True, True, False, False]
    r = judge_report(scores, labels, threshold=0.5)
    # predicted correct: 0.9, 0.8, 0.6 -> TP 2, FP 1; FN 1 (0.4), TN 2
    assert r["accuracy"] == pytest.approx(4 / 6)
    assert r["precision"] == pytest.approx(2 / 3)
    assert r["recall"] == pytest.approx(2 / 3)
    assert r["auc"] == pytest.approx(brute_auc(scores, labels))
    roc = r["roc"]
    assert (roc[0]["fpr"], roc[0]["tpr"]) == (0.0, 0.0)
    assert (roc[-1]["fpr"], roc[-1]["tpr"]) == (1.0, 1.0)
    # trapezoid area under the ROC points equals the exact AUC
    area = sum((b["fpr"] - a["fpr"]) * (a["tpr"] + b["tpr"]) / 2
               for a, b in itertools.pairwise(roc))
    assert area == pytest.approx(r["auc"])


def test_one_class_and_no_predictions() -> None:
    r = judge_report([0.1, 0.2], [True, True], threshold=0.9)
    assert r["auc"] is None
    assert r["precision"] is None
    assert r["recall"] == 0.0
    assert judge_report([0.3], [False])["recall"] is None


@pytest.mark.parametrize(
    ("scores", "labels", "kwargs", "match"),
    [
        ([1.5], [True], {}, "outside"),
        ([-0.1], [True], {}, "outside"),
        ([float("nan")], [True], {}, "finite"),
        ([0.5, 0.5], [True], {}, "labels"),
        ([], [], {}, "No scores"),
        ([0.5], [1], {}, "True or False"),
        ([0.5], [True], {"bins": 0}, "bins"),
        ([0.5], [True], {"threshold": 2}, "threshold"),
    ],
)
def test_report_validation(scores: Any, labels: Any, kwargs: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        judge_report(scores, labels, **kwargs)


# --- flips ----------------------------------------------------------------------------------


def test_flip_table_counts() -> None:
    before = [True, True, False, False, None, True, None]
    after = [True, False, True, False, True, None, None]
    t = flip_table(before, after)
    assert t["right→right"] == 1
    assert t["right→wrong"] == 2  # includes True -> None
    assert t["wrong→right"] == 2  # includes None -> True
    assert t["wrong→wrong"] == 2  # includes None -> None
    assert t["net"] == 0
    assert t["n"] == 7
    assert sum(t[k] for k in FLIP_KEYS) == 7


def test_flip_table_validation() -> None:
    with pytest.raises(ValueError, match="before has 1"):
        flip_table([True], [True, False])
    with pytest.raises(ValueError, match="True or False"):
        flip_table(["yes"], [True])


def test_flip_rows() -> None:
    rounds = [[False, False, True], [True, False, True], [True, True, False]]
    rows = flip_rows(rounds)
    assert len(rows) == 8
    by = {(r["round"], r["transition"]): r["count"] for r in rows}
    assert by[(1, "wrong→right")] == 1 and by[(1, "right→right")] == 1
    assert by[(2, "wrong→right")] == 1 and by[(2, "right→wrong")] == 1
    assert rows[0]["step"] == "0→1"
    with pytest.raises(ValueError, match="at least two"):
        flip_rows([[True]])
    with pytest.raises(ValueError, match="rounds 0 and 1"):
        flip_rows([[True], [True, False]])


# --- best-of-n ------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(15))
def test_best_of_n_exact_matches_enumeration(seed: int) -> None:
    rng = random.Random(seed)
    pools, correct = [], []
    for _ in range(rng.randint(1, 3)):
        size = rng.randint(1, 7)
        pools.append([float(rng.randint(0, 3)) for _ in range(size)])  # many ties
        correct.append([rng.random() < 0.4 for _ in range(size)])
    smallest = min(len(p) for p in pools)
    ns = list(range(1, smallest + 1))
    rows = best_of_n_curve(pools, correct, ns, with_oracle=True)
    best = [r for r in rows if r["series"] == "best-of-n"]
    oracle = [r for r in rows if r["series"] == "oracle (pass@n)"]
    for r in best:
        expected = sum(brute_best_of_n(p, c, r["n"]) for p, c in zip(pools, correct, strict=True))
        assert r["accuracy"] == pytest.approx(float(expected / len(pools)))
    for r in oracle:
        total = 0.0
        for p, c in zip(pools, correct, strict=True):
            subs = list(itertools.combinations(range(len(p)), r["n"]))
            total += sum(any(c[i] for i in s) for s in subs) / len(subs)
        assert r["accuracy"] == pytest.approx(total / len(pools))
    assert len(oracle) == len(best) == len(ns)


def test_best_of_n_is_one_sample_accuracy_at_n1_and_tie_credit() -> None:
    rows = best_of_n_curve([[0.5, 0.5, 0.5]], [[True, False, False]], [1, 3])
    assert rows[0]["accuracy"] == pytest.approx(1 / 3)
    assert rows[1]["accuracy"] == pytest.approx(1 / 3)  # all tied: fractional credit
    assert "series" in rows[0] and not any(r["series"].startswith("oracle") for r in rows)


def test_over_optimisation_accuracy_falls_with_n() -> None:
    # An imperfect judge: it scores a persuasive wrong answer highest. Larger n makes it more
    # likely to find that answer, so best-of-n accuracy drops while pass@n rises.
    pools = [[0.95, 0.9, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1], [0.8, 0.7, 0.2, 0.1]]
    right = [[False, False, True, True, True, True, True, True], [False, True, False, False]]
    ns = [1, 2, 4]
    rows = best_of_n_curve(pools, right, ns, with_oracle=True)
    best = [r["accuracy"] for r in rows if r["series"] == "best-of-n"]
    oracle = [r["accuracy"] for r in rows if r["series"] != "best-of-n"]
    assert best[0] == pytest.approx((6 / 8 + 1 / 4) / 2)
    assert best[-1] == pytest.approx((15 / 70 + 0) / 2)
    assert all(a > b for a, b in itertools.pairwise(best))
    assert all(a <= b for a, b in itertools.pairwise(oracle))
    assert oracle[-1] == 1.0
    assert oracle[0] == best[0]


@pytest.mark.parametrize(
    ("pools", "correct", "ns", "match"),
    [
        ([[0.1, 0.2]], [[True, False]], [3], "from 1 to 2"),
        ([[0.1, 0.2]], [[True, False]], [0], "from 1 to 2"),
        ([[0.1, 0.2]], [[True]], [1], "must match"),
        ([[0.1]], [[True], [False]], [1], "correct has 2"),
        ([], [], [1], "non-empty"),
        ([[0.1]], [[True]], [], "ns must"),
        ([[math.inf]], [[True]], [1], "finite"),
    ],
)
def test_best_of_n_validation(pools: Any, correct: Any, ns: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        best_of_n_curve(pools, correct, ns)


# --- charts ---------------------------------------------------------------------------------


def test_flip_chart_colours_and_param() -> None:
    rows = flip_rows([[False, True, None], [True, True, False], [True, False, False]])
    spec = spec_of(flip_chart(rows))
    scale = spec["encoding"]["color"]["scale"]
    assert scale["domain"] == list(FLIP_KEYS)
    colours = dict(zip(scale["domain"], scale["range"], strict=True))
    assert colours == FLIP_COLORS
    assert colours["wrong→right"] == "#009E73"  # green
    assert colours["right→wrong"] == "#D55E00"  # red
    assert spec["params"][0]["name"].startswith("transition_")
    assert spec_of(flip_chart(rows[:1]))["params"][0]["name"] != spec["params"][0]["name"]
    assert spec["mark"]["type"] == "bar"
    assert spec["encoding"]["y"]["stack"] == "zero"
    with pytest.raises(ValueError, match="transition"):
        flip_chart([{"round": 1, "count": 2, "transition": "sideways"}])
    with pytest.raises(ValueError, match="No rows"):
        flip_chart([])


def test_best_of_n_chart_log_scale_and_series() -> None:
    rows = best_of_n_curve([[0.9, 0.5, 0.1, 0.3]], [[False, True, True, False]], [1, 2, 4],
                           with_oracle=True)
    spec = spec_of(best_of_n_chart(rows))
    line = spec["layer"][0]
    x = line["encoding"]["x"]
    assert x["scale"] == {"type": "log", "base": 2}
    assert line["encoding"]["color"]["field"] == "series"
    [param] = spec["params"]
    assert param["name"].startswith("series_") and param["views"] == [line["name"]]
    assert line["name"].startswith("best_of_n_lines_")
    series = {r["series"] for r in all_rows(spec)}
    assert series == {"best-of-n", "oracle (pass@n)"}
    with pytest.raises(ValueError, match="accuracy"):
        best_of_n_chart([{"n": 1}])
    with pytest.raises(ValueError, match=">= 1"):
        best_of_n_chart([{"n": 0, "accuracy": 0.5}])


def test_calibration_and_roc_charts() -> None:
    rng = random.Random(3)
    scores = [rng.random() for _ in range(40)]
    labels = [rng.random() < s for s in scores]
    report = judge_report(scores, labels)
    cal = spec_of(calibration_chart(report))
    diag, _, points = cal["layer"]
    assert cal["datasets"][diag["data"]["name"]] == [{"x": 0.0, "y": 0.0}, {"x": 1.0, "y": 1.0}]
    assert points["encoding"]["size"]["field"] == "count"
    assert points["encoding"]["x"]["field"] == "mean_score"
    assert points["encoding"]["y"]["field"] == "fraction_correct"
    assert sum(r["count"] for r in cal["datasets"][points["data"]["name"]]) == 40
    assert "ECE" in cal["title"]
    roc = spec_of(roc_chart(report))
    curve = roc["layer"][1]
    assert curve["encoding"]["x"]["field"] == "fpr"
    roc_rows = roc["datasets"][curve["data"]["name"]]
    assert len(roc_rows) == len(report["roc"])
    assert roc_rows[0]["threshold"] is None  # inf is not JSON
    assert "AUC" in roc["title"]
    # one series, one colour: points drawn in Vega's default blue beside a darker line read as
    # two series with no legend to tell them apart
    assert curve["mark"]["color"] == curve["mark"]["point"]["color"]
    line = cal["layer"][1]
    assert points["mark"]["color"] == line["mark"]["color"]
    with pytest.raises(ValueError, match="calibration"):
        calibration_chart({})
    with pytest.raises(ValueError, match="roc"):
        roc_chart({})
