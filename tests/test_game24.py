import itertools
import random
import time
from fractions import Fraction

import pytest

from itc_lab import datasets as D
from itc_lab.answers import Answer
from itc_lab.datasets import game24 as G
from itc_lab.datasets.game24 import (
    canonical,
    check_answer,
    check_expression,
    count_solutions,
    extract_expression,
    solve,
)

ALL = list(itertools.combinations_with_replacement(range(1, 14), 4))

# The five ways to put brackets on a op b op c op d, written independently of itc_lab.
SHAPES = ("(({a} {x} {b}) {y} {c}) {z} {d}", "({a} {x} ({b} {y} {c})) {z} {d}",
          "({a} {x} {b}) {y} ({c} {z} {d})", "{a} {x} (({b} {y} {c}) {z} {d})",
          "{a} {x} ({b} {y} ({c} {z} {d}))")


def _op(sym, p, q):
    if sym == "+":
        return p + q
    if sym == "-":
        return p - q
    if sym == "*":
        return p * q
    return None if q == 0 else p / q


def _shape_value(k, n, ops):
    a, b, c, d = (Fraction(v) for v in n)
    x, y, z = ops

    def f(s, p, q):
        return None if p is None or q is None else _op(s, p, q)

    if k == 0:
        return f(z, f(y, f(x, a, b), c), d)
    if k == 1:
        return f(z, f(x, a, f(y, b, c)), d)
    if k == 2:
        return f(y, f(x, a, b), f(z, c, d))
    if k == 3:
        return f(x, a, f(z, f(y, b, c), d))
    return f(x, a, f(y, b, f(z, c, d)))


def brute_force(numbers, target=24):
    """Every expression (text) over all orders x 5 bracketings x 4^3 operators equal to target."""
    hits = []
    for order in set(itertools.permutations(numbers)):
        for ops in itertools.product("+-*/", repeat=3):
            for k, shape in enumerate(SHAPES):
                if _shape_value(k, order, ops) == target:
                    a, b, c, d = order
                    hits.append(shape.format(a=a, b=b, c=c, d=d, x=ops[0], y=ops[1], z=ops[2]))
    return hits


# ----- solver ----------------------------------------------------------------------------------


def test_labels_agree_with_brute_force_on_a_random_sample():
    sample = random.Random(2024).sample(ALL, 60)
    for numbers in sample:
        hits = brute_force(numbers)
        assert bool(hits) == bool(solve(list(numbers))), numbers
        # Every brute-force solution is one of the solver's, and the solver finds them all.
        assert {canonical(h) for h in hits} == set(solve(list(numbers))), numbers


@pytest.mark.parametrize(("numbers", "solvable"), [
    ((1, 1, 1, 1), False), ((4, 9, 10, 13), True), ((1, 1, 11, 11), True), ((3, 3, 8, 8), True),
    ((1, 5, 5, 5), True), ((1, 1, 1, 2), False), ((13, 13, 13, 13), False), ((6, 6, 6, 6), True),
])
def test_known_puzzles(numbers, solvable):
    assert bool(solve(numbers)) is solvable
    assert G.is_solvable(numbers) is solvable
    assert count_solutions(numbers) == len(solve(numbers))


def test_fraction_only_solutions():
    assert solve([3, 3, 8, 8]) == ["8 / (3 - 8 / 3)"]
    assert solve([1, 5, 5, 5]) == ["5 * (5 - 1 / 5)"]


def test_solutions_are_valid_distinct_and_canonical():
    for numbers in [(4, 9, 10, 13), (1, 2, 3, 4), (2, 3, 4, 6), (1, 1, 11, 11)]:
        sols = solve(numbers)
        assert len(sols) == len(set(sols))
        for s in sols:
            assert check_expression(s, numbers) == (True, f"correct: {s} = 24")
            assert canonical(s) == s


def test_canonical_identifies_commutativity_and_regrouping():
    assert canonical("3*8") == canonical("8 × 3") == "8 * 3"
    assert canonical("(13-9)*(10-4)") == canonical("(10 - 4) * (13 - 9)")
    assert canonical("10 - (4 - 13)") == canonical("10 + 13 - 4")
    assert canonical("8 / (1 / 3)") == canonical("8 * 3 / 1")
    assert canonical("4 * 6 * 1") != canonical("4 * 6 / 1")
    with pytest.raises(ValueError, match="divides by zero"):
        canonical("1 / (2 - 2)")


