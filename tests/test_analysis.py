import itertools
import math
import random
import re
from collections import Counter
from fractions import Fraction

import pytest

from itc_lab.analysis import (
    accuracy_curve,
    adaptive_consistency,
    bootstrap_ci,
    composition_count,
    early_stopping,
    leader_probability,
    maj_at_k,
    majority_vote,
    mean,
    pass_at_k,
)

# ---------------------------------------------------------------------------------------------
# Brute-force references


def brute_pass(n: int, c: int, k: int) -> Fraction:
    correct = set(range(c))
    subsets = list(itertools.combinations(range(n), k))
    hits = sum(1 for s in subsets if correct.intersection(s))
    return Fraction(hits, len(subsets))


def brute_win(subset: list[str | None], gold: str) -> Fraction:
    counts = Counter(a for a in subset if a is not None)
    if not counts or gold not in counts:
        return Fraction(0)
    top = max(counts.values())
    tied = [a for a, v in counts.items() if v == top]
    return Fraction(1, len(tied)) if gold in tied else Fraction(0)


def brute_maj(pool: list[str | None], gold: str, k: int) -> Fraction:
    subsets = list(itertools.combinations(pool, k))
    return sum((brute_win(list(s), gold) for s in subsets), Fraction(0)) / len(subsets)


def random_pool(rng: random.Random, n: int) -> list[str | None]:
    return [rng.choice(["a", "a", "b", "b", "c", None]) for _ in range(n)]


# ---------------------------------------------------------------------------------------------
# pass@k


def test_pass_at_k_matches_brute_force_for_all_small_cases():
    checked = 0
    for n in range(1, 10):
        for c in range(n + 1):
            for k in range(1, n + 1):
                assert pass_at_k(n, c, k) == pytest.approx(float(brute_pass(n, c, k)),
                                                           rel=1e-12, abs=1e-15), (n, c, k)
                checked += 1
    assert checked == 330


def test_pass_at_k_edge_values_and_stability():
    assert pass_at_k(10, 0, 5) == 0.0
    assert pass_at_k(10, 10, 1) == 1.0
    assert pass_at_k(10, 6, 5) == 1.0  # only 4 wrong samples: any 5 include a correct one
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    # Tiny probabilities keep their relative precision (no 1 - (1 - eps) cancellation).
    assert pass_at_k(10**7, 1, 1) == pytest.approx(1e-7, rel=1e-12)
    # Large n and k neither overflow nor lose the exact value.
    exact = 1 - Fraction(math.comb(9000, 500), math.comb(10000, 500))
    assert pass_at_k(10000, 1000, 500) == pytest.approx(float(exact), rel=1e-12)


