import json
import random
import time
from fractions import Fraction

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
    # was "3": the last digits of a run that reads as 1.2.3, 1,23 or a list; a run of digits is
    # read whole or not at all (see FRAGMENT_CASES)
    ("1,2,3", None, "none"),
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


# Issue 17: each of these is read exactly or reported unreadable, never as a fragment of itself
# (the value before the fix is in the comment).
FRAGMENT_CASES = [
    # LaTeX thousands separators after "the answer is"
    ("The answer is $10{,}000$.", "10000", "answer-is"),  # was 10
    ("$16,\\!386.20$", "81931/5", "final-line"),  # 16386.2; was 16 after "the answer is"
    ("The answer is $16,\\!386.20$", "81931/5", "answer-is"),
    ("The final answer is $\\boxed{14{,}916}$", "14916", "answer-is"),  # was 14
    ("The total is 10{,}000 apples", "10000", "last-number"),  # was 0 (the "000")
    ("The answer is 12\\,345 cm", "12345", "answer-is"),
    # ambiguous forms: read exactly, or unreadable
    ("The answer is 1e3", "1000", "answer-is"),  # scientific notation is exact; was 1
    ("so it is 1.8e1", "18", "last-number"),  # was 9/5
    ("The answer is $1.8 \\times 10^{1}$", "18", "answer-is"),  # was 9/5
    ("x = 6.02e23", "602000000000000000000000", "last-number"),
    ("The answer is 2,5", None, "none"),  # a decimal comma, or a list: unreadable; was 2
    ("It costs 2,5 euros", None, "none"),
    ("The answer is 1000,99", None, "none"),  # was 99
    ("It costs 2,74 $", None, "none"),  # was 74
    ("1.234,5", None, "none"),
    ("It costs 3 dollars and 40 cents", None, "none"),  # a compound quantity; was 40
    ("The answer is 3 dollars and 40 cents.", None, "none"),  # was 3
    ("It took 2 hours and 30 minutes", None, "none"),  # was 30
    ("He solved 5 of 7", None, "none"),  # 5, or 5/7? unreadable; was 7
    ("The answer is 5 of 7", None, "none"),  # was 5
    ("The answer is 25% of 80", None, "none"),
    ("25% of 80 is 20", "20", "last-number"),
    # powers, roots and other parts of a number
    ("3 * 4 = 12 m^2", "12", "last-number"),  # was 2 (the exponent)
    ("The area is 12 m^{2}", "12", "last-number"),
    ("x = 10^3", None, "none"),  # was 3
    ("x^{-2} is 4", "4", "last-number"),
    ("The answer is \\sqrt{2}", None, "none"),  # was 2
    ("so it is 2\\sqrt{2}", None, "none"),  # was 2
    ("\\frac{\\sqrt{3}}{2}", None, "none"),  # was 2
    ("We get 1+1 = 2, so the answer is \\sqrt{2}", None, "none"),  # not the earlier 2
    ("at 3:45 pm", None, "none"),  # was 45
    ("version 1.2.3", None, "none"),  # was 1.2 (6/5)
    ("due 12/25/2023", None, "none"),  # was 2023
    ("He finished 23rd", None, "none"),
    ("the total is 1 234 567 euros", None, "none"),  # spaces: one number or three? was 567
    ("the total is 1\u202f234\u202f567 euros", "1234567", "last-number"),  # narrow spaces group
    ("It takes 3 1/2 cups", "7/2", "last-number"),  # was 1/2
    ("x = 3 / 4", "3/4", "last-number"),  # was 4
    ("2 million people", "2000000", "final-line"),
    ("About 2 million people came", "2000000", "last-number"),  # was 2
    # LaTeX
    ("\\cfrac{1}{3}", "1/3", "final-line"),  # was 3
    ("\\frac3{3}", "1", "final-line"),  # was 3
    ("so the ratio is \\frac3{4}", "3/4", "last-number"),
    ("x\\approx11", "11", "last-number"),  # was None
    ("The answer is x \\approx 11", "11", "answer-is"),
    ("that's 90^\\circ", "90", "last-number"),
]


@pytest.mark.parametrize("text, value, method", FRAGMENT_CASES)
def test_extraction_never_returns_a_fragment(text, value, method):
    found = extract_answer(text)
    assert (found.value, found.method) == (value, method)
    if found.parsed:
        assert found.raw is not None and found.raw in text


