"""Routing: difficulty estimators, tiers, the fixed-budget baseline and tuning."""

from __future__ import annotations

import itertools
import math
import random
import statistics
from collections import Counter
from typing import Any

import pytest

from itc_lab.analysis import majority_vote
from itc_lab.analysis.routing import (
    ESTIMATORS,
    Pool,
    PoolSample,
    Router,
    RouterReport,
    accuracy_at_compute,
    answer_length,
    disagreement,
    entropy,
    estimator_scores,
    evaluate_router,
    fixed_budget_curve,
    gain_over_fixed,
    harder_half,
    low_confidence,
    mid_ranks,
    pools_from_records,
    pools_from_results,
    rank_correlation,
    samples_to_match,
    tune_router,
)
from itc_lab.answers import Answer
from itc_lab.charts.routing import router_chart
from itc_lab.datasets import Problem
from itc_lab.techniques.base import Sample, TechniqueResult
from itc_lab.types import Completion, Request, Token

GOLD = "42"


def s(answer: str | None, tokens: int = 10, lp: float | None = None) -> PoolSample:
    return PoolSample(answer, answer == GOLD, tokens, lp)


def pool(*answers: str | None, pid: str = "p", tokens: int = 10) -> Pool:
    return Pool(pid, GOLD, tuple(s(a, tokens) for a in answers))


# -- a simulated mix of easy and hard problems (built here, independent of the code under test) --
def simulated_pools(seed: int, n: int = 400, k: int = 16) -> list[Pool]:
    rng = random.Random(seed)
    pools = []
    for i in range(n):
        hard = i % 2 == 1
        p_gold = rng.uniform(0.35, 0.45) if hard else 0.9
        wrong = [f"w{j}" for j in range(6 if hard else 3)]
        samples = []
        for _ in range(k):
            if rng.random() < p_gold:
                samples.append(PoolSample(GOLD, True, rng.randint(80, 120) if hard else 40))
            elif rng.random() < 0.1:
                samples.append(PoolSample(None, False, 256))
            else:
                samples.append(PoolSample(rng.choice(wrong), False, rng.randint(40, 120)))
        pools.append(Pool(f"sim-{i}", GOLD, tuple(samples)))
    return pools


def _plurality(answers: list[str | None]) -> str | None:
    """Brute force: most votes among parsed answers, ties to the one seen first."""
    counts = Counter(a for a in answers if a is not None)
    if not counts:
        return None
    top = max(counts.values())
    return next(a for a in answers if a is not None and counts[a] == top)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_router_beats_fixed_allocation_at_equal_compute(seed: int) -> None:
    pools = simulated_pools(seed)
    curve = fixed_budget_curve(pools, range(1, 17))
    router = Router("disagreement", probe=4, thresholds=[0.3], budgets=[4, 16])
    report = evaluate_router(router, pools)
    fixed = accuracy_at_compute(curve, report.mean_samples)
    assert 4 < report.mean_samples < 16
    assert report.accuracy > fixed + 0.02
    # easy problems mostly stop after the probe, hard ones mostly get the big budget
    easy_tiers = Counter(d.tier for d in report.decisions[0::2])
    hard_tiers = Counter(d.tier for d in report.decisions[1::2])
    assert easy_tiers[0] > 0.8 * 200
    assert hard_tiers[1] > 0.7 * 200


def test_router_decisions_match_a_brute_force_replay() -> None:
    pools = simulated_pools(5, n=60)
    router = Router("disagreement", probe=4, thresholds=[0.3], budgets=[4, 16])
    report = evaluate_router(router, pools)
    for p, d in zip(pools, report.decisions, strict=True):
        probe = [x.answer for x in p.samples[:4]]
        parsed = Counter(a for a in probe if a is not None)
        share = max([*parsed.values(), 1]) / 4
        used = 16 if 1 - share > 0.3 else 4
        assert d.samples == used
        assert d.answer == _plurality([x.answer for x in p.samples[:used]])
        assert d.correct == (d.answer == GOLD)
        assert d.tokens == sum(x.tokens for x in p.samples[:used])
    assert report.accuracy == sum(d.correct for d in report.decisions) / 60
    assert math.isclose(report.mean_samples, sum(d.samples for d in report.decisions) / 60)
    assert sum(report.tier_counts) == 60
    for tier in (0, 1):
        mine = [d for d in report.decisions if d.tier == tier]
        expected = sum(d.correct for d in mine) / len(mine) if mine else None
        assert report.tier_accuracy[tier] == expected