def test_solve_takes_other_targets_and_sizes():
    assert solve([5], 5) == ["5"]
    assert solve([2, 3], 6) == ["3 * 2"]
    assert solve([2, 2], 0) == ["2 - 2"]
    assert count_solutions([1, 2, 3, 4, 5], 100) > 0
    with pytest.raises(ValueError):
        solve([])
    with pytest.raises(ValueError):
        solve([1, 2, -3, 4])
    with pytest.raises(TypeError):
        solve("4 9 10 13")  # type: ignore[arg-type]


def test_count_of_solvable_multisets_and_speed():
    G._ways.cache_clear()
    G._values.cache_clear()
    start = time.perf_counter()
    counts = [count_solutions(n) for n in ALL]
    assert time.perf_counter() - start < 30
    assert len(ALL) == 1820
    assert sum(1 for c in counts if c) == 1362


# ----- checker ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("expr", "numbers"), [
    ("(13 - 9) * (10 - 4)", (4, 9, 10, 13)),
    ("(10-4)×(13−9)", (13, 10, 9, 4)),
    ("8 ÷ (3 - 8 ÷ 3)", (3, 3, 8, 8)),
    ("  ((1 + 1) * 3) * 4 ", (1, 1, 3, 4)),
    ("11 + 11 + 1 + 1", (1, 1, 11, 11)),
    ("5 * (5 - 1 / 5)", (5, 1, 5, 5)),
])
def test_checker_accepts_valid_solutions(expr, numbers):
    ok, reason = check_expression(expr, numbers)
    assert ok, reason
    assert reason.startswith("correct")


@pytest.mark.parametrize(("expr", "needle"), [
    ("(13 - 9) * (10 - 4) + 4 - 4", "uses 4 3 times"),
    ("(13 - 9) * 6", "uses 6, which is not one of 4 9 10 13"),
    ("13 + 9 + 4", "does not use 10"),
    ("(13 - 9) * (10 - 7)", "uses 7, which is not one of 4 9 10 13"),
    ("(10 + 9 - 13) * 4 + 0", "uses 0"),
    ("4 ** 9 - 10 - 13", "'**' is not allowed"),
    ("4 // 9 + 10 + 13", "'//' is not allowed"),
    ("4 % 9 + 10 + 13", "'%' is not allowed"),
    ("4 ^ 9 + 10 + 13", "'^' is not allowed"),
    ("x + 4 + 9 + 10 + 13", "unknown character 'x'"),
    ("4_9 + 10 + 13", "unknown character '_'"),
    ("().__class__", "unknown character '.'"),
    ("__import__('os')", "unknown character '_'"),
    ("1;import os", "unknown character ';'"),
    ("abs(4) * 9 + 10 + 13", "unknown character 'a'"),
    ("4.0 * 9 + 10 + 13", "unknown character '.'"),
    ("((13 - 9) * (10 - 4)", "'(' at position 0 is never closed"),
    ("(13 - 9)) * (10 - 4)", "')' at position 8 has no matching '('"),
    ("(13 - 9) * (10 - 4) +", "ends after '+'"),
    ("13 9 - 4 - 10", "missing operator"),
    ("4(13 - 9) + 10", "missing operator before '('"),
    ("-4 + 9 + 10 + 13", "unary '-'"),
    ("4 * * 9 + 10 + 13", "follows another operator"),
    ("()", "expected a number"),
    ("", "empty"),
    ("   ", "empty"),
    ("(13 - 9) * (10 + 4)", "equals 56, not 24"),
    ("13 + 10 + 9 / 4", "equals 101/4, not 24"),
    ("(13 - 9) / (10 - 10)", "uses 10 twice"),
])
def test_checker_rejects_with_a_clear_reason(expr, needle):
    ok, reason = check_expression(expr, (4, 9, 10, 13))
    assert not ok
    assert needle in reason, reason


def test_checker_reports_division_by_zero_and_reuse_messages():
    assert check_expression("4 / (5 - 5) + 9", (4, 5, 5, 9)) == (
        False, "divides by zero: (5 - 5) is 0")
    assert check_expression("5 * 5 - 1", (5, 1, 3, 4))[1].startswith(
        "uses 5 twice, but it is given once")
    assert check_expression("1 + 2 + 3", (1, 2, 3))[1] == "equals 6, not 24"