def test_is_correct_is_never_true_on_a_fragment():
    assert not is_correct("The answer is $10{,}000$.", "10")
    assert is_correct("The answer is $10{,}000$.", "10000")
    assert not is_correct("The final answer is $\\boxed{14{,}916}$", "14")
    assert not is_correct("The answer is 2,5", "2") and not is_correct("The answer is 2,5", "5")
    assert not is_correct("He solved 5 of 7", "7") and not is_correct("The answer is 5 of 7", "5")
    assert not is_correct("3 * 4 = 12 m^2", "2") and is_correct("3 * 4 = 12 m^2", "12")
    assert is_correct("so it is 1.8e1", "18")


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
    # scientific notation is read exactly (it was None: unreadable)
    ("1e3", "1000"), ("1.8e1", "18"), ("2.5E-3", "1/400"), ("1.8 \\times 10^{1}", "18"),
    ("3\\cdot10^3", "3000"), ("1e301", None),
    ("\\cfrac{1}{3}", "1/3"), ("\\frac3{3}", "1"), ("\\frac{3}4", "3/4"), ("10{,}000", "10000"),
    ("16,\\!386.20", "81931/5"), ("1\u202f234\u202f567", "1234567"), ("\\approx 11", "11"),
    # not numbers, or ambiguous
    ("garbage", None), ("", None), ("   ", None), ("1,5", None), ("1.234,5", None),
    ("1/0", None), ("5 of 7", None), ("3 dollars and 40 cents", None), ("five five", None),
    ("one two three", None), ("a", None), ("hundred", None), ("no", None), ("x = 5", None),
    ("5-", None), ("--5", None), ("3.4.5", None), ("\\sqrt{2}", None),
    ("one of them", None), ("1 and 2", None), ("2,5", None), ("1000,99", None), ("2,74 $", None),
    ("3:45", None), ("12/25/2023", None), ("10^3", None),
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


# ---------------------------------------------------------------------------------------------
# Property: a number in many formats, inside random prose, is read exactly or not at all
# ---------------------------------------------------------------------------------------------

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
         "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
         "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
# prose with no digits and no number words, but with words the extractor looks at: answer
# markers, units, "of", "and", "dollars", "cents", LaTeX and markdown
PROSE = [
    "so", "we", "get", "the", "total", "then", "it", "costs", "after", "adding", "each", "box",
    "and", "of", "dollars", "cents", "is", "answer", "apples", "per", "hour", "left", "over",
    "now", "which", "gives", "us", "therefore", "hence", "about", "exactly,", "first.", "Wait:",
    "note", "that", "(see", "below)", "**bold**", "$x$", "\\quad", "step", "answer:", "The",
    "answer is",
]
TEMPLATES = [
    "{pre} The answer is {num}. {post}", "{pre}\n#### {num}", "{pre} \\boxed{{{num}}} {post}",
    "{pre} {num} {post}", "{pre}\n{num}", "{pre} so x = {num}.", "{pre} The answer is ${num}$.",
    "{pre} **Answer:** {num}\n{post}", "{pre} {num}", "<think>{post}</think>{pre} {num}",
]


def _in_words(n: int) -> str:
    if n < 20:
        return _ONES[n]
    tens, ones = divmod(n, 10)
    return _TENS[tens] + ("" if ones == 0 else "-" + _ONES[ones])