def test_fixed_budget_curve_matches_brute_force() -> None:
    pools = simulated_pools(3, n=50, k=8)
    curve = fixed_budget_curve(pools, [8, 1, 4])
    assert [r["budget"] for r in curve] == [1, 4, 8]
    for row in curve:
        b = row["budget"]
        right = sum(_plurality([x.answer for x in p.samples[:b]]) == GOLD for p in pools)
        assert row["accuracy"] == right / 50
        assert row["mean_samples"] == b
        assert math.isclose(row["mean_tokens"],
                            sum(x.tokens for p in pools for x in p.samples[:b]) / 50)


# -- estimators, hand-computed ------------------------------------------------------------------
def test_disagreement_by_hand() -> None:
    assert disagreement([s("1")] * 4) == 0.0
    assert disagreement([s("1"), s("1"), s("1"), s("2")]) == pytest.approx(0.25)
    assert disagreement([s("1"), s("2"), s("3"), s("4")]) == pytest.approx(0.75)
    # each unparsed sample is a non-answer of its own: it never agrees with anything
    assert disagreement([s(None), s(None), s("1"), s("2")]) == pytest.approx(0.75)
    assert disagreement([s(None), s(None), s(None)]) == pytest.approx(2 / 3)
    assert disagreement([s("1"), s("1"), s(None)]) == pytest.approx(1 / 3)


def test_entropy_by_hand() -> None:
    assert entropy([s("1")] * 3) == 0.0
    assert entropy([s("1"), s("2")]) == pytest.approx(math.log(2))
    assert entropy([s("1"), s("1"), s("2"), s("3")]) == pytest.approx(
        -(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25)))
    assert entropy([s(None), s(None), s(None), s(None)]) == pytest.approx(math.log(4))


def test_low_confidence_and_answer_length_by_hand() -> None:
    probe = [s("1", 10, -0.2), s("1", 30, -0.6)]
    assert low_confidence(probe) == pytest.approx(0.4)
    assert answer_length(probe) == pytest.approx(20.0)
    with pytest.raises(ValueError, match="top_logprobs"):
        low_confidence([s("1", 10, -0.2), s("1", 10, None)])
    with pytest.raises(ValueError, match="at least one probe"):
        disagreement([])
    assert set(ESTIMATORS) == {"disagreement", "entropy", "low_confidence", "answer_length"}


# -- tiers and validation -----------------------------------------------------------------------
def test_tier_counts_thresholds_exceeded() -> None:
    r = Router("answer_length", probe=1, thresholds=[10, 20, 20], budgets=[1, 2, 3, 4])
    assert [r.tier(d) for d in (5, 10, 10.5, 20, 21)] == [0, 0, 1, 1, 3]
    p = Pool("p", GOLD, tuple(s("42", t) for t in (15, 1, 1, 1)))
    d = r.route(p)
    assert (d.difficulty, d.tier, d.samples, d.tokens) == (15.0, 1, 2, 16)


def test_custom_estimator_and_tie_rule() -> None:
    # a constant "hard" estimator sends everything to the top tier; the vote over 4 samples is a
    # 2-2 tie, which majority_vote gives to the answer seen first
    r = Router(lambda probe: 1.0, probe=1, thresholds=[0.5], budgets=[1, 4])
    d = r.route(pool("7", "42", "42", "7"))
    assert d.tier == 1 and d.answer == "7" and d.correct is False
    d = r.route(pool("42", "7", "7", "42"))
    assert d.answer == "42" and d.correct is True
    assert majority_vote(["42", "7", "7", "42"])[0] == "42"


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"thresholds": [0.1], "budgets": [4]}, "needs 2 budgets"),
    ({"thresholds": [], "budgets": [4, 8]}, "needs 1 budgets"),
    ({"thresholds": [0.1], "budgets": [8, 4]}, "must not decrease"),
    ({"thresholds": [0.1], "budgets": [2, 8]}, "probe included"),
    ({"thresholds": [0.5, 0.1], "budgets": [4, 8, 16]}, "increasing order"),
    ({"thresholds": [math.nan], "budgets": [4, 8]}, "finite number"),
    ({"probe": 0}, "probe"),
    ({"estimator": "vibes"}, "Unknown difficulty estimator"),
])
def test_router_validation(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"estimator": "disagreement", "probe": 4, "thresholds": [0.1],
                               "budgets": [4, 8]}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        Router(**args)  # type: ignore[arg-type]


