"""Find the final answer in a model's text and put it in a canonical form, so answers compare.

Every strategy of the course (chain-of-thought, self-consistency voting, verification ...) ends with
the same two questions: *what did the model answer?* and *is it right?* These pure functions answer
both, and never raise on a model's text: an answer that cannot be found is
``Answer(None, None, "none")``. Introduced in lesson 01.

Canonical forms
---------------
- Numbers (``kind="number"``): integers as ``"42"`` / ``"-3"``; anything else as a reduced
  fraction ``"5/2"``, so ``"2.5"``, ``"2.50"``, ``"5/2"``, ``"10/4"`` and ``"\\frac{5}{2}"`` are
  one answer. Thousands separators, currency signs and a trailing unit are dropped
  (``"$1,234.00 dollars"`` is ``"1234"``); a percent sign keeps the number (``"25%"`` is ``"25"``).
- Text (``kind="text"``): lower case, surrounding quotes, markdown and punctuation removed,
  inner whitespace collapsed (``'"KY".'`` is ``"ky"``).

Where the answer is looked for (``Answer.method``), first match wins
--------------------------------------------------------------------
==============  ==========================================================================
``answer-is``   after the last "The answer is X", "Answer: X", "final answer = X" or "#### X"
``boxed``       in the last ``\\boxed{X}``
``final-line``  the last non-empty line is the answer by itself ("42", "$5.00", "ky", "Yes.")
``last-number`` numbers: the last number written with digits
``word-number`` numbers: the last number written in words, when the text has no digits at all
``text``        text: the first yes/no in the last line, else the last word of the last line
``none``        nothing found (``value`` and ``raw`` are ``None``)
==============  ==========================================================================

The first three find an answer the model *stated* (``Answer.stated``, :data:`STATED`); the
others are fallbacks, which on a trace cut off by ``max_tokens`` read whatever number it stopped
at. Report both when grading: "a final answer was stated" and "the last number was taken".

Text after the last ``</think>`` is used when a reasoning trace is inlined in the text.

Never a fragment
----------------
A number is read whole or not at all. In running text a number is taken with everything it is
made of (``"10{,}000"``, ``"2,5"``, ``"1.8e1"``, ``"3 1/2"``, ``"2 million"``) and then read
exactly or found unreadable (see :func:`normalize_number` for the ambiguous forms). Digits that
are only part of something else are not numbers: an exponent or a subscript (``"12 m^2"`` is
12), digits in a word (``"v1.5"``) and ordinals (``"3rd"``). The number that decides (the first
after the last answer marker, the first in a box, or the last in the text) gives its exact
value or an unreadable answer, never a neighbouring number in its place.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from fractions import Fraction
from typing import Any

__all__ = [
    "KINDS",
    "METHODS",
    "STATED",
    "Answer",
    "extract_answer",
    "is_correct",
    "normalize_number",
    "normalize_text",
]

KINDS = ("number", "text")
"""What an answer can be: a number, or a short text such as ``"ky"`` or ``"yes"``."""

METHODS = ("answer-is", "boxed", "final-line", "last-number", "word-number", "text", "none")
"""How an answer was found, most explicit first (see the module docstring)."""

STATED = ("answer-is", "boxed", "final-line")
"""The methods that find an answer the model *stated* as its final answer (a marker, a box, or
a last line that is the answer alone); the others take a fallback (the last number, a number in
words, the last word), which may be where a cut-off trace happened to stop."""




def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        msg = f"kind must be one of {', '.join(map(repr, KINDS))}, not {kind!r}."
        raise ValueError(msg)


@dataclass(frozen=True)
class Answer:
    """The answer found in a model's text. Introduced in lesson 01."""

    value: str | None
    """Canonical form (``"5/2"``, ``"ky"``); ``None`` when no answer could be found."""
    raw: str | None
    """The substring of the text the answer came from, e.g. ``"$2.50"``."""
    method: str
    """How it was found: one of :data:`METHODS`."""

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            msg = f"Answer method must be one of {METHODS}, not {self.method!r}."
            raise ValueError(msg)

    @property
    def parsed(self) -> bool:
        """True when an answer was found."""
        return self.value is not None

    @property
    def stated(self) -> bool:
        """True when the model stated this as its final answer ("The answer is 42", a box, a
        last line that is the answer alone); False when it was taken by a fallback such as the
        last number in the text, or not found. See :data:`STATED`."""
        return self.method in STATED

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Answer:
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            msg = f"Answer has no field(s) {sorted(unknown)}; known fields: {sorted(names)}."
            raise ValueError(msg)
        return cls(value=d.get("value"), raw=d.get("raw"), method=d.get("method", "none"))


_NONE = Answer(None, None, "none")

# ---------------------------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------------------------

