"""Scaling fits, Pareto frontiers, difficulty bins, compute-optimal allocation and their charts."""

from __future__ import annotations

import itertools
import math
import random
from typing import Any

import pytest

from itc_lab.analysis.compute_optimal import ComputeOptimalReport, compute_optimal, difficulty_bins
from itc_lab.analysis.scaling import (
    LogLinearFit,
    SaturatingFit,
    aggregate,
    fit_log_linear,
    fit_saturating,
    fit_series,
    gflops,
    pareto_frontier,
)
from itc_lab.charts.compute_optimal import compute_optimal_chart
from itc_lab.charts.scaling import SIMULATED_SUFFIX, scaling_chart

XS = [2.0 ** i for i in range(11)]  # 1 … 1024 samples or tokens


# -- fits ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("a", "b", "c"), [(0.85, 0.6, 0.5), (0.7, 0.3, 1.2), (0.95, 0.9, 0.1),
                                           (0.6, 0.5, 2.0), (0.4, 0.35, 0.02)])
def test_saturating_fit_recovers_noiseless_curves(a: float, b: float, c: float) -> None:
    fit = fit_saturating(XS, [a - b * x ** -c for x in XS])
    assert (fit.a, fit.b, fit.c) == pytest.approx((a, b, c), abs=1e-3)
    assert fit.rmse < 1e-6
    assert fit.n == len(XS)
    assert fit.notes == ()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_saturating_fit_recovers_noisy_curves(seed: int) -> None:
    a, b, c = 0.8, 0.55, 0.6
    rng = random.Random(seed)
    xs = [2.0 ** (i / 2) for i in range(21)]
    ys = [a - b * x ** -c + rng.gauss(0, 0.005) for x in xs]
    fit = fit_saturating(xs, ys)
    assert fit.a == pytest.approx(a, abs=0.02)
    assert fit.b == pytest.approx(b, abs=0.04)
    assert fit.c == pytest.approx(c, rel=0.15)
    assert fit.rmse == pytest.approx(0.005, rel=0.5)  # about the noise level


def test_saturating_fit_prediction_and_inverse() -> None:
    fit = fit_saturating(XS, [0.8 - 0.5 * x ** -0.7 for x in XS])
    for x in (1.5, 37.0, 4000.0):
        assert fit(x) == pytest.approx(0.8 - 0.5 * x ** -0.7, abs=1e-6)
        assert fit.x_for(fit(x)) == pytest.approx(x, rel=1e-6)
    assert fit.x_for(fit.a) == math.inf
    assert fit.x_for(0.95) == math.inf
    with pytest.raises(ValueError, match="> 0"):
        fit(0)


def test_saturating_fit_weights_and_reports_instead_of_clipping() -> None:
    ys = [0.8 - 0.5 * x ** -0.7 for x in XS]
    ys_outlier = [*ys, 0.1]
    xs_outlier = [*XS, 3.0]
    weighted = fit_saturating(xs_outlier, ys_outlier, weights=[1.0] * len(XS) + [0.0])
    assert (weighted.a, weighted.b, weighted.c) == pytest.approx((0.8, 0.5, 0.7), abs=1e-3)
    assert fit_saturating(xs_outlier, ys_outlier).rmse > 0.01  # unweighted, the outlier hurts
    high = fit_saturating(XS, [1.3 - 1.0 * x ** -0.3 for x in XS])
    assert high.a == pytest.approx(1.3, abs=1e-3)  # not clipped to 1
    assert any("outside 0 … 1" in note for note in high.notes)
    falling = fit_saturating(XS, [0.5 + 0.3 * x ** -0.5 for x in XS])
    assert falling.b < 0 and any("does not rise" in note for note in falling.notes)
    assert "notes" in high.to_dict()