def test_pool_validation() -> None:
    with pytest.raises(ValueError, match="largest budget"):
        Router("disagreement", 2, [0.0], [2, 8]).route(pool("1", "2", "3"))
    with pytest.raises(ValueError, match="both correct and wrong"):
        Pool("p", GOLD, (PoolSample("1", True, 1), PoolSample("1", False, 1)))
    with pytest.raises(ValueError, match="cannot be correct"):
        PoolSample(None, True, 1)
    with pytest.raises(ValueError, match="no samples"):
        Pool("p", GOLD, ())
    with pytest.raises(ValueError, match="at least one pool"):
        evaluate_router(Router("disagreement", 1, [], [1]), [])


# -- interpolation ------------------------------------------------------------------------------
def test_accuracy_at_compute_interpolates_linearly() -> None:
    curve = [{"mean_samples": 1.0, "accuracy": 0.5, "mean_tokens": 10.0},
             {"mean_samples": 4.0, "accuracy": 0.8, "mean_tokens": 40.0},
             {"mean_samples": 2.0, "accuracy": 0.6, "mean_tokens": 20.0}]
    assert accuracy_at_compute(curve, 1.0) == 0.5
    assert accuracy_at_compute(curve, 2.0) == 0.6
    assert accuracy_at_compute(curve, 1.5) == pytest.approx(0.55)
    # mixing budgets 2 and 4: a third of problems at 4 gives mean 2 + 2/3
    assert accuracy_at_compute(curve, 2 + 2 / 3) == pytest.approx(0.6 * 2 / 3 + 0.8 / 3)
    assert accuracy_at_compute(curve, 30.0, x="mean_tokens") == pytest.approx(0.7)
    with pytest.raises(ValueError, match="outside the curve"):
        accuracy_at_compute(curve, 5.0)
    with pytest.raises(ValueError, match="x must be one of"):
        accuracy_at_compute(curve, 2.0, x="seconds")


# -- tuning -------------------------------------------------------------------------------------
def test_tune_router_returns_exactly_the_pareto_front() -> None:
    pools = simulated_pools(7, n=120)
    grid = [-1.0, 0.0, 0.25, 0.5, 0.75]
    budgets = [4, 8, 16]
    front = tune_router(pools, "disagreement", 4, budgets, grid=grid)
    everything = [evaluate_router(Router("disagreement", 4, t, budgets), pools)
                  for t in itertools.combinations_with_replacement(grid, 2)]

    def dominated(r: RouterReport) -> bool:
        return any(o.mean_samples <= r.mean_samples and o.accuracy >= r.accuracy
                   and (o.mean_samples, o.accuracy) != (r.mean_samples, r.accuracy)
                   for o in everything)

    points = {(r.mean_samples, r.accuracy) for r in front}
    expected = {(r.mean_samples, r.accuracy) for r in everything if not dominated(r)}
    assert points == expected
    assert [r.mean_samples for r in front] == sorted(r.mean_samples for r in front)
    assert [r.accuracy for r in front] == sorted(r.accuracy for r in front)


def test_tune_router_default_grid_is_quantiles_plus_one_below() -> None:
    pools = simulated_pools(8, n=80)
    difficulties = sorted(
        1 - max([*Counter(x.answer for x in p.samples[:4] if x.answer).values(), 1]) / 4
        for p in pools)
    candidates = [*statistics.quantiles(difficulties, n=4, method="inclusive"),
                  difficulties[0], difficulties[-1], difficulties[0] - 1]
    front = tune_router(pools, "disagreement", 4, [4, 8, 16], grid=4)
    explicit = tune_router(pools, "disagreement", 4, [4, 8, 16], grid=candidates)
    assert [(r.thresholds, r.accuracy) for r in front] == [
        (r.thresholds, r.accuracy) for r in explicit]
    # the cheapest setting sends everything to the probe-only tier
    assert front[0].mean_samples == 4.0
    tokens = tune_router(pools, "disagreement", 4, [4, 16], grid=4, x="mean_tokens")
    assert [r.mean_tokens for r in tokens] == sorted(r.mean_tokens for r in tokens)


