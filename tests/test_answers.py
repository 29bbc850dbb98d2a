import json
import random
import time

import pytest

from itc_lab import answers
from itc_lab.answers import (
    KINDS,
    METHODS,
    Answer,
    extract_answer,
    is_correct,
    normalize_number,
    normalize_text,
)

# (model text, expected canonical value or None, expected method)
NUMBER_CASES = [
    ("The answer is 1,234.", "1234", "answer-is"),
    ("so he has $5.00 left", "5", "last-number"),
    ("#### 72", "72", "answer-is"),
    ("Natalia sold 48 + 24 = 72 clips.\n#### 72", "72", "answer-is"),
    ("\\boxed{\\frac{3}{4}}", "3/4", "boxed"),
    ("The final answer is $\\boxed{-\\frac{1}{2}}$.", "-1/2", "answer-is"),
    ("First 2 + 2 = 4, so \\boxed{4} and we are done", "4", "boxed"),
    ("x = -7", "-7", "last-number"),
    ("5 apples", "5", "final-line"),
    ("The answer is five.", "5", "answer-is"),
    ("answer: 2.50", "5/2", "answer-is"),
    ("I don't know", None, "none"),
    ("", None, "none"),
    ("   \n\t  ", None, "none"),
    ("It costs 3 dollars and 40 cents... The answer is 3.4", "17/5", "answer-is"),
    ("Step 1: 3+2=5. Step 2: 5*2=10. The answer is 10", "10", "answer-is"),
    ("−4", "-4", "final-line"),
    ("The temperature drops to −4 degrees.", "-4", "last-number"),
    ("1/2 of 10 is 5", "5", "last-number"),
    ("It takes 3-5 days", "5", "last-number"),
    ("somewhere between 3 and 5", "5", "last-number"),
    ("5 - 3 = 2", "2", "last-number"),
    ("She has twelve apples left.", "12", "word-number"),
    ("no one knows", None, "none"),
    ("twenty-one", "21", "final-line"),
    ("The answer is:\n\n42", "42", "answer-is"),
    ("So the answer is **$1,000,000**.", "1000000", "answer-is"),
    ("**Answer:** 17", "17", "answer-is"),
    ("The answer is 10 apples. Wait, the answer is 11 apples.", "11", "answer-is"),
    ("The answer is 5, not 6.", "5", "answer-is"),
    ("The answer is 3 + 4 = 7.", "7", "answer-is"),
    ("The answer is therefore 42 cookies", "42", "answer-is"),
    ("The answer is 12 because 3*4=12 and 12 > 10", "12", "answer-is"),
    ("Answer: 1 1/2 cups", "3/2", "answer-is"),
    ("The answer is 2 million", "2000000", "answer-is"),
    ("answer: 0.125", "1/8", "answer-is"),
    ("The answer is 25%.", "25", "answer-is"),
    ("The answer is -0", "0", "answer-is"),
    ("<think>maybe 7, or 9</think>The answer is 8", "8", "answer-is"),
    ("<think>The answer is 7</think>\nno idea", None, "none"),
    ("He is 3rd in line", None, "none"),
    ("1,2,3", "3", "last-number"),
    ("a dozen eggs", "12", "final-line"),
    ("They need one hundred and five chairs in total.", "105", "word-number"),
    ("The answer is not known yet", None, "none"),
    ("10/4", "5/2", "final-line"),
    ("3.", "3", "final-line"),
    ("In French notation the total is\n1 234 567", "1234567", "final-line"),
    ("Total: 7\n\nThat's 7 cookies!", "7", "last-number"),
    ("The recipe needs 2.5 cups.", "5/2", "last-number"),
    ("We get .5 of the pie", "1/2", "last-number"),
    ("Version v1.5 is out; no count", None, "none"),
    ("The answer is: x = 9", "9", "answer-is"),
    ("It takes 3½ hours", "7/2", "last-number"),
    ("The answer is ٣٤", "34", "answer-is"),
]