@pytest.mark.parametrize(("x", "y", "fragment"), [
    ([1, 2], [0.1, 0.2], "at least 3"),
    ([1, 1, 1, 2], [0.1, 0.2, 0.3, 0.4], "at least 3"),
    ([0, 1, 2, 4], [0.1, 0.2, 0.3, 0.4], "x > 0"),
    ([-1, 1, 2, 4], [0.1, 0.2, 0.3, 0.4], "x > 0"),
    ([1, 2, 4], [0.1, 0.2], "one y per x"),
    ([1, 2, 4], [0.1, math.nan, 0.3], "finite"),
])
def test_fits_reject_bad_input(x: list[float], y: list[float], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        fit_saturating(x, y)
    with pytest.raises(ValueError, match=fragment):
        fit_log_linear(x, y)


def test_fit_weights_are_checked() -> None:
    with pytest.raises(ValueError, match="one weight per point"):
        fit_saturating([1, 2, 4], [0.1, 0.2, 0.3], weights=[1, 1])
    with pytest.raises(ValueError, match=">= 0"):
        fit_saturating([1, 2, 4], [0.1, 0.2, 0.3], weights=[1, -1, 1])


def test_log_linear_fit() -> None:
    fit = fit_log_linear(XS, [0.12 * math.log10(x) + 0.3 for x in XS])
    assert (fit.m, fit.q) == pytest.approx((0.12, 0.3), abs=1e-9)
    assert fit(1000) == pytest.approx(0.66)
    assert fit.x_for(0.54) == pytest.approx(100.0)
    with pytest.raises(ValueError, match="does not rise"):
        fit_log_linear(XS, [0.5 - 0.1 * math.log10(x) for x in XS]).x_for(0.6)


def test_fit_series_groups_rows() -> None:
    rows = [{"technique": t, "tokens": x, "accuracy": a - 0.4 * x ** -0.5}
            for t, a in (("A", 0.7), ("B", 0.9)) for x in XS]
    fits = fit_series(rows)
    assert set(fits) == {"A", "B"}
    assert isinstance(fits["B"], SaturatingFit) and fits["B"].a == pytest.approx(0.9, abs=1e-3)
    assert isinstance(fit_series(rows, form="log_linear")["A"], LogLinearFit)
    with pytest.raises(ValueError, match="Series 'C'"):
        fit_series([*rows, {"technique": "C", "tokens": 1, "accuracy": 0.1}])


# -- aggregate, Pareto, bins --------------------------------------------------------------------
def test_aggregate_means_per_group() -> None:
    records = [{"technique": "m", "budget": 2, "tokens": 100, "correct": True},
               {"technique": "m", "budget": 2, "tokens": 140, "correct": False},
               {"technique": "m", "budget": 4, "tokens": 260, "correct": 0.5, "simulated": True}]
    rows = aggregate(records)
    assert rows == [
        {"technique": "m", "budget": 2, "tokens": 120.0, "accuracy": 0.5, "n": 2,
         "simulated": False},
        {"technique": "m", "budget": 4, "tokens": 260.0, "accuracy": 0.5, "n": 1,
         "simulated": True}]
    with pytest.raises(ValueError, match="True/False or a number from 0 to 1"):
        aggregate([{"technique": "m", "budget": 2, "tokens": 1, "correct": 2}])
    with pytest.raises(ValueError, match="no 'budget' field"):
        aggregate([{"technique": "m", "tokens": 1, "correct": True}])


def brute_force_frontier(points: list[dict[str, Any]]) -> list[int]:
    def dominates(p: dict[str, Any], q: dict[str, Any]) -> bool:
        return (p["tokens"] <= q["tokens"] and p["accuracy"] >= q["accuracy"]
                and (p["tokens"] < q["tokens"] or p["accuracy"] > q["accuracy"]))

    return sorted(q["id"] for q in points if not any(dominates(p, q) for p in points))


@pytest.mark.parametrize("seed", range(6))
def test_pareto_frontier_matches_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    # a coarse grid, so equal costs, equal accuracies and duplicates all occur
    points = [{"id": i, "tokens": rng.randint(1, 12) * 10, "accuracy": rng.randint(0, 10) / 10}
              for i in range(rng.randint(1, 60))]
    front = pareto_frontier(points)
    assert sorted(r["id"] for r in front) == brute_force_frontier(points)
    costs = [r["tokens"] for r in front]
    assert costs == sorted(costs)
    assert all(a["accuracy"] < b["accuracy"] or a["tokens"] == b["tokens"]
               for a, b in itertools.pairwise(front))


def test_pareto_frontier_other_keys_and_errors() -> None:
    rows = [{"cost": 1, "q": 0.2}, {"cost": 2, "q": 0.1}, {"cost": 3, "q": 0.5}]
    assert pareto_frontier(rows, cost="cost", quality="q") == [rows[0], rows[2]]
    assert pareto_frontier([]) == []
    with pytest.raises(ValueError, match="no 'tokens' field"):
        pareto_frontier([{"accuracy": 0.5}])


def test_difficulty_bins_without_ties_are_equal_quantiles() -> None:
    rng = random.Random(0)
    for n, n_bins in [(100, 5), (23, 5), (7, 3), (3, 5)]:
        rates = {f"p{i}": r for i, r in enumerate(rng.sample(range(1000), n))}
        rates = {k: v / 1000 for k, v in rates.items()}
        bins = difficulty_bins(rates, n_bins)
        assert set(bins) == set(rates)
        sizes = [sum(b == i for b in bins.values()) for i in range(1, n_bins + 1)]
        assert sum(sizes) == n
        assert all(s in (n // n_bins, -(-n // n_bins)) for s in sizes)
        order = sorted(rates, key=lambda k: -rates[k])
        assert [bins[k] for k in order] == sorted(bins[k] for k in order)  # easiest first
        assert bins[order[0]] == 1


def test_difficulty_bins_keep_ties_together() -> None:
    rng = random.Random(1)
    rates = {f"p{i}": rng.choice([0.0, 0.0, 0.0, 0.25, 0.5, 1.0, 1.0]) for i in range(80)}
    bins = difficulty_bins(rates, 5)
    by_rate: dict[float, set[int]] = {}
    for pid, r in rates.items():
        by_rate.setdefault(r, set()).add(bins[pid])
    assert all(len(b) == 1 for b in by_rate.values())
    ordered = sorted(by_rate, reverse=True)
    assert [next(iter(by_rate[r])) for r in ordered] == sorted(
        next(iter(by_rate[r])) for r in ordered)
    assert difficulty_bins({"a": 0.5, "b": 0.5, "c": 0.5}, 3) == {"a": 2, "b": 2, "c": 2}
    assert difficulty_bins(rates, 5) == bins  # deterministic


def test_difficulty_bins_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="n_bins"):
        difficulty_bins({"a": 0.5}, 0)
    with pytest.raises(ValueError, match="from 0 to 1"):
        difficulty_bins({"a": 1.5})
    with pytest.raises(ValueError, match="at least one"):
        difficulty_bins({})


# -- compute-optimal ----------------------------------------------------------------------------
def synthetic_rows(rng: random.Random, n_problems: int = 40) -> tuple[list[dict[str, Any]],
                                                                      dict[str, int]]:
    """Technique A is cheap and best on easy problems; B is dear and best on hard ones."""
    rows: list[dict[str, Any]] = []
    bins: dict[str, int] = {}
    for i in range(n_problems):
        pid = f"p{i}"
        hard = i % 2 == 1
        bins[pid] = 2 if hard else 1
        for budget in (1, 2, 4, 8):
            grow = 1 - 0.5 ** budget
            a_ok = (0.95 if not hard else 0.10) * grow
            b_ok = (0.80 if not hard else 0.60) * grow
            rows.append({"technique": "A", "budget": budget, "problem_id": pid,
                         "correct": rng.random() < a_ok, "tokens": 50 * budget})
            rows.append({"technique": "B", "budget": budget, "problem_id": pid,
                         "correct": rng.random() < b_ok, "tokens": 120 * budget * (1 + hard)})
    return rows, bins


def test_compute_optimal_picks_the_right_technique_per_bin() -> None:
    rows, bins = synthetic_rows(random.Random(0), 200)
    report = compute_optimal(rows, bins=bins, baseline="A")
    top = report.points[-1]
    chosen = {c.bin: c.strategy.split("@")[0] for c in top.choices}
    assert chosen == {1: "A", 2: "B"}
    assert report.bin_sizes == {1: 100, 2: 100}
    per_bin = compute_optimal(rows, bins=bins, baseline="A", allocation="per_bin")
    assert {c.bin: c.strategy.split("@")[0] for c in per_bin.points[-1].choices} == chosen


@pytest.mark.parametrize("seed", range(4))
def test_compute_optimal_is_never_worse_than_any_single_strategy(seed: int) -> None:
    rows, bins = synthetic_rows(random.Random(seed))
    report = compute_optimal(rows, bins=bins, baseline="A")
    levels = sorted({s.mean_cost for s in report.strategies})
    dense = compute_optimal(rows, bins=bins, baseline="A", levels=levels)
    for point in dense.points:
        assert point.mean_cost <= point.level + 1e-9
        for s in dense.strategies:
            if s.mean_cost <= point.level:
                assert point.accuracy >= s.accuracy - 1e-12
    assert len(dense.points) == len(levels)


def brute_force_policy(report: ComputeOptimalReport, level: float,
                       per_bin: bool) -> float | None:
    bins = list(report.bin_sizes)
    n = sum(report.bin_sizes.values())
    best = None
    for picks in itertools.product(report.strategies, repeat=len(bins)):
        costs = [s.by_bin[b][1] for s, b in zip(picks, bins, strict=True)]
        cost = sum(report.bin_sizes[b] / n * c for b, c in zip(bins, costs, strict=True))
        ok = all(c <= level + 1e-9 for c in costs) if per_bin else cost <= level + 1e-9
        if ok:
            acc = sum(report.bin_sizes[b] / n * s.by_bin[b][0]
                      for s, b in zip(picks, bins, strict=True))
            best = acc if best is None else max(best, acc)
    return best


@pytest.mark.parametrize(("seed", "allocation"), [(0, "mean"), (1, "mean"), (2, "per_bin"),
                                                  (3, "per_bin")])
def test_compute_optimal_matches_brute_force(seed: int, allocation: str) -> None:
    rng = random.Random(seed)
    rows = []
    bins = {f"p{i}": 1 + i % 3 for i in range(9)}
    for technique, budget in [("A", 1), ("A", 2), ("B", 1), ("C", 3)]:
        for pid in bins:
            rows.append({"technique": technique, "budget": budget, "problem_id": pid,
                         "correct": rng.random(), "tokens": rng.randint(1, 20) * budget})
    report = compute_optimal(rows, bins=bins, baseline="A", allocation=allocation)
    levels = [5.0 * i for i in range(1, 14)]
    dense = compute_optimal(rows, bins=bins, baseline="A", allocation=allocation, levels=levels)
    got = {p.level: p.accuracy for p in dense.points}
    for level in levels:
        want = brute_force_policy(report, level, allocation == "per_bin")
        if want is None:
            assert level not in got
        else:
            assert got[level] == pytest.approx(want, abs=1e-12)


def test_efficiency_on_a_hand_checked_example() -> None:
    # one problem, one bin; correct is a float, so accuracies are exact
    table = [("majority", 1, 100, 0.5), ("majority", 2, 200, 0.6), ("majority", 4, 400, 0.7),
             ("B", 1, 100, 0.6), ("B", 2, 200, 0.7), ("B", 3, 300, 0.8)]
    rows = [{"technique": t, "budget": b, "problem_id": "p", "tokens": c, "correct": a}
            for t, b, c, a in table]
    report = compute_optimal(rows, bins={"p": 1})
    assert [(p.mean_cost, p.accuracy) for p in report.points] == [
        (100, 0.6), (200, 0.7), (300, 0.8), (300, 0.8)]
    assert [p.level for p in report.points] == [100, 200, 300, 400]
    # baseline: 0.65 between (200, 0.6) and (400, 0.7) -> 300; policy: (100, .6)-(200, .7) -> 150
    assert report.efficiency(0.65) == pytest.approx(2.0)
    assert report.efficiency(0.6) == pytest.approx(200 / 100)
    assert report.efficiency(0.75) == math.inf  # the baseline never gets there
    assert report.efficiency(0.9) is None  # neither does the policy
    # a target equal to the baseline's best up to rounding (e.g. the same mean summed in another
    # order) is reached: baseline (400, 0.7), policy (200, 0.7)
    assert report.efficiency(0.7 + 1e-15) == pytest.approx(2.0)
    assert report.efficiency(0.6 + 1e-15) == pytest.approx(2.0)
    assert report.points[0].baseline == "majority@1"
    assert report.points[2].baseline_accuracy == pytest.approx(0.6)
    rows_out = report.rows()
    assert {r["strategy"] for r in rows_out} == {"compute-optimal", "majority"}
    assert all({"level", "strategy", "accuracy", "mean_cost"} <= set(r) for r in rows_out)
    assert report.to_dict()["baseline"] == "majority"


def test_compute_optimal_rejects_bad_input() -> None:
    rows, bins = synthetic_rows(random.Random(0), 6)
    with pytest.raises(ValueError, match="choose one of"):
        compute_optimal(rows, bins=bins, baseline="majority")
    with pytest.raises(ValueError, match="no difficulty bin"):
        compute_optimal(rows, bins={"p0": 1}, baseline="A")
    with pytest.raises(ValueError, match="same problems"):
        compute_optimal(rows[1:], bins=bins, baseline="A")
    with pytest.raises(ValueError, match="allocation"):
        compute_optimal(rows, bins=bins, baseline="A", allocation="greedy")
    with pytest.raises(ValueError, match="cost must be >= 0"):
        compute_optimal([{**rows[0], "tokens": -1}], bins=bins, baseline="A")
    with pytest.raises(ValueError, match="needs rows"):
        compute_optimal([], bins=bins, baseline="A")


# -- charts -------------------------------------------------------------------------------------
def layers_by_name(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {layer["name"]: layer for layer in spec["layer"]}


def data_of(spec: dict[str, Any], layer: dict[str, Any]) -> list[dict[str, Any]]:
    data = layer.get("data", spec.get("data"))  # data shared by every layer moves to the top
    values: list[dict[str, Any]] = spec["datasets"][data["name"]]
    return values


def chart_rows() -> list[dict[str, Any]]:
    rows = [{"technique": "majority", "tokens": t, "accuracy": a, "k": k}
            for k, t, a in [(1, 60, 0.5), (2, 120, 0.6), (4, 240, 0.66), (8, 480, 0.7)]]
    rows += [{"technique": "big", "tokens": t, "accuracy": a, "k": k, "simulated": True}
             for k, t, a in [(1, 80, 0.6), (2, 160, 0.7), (4, 320, 0.76)]]
    return rows


def test_scaling_chart_layers_log_axis_and_data() -> None:
    rows = chart_rows()
    spec = scaling_chart(rows, fits=fit_series(rows)).to_dict()
    layers = layers_by_name(spec)
    assert set(layers) == {"measured_lines", "measured_points", "simulated_points",
                           "fitted_curves", "pareto_frontier"}
    for layer in layers.values():
        assert layer["encoding"]["x"]["scale"]["type"] == "log"
    measured = data_of(spec, layers["measured_points"])
    assert len(measured) == len(rows)
    front = data_of(spec, layers["pareto_frontier"])
    assert [(r["tokens"], r["accuracy"]) for r in front] == [(60, 0.5), (80, 0.6), (160, 0.7),
                                                            (320, 0.76)]
    assert layers["pareto_frontier"]["mark"]["interpolate"] == "step-after"
    curves = data_of(spec, layers["fitted_curves"])
    assert {r["series"] for r in curves} == {"majority", "big" + SIMULATED_SUFFIX}


def test_scaling_chart_frontier_of_named_series_only() -> None:
    rows = chart_rows()
    spec = scaling_chart(rows, frontier=["majority"]).to_dict()
    front = data_of(spec, layers_by_name(spec)["pareto_frontier"])
    mine = [r for r in rows if r["technique"] == "majority"]
    assert [(r["tokens"], r["accuracy"]) for r in front] == [
        (r["tokens"], r["accuracy"]) for i, r in enumerate(mine)
        if i in brute_force_frontier([{**m, "id": j} for j, m in enumerate(mine)])]
    assert len(front) == 4  # "big" beats majority at 80 and 160 tokens, but is left out
    assert len(data_of(spec, layers_by_name(spec)["measured_points"])) == len(rows)
    both = scaling_chart(rows, frontier=["majority", "big"]).to_dict()
    every = scaling_chart(rows, frontier=True).to_dict()
    assert data_of(both, layers_by_name(both)["pareto_frontier"]) == data_of(
        every, layers_by_name(every)["pareto_frontier"])
    with pytest.raises(ValueError, match=r"frontier names \['oracle'\]"):
        scaling_chart(rows, frontier=["majority", "oracle"])
    with pytest.raises(ValueError, match="list of series names"):
        scaling_chart(rows, frontier="majority")
    with pytest.raises(ValueError, match="no series"):
        scaling_chart(rows, frontier=[])
    with pytest.raises(ValueError, match="color=None"):
        scaling_chart(rows, color=None, frontier=["majority"])


def test_scaling_chart_labels_simulated_rows() -> None:
    spec = scaling_chart(chart_rows(), frontier=False).to_dict()
    layers = layers_by_name(spec)
    assert "pareto_frontier" not in layers and "fitted_curves" not in layers
    labels = {r["series"] for r in data_of(spec, layers["measured_points"])}
    assert labels == {"majority", "big (simulated)"}
    assert layers["simulated_points"]["mark"]["filled"] is False
    dash = layers["measured_lines"]["encoding"]["strokeDash"]
    assert dash["field"] == "source" and dash["scale"]["domain"] == ["measured", "simulated"]
    assert "simulated" in str(spec["title"])
    assert dash.get("legend", {}) is not None  # the measured/simulated legend is shown
    measured_only = [r for r in chart_rows() if not r.get("simulated")]
    plain = layers_by_name(scaling_chart(measured_only, frontier=False).to_dict())
    assert plain["measured_lines"]["encoding"]["strokeDash"]["legend"] is None  # nothing to tell


def test_scaling_chart_options_and_errors() -> None:
    spec = scaling_chart(chart_rows(), log_x=False).to_dict()
    assert "type" not in layers_by_name(spec)["measured_points"]["encoding"]["x"]["scale"]
    with pytest.raises(ValueError, match="logarithmic"):
        scaling_chart([{"technique": "a", "tokens": 0, "accuracy": 0.1}])
    with pytest.raises(ValueError, match="no 'technique' field"):
        scaling_chart([{"tokens": 3, "accuracy": 0.1}])
    with pytest.raises(ValueError, match="not a 'technique' of any row"):
        rows = chart_rows()
        scaling_chart(rows, fits={"other": fit_series(rows)["majority"]})


def test_compute_optimal_chart() -> None:
    rows, bins = synthetic_rows(random.Random(0), 20)
    report = compute_optimal(rows, bins=bins, baseline="A")
    spec = compute_optimal_chart(report).to_dict()
    layers = layers_by_name(spec)
    assert set(layers) == {"single_strategies", "policy_lines", "policy_points"}
    assert layers["policy_points"]["encoding"]["x"]["scale"]["type"] == "log"
    assert len(data_of(spec, layers["policy_points"])) == len(report.rows())
    assert len(data_of(spec, layers["single_strategies"])) == len(report.strategies)
    assert layers["policy_lines"]["mark"]["interpolate"] == "step-after"
    with pytest.raises(ValueError, match="ComputeOptimalReport"):
        compute_optimal_chart(rows)  # type: ignore[arg-type]


def test_compute_optimal_tells_models_apart_with_several_technique_fields() -> None:
    rows = [{"model": m, "arm": "majority", "budget": 1, "problem_id": "p", "tokens": c,
             "correct": a} for m, c, a in [("small", 10, 0.4), ("big", 40, 0.9)]]
    report = compute_optimal(rows, bins={"p": 1}, technique_key=("model", "arm"),
                             baseline="small / majority")
    assert {s.technique: s.accuracy for s in report.strategies} == {
        "small / majority": 0.4, "big / majority": 0.9}
    assert report.points[-1].choices[0].strategy == "big / majority@1"
    merged = compute_optimal(rows, bins={"p": 1}, technique_key="arm", baseline="majority")
    assert merged.strategies[0].accuracy == pytest.approx(0.65)  # repeats are averaged


def test_gflops_counts_two_flops_per_parameter_per_generated_token() -> None:
    assert gflops(135e6, 100) == pytest.approx(27.0)  # 2 * 135e6 * 100 / 1e9
    assert gflops(1.7e9, 1) == pytest.approx(3.4)
    assert gflops(135e6, 0) == 0.0
    # lesson 06: 16 samples of the 135M model against one of the 1.7B model, same length
    assert gflops(135e6, 16 * 55) / gflops(1.7e9, 55) == pytest.approx(16 * 135 / 1700)
    with pytest.raises(ValueError, match="params must be the model's parameter count"):
        gflops(0, 10)
    with pytest.raises(ValueError, match="tokens must be >= 0"):
        gflops(135e6, -1)
    with pytest.raises(ValueError, match="finite number"):
        gflops(math.inf, 10)


def test_pareto_indices_match_a_brute_force_oracle():
    import random

    from itc_lab.analysis.scaling import pareto_indices

    rng = random.Random(3)
    for _ in range(200):
        n = rng.randint(0, 12)
        costs = [float(rng.randint(0, 5)) for _ in range(n)]
        quals = [float(rng.randint(0, 5)) for _ in range(n)]
        dominated = {i for i in range(n) for j in range(n)
                     if costs[j] <= costs[i] and quals[j] >= quals[i]
                     and (costs[j] < costs[i] or quals[j] > quals[i])}
        got = pareto_indices(costs, quals)
        assert set(got) == set(range(n)) - dominated
        assert [costs[i] for i in got] == sorted(costs[i] for i in got)
    with pytest.raises(ValueError, match="one of each"):
        pareto_indices([1.0], [])