def test_checker_caps_the_length():
    long = "(" * 150 + "4" + ")" * 150
    ok, reason = check_expression(long, (4,), 4)
    assert not ok and "too long" in reason and str(G.MAX_LENGTH) in reason
    ok, reason = check_expression("1 + " * 1000 + "1", (1, 1))
    assert not ok and "too long" in reason
    deep = "(" * 99 + "4" + ")" * 99
    assert check_expression(deep, (4,), 4)[0]


def test_checker_never_runs_code(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("eval/compile must not be called")

    import builtins
    monkeypatch.setattr(builtins, "eval", boom)
    monkeypatch.setattr(builtins, "compile", boom)
    monkeypatch.setattr(builtins, "exec", boom)
    assert check_expression("(13 - 9) * (10 - 4)", (4, 9, 10, 13))[0]
    assert not check_expression("__import__('os').system('echo hi')", (4, 9, 10, 13))[0]
    with open(G.__file__, encoding="utf-8") as f:
        source = f.read()
    assert "eval(" not in source.replace("_evaluate(", "") and "import ast" not in source


def test_checker_rejects_a_non_string():
    ok, reason = check_expression(24, (4, 9, 10, 13))  # type: ignore[arg-type]
    assert not ok and "str" in reason


# ----- extraction ------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("Let me think.\n13 - 9 = 4\n10 - 4 = 6\n(13 - 9) * (10 - 4) = 24", "(13 - 9) * (10 - 4)"),
    ("Answer: (13 - 9) * (10 - 4)", "(13 - 9) * (10 - 4)"),
    ("**Answer:** (13-9)*(10-4) = 24. Done!", "(13-9)*(10-4)"),
    ("The answer is $(13 - 9) \\times (10 - 4) = 24$.", "(13 - 9) × (10 - 4)"),
    ("so \\boxed{(13-9)\\cdot(10-4)}", "(13-9)*(10-4)"),
    ("<think>Answer: 1 + 1</think>\nTry: 24 = (13 - 9) * (10 - 4)", "(13 - 9) * (10 - 4)"),
    ("I tried many things.\n(13 - 9) * (10 - 4)", "(13 - 9) * (10 - 4)"),
    ("I could not find it.", None),
    ("", None),
])
def test_extract_expression(text, expected):
    assert extract_expression(text) == expected


def test_extract_never_raises():
    for text in (None, 42, "=" * 50, "Answer:", "\\boxed{}", "= 24", "(((("):
        extract_expression(text)  # type: ignore[arg-type]


def test_check_answer():
    assert check_answer("Answer: (13 - 9) * (10 - 4)", (4, 9, 10, 13))[0]
    assert check_answer("Answer: 13 + 9 + 10 - 4 - 4", (4, 9, 10, 13)) == (
        False, "uses 4 twice, but it is given once")
    assert check_answer("no idea", (4, 9, 10, 13)) == (False, "no expression found in the answer")
    assert check_answer("There is no solution.", (1, 1, 1, 1), solvable=False)[0]
    assert check_answer("It is impossible to make 24.", (1, 1, 1, 1), solvable=False)[0]
    assert not check_answer("Answer: 1 + 1 + 1 + 1", (1, 1, 1, 1), solvable=False)[0]


# ----- dataset ---------------------------------------------------------------------------------


def test_dataset_is_registered_and_labelled():
    assert "game24" in D.available()
    ds = D.load("game24")
    assert len(ds) == 1362
    p = next(p for p in ds if p.meta["numbers"] == [4, 9, 10, 13])
    assert p.id == "game24-4-9-10-13"
    assert p.question == "Use the numbers 4 9 10 13 and + - * / to make 24."
    assert p.answer == "24" and p.kind == "number"
    assert p.meta["solvable"] is True and p.meta["target"] == 24
    assert p.meta["n_solutions"] == len(solve([4, 9, 10, 13]))
    assert p.meta["solutions"] == solve([4, 9, 10, 13])[:5]
    assert p.meta["difficulty"] == G.difficulty_of(p.meta["n_solutions"])
    assert p.check("So the answer is: (13 - 9) * (10 - 4) = 24")
    assert not p.check("The answer is 24")
    assert not p.check(None)
    assert p.check(Answer("24", "(13 - 9) * (10 - 4)", "answer-is"))
    assert p.explain("Answer: 13 + 9 + 4 - 10") == (False, "equals 16, not 24")