@pytest.mark.parametrize("text, value, method", NUMBER_CASES)
def test_extract_number(text, value, method):
    found = extract_answer(text)
    assert (found.value, found.method) == (value, method)
    assert found.parsed == (value is not None)
    if found.parsed:
        assert found.raw is not None and found.raw in text
    else:
        assert found == Answer(None, None, "none")


def test_number_table_is_large_and_covers_every_number_method():
    assert len(NUMBER_CASES) >= 40
    assert {m for _, _, m in NUMBER_CASES} == set(METHODS) - {"text"}


TEXT_CASES = [
    ('The answer is "nk".', "nk", "answer-is"),
    ("The answer is NK.", "nk", "answer-is"),
    ("So the answer is yes, it is still heads up.", "yes", "answer-is"),
    ("The answer is: No", "no", "answer-is"),
    ('The answer is nk (from "Elon" and "Musk").', "nk", "answer-is"),
    ("The answer is **ky**", "ky", "answer-is"),
    ('"KY".', "ky", "final-line"),
    ("Concatenating gives\nky", "ky", "final-line"),
    ("\\boxed{\\text{ky}}", "ky", "boxed"),
    ("No, the coin is not heads up.", "no", "text"),
    ("Two flips is even. So yes, it is heads up", "yes", "text"),
    ("The letters joined are nk", "nk", "text"),
    ("", None, "none"),
    ("... !!", None, "none"),
]


@pytest.mark.parametrize("text, value, method", TEXT_CASES)
def test_extract_text(text, value, method):
    found = extract_answer(text, "text")
    assert (found.value, found.method) == (value, method)


NORMALIZE_CASES = [
    ("2.5", "5/2"), ("2.50", "5/2"), ("5/2", "5/2"), ("10/4", "5/2"), ("\\frac{5}{2}", "5/2"),
    ("\\dfrac{10}{4}", "5/2"), ("1\\frac{1}{2}", "3/2"), ("1 1/2", "3/2"), ("-1 1/2", "-3/2"),
    ("\\frac{-3}{4}", "-3/4"), ("-\\frac{3}{4}", "-3/4"), ("\\frac34", "3/4"),
    ("42", "42"), ("-3", "-3"), ("+3", "3"), ("−4", "-4"), ("-0", "0"), ("0.0", "0"),
    ("1,234", "1234"), ("1,234,567.50", "2469135/2"), ("1 234", "1234"),
    ("1\u202f234", "1234"), ("1{,}234", "1234"),
    ("$5", "5"), ("$5.00", "5"), ("€3", "3"), ("£-2", "-2"), ("-$5", "-5"), ("5$", "5"),
    ("\\$12", "12"), ("5 apples", "5"), ("12 cm", "12"), ("3 km/h", "3"), ("90°", "90"),
    ("3%", "3"), ("3 percent", "3"), ("12.5\\%", "25/2"), ("1.5 million", "1500000"),
    ("(5)", "5"), ("**42**", "42"), ("42.", "42"), ("`7`", "7"), ("\\text{7 apples}", "7"),
    ("five", "5"), ("Five.", "5"), ("zero", "0"), ("twenty-one", "21"), ("ninety nine", "99"),
    ("a dozen", "12"), ("two dozen", "24"), ("a hundred", "100"), ("minus three", "-3"),
    ("two hundred and five", "205"), ("one thousand five hundred", "1500"),
    ("twenty-one apples", "21"), ("seventeen", "17"), ("3½", "7/2"), ("-2¾", "-11/4"),
    ("５", "5"),
    # not numbers, or ambiguous
    ("garbage", None), ("", None), ("   ", None), ("1,5", None), ("1.234,5", None),
    ("1/0", None), ("5 of 7", None), ("3 dollars and 40 cents", None), ("five five", None),
    ("one two three", None), ("a", None), ("hundred", None), ("no", None), ("x = 5", None),
    ("5-", None), ("--5", None), ("1e3", None), ("3.4.5", None), ("\\sqrt{2}", None),
    ("one of them", None), ("1 and 2", None),
]