@pytest.mark.parametrize("args, words", [
    ((0, 0, 1), "n (number of samples) must be a whole number >= 1"),
    ((5, 6, 1), "cannot exceed n"),
    ((5, -1, 1), "c (number of correct samples)"),
    ((5, 2, 0), "k must be a whole number from 1 to 5"),
    ((5, 2, 6), "at least k samples"),
    ((5.0, 2, 1), "not 5.0"),
    ((5, True, 1), "not True"),
])
def test_pass_at_k_rejects_bad_arguments(args, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        pass_at_k(*args)


# ---------------------------------------------------------------------------------------------
# majority_vote


def test_majority_vote_counts_and_excludes_none():
    winner, totals = majority_vote(["7", None, "5", "7", None, "5", "7"])
    assert winner == "7"
    assert totals == {"7": 3.0, "5": 2.0}
    assert list(totals) == ["7", "5"]  # order of first appearance
    assert None not in totals


def test_majority_vote_ties_go_to_the_answer_seen_first():
    assert majority_vote(["b", "a", "a", "b"])[0] == "b"
    assert majority_vote([None, "a", "b", "b", "a"])[0] == "a"


def test_majority_vote_without_parsed_answers_has_no_winner():
    assert majority_vote([]) == (None, {})
    assert majority_vote([None, None]) == (None, {})
    assert majority_vote(["a", "b"], weights=[0, 0]) == (None, {"a": 0.0, "b": 0.0})


def test_majority_vote_weights():
    winner, totals = majority_vote(["a", "b", "b", None], weights=[2.5, 1, 1, 9])
    assert winner == "a"
    assert totals == {"a": 2.5, "b": 2.0}


@pytest.mark.parametrize("answers, weights, words", [
    (["a", "b"], [1.0], "weights has 1 values but answers has 2"),
    (["a"], [-1.0], r"weights\[0\] must be a finite number >= 0"),
    (["a"], [math.nan], "finite number"),
    (["a", 3], None, r"answers\[1\] is a int"),
    ("abc", None, "not one string"),
])
def test_majority_vote_rejects_bad_input(answers, weights, words):
    with pytest.raises(ValueError, match=words):
        majority_vote(answers, weights)


# ---------------------------------------------------------------------------------------------
# maj@k


def test_maj_at_k_exact_matches_brute_force_over_all_subsets():
    rng = random.Random(7)
    cases = 0
    for _ in range(60):
        pool = random_pool(rng, rng.randint(1, 9))
        gold = rng.choice(["a", "b", "c", "d"])
        for k in range(1, len(pool) + 1):
            assert maj_at_k(pool, gold, k) == pytest.approx(float(brute_maj(pool, gold, k)),
                                                            rel=1e-12, abs=1e-15), (pool, gold, k)
            cases += 1
    assert cases > 200


def test_maj_at_k_counts_ties_as_fractional_wins():
    # Two answers, one each: with k=2 the vote is a tie, worth 1/2 to gold.
    assert maj_at_k(["a", "b"], "a", 2) == 0.5
    # Three-way tie at k=3.
    assert maj_at_k(["a", "b", "c"], "a", 3) == pytest.approx(1 / 3)
    # None never wins: the subset {None, None} has no winner, {a, None} is a win.
    assert maj_at_k(["a", None, None], "a", 2) == pytest.approx(2 / 3)
    # k = 1 is the share of correct answers.
    assert maj_at_k(["a", "b", None, "a"], "a", 1) == pytest.approx(0.5)
    # k = N is the full-pool majority (with ties split).
    assert maj_at_k(["a", "a", "b", "b", "c"], "a", 5) == 0.5
    assert maj_at_k(["x", "y"], "gold-not-present", 1) == 0.0


def test_composition_count_matches_distinct_count_vectors():
    rng = random.Random(3)
    for _ in range(40):
        pool = random_pool(rng, rng.randint(1, 9))
        for k in range(len(pool) + 1):
            vectors = {tuple(sorted(Counter(s).items(), key=repr))
                       for s in itertools.combinations(pool, k)}
            assert composition_count(pool, k) == len(vectors), (pool, k)


def test_maj_at_k_monte_carlo_agrees_with_exact():
    pool = ["a"] * 5 + ["b"] * 4 + [None] * 3 + ["c", "d", "e"]
    exact = maj_at_k(pool, "a", 6)
    assert exact == pytest.approx(float(brute_maj(pool, "a", 6)), rel=1e-12)
    # exact_limit=0 forces the Monte-Carlo path; 20,000 draws: standard error < 0.004.
    estimate = maj_at_k(pool, "a", 6, exact_limit=0)
    assert estimate != exact
    assert estimate == pytest.approx(exact, abs=0.015)
    # Reproducible by seed, and the seed matters.
    assert maj_at_k(pool, "a", 6, exact_limit=0, seed=1) == maj_at_k(pool, "a", 6,
                                                                     exact_limit=0, seed=1)
    assert maj_at_k(pool, "a", 6, exact_limit=0, seed=1) != estimate
    # On the exact path the seed and sample count change nothing.
    assert maj_at_k(pool, "a", 6, seed=5, samples=3) == exact


def test_maj_at_k_large_pool_falls_back_to_sampling_close_to_exact():
    rng = random.Random(11)
    pool: list[str | None] = [rng.choice("aabbcdefghijkl") for _ in range(50)]
    pool[:3] = [None, None, None]
    assert composition_count(pool, 12) > 200_000  # beyond the default exact_limit
    exact = maj_at_k(pool, "a", 12, exact_limit=10**9)
    sampled = maj_at_k(pool, "a", 12)
    assert sampled != exact
    assert sampled == pytest.approx(exact, abs=0.015)


@pytest.mark.parametrize("kwargs, words", [
    ({"k": 0}, "k must be a whole number from 1 to 3"),
    ({"k": 4}, "There are 3 answers"),
    ({"k": 1, "gold": None}, "gold must be the correct answer"),
    ({"k": 1, "exact_limit": -1}, "exact_limit"),
    ({"k": 1, "samples": 0}, "samples must be"),
    ({"k": 1, "answers": []}, "at least one answer"),
])
def test_maj_at_k_rejects_bad_arguments(kwargs, words):
    args = {"answers": ["a", "b", None], "gold": "a", **kwargs}
    with pytest.raises(ValueError, match=words):
        maj_at_k(**args)


# ---------------------------------------------------------------------------------------------
# bootstrap and accuracy curves


def test_bootstrap_is_reproducible_by_seed():
    rng = random.Random(1)
    values = [rng.random() for _ in range(30)]
    assert bootstrap_ci(values, seed=4) == bootstrap_ci(values, seed=4)
    assert bootstrap_ci(values, seed=4) != bootstrap_ci(values, seed=5)


def test_bootstrap_covers_the_true_mean_of_a_known_case():
    values = [1.0] * 50 + [0.0] * 50  # mean 0.5, standard error 0.05
    low, high = bootstrap_ci(values)
    assert low < 0.5 < high
    assert 0.15 < high - low < 0.25  # about 2 * 1.96 * 0.05
    assert bootstrap_ci([0.3] * 10) == (0.3, 0.3)
    # 90% interval is narrower; another statistic can be used.
    low90, high90 = bootstrap_ci(values, alpha=0.1)
    assert high90 - low90 < high - low
    low_max, high_max = bootstrap_ci(values, stat=max)
    assert (low_max, high_max) == (1.0, 1.0)


@pytest.mark.parametrize("values, kwargs, words", [
    ([], {}, "at least one value"),
    ([1.0, math.nan], {}, "finite numbers"),
    ([1.0], {"alpha": 0}, "alpha must be a number between 0 and 1"),
    ([1.0], {"n_boot": 0}, "n_boot must be"),
])
def test_bootstrap_rejects_bad_arguments(values, kwargs, words):
    with pytest.raises(ValueError, match=words):
        bootstrap_ci(values, **kwargs)


def test_mean():
    assert mean([0.1] * 10) == pytest.approx(0.1, rel=1e-15)
    with pytest.raises(ValueError, match="at least one value"):
        mean([])


def test_accuracy_curve_rows():
    pools = [["a", "a", "b", None], ["b", "c", "c", "c"], ["x", "y", "z", "x"]]
    golds = ["a", "c", "q"]
    rows = accuracy_curve(pools, golds, [1, 2, 4])
    assert [r["k"] for r in rows] == [1, 2, 4]
    assert set(rows[0]) == {"k", "metric", "accuracy", "low", "high", "n_problems"}
    assert all(r["metric"] == "maj" and r["n_problems"] == 3 for r in rows)
    # k=1 is the mean share of correct answers: (2/4 + 3/4 + 0) / 3.
    assert rows[0]["accuracy"] == pytest.approx(1.25 / 3)
    expected = mean([maj_at_k(p, g, 2) for p, g in zip(pools, golds, strict=True)])
    assert rows[1]["accuracy"] == pytest.approx(expected)
    assert all(r["low"] <= r["accuracy"] <= r["high"] for r in rows)
    passes = accuracy_curve(pools, golds, [1, 4], metric="pass")
    assert passes[0]["accuracy"] == pytest.approx(1.25 / 3)
    assert passes[1]["accuracy"] == pytest.approx(2 / 3)  # two problems have a correct answer


@pytest.mark.parametrize("args, words", [
    (([["a"]], ["a"], [1], "best"), "metric must be one of"),
    (([["a"]], ["a", "b"], [1]), "pools has 1 problems but golds has 2"),
    (([["a"]], ["a"], [2]), "more than the 1 answers of problem 0"),
    (([["a"]], ["a"], []), "ks is empty"),
    (([], [], [1]), "at least one problem"),
])
def test_accuracy_curve_rejects_bad_arguments(args, words):
    with pytest.raises(ValueError, match=words):
        accuracy_curve(*args)


# ---------------------------------------------------------------------------------------------
# early stopping


def test_early_stopping_stops_after_the_first_unanimous_window():
    assert early_stopping(["a"] * 20) == {"stopped_at": 5, "answer": "a", "saved": 15}
    seq = ["a", "b", "a", "a", "a"] + ["c"] * 5 + ["a"] * 10
    assert early_stopping(seq) == {"stopped_at": 10, "answer": "c", "saved": 10}
    assert early_stopping(seq, window=2) == {"stopped_at": 4, "answer": "a", "saved": 16}


def test_early_stopping_ignores_windows_of_no_answer_and_respects_the_budget():
    assert early_stopping([None] * 5 + ["a"] * 5) == {"stopped_at": 10, "answer": "a",
                                                      "saved": 0}
    no_consensus = ["a", "b"] * 6
    assert early_stopping(no_consensus, window=3) == {"stopped_at": 12, "answer": "a",
                                                      "saved": 0}
    # Budget 8 with window 3: windows end at 3 and 6; the 2 samples left just run out the budget.
    seq = ["a", "b", "c", "a", "b", "c", "d", "d", "d", "d", "d", "d"]
    assert early_stopping(seq, window=3, max_samples=8) == {"stopped_at": 8, "answer": "a",
                                                            "saved": 0}
    assert early_stopping(seq, window=3) == {"stopped_at": 9, "answer": "d", "saved": 3}
    assert early_stopping([None, None, "b", "b"], window=1) == {"stopped_at": 3, "answer": "b",
                                                                "saved": 1}


def test_leader_probability_matches_beta_integral():
    def numeric(v1: int, v2: int, steps: int = 4000) -> float:
        a, b = v1 + 1, v2 + 1
        norm = math.gamma(a + b) / (math.gamma(a) * math.gamma(b))
        h = 0.5 / steps  # Simpson's rule on [1/2, 1]
        xs = [0.5 + i * h for i in range(steps + 1)]
        ys = [norm * x ** (a - 1) * (1 - x) ** (b - 1) for x in xs]
        return h / 3 * (ys[0] + ys[-1] + 4 * sum(ys[1:-1:2]) + 2 * sum(ys[2:-1:2]))

    for v1, v2 in [(0, 0), (1, 0), (4, 0), (3, 1), (5, 2), (7, 7), (12, 3), (2, 9)]:
        assert leader_probability(v1, v2) == pytest.approx(numeric(v1, v2), abs=1e-9)
        assert leader_probability(v1, v2) + leader_probability(v2, v1) == pytest.approx(1)
    assert leader_probability(1, 0) == 0.75
    assert leader_probability(4, 0) == 31 / 32


def test_adaptive_consistency_stops_when_the_leader_is_clear():
    assert adaptive_consistency(["a"] * 10) == {"stopped_at": 4, "answer": "a", "saved": 6}
    assert adaptive_consistency(["a"] * 10, threshold=0.9) == {"stopped_at": 3, "answer": "a",
                                                               "saved": 7}
    # 6 vs 1 gives 247/256 = 0.965 >= 0.95; 5 vs 1 gives 0.9375.
    assert adaptive_consistency(list("abaaaaaaa")) == {"stopped_at": 7, "answer": "a",
                                                       "saved": 2}
    # None answers use budget but never vote.
    assert adaptive_consistency([None, "a", None, "a", "a", "a", "b"])["stopped_at"] == 6
    assert adaptive_consistency(["a", "b"] * 5) == {"stopped_at": 10, "answer": "a",
                                                    "saved": 0}
    assert adaptive_consistency(["a", "b"] * 5, max_samples=4)["stopped_at"] == 4
    assert adaptive_consistency([None] * 3) == {"stopped_at": 3, "answer": None, "saved": 0}


@pytest.mark.parametrize("func, kwargs, words", [
    (early_stopping, {"window": 0}, "window must be a whole number >= 1"),
    (early_stopping, {"max_samples": 9}, "Only 3 answers were given"),
    (early_stopping, {"max_samples": 0}, "max_samples must be"),
    (adaptive_consistency, {"threshold": 1.0}, "threshold must be a probability"),
    (adaptive_consistency, {"threshold": 0}, "threshold must be a probability"),
    (adaptive_consistency, {"seed": -1}, "seed must be"),
])
def test_stopping_rules_reject_bad_arguments(func, kwargs, words):
    with pytest.raises(ValueError, match=words):
        func(["a", "b", "a"], **kwargs)
    with pytest.raises(ValueError, match="at least one answer"):
        func([])


def test_leader_probability_beyond_exact_sums_matches_and_stays_cheap(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Exact big-integer sums cost O(n) per check and O(k^2) (or worse) over k samples: 5,000
    alternating votes took minutes. Beyond 60 votes the smaller tail is summed in floats."""

    def exact(v1: int, v2: int) -> float:
        n = v1 + v2 + 1
        return float(Fraction(sum(math.comb(n, j) for j in range(v1 + 1)), 2 ** n))

    for v1, v2 in [(31, 30), (30, 31), (61, 0), (0, 61), (120, 90), (90, 120), (400, 350),
                   (1000, 1000), (3, 200)]:
        assert leader_probability(v1, v2) == pytest.approx(exact(v1, v2), abs=1e-12)
    # the work per check grows like sqrt(votes): counted, not timed
    calls = {"n": 0}
    real_exp = math.exp

    def counting_exp(x: float) -> float:
        calls["n"] += 1
        return real_exp(x)

    monkeypatch.setattr(math, "exp", counting_exp)
    leader_probability(50_000, 50_000)
    monkeypatch.undo()
    assert 0 < calls["n"] < 5_000  # not 50,000 terms


def test_top_two_follows_the_majority_vote_tie_rule() -> None:
    from itc_lab.analysis.voting import TopTwo

    rng = random.Random(5)
    for _ in range(200):
        answers = [rng.choice("abcd") for _ in range(rng.randint(1, 30))]
        top = TopTwo()
        for i, a in enumerate(answers, start=1):
            v1, v2 = top.add(a)
            counts = [*sorted(Counter(answers[:i]).values(), reverse=True), 0]
            assert (v1, v2) == (counts[0], counts[1])
            assert top.leader == majority_vote(answers[:i])[0]
