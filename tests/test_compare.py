"""The comparison-wording helper: "A beats B" only when the 95% intervals do not overlap."""

from __future__ import annotations

import itertools
import math

import pytest

from itc_lab.analysis import Comparison, compare, compare_outcomes, wilson_interval


def test_wilson_interval_against_hand_computed_values():
    low, high = wilson_interval(0, 36)
    assert low == 0.0 and high == pytest.approx(0.09639, abs=1e-4)
    low, high = wilson_interval(18, 36)
    assert (low, high) == (pytest.approx(0.34469, abs=1e-4), pytest.approx(0.65531, abs=1e-4))
    low, high = wilson_interval(36, 36)
    assert high == 1.0 and low == pytest.approx(0.90361, abs=1e-4)
    low, high = wilson_interval(3, 10)  # z = 1.96: (0.1078, 0.6032)
    assert (low, high) == (pytest.approx(0.1078, abs=1e-4), pytest.approx(0.6032, abs=1e-4))


def test_overlapping_intervals_never_produce_beats():
    for sa, sb in itertools.product(range(0, 31), repeat=2):
        for na, nb in ((30, 30), (30, 12)):
            if sa > na or sb > nb:
                continue
            c = compare("A", sa, na, "B", sb, nb)
            overlap = c.a.low <= c.b.high and c.b.low <= c.a.high
            assert c.overlap == overlap
            if overlap:
                assert c.winner is None and "beats" not in c.sentence
                assert "within noise" in c.sentence
            else:
                assert c.winner == ("A" if sa / na > sb / nb else "B")
                assert c.sentence.startswith(f"{c.winner} beats ")


def test_sentences_carry_both_estimates_and_intervals():
    c = compare("CoT", 1, 30, "BFS", 25, 30)
    assert isinstance(c, Comparison) and c.winner == "BFS" and str(c) == c.sentence
    assert c.sentence == (f"BFS beats CoT: 25/30 (83%, 95% interval {c.b.low:.0%}–"
                          f"{c.b.high:.0%}) against 1/30 (3%, 95% interval 1%–17%).")
    same = compare("CoT", 2, 30, "BFS", 4, 30)
    assert same.winner is None and same.sentence.startswith("CoT and BFS are within noise: 2/30")
    assert math.isclose(same.a.rate, 2 / 30) and same.a.low < same.a.rate < same.a.high


def test_outcome_lists_give_the_same_comparison():
    a, b = [1, 0, 0, 1, 1], [True, False, False, False, False]
    assert compare_outcomes("a", a, "b", b) == compare("a", 3, 5, "b", 1, 5)


@pytest.mark.parametrize(("args", "match"), [
    (("A", 5, 4, "B", 1, 4), "successes must be a whole number from 0 to 4"),
    (("A", 1, 0, "B", 1, 4), "n must be a whole number >= 1"),
    (("A", 1.5, 4, "B", 1, 4), "successes must be"),
    (("A", 1, 4, "A", 1, 4), "different names"),
])
def test_bad_counts_say_what_to_pass(args, match):
    with pytest.raises(ValueError, match=match):
        compare(*args)


def test_bad_outcome_lists_say_what_to_pass():
    with pytest.raises(ValueError, match="0/1"):
        compare_outcomes("a", [], "b", [1])
    with pytest.raises(ValueError, match="0/1"):
        compare_outcomes("a", [2, 0], "b", [1])
    with pytest.raises(ValueError, match="z must be"):
        wilson_interval(1, 2, z=0)
