import ast
import json
import re
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import pytest

from itc_lab import datasets as D
from itc_lab.answers import extract_answer, normalize_number
from itc_lab.datasets import Dataset, Problem, available, evaluate, load, register_dataset
from itc_lab.datasets import arith as DA
from itc_lab.datasets import base as DB

BUILT_IN = ("arith", "arith-curated", "last-letters", "coin-flip")
GENERATED = ("arith", "last-letters", "coin-flip")


def calc(expression: str) -> Fraction:
    """An evaluator written for the tests, independent of itc_lab: numbers and + - * / only."""
    def walk(node: ast.AST) -> Fraction:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return Fraction(repr(node.value))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -walk(node.operand)
        if isinstance(node, ast.BinOp):
            a, b = walk(node.left), walk(node.right)
            ops = {ast.Add: a + b, ast.Sub: a - b, ast.Mult: a * b}
            if isinstance(node.op, ast.Div):
                return a / b
            return ops[type(node.op)]
        raise AssertionError(f"unexpected {ast.dump(node)} in {expression!r}")
    return walk(ast.parse(expression, mode="eval"))


def canonical(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    return f"{value.numerator}/{value.denominator}"


def operations(expression: str) -> int:
    return sum(isinstance(n, ast.BinOp) for n in ast.walk(ast.parse(expression, mode="eval")))


def wrong_answer(problem: Problem) -> str:
    if problem.kind == "number":
        return canonical(Fraction(problem.answer) + 1)
    if problem.answer in ("yes", "no"):
        return "no" if problem.answer == "yes" else "yes"
    return problem.answer + "x"


ARITH_SETTINGS = [
    {"difficulty": 1}, {"difficulty": 2}, {"difficulty": 3},
    {"steps": 4, "max_value": 1000, "distractors": 0},
    {"steps": 1, "max_value": 10, "distractors": 2},
    {"difficulty": 3, "steps": 4, "max_value": 10_000},
]


# ---------------------------------------------------------------------------------------------
# the registry and load()


def test_available_lists_the_built_in_datasets():
    assert set(BUILT_IN) <= set(available())
    assert available() == sorted(available())


@pytest.mark.parametrize("name", GENERATED)
def test_generation_is_deterministic_by_seed_and_a_prefix_for_smaller_n(name):
    a = load(name, n=30, seed=4)
    assert a == load(name, n=30, seed=4)
    assert [p.question for p in a] != [p.question for p in load(name, n=30, seed=5)]
    assert load(name, n=10, seed=4).problems == a.problems[:10]
    assert len(load(name)) == D.DEFAULT_SIZE
    assert len({p.id for p in a}) == len({p.question for p in a}) == 30


def test_ids_follow_the_documented_pattern():
    assert load("arith", n=8, seed=0, difficulty=2)[7].id == "arith-d2-s0-0007"
    assert load("arith", n=1, seed=3, steps=4, max_value=99)[0].id == "arith-st4-mv99-di1-s3-0000"
    assert load("last-letters", n=1, seed=2, words=3)[0].id == "last-letters-w3-s2-0000"
    assert load("coin-flip", n=1, seed=1, flips=4)[0].id == "coin-flip-p4-s1-0000"
    assert load("arith-curated")[0].id == "curated-01"


def test_unknown_dataset_names_the_available_ones():
    with pytest.raises(ValueError) as err:
        load("gsm8k")
    assert all(name in str(err.value) for name in BUILT_IN)


@pytest.mark.parametrize("name, knobs, words", [
    ("arith", {"steps": 0}, "steps must be a whole number from 1 to 4"),
    ("arith", {"steps": 5}, "from 1 to 4"),
    ("arith", {"steps": 2.0}, "from 1 to 4"),
    ("arith", {"steps": True}, "from 1 to 4"),
    ("arith", {"difficulty": 4}, "difficulty must be a whole number from 1 to 3"),
    ("arith", {"max_value": 9}, "max_value must be a whole number from 10 to 10000"),
    ("arith", {"distractors": 3}, "distractors must be a whole number from 0 to 2"),
    ("arith", {"step": 2}, "its knobs are: difficulty (1-3), steps (1-4)"),
    ("arith-curated", {"difficulty": 1}, "it has no knobs"),
    ("last-letters", {"words": 1}, "words must be a whole number from 2 to 4"),
    ("last-letters", {"words": 5}, "from 2 to 4"),
    ("last-letters", {"flips": 2}, "its knobs are: words (2-4)"),
    ("coin-flip", {"flips": 1}, "flips must be a whole number from 2 to 4"),
    ("coin-flip", {"flips": 5}, "from 2 to 4"),
    ("coin-flip", {"people": 3}, "its knobs are: flips"),
])
def test_bad_knobs_say_the_allowed_range(name, knobs, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        load(name, n=2, **knobs)


@pytest.mark.parametrize("kwargs, words", [
    ({"n": 0}, "n must be a whole number >= 1"),
    ({"n": 2.5}, "n must be a whole number >= 1"),
    ({"n": 10_001}, "at most 10000"),
    ({"seed": -1}, "seed must be a whole number >= 0"),
    ({"seed": "a"}, "seed must be a whole number >= 0"),
])
def test_bad_n_and_seed_are_explained(kwargs, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        load("arith", **kwargs)


def test_register_dataset_like_an_extension(monkeypatch):
    monkeypatch.setattr(DB, "_REGISTRY", dict(DB._REGISTRY))

    def tiny(n=None, seed=0, **knobs):
        problems = (Problem("t-1", "2 + 2 = ?", "4", solution="2 + 2 = 4. The answer is 4."),
                    Problem("t-2", "3 + 3 = ?", "6", solution="3 + 3 = 6. The answer is 6."))
        return Dataset("tiny", problems, "# tiny", {"n": n, "seed": seed, **knobs})

    register_dataset("tiny", tiny)
    assert "tiny" in available()
    assert load("tiny", level=1).params == {"n": None, "seed": 0, "level": 1}
    with pytest.raises(ValueError, match="already registered"):
        register_dataset("tiny", tiny)
    register_dataset("tiny", lambda n=None, seed=0: "not a dataset", replace=True)
    with pytest.raises(TypeError, match="not a Dataset"):
        load("tiny")
    with pytest.raises(TypeError, match="callable"):
        register_dataset("other", "nope")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# gold answers, recomputed independently


@pytest.mark.parametrize("knobs", ARITH_SETTINGS)
def test_arith_answers_recomputed_from_the_expression(knobs):
    ds = load("arith", n=150, seed=11, **knobs)
    for p in ds:
        m = p.meta
        assert p.answer == canonical(calc(m["expression"])), p.id
        assert operations(m["expression"]) == m["steps"] == len(m["ops"])
        assert len(m["operands"]) == m["steps"] + 1
        # replay the steps: whole numbers from 1 to max_value all along
        state = Fraction(m["operands"][0])
        for op, b in zip(m["ops"], m["operands"][1:], strict=True):
            state = calc(f"{state} {op} {b}")
            assert state.denominator == 1 and 1 <= state <= m["max_value"], p.id
            if op in "+-":
                assert re.search(rf"\b{b}\b", p.question), (p.id, b)
            else:
                assert 2 <= b <= 5
        assert canonical(state) == p.answer
        assert len(m["distractor_values"]) == m["distractors"]
        for x in m["distractor_values"]:
            assert re.search(rf"\b{x}\b", p.question)
        assert p.question.endswith("?") and m["name"] and m["scene"]


def test_arith_knobs_and_presets():
    for difficulty, preset in DA.ARITH_PRESETS.items():
        ds = load("arith", n=40, seed=0, difficulty=difficulty)
        assert {p.meta["difficulty"] for p in ds} == {difficulty}
        for key, value in preset.items():
            assert {p.meta[key] for p in ds} == {value}
        assert ds.params["steps"] == preset["steps"]
    custom = load("arith", n=40, seed=0, difficulty=1, steps=3)
    assert {p.meta["difficulty"] for p in custom} == {None}
    assert {p.meta["steps"] for p in custom} == {3}
    assert max(int(p.answer) for p in load("arith", n=100, seed=0, max_value=10_000)) > 100
    ops = {op for p in load("arith", n=200, seed=0, difficulty=3) for op in p.meta["ops"]}
    assert ops == {"+", "-", "*", "/"}
    scenes = {p.meta["scene"] for p in load("arith", n=200, seed=0)}
    assert len(scenes) >= 6


def test_arith_curated_answers_recomputed():
    ds = load("arith-curated")
    assert len(ds) == 40
    steps = [p.meta["steps"] for p in ds]
    assert set(steps) == {1, 2} and steps.count(1) >= 15 and steps.count(2) >= 15
    for p in ds:
        expression = p.meta["expression"]
        assert p.answer == canonical(calc(expression)), p.id
        assert operations(expression) == p.meta["steps"], p.id
        in_question = {normalize_number(t) for t in re.findall(r"\d[\d,]*(?:\.\d+)?", p.question)}
        if "half" in p.question:
            in_question.add("2")
        numbers = re.findall(r"\d+(?:\.\d+)?", expression)
        assert {normalize_number(x) for x in numbers} <= in_question, p.id
    answers = {p.answer for p in ds}
    assert {"5/2", "3/4", "1/2", "-5"} <= answers


def test_arith_curated_file_is_checked_when_loading(tmp_path, monkeypatch):
    lines = Path(D.data_dir(), DA.CURATED_FILE).read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[0])
    record["answer"] = "13"
    (tmp_path / DA.CURATED_FILE).write_text(json.dumps(record) + "\n", encoding="utf-8")
    monkeypatch.setattr(DB, "data_dir", lambda: tmp_path)
    DA._curated_problems.cache_clear()
    try:
        with pytest.raises(ValueError, match=r"line 1: the expression '7 \+ 5' gives 12"):
            DA._curated_problems()
    finally:
        DA._curated_problems.cache_clear()


def test_arith_curated_n_is_a_seeded_sample():
    a = load("arith-curated", n=10, seed=3)
    assert len(a) == 10 and a == load("arith-curated", n=10, seed=3)
    assert a != load("arith-curated", n=10, seed=4)
    ids = [p.id for p in a]
    assert ids == sorted(ids)
    with pytest.raises(ValueError, match="from 1 to 40"):
        load("arith-curated", n=41)


@pytest.mark.parametrize("words", [2, 3, 4])
def test_last_letters_answers_recomputed_from_the_names(words):
    first, last = DB.name_lists()
    for p in load("last-letters", n=100, seed=7, words=words):
        names = p.meta["names"]
        assert len(names) == words == p.meta["words"]
        assert len(set(names[:-1])) == words - 1
        assert set(names[:-1]) <= set(first) and names[-1] in last
        assert f'"{" ".join(names)}"' in p.question
        assert p.answer == "".join(name[-1] for name in names).lower()
        assert p.kind == "text"


@pytest.mark.parametrize("flips", [2, 3, 4])
def test_coin_flip_answers_recomputed_from_the_flips(flips):
    ds = load("coin-flip", n=100, seed=9, flips=flips)
    for p in ds:
        people, flipped = p.meta["people"], p.meta["flipped"]
        assert len(people) == len(set(people)) == len(flipped) == flips == p.meta["flips"]
        assert p.answer == ("yes" if sum(flipped) % 2 == 0 else "no")
        assert p.meta["times_flipped"] == sum(flipped)
        for person, did in zip(people, flipped, strict=True):
            sentence = f"{person} flips the coin." if did else f"{person} does not flip the coin."
            assert sentence in p.question
        assert p.question.startswith("A coin is heads up.")
        assert p.question.endswith("Is the coin still heads up?")
    yes = sum(p.answer == "yes" for p in ds)
    assert 30 <= yes <= 70


# ---------------------------------------------------------------------------------------------
# checking answers


@pytest.mark.parametrize("name", BUILT_IN)
def test_each_problem_accepts_its_solution_and_rejects_a_wrong_answer(name):
    for p in load(name, n=None if name == "arith-curated" else 60, seed=2):
        found = extract_answer(p.solution, p.kind)
        final = f"The answer is {found.raw}."
        assert p.solution.endswith(final) and found.method == "answer-is"
        assert p.check(p.solution), p.id
        assert p.check(found)
        assert p.check(f"Let me think. The answer is {p.answer}.")
        wrong = wrong_answer(p)
        assert not p.check(f"The answer is {wrong}."), p.id
        assert not p.check(p.solution.replace(final, f"The answer is {wrong}."))
        assert not p.check("I don't know.") or p.kind == "text"
        assert not p.check(None)


def test_check_accepts_equivalent_forms():
    p = Problem("x", "Half of 5?", "5/2", solution="5 ÷ 2 = 2.5. The answer is 2.5.")
    assert p.check("The answer is 2.50") and p.check("\\boxed{\\frac{5}{2}}")
    assert p.check("#### 5/2") and not p.check("The answer is 2")
    q = Problem("y", 'Take the last letters of the words in "Elon Musk" and concatenate them.',
                "nk", kind="text")
    assert q.check('The answer is "NK".') and not q.check("The answer is kn.")


def test_problem_validates_its_answer_and_kind():
    with pytest.raises(ValueError, match="canonical form '5/2'"):
        Problem("x", "q", "2.5")
    with pytest.raises(ValueError, match="not a number"):
        Problem("x", "q", "lots")
    with pytest.raises(ValueError, match="kind must be one of"):
        Problem("x", "q", "4", kind="math")
    with pytest.raises(ValueError, match="question must be a non-empty string"):
        Problem("x", "  ", "4")
    with pytest.raises(ValueError, match="canonical form 'nk'"):
        Problem("x", "q", "NK", kind="text")


# ---------------------------------------------------------------------------------------------
# exemplars, the sequence protocol, sample and filter


@pytest.mark.parametrize("name", BUILT_IN)
def test_exemplars_never_include_the_excluded_problem(name):
    ds = load(name, n=None if name == "arith-curated" else 40, seed=1)
    fixed = ds.exemplars(4, exclude=None, seed=5)
    for p in ds:
        shots = ds.exemplars(4, exclude=p, seed=5)
        assert len(shots) == 4 and len({s.id for s in shots}) == 4
        assert p not in shots
        assert all(s.id != p.id and s.question != p.question for s in shots)
        assert shots == ds.exemplars(4, exclude=p, seed=5)
        if p not in fixed:
            assert shots == fixed  # the few-shot prompt stays the same across problems
    assert ds.exemplars(4, exclude=None, seed=6) != fixed


def test_exemplars_exclude_problems_with_the_same_question():
    p = Problem("a", "What is 2 + 2?", "4", solution="The answer is 4.")
    twin = Problem("b", "  what is 2 +  2? ", "4", solution="The answer is 4.")
    other = Problem("c", "What is 3 + 3?", "6", solution="The answer is 6.")
    ds = Dataset("twins", (p, twin, other))
    for seed in range(10):
        assert ds.exemplars(1, exclude=p, seed=seed) == (other,)
    with pytest.raises(ValueError, match="only 1 problems besides the excluded one"):
        ds.exemplars(2, exclude=p)
    with pytest.raises(ValueError, match="whole number >= 0"):
        ds.exemplars(-1, exclude=p)
    with pytest.raises(TypeError, match="exclude must be the Problem"):
        ds.exemplars(1, exclude="a")  # type: ignore[arg-type]
    # a problem from another dataset with the same question is excluded too
    foreign = Problem("z-1", "What is 3 + 3?", "6")
    assert other not in ds.exemplars(2, exclude=foreign)


def test_dataset_is_a_sequence():
    ds = load("arith", n=20, seed=0)
    assert len(ds) == 20 and ds[0] is ds.problems[0] and ds[-1] is ds.problems[-1]
    head = ds[:5]
    assert isinstance(head, Dataset) and len(head) == 5
    assert head.name == ds.name and head.card == ds.card and head.problems == ds.problems[:5]
    assert list(ds) == list(ds.problems)
    assert ds[3] in ds and ds.index(ds[3]) == 3
    assert "20 problems" in repr(ds)
    with pytest.raises(IndexError):
        ds[20]


def test_sample_is_seeded_and_distinct():
    ds = load("last-letters", n=50, seed=0)
    s = ds.sample(10, seed=1)
    assert s == ds.sample(10, seed=1) and s != ds.sample(10, seed=2)
    assert len({p.id for p in s}) == 10 and set(s) <= set(ds)
    with pytest.raises(ValueError, match="from 0 to 50"):
        ds.sample(51)


def test_filter_on_meta():
    ds = load("arith-curated")
    two = ds.filter(steps=2)
    assert len(two) > 0 and all(p.meta["steps"] == 2 for p in two)
    assert len(ds.filter(steps=(1, 2))) == len(ds)
    assert all("*" in p.meta["expression"] for p in ds.filter(expression=lambda e: "*" in e))
    with pytest.raises(ValueError, match="filter on one of"):
        ds.filter(difficulty=1)


def test_datasets_reject_repeated_ids():
    p = Problem("a", "q1", "1")
    with pytest.raises(ValueError, match="repeated problem ids"):
        Dataset("d", (p, Problem("a", "q2", "2")))


@pytest.mark.parametrize("name", BUILT_IN)
def test_round_trips_through_json(name):
    ds = load(name, n=5, seed=0)
    again = Dataset.from_dict(json.loads(json.dumps(ds.to_dict())))
    assert again == ds
    assert Problem.from_dict(json.loads(json.dumps(ds[0].to_dict()))) == ds[0]
    with pytest.raises(ValueError, match="no field"):
        Problem.from_dict({**ds[0].to_dict(), "gold": "1"})


# ---------------------------------------------------------------------------------------------
# the safe evaluator, cards and data files


@pytest.mark.parametrize("expression, value", [
    ("3 + 2 * 4", Fraction(11)), ("(3 + 2) * 4", Fraction(20)), ("7 / 2", Fraction(7, 2)),
    ("-3 - -2", Fraction(-1)), ("2.5 * 4", Fraction(10)), ("1 - 0.1", Fraction(9, 10)),
])
def test_evaluate(expression, value):
    assert evaluate(expression) == value == calc(expression)


@pytest.mark.parametrize("expression", [
    "__import__('os').system('echo hi')", "2 ** 100", "x + 1", "abs(-1)", "1 if 1 else 2",
    "[1][0]", "1; 2", "", "3 // 2", "'a' * 3", "True + 1", "1 / 0", "1 +",
])
def test_evaluate_rejects_anything_but_arithmetic(expression):
    with pytest.raises(ValueError):
        evaluate(expression)


@pytest.mark.parametrize("name", BUILT_IN)
def test_every_card_names_source_license_and_fields(name):
    path = D.data_dir() / f"{name}.md"
    assert path.is_file()
    card = path.read_text(encoding="utf-8")
    for heading in ("## Source", "## License", "## Fields", "## How answers are checked",
                    "## Knobs"):
        assert heading in card, (name, heading)
    assert "Apache-2.0" in card and "itc-lab" in card
    assert load(name, n=1).card == card
    fields = {"`id`", "`question`", "`answer`", "`kind`", "`solution`"}
    assert all(f in card for f in fields)
    if name in ("last-letters", "coin-flip"):
        assert "Wei et al." in card and "public domain" in card


def test_readme_indexes_every_dataset():
    readme = (D.data_dir() / "README.md").read_text(encoding="utf-8")
    for name in BUILT_IN:
        assert f"[`{name}`]({name}.md)" in readme


def test_names_list():
    first, last = DB.name_lists()
    assert len(first) >= 150 and len(last) >= 100
    assert len(set(first)) == len(first) and len(set(last)) == len(last)
    assert all(n.isascii() and n.isalpha() and n[0].isupper() for n in first + last)
    text = (D.data_dir() / "names.txt").read_text(encoding="utf-8")
    assert "public domain" in text


def test_data_dir_prefers_the_installed_package(monkeypatch, tmp_path):
    assert (D.data_dir() / "README.md").is_file()
    fake = SimpleNamespace(submodule_search_locations=[str(tmp_path)], origin=None)
    monkeypatch.setattr(DB.importlib.util, "find_spec",
                        lambda name: fake if name == "itc_lab._datasets" else None)
    assert D.data_dir() == tmp_path