# One character for one character, so positions in the translated text are positions in the
# original text (``raw`` is cut from the original).
_SAME_LENGTH = str.maketrans({
    "\u2212": "-",  # minus sign
    "\ufe63": "-",  # small hyphen-minus
    "\uff0d": "-",  # fullwidth hyphen-minus
    # typographic spaces become one of them, the thin space: between digit groups it is a
    # thousands separator ("1 234" with a narrow no-break space), elsewhere a space
    "\u00a0": "\u2009",  # no-break space
    "\u2007": "\u2009",  # figure space
    "\u202f": "\u2009",  # narrow no-break space
})
_CURRENCY = "$€£¥₹"
_VULGAR = {"½": "1/2", "⅓": "1/3", "⅔": "2/3", "¼": "1/4", "¾": "3/4", "⅕": "1/5", "⅖": "2/5",
           "⅗": "3/5", "⅘": "4/5", "⅙": "1/6", "⅚": "5/6", "⅛": "1/8", "⅜": "3/8", "⅝": "5/8",
           "⅞": "7/8"}

_EXPONENT_MAX = 300
"""Largest power of ten read in scientific notation (``1e300``); a larger one is unreadable."""
_NUMERAL = re.compile(
    r"(?P<sign1>[-+])?\s*(?P<sign2>[-+])?\s*"
    r"(?:(?P<whole>\d+)\s+(?P<mnum>\d+)/(?P<mden>\d+)"  # mixed number: 1 1/2
    r"|(?P<num>(?:\d{1,3}(?:,\d{3})+|\d{1,3}(?:[ \u2009]\d{3})+|\d+)(?:\.\d*)?|\.\d+)"
    r"(?:[eE](?P<exp>[-+]?\d+)"  # scientific: 1e3, 1.8e1, 2.5E-3
    r"|\s*(?:\\times|\\cdot|×|·|\*)\s*10\s*\^\s*(?:\{\s*(?P<exp2>[-+]?\d+)\s*\}?|(?P<exp3>[-+]?\d+))"
    r")?"
    r"(?:\s*/\s*(?P<den>\d+(?:\.\d+)?))?)"
    r"(?P<rest>.*)",
    re.S,
)
_UNIT_WORD = re.compile(r"%|°[^\W\d_]?|[^\W\d_](?:[^\W\d_]|['’./°-])*%?")
_NOT_UNITS = frozenset((
    "and", "or", "of", "to", "than", "plus", "minus", "times", "divided", "by", "over", "out",
    "from", "is", "are", "was", "were", "equals",
))
_SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9, "dozen": 12}