@pytest.mark.parametrize("text, value", NORMALIZE_CASES)
def test_normalize_number(text, value):
    assert normalize_number(text) == value


def test_normalize_number_is_idempotent_and_rejects_non_strings():
    for text, value in NORMALIZE_CASES:
        if value is not None:
            assert normalize_number(value) == value, text
    assert normalize_number(None) is None  # type: ignore[arg-type]
    assert normalize_number(5) is None  # type: ignore[arg-type]


@pytest.mark.parametrize("text, value", [
    ('"KY".', "ky"), ("**ky**", "ky"), ("  Yes!  ", "yes"), ("New   York", "new york"),
    ("...", None), ("", None),
])
def test_normalize_text(text, value):
    assert normalize_text(text) == value


@pytest.mark.parametrize("answer, gold, kind, expected", [
    ("The answer is 2.50", "5/2", "number", True),
    ("The answer is 2.50", "2.5", "number", True),
    ("The answer is $2.5", "5/2", "number", True),
    ("The answer is 2.4", "5/2", "number", False),
    (Answer("10/4", "10/4", "final-line"), "5/2", "number", True),
    (Answer(None, None, "none"), "5", "number", False),
    (None, "5", "number", False),
    ("", "0", "number", False),
    ("The answer is \"NK\".", "nk", "text", True),
    ("The answer is nk.", "NK", "text", True),
    ("The answer is kn.", "nk", "text", False),
    ("No, it is tails up.", "no", "text", True),
    ("No, it is tails up.", "yes", "text", False),
])
def test_is_correct(answer, gold, kind, expected):
    assert is_correct(answer, gold, kind) is expected


def test_is_correct_rejects_a_gold_answer_it_cannot_read():
    with pytest.raises(ValueError, match="not a valid number"):
        is_correct("42", "forty-ish")
    with pytest.raises(ValueError, match="is empty"):
        is_correct("ky", "  ", "text")


def test_bad_kind_lists_the_valid_kinds():
    for call in (lambda: extract_answer("1", kind="math"), lambda: is_correct("1", "1", "math")):
        with pytest.raises(ValueError) as err:
            call()
        assert all(k in str(err.value) for k in KINDS)


def test_extract_answer_needs_a_string():
    with pytest.raises(TypeError, match=r"completion\.text"):
        extract_answer(None)  # type: ignore[arg-type]


def test_answer_round_trips_through_json_and_validates_method():
    a = extract_answer("so he has $5.00 left")
    again = Answer.from_dict(json.loads(json.dumps(a.to_dict())))
    assert again == a and again.parsed
    with pytest.raises(ValueError, match="method must be one of"):
        Answer("1", "1", "guess")
    with pytest.raises(ValueError, match="no field"):
        Answer.from_dict({"value": "1", "raw": "1", "method": "boxed", "extra": 1})


def test_extraction_never_raises_on_arbitrary_text():
    rng = random.Random(1234)
    alphabet = ("0123456789 ,.-+/$€%\\{}()[]*_#:=\n\t\"'abcxyzAnswerISboxedfrac−\u202f½²"
                "onetwentyhundredyesno")
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
        for kind in KINDS:
            found = extract_answer(text, kind)
            assert found.method in METHODS
            if found.parsed:
                assert found.raw is not None and found.raw in text
    long_text = "The answer is " + "1, " * 20000 + "and {" * 5000
    assert extract_answer(long_text).parsed


@pytest.mark.parametrize("text", [
    "#### " * 50000, "one " * 50000, "\\boxed{" * 20000, 'answer is "' * 20000, "a" * 300000,
    "answer:" + " " * 200000, " " * 300000, "The answer is " + "(" * 100000, "1." * 100000,
])
def test_extraction_stays_fast_on_pathological_text(text):
    start = time.perf_counter()
    for kind in KINDS:
        extract_answer(text, kind)
    assert time.perf_counter() - start < 5  # about 0.2 s; quadratic behaviour takes minutes