def _number_formats(rng: random.Random) -> list[tuple[str, Fraction | None]]:
    """One number written in many ways: (text, its exact value, or None when the text is
    ambiguous and must be reported unreadable)."""
    kind = rng.randrange(4)
    if kind == 0:  # an integer
        n = rng.choice([rng.randint(0, 99), rng.randint(100, 10**4), rng.randint(10**4, 10**8)])
        n = -n if rng.random() < 0.2 else n
        grouped = f"{n:,}"
        texts = [str(n), grouped, grouped.replace(",", "{,}"), grouped.replace(",", ",\\!"),
                 grouped.replace(",", "\u202f"), f"${grouped}", f"{n} dollars", f"{n}%",
                 f"{n}\\%", f"\\text{{{n}}}", f"{n} apples", f"−{n}" if n > 0 else str(n)]
        values = [Fraction(n)] * (len(texts) - 1) + [Fraction(-abs(n))]
        out = list(zip(texts, values, strict=True))
        if 0 <= n < 100:
            out.append((_in_words(n), Fraction(n)))
        if n and n % 1000 == 0:
            m, k = n, 0
            while m % 10 == 0:
                m, k = m // 10, k + 1
            out += [(f"{m}e{k}", Fraction(n)), (f"{m} \\times 10^{{{k}}}", Fraction(n)),
                    (f"{m}E+{k}", Fraction(n))]
        return out
    if kind == 1:  # a decimal
        places = rng.randint(1, 3)
        n = rng.randint(1, 10**7)
        value = Fraction(n, 10**places)
        whole, frac = divmod(n, 10**places)
        plain, grouped = f"{whole}.{frac:0{places}d}", f"{whole:,}.{frac:0{places}d}"
        out = [(plain, value), (grouped, value), (grouped.replace(",", "{,}"), value),
               ("$" + grouped, value), (plain + " cm", value), (f"{plain}e0", value),
               (f"{plain}e1", value * 10), (f"{plain}e-2", value / 100)]
        # a decimal comma: unreadable, unless it is a thousands separator ("956,794")
        comma = f"{whole},{frac:0{places}d}"
        out.append((comma, Fraction(n) if places == 3 and whole < 1000 else None))
        if whole >= 1000:  # European grouping: 1.234,5
            out.append((f"{whole:,}".replace(",", ".") + f",{frac:0{places}d}", None))
        return out
    if kind == 2:  # a fraction
        p, q = rng.randint(1, 99), rng.randint(2, 99)
        value = Fraction(p, q)
        out = [(f"{p}/{q}", value), (f"\\frac{{{p}}}{{{q}}}", value),
               (f"\\dfrac{{{p}}}{{{q}}}", value), (f"\\cfrac{{{p}}}{{{q}}}", value),
               (f"-\\frac{{{p}}}{{{q}}}", -value)]
        if p < 10 and q < 10:
            out += [(f"\\frac{p}{q}", value), (f"\\frac{p}{{{q}}}", value),
                    (f"\\frac{{{p}}}{q}", value)]
        whole = rng.randint(1, 9)
        out.append((f"{whole} {p}/{q}", whole + value) if p < q else (f"{p} of {q}", None))
        return out
    a, b = rng.randint(1, 99), rng.randint(1, 59)  # forms that are not one number
    return [(f"{a} of {b}", None), (f"{a} out of {b}", None),
            (f"{a} dollars and {b} cents", None), (f"{a} hours and {b} minutes", None),
            (f"{a}\\sqrt{{{b}}}", None), (f"10^{{{a}}}", None), (f"{a}:{b:02d}", None),
            (f"{a}.{b}.{a}", None), (f"{a}^{b}", None), (f"{a},{b % 100:02d}", None)]


def test_a_number_in_prose_is_read_exactly_or_reported_unreadable():
    """Property (seeded): never a different number, and most unambiguous numbers are read."""
    rng = random.Random(17)
    read = readable = 0
    for _ in range(4000):
        num, value = rng.choice(_number_formats(rng))
        pre = " ".join(rng.choice(PROSE) for _ in range(rng.randint(0, 12)))
        post = " ".join(rng.choice(PROSE) for _ in range(rng.randint(0, 12)))
        text = rng.choice(TEMPLATES).format(pre=pre, post=post, num=num)
        found = extract_answer(text)
        readable += value is not None
        if found.value is None:
            continue
        assert value is not None, f"{text!r}: the ambiguous {num!r} was read as {found.value}"
        assert Fraction(found.value) == value, f"{text!r}: {num!r} read as {found.value}"
        assert is_correct(found, str(value)) and found.raw is not None and found.raw in text
        read += 1
    assert read > 0.95 * readable


@pytest.mark.parametrize("text", [
    "#### " * 50000, "one " * 50000, "\\boxed{" * 20000, 'answer is "' * 20000, "a" * 300000,
    "answer:" + " " * 200000, " " * 300000, "The answer is " + "(" * 100000, "1." * 100000,
])
def test_extraction_stays_fast_on_pathological_text(text):
    start = time.perf_counter()
    for kind in KINDS:
        extract_answer(text, kind)
    assert time.perf_counter() - start < 5  # about 0.2 s; quadratic behaviour takes minutes


@pytest.mark.parametrize(("unit", "size"), [
    ("the quick brown fox ", 3_000_000), ("1 ", 1_000_000), ("5 of ", 1_000_000),
    ("3 dollars and ", 1_000_000), ("\\sqrt{2}", 1_000_000), ("1,", 1_000_000),
])
def test_megabytes_of_text_stay_linear(unit, size):
    """Seconds (about 1 s per MB here), never the hours of quadratic behaviour."""
    text = unit * (size // len(unit))
    start = time.perf_counter()
    extract_answer(text)
    assert time.perf_counter() - start < 30


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