_ONES = {w: i for i, w in enumerate((
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
))}
_TENS = {w: 10 * i for i, w in enumerate(
    ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"), start=2)}
_BIG = {"thousand": 10**3, "million": 10**6, "billion": 10**9}
_NUMBER_WORDS = frozenset(_ONES) | frozenset(_TENS) | frozenset(_BIG) | {"hundred", "dozen"}
_SIGN_WORDS = frozenset({"minus", "negative"})
_RUN_WORDS = _NUMBER_WORDS | _SIGN_WORDS | {"and", "a", "an"}
_LATEX_WRAPPERS = re.compile(
    r"\\(?:text|textbf|textit|mathrm|mathbf|mbox|operatorname)\s*\{([^{}]*)\}")
# One way to match each text (no nested quantifiers over the same characters): the groups' own
# surrounding whitespace is stripped in _frac_to_slash, so long runs of spaces stay linear.
_LATEX_FRAC = re.compile(r"\\frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_LATEX_FRAC_DIGIT1 = re.compile(r"\\frac\s*(\d)")  # \frac3{4}, \frac34: one-digit arguments
_LATEX_FRAC_DIGIT2 = re.compile(r"(\\frac\s*\{[^{}]*\}\s*)(\d)")  # \frac{3}4
_RELATIONS = re.compile(
    r"\\(?:approx|simeq|sim|cong|equiv|leqslant|geqslant|leq|geq|le|ge|neq|ne|lt|gt|implies"
    r"|Longrightarrow|Rightarrow|longrightarrow|rightarrow|to|therefore|quad|qquad)(?![a-zA-Z])")
"""LaTeX relations and spacing that separate words like a space does (``x\\approx11``)."""
_BOX_OPEN = re.compile(r"\\(?:boxed|fbox)\s*\{")
_PLAIN = re.compile(r"[-+]?\d+(?:\.\d+)?")
_LEAD_JUNK = "*_`'\"“‘([{ \t\r\n"
_TRAIL_JUNK = "*_`'\"”’)]}.,;:!? \t\r\n"


def _frac_to_slash(m: re.Match[str]) -> str:
    a, b = m.group(1).strip().replace(" ", ""), m.group(2).strip().replace(" ", "")
    if not (_PLAIN.fullmatch(a) and _PLAIN.fullmatch(b)):
        return m.group(0)
    negative = (a[0] == "-") != (b[0] == "-")
    return f" {'-' if negative else ''}{a.lstrip('+-')}/{b.lstrip('+-')}"


def _clean_latex(s: str) -> str:
    if "\\" in s or "{" in s:
        # what ``\\boxed\s*\{(.*)\}`` (re.S) would take: from the first box to the last "}",
        # found without the regex's backtracking (quadratic when no "}" follows many boxes)
        boxed = _BOX_OPEN.search(s)
        if boxed:
            close = s.rfind("}")
            if close >= boxed.end():
                s = s[boxed.end():close]
        s = re.sub(r"\\[dtc]frac", r"\\frac", s)
        s = _RELATIONS.sub(" ", s)
        s = re.sub(r"\\(?:left|right)\b", "", s)
        s = s.replace("{,}", ",").replace("\\%", "%").replace("\\$", "$")
        s = re.sub(r"\^\s*(?:\{\s*)?\\circ\s*\}?", "°", s)
        s = re.sub(r"\\[,!;:]", "", s).replace("\\ ", " ")
        s = _LATEX_WRAPPERS.sub(lambda m: " " + m.group(1), s)
        s = _LATEX_FRAC_DIGIT2.sub(r"\1{\2}", _LATEX_FRAC_DIGIT1.sub(r"\\frac{\1}", s))
        s = _LATEX_FRAC.sub(_frac_to_slash, s)
        for delim in ("\\(", "\\)", "\\[", "\\]"):
            s = s.replace(delim, "")
    for c in _CURRENCY:
        s = s.replace(c, "")
    for c, fraction in _VULGAR.items():
        s = s.replace(c, f" {fraction}")  # "3½" is the mixed number 3 1/2
    return s


def _unit_scale(rest: str) -> int | None:
    """Multiplier of a trailing unit ("5 apples": 1, "2 million": 1000000); None if not a unit."""
    words = rest.split()
    scale = 1
    while words and words[0].lower() in _SCALES:
        scale *= _SCALES[words.pop(0).lower()]
    if len(words) > 3:
        return None
    for w in words:
        low = w.lower()
        if not _UNIT_WORD.fullmatch(w) or low in _NOT_UNITS or low.strip("-") in _NUMBER_WORDS:
            return None
    return scale


def _numeral_value(s: str) -> Fraction | None:
    m = _NUMERAL.fullmatch(s)
    if m is None or (m["sign1"] and m["sign2"]):
        return None
    scale = _unit_scale(m["rest"])
    if scale is None:
        return None
    if m["whole"] is not None:
        if int(m["mden"]) == 0:
            return None
        value = int(m["whole"]) + Fraction(int(m["mnum"]), int(m["mden"]))
    else:
        value = Fraction(m["num"].replace(",", "").replace(" ", "").replace("\u2009", ""))
        exponent = m["exp"] or m["exp2"] or m["exp3"]
        if exponent is not None:
            if abs(int(exponent)) > _EXPONENT_MAX:
                return None
            value *= Fraction(10) ** int(exponent)
        if m["den"] is not None:
            den = Fraction(m["den"])
            if den == 0:
                return None
            value /= den
    if "-" in (m["sign1"], m["sign2"]):
        value = -value
    return value * scale


_WORD_TOKEN = re.compile(r"[^\s-]+")


def _words_prefix(tokens: list[str], first: int = 0) -> tuple[int, int] | None:
    """Parse number words in ``tokens`` (lower case) from index ``first``: (value, tokens used)
    or None."""
    total, current, state, used = 0, 0, "start", 0
    last_big = 10**12
    tokens = tokens[first:first + 40]  # no number needs more words; keeps long runs linear
    i = 0
    while i < len(tokens):
        w = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if w in ("a", "an") and state == "start" and nxt in ("hundred", "dozen", *_BIG):
            current, state = 1, "unit"
        elif w == "and" and state in ("hundred", "big") and (nxt in _ONES or nxt in _TENS):
            pass
        elif w == "zero":
            if state != "start":
                break
            current, state, used = 0, "zero", i + 1
            break
        elif w in _ONES and _ONES[w] < 10:
            if state not in ("start", "tens", "hundred", "big"):
                break
            current += _ONES[w]
            state = "tens-unit" if state == "tens" else "unit"
        elif w in _ONES:
            if state not in ("start", "hundred", "big"):
                break
            current += _ONES[w]
            state = "teen"
        elif w in _TENS:
            if state not in ("start", "hundred", "big"):
                break
            current += _TENS[w]
            state = "tens"
        elif w == "hundred":
            if state not in ("unit", "teen", "tens", "tens-unit") or current >= 100:
                break
            current *= 100
            state = "hundred"
        elif w == "dozen":
            if state not in ("unit", "teen", "tens", "tens-unit"):
                break
            current *= 12
            state = "dozen"
        elif w in _BIG:
            if state in ("start", "big", "zero") or _BIG[w] >= last_big:
                break
            total += current * _BIG[w]
            current, state, last_big = 0, "big", _BIG[w]
        else:
            break
        i += 1
        if state != "start":
            used = i
    if state == "start" or used == 0:
        return None
    # a trailing "and"/"a" was skipped but not used: give back what was not consumed
    return total + current, used


def _words_value(s: str) -> Fraction | None:
    matches = list(_WORD_TOKEN.finditer(s))
    tokens = [m.group(0).lower() for m in matches]
    sign = 1
    start = 0
    if tokens and tokens[0] in _SIGN_WORDS:
        sign, start = -1, 1
    parsed = _words_prefix(tokens[start:])
    if parsed is None:
        return None
    value, used = parsed
    rest = s[matches[start + used - 1].end():]
    if rest.startswith("-"):
        return None
    scale = _unit_scale(rest)
    if scale is None:
        return None
    return Fraction(sign * value * scale)


_NUMBER_MAX = 300
"""Longest text read as one number: a number is short, and this keeps the expressions fast."""


def _number_value(s: str) -> Fraction | None:
    if len(s) > _NUMBER_MAX:  # a number is short; this also keeps the regular expressions fast
        return None
    text = _clean_latex(s.translate(_SAME_LENGTH)).strip(_LEAD_JUNK).rstrip(_TRAIL_JUNK)
    text = text.lstrip(_LEAD_JUNK)  # "($5)" and "**$5**": currency sat between junk
    if not text:
        return None
    value = _numeral_value(text)
    return value if value is not None else _words_value(text)


def normalize_number(s: str) -> str | None:
    """The canonical form of one number, or ``None`` when ``s`` is not a number.

    Integers become ``"42"`` / ``"-3"``; other numbers a reduced fraction ``"5/2"``. Accepted:
    signs (``-``, ``+``, the unicode minus ``−``), thousands separators (``"1,234"``,
    ``"1 234"``), decimals, fractions (``"10/4"``, ``"\\frac{3}{4}"``, ``"1 1/2"``, ``"3½"``),
    currency (``$ € £ ¥ ₹``), a trailing unit of up to three words (``"5 apples"``, ``"12 cm"``,
    ``"3 km/h"``), scale words (``"2 million"``), a percent sign (``"25%"`` is ``"25"``: a
    percentage compares by its number), and numbers in words (``"five"``, ``"twenty-one"``,
    ``"two hundred and five"``, ``"a dozen"``, ``"minus three"``). Surrounding quotes, brackets,
    markdown and sentence punctuation are ignored. Introduced in lesson 01.

    Also read exactly: LaTeX (``"\\frac{3}{4}"``, ``"\\dfrac"``, ``"\\cfrac"``, ``"\\frac34"``,
    ``"\\frac3{4}"``; thousands written ``"10{,}000"``, ``"16,\\!386"`` or ``"12\\,345"``),
    scientific notation (``"1e3"`` is ``"1000"``, ``"1.8e1"`` is ``"18"``,
    ``"1.8 \\times 10^{1}"`` is ``"18"``; powers of ten up to 300) and thousands grouped by
    narrow or no-break spaces (``"1\\u202f234"``).

    Ambiguous forms give ``None``, never a part of them:

    - a decimal comma: ``"2,5"`` (2.5, or the list 2, 5?), ``"1000,99"``, ``"2,74 $"``,
      ``"1.234,5"``; a comma is a thousands separator only before groups of exactly 3 digits;
    - a quantity in two units: ``"3 dollars and 40 cents"``, ``"2 hours and 30 minutes"``;
    - a part of a whole: ``"5 of 7"``, ``"5 out of 7"`` (5, or 5/7?);
    - powers, roots and the like: ``"10^3"``, ``"\\sqrt{2}"``, ``"2\\sqrt{2}"``;
    - times, versions and dates: ``"3:45"``, ``"1.2.3"``, ``"12/25/2023"``.
    """
    if not isinstance(s, str):
        return None
    value = _number_value(s)
    return None if value is None else str(value)


# ---------------------------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------------------------

_TEXT_STRIP = "*_`'\"“”‘’()[]{}<>.,;:!? \t\r\n"


def normalize_text(s: str) -> str | None:
    """The canonical form of a short text answer: lower case, surrounding quotes, brackets,
    markdown and punctuation removed, inner whitespace collapsed; ``None`` when nothing is left.

    ``'"KY".'`` and ``"**ky**"`` are ``"ky"``. Introduced in lesson 01.
    """
    if not isinstance(s, str):
        return None
    text = " ".join(s.translate(_SAME_LENGTH).split()).strip(_TEXT_STRIP).lower()
    return text or None


# ---------------------------------------------------------------------------------------------
# Extraction
# ---------------------------------------------------------------------------------------------

_MARKER = re.compile(
    r"\banswer\b[*_]*[^\S\n]*(?:(?:is|was|would\s+be|will\s+be|should\s+be)\b|[=:])[*_]*"
    r"[^\S\n]*[:=]?|####",
    re.I,
)
_QUOTED = re.compile(r"\"([^\"\n]+)\"|“([^”\n]+)”|'([^'\n]+)'(?!\w)|`([^`\n]+)`")
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")
_NON_SPACE = re.compile(r"\S")
_SEGMENT_MAX = 300
"""Characters looked at after an answer marker: an answer is short, and this keeps time linear."""
_BOXES_TRIED = 100
"""Text answers: the last boxes looked into (each costs its length; keeps deep nesting linear)."""
_NOT_ONE = frozenset((
    "no", "any", "some", "every", "each", "which", "that", "this", "the", "anyone", "someone",
    "another",
))


_CUT = re.compile(r"(?<!\\)[!?;\n]|\.(?!\d)|,(?![\d}\\])|\s(?:because|since|which|but|so)\b", re.I)
_TEXT_CUT = re.compile(r"[!?;,(\[\n]|\.(?!\w)|\s(?:because|since|which|but|so)\b", re.I)
# A number as it is written in running text, taken whole (an atomic group: never a prefix of
# itself), so that what a number is made of is never read as a number of its own. Whether it
# is readable is decided afterwards (_run_value): "2,5", "1000,99", "3:45", "1.2.3" and
# "12/25/2023" are taken whole and are unreadable.
_NUMBER_RUN = re.compile(
    # not inside a word or a number, an exponent or a subscript ("x^2", "10^{-3}", "a_{12}")
    r"(?<![\w.^])(?<!\^\{)(?<!_\{)(?<!\^[-+])(?<!\^\{[-+])(?<!_\{[-+])(?<![eE][-+])"
    r"[-+]?[$€£¥₹]?[-+]?"
    r"(?>\\[dtc]?frac\s*(?:\{[^{}]*\}|\d)\s*(?:\{[^{}]*\}|\d)"
    r"|\d*[½⅓⅔¼¾⅕⅖⅗⅘⅙⅚⅛⅜⅝⅞]"
    r"|(?:\d+(?:[^\S\n]\d+\s*/\s*\d+(?!\d))?|\.\d+)"  # 42, 1 1/2, .5
    r"(?:(?:[.,:]|\{,\}|,?\\[!,]|\u2009|\s*/\s*)\d+)*"  # 1,234.5  10{,}000  16,\!386  3/4
    r"(?:[eE][-+]?\d+(?!\w|\.\d)"  # 1e3
    r"|\s*(?:\\times|\\cdot|×|·)\s*10\s*\^\s*(?:\{\s*[-+]?\d+\s*\}|[-+]?\d+))?"
    r"(?:[^\S\n]+(?:hundred|thousand|million|billion|dozen)\b)*"  # 2 million
    r")"
    r"(?!(?:st|nd|rd|th)\b)"  # 3rd, 21st: ordinals are not answers
)
# What makes a whole run unreadable when it comes right after it, or right before it: a power,
# a root, a fraction's part, a constant ("10^3", "2\sqrt{2}", "\sqrt{2}", "\frac{\sqrt3}{2}").
_BAD_AFTER = re.compile(
    r"\^(?!\s*\{?\s*\\circ)|_|[eE][-+]?\d|[^\S\n]\d{3}(?![\d/])"  # "1 234": which number?
    r"|\\(?:sqrt|pi|frac|dfrac|tfrac|cfrac|binom|prime|overline|mathrm\{e\}|cdots|ldots|dots)"
    r"(?![a-zA-Z])")
_BAD_BEFORE = ("\\sqrt{", "\\sqrt[", "\\sqrt", "frac{", "}{", "binom{", "overline{", "\\bar{",
               "\\hat{", "\\vec{")
_GROUP = re.compile(r"\d{3}(?!\d)")
_BAD_BEFORE_MAX = max(map(len, _BAD_BEFORE)) + 1
# Two numbers that together make one quantity: neither alone is the answer ("5 of 7",
# "3 dollars and 40 cents", "2 hours and 30 minutes").
_MAJOR = (r"dollars?|bucks|euros?|pounds?|quid|hours?|hrs?|h|minutes?|mins?|feet|foot|ft|years?"
          r"|yrs?|weeks?|days?|kilograms?|kgs?|met(?:er|re)s?|m|kilomet(?:er|re)s?|km|lbs?"
          r"|gallons?|gal|lit(?:er|re)s?|l")
_MINOR = (r"cents?|pence|p|minutes?|mins?|m|seconds?|secs?|s|inch(?:es)?|in|months?|days?"
          r"|hours?|hrs?|grams?|g|centimet(?:er|re)s?|cm|met(?:er|re)s?|ounces?|oz|quarts?|qt"
          r"|millilit(?:er|re)s?|ml")
_COMPOUND = re.compile(
    r"(?<![\w.,/])[$€£¥₹]?\d[\d.,/]*\s*%?\s*(?:out\s+of|of)\s+[$€£¥₹]?\d"
    rf"|(?<![\w.,/])[$€£¥₹]?\d[\d.,]*\s*(?:{_MAJOR})\b\s*(?:,|and|&)?\s*\d[\d.,]*\s*(?:{_MINOR})\b",
    re.I,
)


_COMPOUND_REACH = 400
"""How far around a number a compound that holds it is looked for (its other number is short)."""


def _run_spans(text: str, a: int, b: int) -> list[tuple[int, int]]:
    """The spans of the number runs of ``text[a:b]``, in order."""
    return [m.span() for m in _NUMBER_RUN.finditer(text, a, b)]


def _run_value(text: str, span: tuple[int, int], b: int) -> str | None:
    """The canonical value of the run at ``span`` (within a text or box ending at ``b``), or
    None when it is unreadable: not a number, or one part of a power, a root, a fraction or a
    compound quantity."""
    s, e = span
    if _BAD_AFTER.match(text, e, b) or text[max(0, s - _BAD_BEFORE_MAX):s].endswith(_BAD_BEFORE):
        return None
    if s >= 2 and text[s - 2].isdigit() and text[s - 1] in " \t" and _GROUP.match(text, s, e):
        return None  # the "234" of "1 234"
    for m in _COMPOUND.finditer(text, max(0, s - _COMPOUND_REACH), min(b, e + _COMPOUND_REACH)):
        if m.start() < e and m.end() > s:
            return None
        if m.start() >= e:
            break
    return normalize_number(text[s:e])


def _first_token(text: str, a: int, b: int) -> tuple[str | None, int, int] | None:
    """The first number run in ``text[a:b]``: (canonical value or None if unreadable, start,
    end); None when there is none."""
    m = _NUMBER_RUN.search(text, a, b)
    if m is None:
        return None
    return _run_value(text, m.span(), b), m.start(), m.end()


def _lines(text: str) -> list[tuple[int, int]]:
    """Spans (start, end) of the non-empty lines, without their surrounding whitespace."""
    spans = []
    for m in re.finditer(r"[^\n]+", text):
        line = m.group(0)
        if line.strip():
            start = m.start() + len(line) - len(line.lstrip())
            spans.append((start, m.start() + len(line.rstrip())))
    return spans


def _line_end(text: str, start: int) -> int:
    """End of the line at ``start``, looking at most :data:`_SEGMENT_MAX` characters ahead."""
    end = text.find("\n", start, start + _SEGMENT_MAX)
    return min(len(text), start + _SEGMENT_MAX) if end == -1 else end


def _segment(text: str, start: int) -> tuple[int, int]:
    """The span after a marker: the rest of its line, else the next non-empty line."""
    end = _line_end(text, start)
    if text[start:end].strip(_TEXT_STRIP):
        return start, end
    following = _NON_SPACE.search(text, end)
    if following is None:
        return start, start
    return _strip_span(text, following.start(), _line_end(text, following.start()))


def _strip_span(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


def _word_numbers(text: str) -> list[tuple[str, int, int]]:
    """Numbers written in words, in order: (canonical value, start, end)."""
    words = list(_WORD.finditer(text))
    found: list[tuple[str, int, int]] = []
    i = 0
    while i < len(words):
        # a run of number-ish words separated only by spaces or hyphens
        j = i
        while (j < len(words) and words[j].group(0).lower() in _RUN_WORDS
               and (j == i or not text[words[j - 1].end():words[j].start()].strip(" -"))):
            j += 1
        if j == i:
            i += 1
            continue
        tokens = [w.group(0).lower() for w in words[i:j]]
        k = i
        while k < j:
            sign = 1
            offset = 0
            if tokens[k - i] in _SIGN_WORDS:
                sign, offset = (-1 if k == i else 1), 1
            parsed = _words_prefix(tokens, k - i + offset)
            if parsed is None:
                k += 1
                continue
            value, used = parsed
            first, last = words[k], words[k + offset + used - 1]
            before = words[k - 1].group(0).lower() if k > 0 else ""
            lone_one = tokens[k - i + offset:k - i + offset + used] == ["one"]
            if not (lone_one and before in _NOT_ONE):
                start = first.start() if sign < 0 else words[k + offset].start()
                found.append((str(Fraction(sign * value)), start, last.end()))
            k += offset + used
        i = j
    return found


def _last_markers(text: str, base: int) -> list[re.Match[str]]:
    """The last answer markers ("The answer is", "####" ...), last first; at most 100 of them."""
    return list(_MARKER.finditer(text, base))[-100:][::-1]


def _after_think(text: str) -> int:
    end = text.rfind("</think>")
    return 0 if end == -1 else end + len("</think>")


def _boxed_spans(text: str) -> list[tuple[int, int]]:
    """Spans of the contents of every closed ``\\boxed{...}``, in order of their start.

    One pass with a stack of open braces, so thousands of nested boxes stay linear."""
    opens = {m.end() - 1 for m in _BOX_OPEN.finditer(text)}
    if not opens:
        return []
    spans = []
    stack: list[int] = []
    for i, c in enumerate(text):
        if c == "{":
            stack.append(i)
        elif c == "}" and stack:
            start = stack.pop()
            if start in opens:
                spans.append((start + 1, i))
    return sorted(spans)


class _Tokens:
    """The number runs of ``text`` from ``base``, found once, each normalised at most once.

    ``first_in(a, b)`` is ``_first_token(text, a, b)`` for the contents ``[a, b)`` of a box:
    such a span begins after a ``{`` and ends before its matching ``}``, and a run never takes
    in a brace of a box (only a ``\\frac{..}{..}`` run has braces, and they pair among
    themselves), so the runs a search inside the span finds are the runs of the whole text that
    lie in it. Nested boxes then cost a binary search each, not a scan of their contents.
    """

    def __init__(self, text: str, base: int) -> None:
        self.text = text
        self.runs = _run_spans(text, base, len(text))
        self.starts = [s for s, _ in self.runs]
        self._values: dict[tuple[int, int], str | None] = {}

    def value(self, i: int, b: int | None = None) -> str | None:
        """The value of run ``i`` seen in a span ending at ``b`` (default: the text's end)."""
        end = len(self.text) if b is None else b
        key = (i, end)
        if key not in self._values:
            self._values[key] = _run_value(self.text, self.runs[i], end)
        return self._values[key]

    def first_in(self, a: int, b: int) -> tuple[str | None, int, int] | None:
        i = bisect.bisect_left(self.starts, a)
        if i >= len(self.runs) or self.runs[i][1] > b:
            return None
        s, e = self.runs[i]
        return self.value(i, b), s, e


def _extract_number(text: str, original: str, base: int) -> Answer:
    """Never a fragment: each number is read whole (a run), and the run that decides (after an
    answer marker, in a box, or the last one) gives its exact value or nothing at all."""
    def answer(value: str, a: int, b: int, method: str) -> Answer:
        return Answer(value, original[a:b], method)

    for marker in _last_markers(text, base):
        a, b = _segment(text, marker.end())
        cut = _CUT.search(text, a, b)
        ca, cb = _strip_span(text, a, cut.start() if cut else b)
        value = normalize_number(text[ca:cb]) if cb > ca else None
        if value is not None:
            return answer(value, ca, cb, "answer-is")
        equals = text.rfind("=", ca, cb)  # "The answer is 3 + 4 = 7."
        token = _first_token(text, equals + 1, cb) if equals != -1 else None
        token = token or _first_token(text, a, b)
        if token is not None:
            # the answer's first number decides: unreadable ("2,5", "5 of 7") means unreadable
            return _NONE if token[0] is None else answer(token[0], token[1], token[2],
                                                         "answer-is")
        if any(c.isdigit() for c in text[a:b]):
            return _NONE  # digits, but no number ("\sqrt{2}", "x^2"): not another number
        words = _word_numbers(text[a:b])
        if words:
            value, wa, wb = words[0]
            return answer(value, a + wa, a + wb, "answer-is")
    tokens: _Tokens | None = None
    for a, b in reversed(_boxed_spans(text[base:])):
        a, b = a + base, b + base
        value = normalize_number(text[a:b]) if b - a <= _NUMBER_MAX else None
        if value is not None:
            return answer(value, a, b, "boxed")
        tokens = tokens or _Tokens(text, base)
        token = tokens.first_in(a, b)
        if token is not None and token[0] is not None:
            return answer(token[0], token[1], token[2], "boxed")
    lines = _lines(text[base:])
    if lines:
        a, b = lines[-1][0] + base, lines[-1][1] + base
        value = normalize_number(text[a:b])
        if value is not None:
            return answer(value, a, b, "final-line")
    tokens = tokens or _Tokens(text, base)
    if tokens.runs:
        # the last number decides: an unreadable one is not replaced by an earlier number
        value = tokens.value(len(tokens.runs) - 1)
        s, e = tokens.runs[-1]
        return _NONE if value is None else answer(value, s, e, "last-number")
    if not any(c.isdigit() for c in text[base:]):
        words = _word_numbers(text[base:])
        if words:
            value, a, b = words[-1]
            return answer(value, a + base, b + base, "word-number")
    return _NONE


def _text_value(text: str, a: int, b: int) -> tuple[str, int, int] | None:
    """The text answer in ``text[a:b]``: a leading quoted string or yes/no, else the clause."""
    a, b = _strip_span(text, a, b)
    while a < b and text[a] in "*_":
        a += 1
    quoted = _QUOTED.match(text, a, b)
    if quoted is not None:
        group = next(g for g in range(1, 5) if quoted.group(g) is not None)
        value = normalize_text(quoted.group(group))
        if value is not None:
            return value, quoted.start(group), quoted.end(group)
    cut = _TEXT_CUT.search(text, a, b)
    ca, cb = _strip_span(text, a, cut.start() if cut else b)
    first = _WORD.search(text, ca, cb)
    if first is not None and first.group(0).lower() in ("yes", "no"):
        return first.group(0).lower(), first.start(), first.end()
    value = normalize_text(text[ca:cb])
    return None if value is None else (value, ca, cb)


def _extract_text(text: str, original: str, base: int) -> Answer:
    for marker in _last_markers(text, base):
        a, b = _segment(text, marker.end())
        found = _text_value(text, a, b)
        if found is not None:
            return Answer(found[0], original[found[1]:found[2]], "answer-is")
    for a, b in reversed(_boxed_spans(text[base:])[-_BOXES_TRIED:]):
        value = normalize_text(_clean_latex(text[a + base:b + base]))
        if value is not None:
            return Answer(value, original[a + base:b + base], "boxed")
    lines = _lines(text[base:])
    if not lines:
        return _NONE
    a, b = lines[-1][0] + base, lines[-1][1] + base
    value = normalize_text(text[a:b])
    if value is not None and " " not in value:
        return Answer(value, original[a:b], "final-line")
    words = list(_WORD.finditer(text, a, b))
    for w in words:
        if w.group(0).lower() in ("yes", "no"):
            return Answer(w.group(0).lower(), original[w.start():w.end()], "text")
    if words:
        last = words[-1]
        return Answer(last.group(0).lower(), original[last.start():last.end()], "text")
    return _NONE


def extract_answer(text: str, kind: str = "number") -> Answer:
    """Find the final answer in a model's ``text``; see the module docstring for where it looks.

    ``kind="number"`` returns a canonical number (``"5/2"``), ``kind="text"`` a canonical short
    text (``"ky"``, ``"yes"``). Never raises on a string: when nothing is found the result is
    ``Answer(None, None, "none")``. Introduced in lesson 01.
    """
    _check_kind(kind)
    if not isinstance(text, str):
        msg = (f"extract_answer needs the model's text as a str, not {type(text).__name__}; "
               "for a Completion pass completion.text.")
        raise TypeError(msg)
    translated = text.translate(_SAME_LENGTH)
    base = _after_think(translated)
    if kind == "number":
        blanked = _RELATIONS.sub(lambda m: " " * len(m.group(0)), translated)  # x\approx11
        return _extract_number(blanked, text, base)
    return _extract_text(translated, text, base)


def is_correct(answer: Answer | str | None, gold: str, kind: str = "number") -> bool:
    """Whether ``answer`` equals the ``gold`` answer once both are in canonical form.

    ``answer`` may be an :class:`Answer`, a model's text (the answer is extracted from it) or
    ``None`` (never correct). Numbers compare exactly as fractions, so ``"2.50"`` matches gold
    ``"5/2"``. Introduced in lesson 01.
    """
    _check_kind(kind)
    if answer is None:
        return False
    if isinstance(answer, str):
        answer = extract_answer(answer, kind)
    if not isinstance(answer, Answer):
        msg = f"answer must be an Answer, a str or None, not {type(answer).__name__}."
        raise TypeError(msg)
    normalize = normalize_number if kind == "number" else normalize_text
    want = normalize(gold)
    if want is None:
        msg = (f"The gold answer {gold!r} is not a valid {kind}; give it in a form "
               f"normalize_{kind}() accepts, e.g. '42' or '5/2'." if kind == "number" else
               f"The gold answer {gold!r} is empty; give the expected text, e.g. 'ky'.")
        raise ValueError(msg)
    if answer.value is None:
        return False
    return normalize(answer.value) == want