# Deeply nested or huge inputs: the answer found, in one pass. (Each of these took from a minute
# to hours before _boxed_spans' boxes shared one token index and the LaTeX patterns stopped
# backtracking; the results are what the slow code gave on smaller copies.)
NESTED = 7000  # 7,000 nested \boxed{ is 56 kB of text


@pytest.mark.parametrize(("text", "kind", "value", "raw", "method"), [
    # the innermost boxes hold no number; the outermost box's first number is the answer
    ("\\boxed{7 " + "\\boxed{" * NESTED + "x" + "}" * (NESTED + 1), "number", "7", "7", "boxed"),
    ("\\boxed{" * NESTED + "x" + "}" * NESTED, "number", None, None, "none"),
    ("\\boxed{" * NESTED + "x" + "}" * NESTED, "text", "x", "x", "boxed"),
    ("\\boxed{" * NESTED + "}" * NESTED + " 5", "number", "5", "5", "last-number"),
    # every box holds numbers that are not numbers (1/0) before the outermost's 9
    ("\\boxed{9 " + "\\boxed{1/0 " * NESTED + "}" * (NESTED + 1), "number", "9", "9", "boxed"),
    ("\\boxed{" * NESTED + "1/0 " * NESTED + "}" * NESTED, "number", None, None, "none"),
    ("\\boxed{\\frac{" * NESTED + "}" * (2 * NESTED) + "\n\\boxed{3/4}", "number", "3/4",
     "3/4", "boxed"),
    # deep braces and 1 MB of "{"
    ("{" * 500_000 + "\\boxed{12}" + "}" * 500_000, "number", "12", "12", "boxed"),
    ("{" * 1_000_000, "number", None, None, "none"),
    ("{" * 1_000_000 + " so 5", "number", "5", "5", "last-number"),
    ("\\boxed{" * 150_000 + "\\boxed{3}", "number", "3", "3", "boxed"),
    ("}" * 1_000_000 + "\nThe answer is 8", "number", "8", "8", "answer-is"),
    # long runs of spaces inside LaTeX that a box's text answer is cleaned of
    ("\\boxed{\\frac{" + " " * 100_000 + "x}}", "text", "\\frac{ x",
     "\\frac{" + " " * 100_000 + "x}", "boxed"),
    ("\\boxed{^" + " " * 100_000 + "x}", "text", "^ x", "^" + " " * 100_000 + "x", "boxed"),
    ("\\boxed{\\frac{ " + "a " * 100_000 + "}{}}", "text", None, None, None),
])
def test_extraction_of_deeply_nested_and_huge_text(text, kind, value, raw, method):
    found = extract_answer(text, kind)
    if method is None:  # only that it finishes with a text answer from the box
        assert found.method == "boxed" and found.value and found.value.startswith("\\frac{ a a")
        return
    assert (found.value, found.raw, found.method) == (value, raw, method)


def test_the_shared_token_index_finds_what_a_search_of_each_box_finds():
    """Boxes look up their first number in one index of the whole text's number tokens; that
    gives the token a search of the box alone gives (see answers._Tokens)."""
    rng = random.Random(7)
    pieces = ["\\boxed{", "\\fbox {", "{", "}", "}", "\\frac{", "\\frac", "\\dfrac{1}{2}", "1",
              "2/3", "1/0", " ", "\n", "x", "-", "$", ",", ".", "^\\circ", "}{", "five", "½",
              "12,345"]
    checked = 0
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 30)))
        tokens = answers._Tokens(text, 0)
        for a, b in answers._boxed_spans(text):
            assert tokens.first_in(a, b) == answers._first_token(text, a, b), text
            checked += 1
    assert checked > 1000