# -- building pools -----------------------------------------------------------------------------
def test_pools_from_results_and_records() -> None:
    problem = Problem("p-1", "What is 6*7?", GOLD)
    comps = [Completion(text=t, model="m", backend="fake", seed=i, completion_tokens=n,
                        tokens=(Token("x", lp),))
             for i, (t, n, lp) in enumerate([("42", 5, -0.1), ("41", 7, -0.3)])]
    samples = (Sample(comps[0], Answer("42", "42", "answer-is"), True),
               Sample(comps[1], Answer("41", "41", "answer-is"), False))
    result = TechniqueResult("self_consistency", problem, Request(prompt="q"), samples, GOLD, True)
    (p,) = pools_from_results([result])
    assert p.problem_id == "p-1" and p.gold == GOLD
    assert p.samples == (PoolSample("42", True, 5, -0.1), PoolSample("41", False, 7, -0.3))

    rows = [{"problem_id": "p-1", "gold": GOLD, "answers": ["42", None],
             "sample_correct": [True, False], "sample_tokens": [5, 9],
             "sample_mean_logprob": [-0.1, None]}]
    (q,) = pools_from_records(rows)
    assert q.samples == (PoolSample("42", True, 5, -0.1), PoolSample(None, False, 9, None))
    with pytest.raises(ValueError, match="different lengths"):
        pools_from_records([{**rows[0], "sample_tokens": [5]}])
    with pytest.raises(ValueError, match="sample_correct"):
        pools_from_records([{"answers": ["1"]}])


# -- chart --------------------------------------------------------------------------------------
def test_router_chart_spec() -> None:
    pools = simulated_pools(9, n=40)
    curve = fixed_budget_curve(pools, [1, 4, 16])
    reports = tune_router(pools, "disagreement", 4, [4, 16], grid=3)
    spec = router_chart(reports, curve).to_dict()
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks == ["line", "point", "point"]

    def values(layer: dict[str, Any]) -> list[dict[str, Any]]:
        data = layer["data"]
        rows: list[dict[str, Any]] = (data["values"] if "values" in data
                                      else spec["datasets"][data["name"]])
        return rows

    fixed_values = values(spec["layer"][0])
    assert [v["budget"] for v in fixed_values] == [1, 4, 16]
    router_values = values(spec["layer"][2])
    assert [v["accuracy"] for v in router_values] == [r.accuracy for r in reports]
    assert spec["layer"][2]["encoding"]["x"]["field"] == "mean_samples"
    spec_t = router_chart(reports, curve, x="mean_tokens").to_dict()
    assert spec_t["layer"][0]["encoding"]["x"]["field"] == "mean_tokens"
    with pytest.raises(ValueError, match="fixed_curve is empty"):
        router_chart(reports, [])


# -- judging estimators and routers (lesson 07) ------------------------------------------------
def test_mid_ranks_share_the_mean_rank_of_a_tie() -> None:
    assert mid_ranks([10, 30, 20, 30]) == [1.0, 3.5, 2.0, 3.5]
    assert mid_ranks([5, 5, 5]) == [2.0, 2.0, 2.0]
    assert mid_ranks([2.5, -1, 7, -1, -1]) == [4.0, 2.0, 5.0, 2.0, 2.0]
    assert mid_ranks([]) == []
    with pytest.raises(ValueError, match=r"values\[1\] must be a finite number"):
        mid_ranks([1.0, math.nan])