def test_every_solution_text_checks_and_labels_match_a_fresh_solve():
    ds = D.load("game24", include_unsolvable=True)
    assert len(ds) == 1820
    assert sum(p.meta["solvable"] for p in ds) == 1362
    for p in ds:
        assert p.check(p.solution), p.id
        assert p.meta["n_solutions"] == count_solutions(p.meta["numbers"])
        assert p.meta["solvable"] == (p.meta["n_solutions"] > 0)
        if p.meta["solvable"]:
            assert p.solution.endswith(f"The answer is {p.meta['solutions'][0]} = 24.")
        else:
            assert p.meta["difficulty"] is None and p.meta["solutions"] == []


def test_difficulty_knob_and_sampling():
    for level in (1, 2, 3):
        ds = D.load("game24", difficulty=level)
        assert len(ds) > 300
        assert all(p.meta["difficulty"] == level for p in ds)
    assert D.load("game24", difficulty=3).filter(n_solutions=1) == D.load("game24", difficulty=3)
    small, big = D.load("game24", n=10, seed=3), D.load("game24", n=100, seed=3)
    assert list(small) == list(big)[:10]
    assert list(D.load("game24", n=10, seed=4)) != list(small)
    assert all(p.meta["solvable"] for p in big)
    assert D.load("game24", n=10, seed=3).params["seed"] == 3
    for bad in ({"difficulty": 0}, {"difficulty": "hard"}, {"include_unsolvable": 1},
                {"target": 10}):
        with pytest.raises(ValueError):
            D.load("game24", **bad)
    with pytest.raises(ValueError, match="only"):
        D.load("game24", n=5000)


def test_round_trip_keeps_the_data():
    ds = D.load("game24", n=3)
    again = D.Dataset.from_dict(ds.to_dict())
    assert [p.to_dict() for p in again] == [p.to_dict() for p in ds]


def test_card_and_readme():
    card = (D.data_dir() / "game24.md").read_text(encoding="utf-8")
    for heading in ("## Source", "## License", "## Fields", "## How answers are checked",
                    "## Knobs"):
        assert heading in card
    assert "Apache-2.0" in card and "itc-lab" in card
    assert all(f"`{f}`" in card for f in ("id", "question", "answer", "kind", "solution"))
    assert D.load("game24", n=1).card == card
    readme = (D.data_dir() / "README.md").read_text(encoding="utf-8")
    assert "[`game24`](game24.md)" in readme


def _reduce_all(values):
    """Independent check: combine any two values with any operation until one is left."""
    if len(values) == 1:
        return {values[0]}
    out = set()
    for i, j in itertools.permutations(range(len(values)), 2):
        rest = [v for k, v in enumerate(values) if k not in (i, j)]
        a, b = values[i], values[j]
        for v in [a + b, a - b, a * b] + ([a / b] if b else []):
            out |= _reduce_all([*rest, v])
    return out


def test_reachable_handles_the_fractions_and_negatives_met_mid_search():
    rng = random.Random(5)
    for _ in range(400):
        values = [Fraction(rng.randint(-13, 13), rng.choice([1, 1, 2, 3]))
                  for _ in range(rng.randint(1, 3))]
        assert G.reachable(values) == (Fraction(24) in _reduce_all(values))
    assert G.reachable([Fraction(5, 2), 9, 13]) is False
    assert G.reachable([Fraction(1, 2), 48]) is True
    with pytest.raises(ValueError, match="1 to 6 values"):
        G.reachable([])


def test_deep_parentheses_are_rejected_with_a_reason_not_a_recursion_error():
    for text in ["(" * 200, "(" * 101 + ")" * 99, "(" * 150]:
        ok, reason = G.check_expression(text, [24])  # RecursionError before
        assert not ok and "nested more than 100 deep" in reason
    assert G.check_expression("(" * 97 + "4 * 6" + ")" * 97, [4, 6])[0]