def test_rank_correlation_with_ties_against_a_hand_computed_value() -> None:
    # ranks of x: 1, 2.5, 2.5, 4; of y: 1, 2, 4, 3. Deviations from the mean rank 2.5:
    # x: -1.5, 0, 0, 1.5; y: -1.5, -0.5, 1.5, 0.5. rho = 3 / sqrt(4.5 * 5) = 2 / sqrt(10)
    rho = rank_correlation([1, 2, 2, 4], [10, 20, 40, 30])
    assert rho == pytest.approx(2 / math.sqrt(10), abs=1e-12)
    # Spearman is the Pearson correlation of the ranks: invariant under increasing transforms
    assert rank_correlation([math.exp(v) for v in (1, 2, 2, 4)], [10, 20, 40, 30]) == \
        pytest.approx(rho, abs=1e-12)
    assert rank_correlation([1, 2, 3], [30, 20, 10]) == pytest.approx(-1.0)


@pytest.mark.parametrize("seed", range(5))
def test_rank_correlation_without_ties_matches_the_textbook_formula(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(3, 30)
    xs = rng.sample(range(1000), n)
    ys = rng.sample(range(1000), n)
    rx = {v: i + 1 for i, v in enumerate(sorted(xs))}
    ry = {v: i + 1 for i, v in enumerate(sorted(ys))}
    d2 = sum((rx[x] - ry[y]) ** 2 for x, y in zip(xs, ys, strict=True))
    assert rank_correlation(xs, ys) == pytest.approx(1 - 6 * d2 / (n * (n * n - 1)), abs=1e-12)


def test_rank_correlation_is_undefined_for_a_constant_side_and_checks_its_input() -> None:
    assert rank_correlation([1, 1, 1], [1, 2, 3]) is None
    assert rank_correlation([1, 2, 3], [0.5, 0.5, 0.5]) is None
    with pytest.raises(ValueError, match="xs has 3 values but ys has 2"):
        rank_correlation([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="at least 2 pairs"):
        rank_correlation([1], [2])


def _graded(pid: str, probe: list[bool], held_out: list[bool], tokens: int) -> Pool:
    return Pool(pid, GOLD, tuple(PoolSample(GOLD if ok else "7", ok, tokens, -0.5)
                                 for ok in [*probe, *held_out]))


def test_estimator_scores_correlate_with_the_held_out_samples_only() -> None:
    # held-out failure rates 0, 0.5, 1 rise with the probe's answer length; over all 4 samples
    # every pool fails half the time, so scoring on the probe too would give no correlation
    pools = [_graded("a", [False, False], [True, True], 10),
             _graded("b", [True, False], [True, False], 20),
             _graded("c", [True, True], [False, False], 30)]
    rows = estimator_scores(pools, 2, label="toy", estimators={
        "answer_length": answer_length,
        "shortness": lambda probe: -answer_length(probe),
        "constant": lambda probe: 1.0})
    assert rows == [{"estimator": "answer_length", "pools": "toy", "rho": pytest.approx(1.0)},
                    {"estimator": "shortness", "pools": "toy", "rho": pytest.approx(-1.0)},
                    {"estimator": "constant", "pools": "toy", "rho": None}]
    # the default estimators, in their order; disagreement: probe of "a" and "c" agree, "b" not
    default = estimator_scores(pools, 2)
    assert [r["estimator"] for r in default] == list(ESTIMATORS)
    assert default[0]["rho"] == rank_correlation([0.0, 0.5, 0.0], [0.0, 0.5, 1.0])
    assert default[2] == {"estimator": "low_confidence", "pools": "", "rho": None}
    with pytest.raises(ValueError, match="none is left after the 4 probe samples"):
        estimator_scores(pools, 4)
    with pytest.raises(ValueError, match="estimators is empty"):
        estimator_scores(pools, 2, estimators={})


def _by_length(*lengths: int) -> list[Pool]:
    return [Pool(f"p{i}", GOLD, tuple(s(GOLD if i % 2 else "7", n) for _ in range(4)))
            for i, n in enumerate(lengths)]


def test_harder_half_sends_the_half_with_the_hardest_probes_up() -> None:
    pools = _by_length(30, 10, 60, 20, 50, 40)
    report = harder_half(pools, "answer_length", probe=1, budgets=[1, 4])
    assert report.thresholds == (30.0,)
    assert report.tier_counts == (3, 3)
    assert [d.tier for d in report.decisions] == [0, 0, 1, 0, 1, 1]
    same = evaluate_router(Router("answer_length", 1, [30.0], [1, 4]), pools)
    assert report == same
    # ties: 4 of 6 probes are equal; cutting at 1 sends 2 up, the closest to 3 that ties allow
    tied = harder_half(_by_length(1, 1, 1, 1, 2, 3), "answer_length", probe=1, budgets=[1, 4])
    assert (tied.thresholds, tied.tier_counts) == ((1.0,), (4, 2))
    # two cuts equally close to half (1 up or 2 up of 3): the lower cut is taken
    assert harder_half(_by_length(1, 2, 3), answer_length, probe=1,
                       budgets=[1, 4]).thresholds == (1.0,)
    with pytest.raises(ValueError, match="needs 2 budgets"):
        harder_half(pools, "answer_length", probe=1, budgets=[1, 2, 4])


def _report(accuracy: float, mean_samples: float) -> RouterReport:
    return RouterReport(estimator="x", probe=1, thresholds=(0.0,), budgets=(1, 4),
                        accuracy=accuracy, mean_samples=mean_samples, mean_tokens=0.0,
                        tier_counts=(1, 1), tier_accuracy=(None, None), decisions=())


CURVE = [{"mean_samples": 1.0, "accuracy": 0.2}, {"mean_samples": 2.0, "accuracy": 0.3},
         {"mean_samples": 4.0, "accuracy": 0.5}, {"mean_samples": 8.0, "accuracy": 0.45}]


def test_gain_over_fixed_is_the_accuracy_above_the_line_at_equal_samples() -> None:
    # fixed allocation at 3 samples: halfway between 0.3 (2 samples) and 0.5 (4 samples)
    assert gain_over_fixed(_report(0.5, 3.0), CURVE) == pytest.approx(0.1)
    assert gain_over_fixed(_report(0.3, 6.0), CURVE) == pytest.approx(0.3 - 0.475)
    with pytest.raises(ValueError, match="takes a RouterReport"):
        gain_over_fixed({"accuracy": 0.5, "mean_samples": 3.0}, CURVE)  # type: ignore[arg-type]


def test_samples_to_match_reads_the_curve_from_the_smallest_budget_up() -> None:
    assert samples_to_match(CURVE, 0.4) == pytest.approx(3.0)  # 2 + (0.1 / 0.2) * (4 - 2)
    assert samples_to_match(CURVE, 0.5) == pytest.approx(4.0)
    assert samples_to_match(CURVE, 0.25) == pytest.approx(1.5)
    assert samples_to_match(CURVE, 0.1) == 1.0  # the smallest budget already does better
    assert samples_to_match(CURVE, 0.6) is None
    assert samples_to_match(list(reversed(CURVE)), 0.4) == pytest.approx(3.0)
    # on a real curve, fixed allocation at the returned compute has exactly that accuracy
    curve = fixed_budget_curve(simulated_pools(1, n=80), range(1, 17))
    target = (curve[2]["accuracy"] + curve[6]["accuracy"]) / 2
    need = samples_to_match(curve, target)
    assert need is not None
    assert accuracy_at_compute(curve, need) == pytest.approx(target)
    with pytest.raises(ValueError, match="curve is empty"):
        samples_to_match([], 0.5)
    with pytest.raises(ValueError, match="probability from 0 to 1"):
        samples_to_match(CURVE, 1.5)


def test_router_chart_has_one_legend_for_colour_and_shape_and_fits_twice_side_by_side():
    pools = [Pool(problem_id=str(i), gold="a",
                  samples=tuple(PoolSample(answer="a" if (i + j) % 3 else "b",
                                           correct=bool((i + j) % 3), tokens=10)
                                for j in range(8))) for i in range(12)]
    curve = fixed_budget_curve(pools, [1, 2, 4, 8])
    reports = tune_router(pools, "disagreement", probe=2, budgets=[2, 8])
    spec = router_chart(reports, curve).to_dict()
    layers = spec["layer"]
    shapes = [layer["encoding"]["shape"] for layer in layers[1:]]
    assert all(s["scale"] == {"domain": ["fixed budget", "router"],
                              "range": ["circle", "diamond"]} for s in shapes)
    assert shapes[0]["legend"] == layers[1]["encoding"]["color"]["legend"]  # one merged legend
    assert shapes[0]["legend"]["orient"] == "bottom"
    assert 2 * spec["width"] + 120 <= 900  # two side by side fit a notebook column
