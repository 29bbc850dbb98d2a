"""The Game of 24: a solver, a safe checker for a model's expression, and the ``"game24"`` dataset.

Given four numbers (e.g. ``4 9 10 13``), write an expression that uses each of them exactly once
with ``+ - * /`` and parentheses and equals 24 (``(10 - 4) * (13 - 9)``). The puzzle is a classic
test of search at inference time (Yao et al., 2023, *Tree of Thoughts*): a solution is hard to
find but easy to check.

- :func:`solve` lists all distinct solutions, :func:`count_solutions` counts them, exactly with
  :class:`fractions.Fraction` (``8 / (3 - 8 / 3)`` is 24).
- :func:`check_expression` checks a model's expression with a hand-written tokenizer and
  recursive-descent parser (never ``eval``, never :mod:`ast`): it returns ``(ok, reason)``.
- :func:`extract_expression` finds the candidate expression in a model's text.
- ``datasets.load("game24", ...)`` gives puzzles whose ``problem.check(text)`` runs both.

What counts as distinct
-----------------------
Two solutions are the same when they differ only by the order of the operands of ``+`` and ``*``
and by regrouping inside one chain of ``+``/``-`` or of ``*``/``/`` (the usual associativity rules,
including ``a - (b - c) = a - b + c`` and ``a / (b / c) = a * c / b``). :func:`canonical` writes
every expression in that normal form: each chain is flattened into the terms added and the terms
subtracted (factors multiplied and factors divided), each sorted by value (largest first) and then
by text. Nothing else is identified: ``4 * 6 * 1`` and ``4 * 6 / 1`` are two solutions, and so
are ``(13 - 9) * (10 - 4)`` and ``(9 - 13) * (4 - 10)`` (both factors negated).

Registration
------------
``itc_lab.datasets`` imports this module on its last line, and this module registers
``"game24"`` when it is first imported, so ``datasets.load("game24")`` works whichever of the two
modules is imported first (this module only needs names that ``datasets`` defines before that
line).
"""

from __future__ import annotations

import functools
import itertools
import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, NamedTuple

from ..answers import Answer
from .base import Dataset, Problem, dataset_card, no_more_knobs, register_dataset

__all__ = [
    "MAX_LENGTH",
    "MAX_NESTING",
    "MAX_NUMBERS",
    "TARGET",
    "Game24Problem",
    "canonical",
    "check_answer",
    "check_expression",
    "count_solutions",
    "difficulty_of",
    "extract_expression",
    "is_solvable",
    "reachable",
    "solve",
]

MAX_LENGTH = 200
MAX_NESTING = 100
"""Deepest nesting of parentheses ``check_expression`` reads: within MAX_LENGTH a valid
expression nests at most 99 deep, and deeper input is refused with a reason."""
"""Longest expression (in characters) that :func:`check_expression` reads."""

MAX_NUMBERS = 6
"""Most numbers :func:`solve` accepts (the search grows very fast with more)."""




# ---------------------------------------------------------------------------------------------
# Canonical expressions
# ---------------------------------------------------------------------------------------------


class _Node(NamedTuple):
    """An expression in normal form: a number (``op == "n"``), a flattened sum (``"+"``: ``pos``
    added, ``neg`` subtracted) or a flattened product (``"*"``: ``pos`` multiplied, ``neg``
    divided). ``text`` is its canonical rendering and identifies it."""

    op: str
    value: Fraction
    pos: tuple[_Node, ...]
    neg: tuple[_Node, ...]
    text: str


def _leaf(number: int) -> _Node:
    return _Node("n", Fraction(number), (), (), str(number))


def _order(nodes: list[_Node]) -> tuple[_Node, ...]:
    return tuple(sorted(nodes, key=lambda node: (-node.value, node.text)))


def _combine(op: str, a: _Node, b: _Node) -> _Node:
    """``a op b`` (op one of ``+ - * /``) in normal form. ``b`` must not be 0 for ``/``."""
    chain = "+" if op in "+-" else "*"

    def pos(x: _Node) -> tuple[_Node, ...]:
        return x.pos if x.op == chain else (x,)

    def neg(x: _Node) -> tuple[_Node, ...]:
        return x.neg if x.op == chain else ()

    if op in "+*":
        plus, minus = pos(a) + pos(b), neg(a) + neg(b)
    else:
        plus, minus = pos(a) + neg(b), neg(a) + pos(b)
    if op == "+":
        value = a.value + b.value
    elif op == "-":
        value = a.value - b.value
    elif op == "*":
        value = a.value * b.value
    else:
        value = a.value / b.value
    p, m = _order(list(plus)), _order(list(minus))
    if chain == "+":
        text = " + ".join(x.text for x in p) + "".join(f" - {x.text}" for x in m)
    else:
        def wrap(x: _Node) -> str:
            return f"({x.text})" if x.op == "+" else x.text
        text = " * ".join(wrap(x) for x in p) + "".join(f" / {wrap(x)}" for x in m)
    return _Node(chain, value, p, m, text)


# ---------------------------------------------------------------------------------------------
# Solver
# ---------------------------------------------------------------------------------------------

_Multiset = tuple[Fraction, ...]


@functools.cache
def _splits(ms: _Multiset) -> tuple[tuple[_Multiset, _Multiset], ...]:
    """Every ordered way to cut a sorted multiset into two non-empty sorted parts."""
    out: set[tuple[_Multiset, _Multiset]] = set()
    size = len(ms)
    for mask in range(1, (1 << size) - 1):
        left = tuple(ms[i] for i in range(size) if mask >> i & 1)
        right = tuple(ms[i] for i in range(size) if not mask >> i & 1)
        out.add((left, right))
    return tuple(sorted(out))


@functools.cache
def _values(ms: _Multiset) -> frozenset[Fraction]:
    """Every value an expression using each element of ``ms`` exactly once can take."""
    if len(ms) == 1:
        return frozenset(ms)
    found: set[Fraction] = set()
    for left, right in _splits(ms):
        rights = _values(right)
        for a in _values(left):
            for b in rights:
                found.update((a + b, a - b, a * b))
                if b:
                    found.add(a / b)
    return frozenset(found)


@functools.cache
def _ways(ms: _Multiset, target: Fraction) -> tuple[_Node, ...]:
    """Every distinct (canonical) expression over ``ms`` that equals ``target``.

    Top-down: for each way to cut ``ms`` in two, run over the values of the part with fewer
    values and look up the value the other part would need for each operation. Only the
    sub-multisets' values are enumerated, never those of ``ms`` itself.
    """
    if len(ms) == 1:
        return (_Node("n", ms[0], (), (), str(ms[0])),) if ms[0] == target else ()
    if len(ms) <= 3 and target not in _values(ms):
        return ()
    found: dict[str, _Node] = {}
    for left, right in _splits(ms):
        if (len(left), left) > (len(right), right):
            continue  # each unordered cut once; both orders of every operation are tried below
        small, other = left, right
        if len(_values(small)) > len(_values(other)):
            small, other = other, small
        others = _values(other)
        for s in _values(small):
            # (value the other part needs, operation, whether the small part is on the left)
            wanted: list[tuple[Fraction, str, bool]] = [
                (target - s, "+", True), (s - target, "-", True), (target + s, "-", False)]
            if s:
                wanted += [(target / s, "*", True), (target * s, "/", False)]
                if target:
                    wanted.append((s / target, "/", True))
            elif not target:
                wanted += [(o, "*", True) for o in others]
                wanted += [(o, "/", True) for o in others if o]
            for o, op, small_first in wanted:
                if o not in others:
                    continue
                for x in _ways(small, s):
                    for y in _ways(other, o):
                        node = _combine(op, x, y) if small_first else _combine(op, y, x)
                        found.setdefault(node.text, node)
    return tuple(sorted(found.values(), key=lambda n: (len(n.text), n.text)))


def _multiset(numbers: Sequence[int], what: str = "numbers") -> _Multiset:
    if isinstance(numbers, str | bytes) or not isinstance(numbers, Sequence):
        msg = f"{what} must be a sequence of whole numbers such as [4, 9, 10, 13], not {numbers!r}."
        raise TypeError(msg)
    if not 1 <= len(numbers) <= MAX_NUMBERS:
        msg = f"Give 1 to {MAX_NUMBERS} numbers, not {len(numbers)}."
        raise ValueError(msg)
    for x in numbers:
        if not (isinstance(x, int) and not isinstance(x, bool) and 0 <= x <= 10**6):
            msg = f"Each number must be a whole number from 0 to 1000000, not {x!r}."
            raise ValueError(msg)
    return tuple(sorted(Fraction(x) for x in numbers))


def _target(target: int) -> Fraction:
    if not (isinstance(target, int) and not isinstance(target, bool)):
        msg = f"target must be a whole number, not {target!r}."
        raise ValueError(msg)
    return Fraction(target)


def _solution_nodes(numbers: Sequence[int], target: int = 24) -> tuple[_Node, ...]:
    return _ways(_multiset(numbers), _target(target))


def solve(numbers: Sequence[int], target: int = 24) -> list[str]:
    """All distinct solutions (see the module docstring for "distinct"), shortest first.

    ``solve([4, 9, 10, 13])`` is ``['(10 + 9 - 13) * 4', '(10 - 4) * (13 - 9)',
    '(9 - 13) * (4 - 10)']``; ``[]`` when there is none. Memoised on the sorted multiset.
    """
    return [node.text for node in _solution_nodes(numbers, target)]


def count_solutions(numbers: Sequence[int], target: int = 24) -> int:
    """How many distinct solutions :func:`solve` finds."""
    return len(_solution_nodes(numbers, target))


def is_solvable(numbers: Sequence[int], target: int = 24) -> bool:
    """Whether any expression of the numbers equals ``target`` (faster than :func:`solve`)."""
    return _target(target) in _values(_multiset(numbers))


def reachable(values: Sequence[Fraction | int], target: int = 24) -> bool:
    """Whether the exact values left mid-search (fractions or negatives allowed) can still make
    ``target``; the memoised search of :func:`is_solvable` without its whole-number check."""
    if not 1 <= len(values) <= MAX_NUMBERS:
        msg = f"Give 1 to {MAX_NUMBERS} values, not {len(values)}."
        raise ValueError(msg)
    return _target(target) in _values(tuple(sorted(Fraction(v) for v in values)))


def difficulty_of(n_solutions: int) -> int | None:
    """1 (4 or more distinct solutions), 2 (2-3), 3 (exactly one), ``None`` (unsolvable).

    With the strict notion of "distinct" used here most puzzles have few solutions; these cuts
    split the 1362 solvable ones into 438 / 528 / 396.
    """
    if n_solutions >= 4:
        return 1
    if n_solutions >= 2:
        return 2
    if n_solutions >= 1:
        return 3
    return None


def canonical(expression: str) -> str:
    """The normal form of an arithmetic expression (``"3*8"`` and ``"8 * 3"`` give ``"8 * 3"``).

    Reads the expression with the same safe parser as :func:`check_expression`; raises
    ``ValueError`` with the reason when it is not one.
    """
    tree = _parse(expression)

    def build(node: _Ast) -> _Node:
        if node.op == "n":
            return _leaf(node.number)
        assert node.left is not None and node.right is not None
        left, right = build(node.left), build(node.right)
        if node.op == "/" and right.value == 0:
            msg = f"divides by zero: {_span(expression, node.right)} is 0"
            raise ValueError(msg)
        return _combine(node.op, left, right)

    return build(tree).text


# ---------------------------------------------------------------------------------------------
# Safe checker: tokenizer and recursive-descent parser
# ---------------------------------------------------------------------------------------------

_OPERATORS = {"+": "+", "-": "-", "−": "-", "*": "*", "×": "*", "/": "/", "÷": "/"}
_FORBIDDEN = ("**", "//", "%", "^")
_SPACE = " \t"


class _Error(Exception):
    """A reason why an expression is not a valid answer (becomes the ``reason`` string)."""


@dataclass(frozen=True)
class _Token:
    kind: str  # "num", "op", "(", ")"
    text: str
    start: int
    end: int
    number: int = 0


@dataclass(frozen=True)
class _Ast:
    op: str  # "n" or one of + - * /
    start: int
    end: int
    number: int = 0
    left: _Ast | None = None
    right: _Ast | None = None


def _span(text: str, node: _Ast | None) -> str:
    return "" if node is None else text[node.start:node.end].strip()


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in _SPACE:
            i += 1
            continue
        for bad in _FORBIDDEN:
            if text.startswith(bad, i):
                raise _Error(f"operator '{bad}' is not allowed; use only + - * / × ÷ "
                             "and parentheses")
        if ch.isascii() and ch.isdigit():
            j = i
            while j < len(text) and text[j].isascii() and text[j].isdigit():
                j += 1
            tokens.append(_Token("num", text[i:j], i, j, int(text[i:j])))
            i = j
        elif ch in _OPERATORS:
            tokens.append(_Token("op", _OPERATORS[ch], i, i + 1))
            i += 1
        elif ch in "()":
            tokens.append(_Token(ch, ch, i, i + 1))
            i += 1
        else:
            raise _Error(f"unknown character {ch!r} at position {i}; only digits, "
                         "+ - * / × ÷, parentheses and spaces are allowed")
    return tokens


class _Parser:
    """expr := term (('+' | '-') term)* ; term := factor (('*' | '/') factor)* ;
    factor := NUMBER | '(' expr ')'."""

    def __init__(self, text: str, tokens: list[_Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def parse(self) -> _Ast:
        if not self.tokens:
            raise _Error("the expression is empty")
        node = self.expr()
        extra = self.peek()
        if extra is not None:
            if extra.kind == ")":
                raise _Error(f"unbalanced parentheses: ')' at position {extra.start} has no "
                             "matching '('")
            raise _Error(f"missing operator before {extra.text!r} at position {extra.start}")
        return node

    def binary(self, ops: str, operand: str) -> _Ast:
        node = self.factor() if operand == "factor" else self.term()
        while (tok := self.peek()) is not None and tok.kind == "op" and tok.text in ops:
            self.i += 1
            right = self.factor() if operand == "factor" else self.term()
            node = _Ast(tok.text, node.start, right.end, left=node, right=right)
        return node

    def expr(self) -> _Ast:
        return self.binary("+-", "term")

    def term(self) -> _Ast:
        return self.binary("*/", "factor")

    def factor(self) -> _Ast:
        tok = self.peek()
        if tok is None:
            before = self.tokens[-1]
            raise _Error(f"the expression ends after {before.text!r} with no number")
        if tok.kind == "num":
            self.i += 1
            return _Ast("n", tok.start, tok.end, number=tok.number)
        if tok.kind == "(":
            self.depth += 1
            if self.depth > MAX_NESTING:  # a clear error, not Python's recursion limit
                raise _Error(f"parentheses nested more than {MAX_NESTING} deep at position "
                             f"{tok.start}")
            self.i += 1
            inner = self.expr()
            self.depth -= 1
            close = self.peek()
            if close is None or close.kind != ")":
                if close is None:
                    raise _Error(f"unbalanced parentheses: '(' at position {tok.start} is "
                                 "never closed")
                raise _Error(f"missing operator before {close.text!r} at position "
                             f"{close.start}")
            self.i += 1
            return _Ast(inner.op, tok.start, close.end, inner.number, inner.left, inner.right)
        if tok.kind == ")":
            raise _Error(f"expected a number before ')' at position {tok.start}")
        if self.i == 0 or self.tokens[self.i - 1].kind == "(":
            raise _Error(f"unary {tok.text!r} at position {tok.start} is not allowed: every "
                         "operator must stand between two numbers")
        raise _Error(f"{tok.text!r} at position {tok.start} follows another operator")


def _parse(expression: str) -> _Ast:
    """The syntax tree of an expression; ``ValueError`` with the reason when it has none."""
    if not isinstance(expression, str):
        msg = f"An expression must be a str, not {type(expression).__name__}."
        raise TypeError(msg)
    if len(expression) > MAX_LENGTH:
        msg = (f"the expression is too long ({len(expression)} characters; "
               f"at most {MAX_LENGTH})")
        raise ValueError(msg)
    try:
        return _Parser(expression, _tokenize(expression)).parse()
    except _Error as err:
        raise ValueError(str(err)) from None


def _used(node: _Ast) -> list[int]:
    if node.op == "n":
        return [node.number]
    assert node.left is not None and node.right is not None
    return _used(node.left) + _used(node.right)


def _evaluate(text: str, node: _Ast) -> Fraction:
    if node.op == "n":
        return Fraction(node.number)
    assert node.left is not None and node.right is not None
    a, b = _evaluate(text, node.left), _evaluate(text, node.right)
    if node.op == "+":
        return a + b
    if node.op == "-":
        return a - b
    if node.op == "*":
        return a * b
    if b == 0:
        raise _Error(f"divides by zero: {_span(text, node.right)} is 0")
    return a / b


def _times(k: int) -> str:
    return {1: "once", 2: "twice"}.get(k, f"{k} times")


def _fmt(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    return f"{value.numerator}/{value.denominator}"


def check_expression(expr: str, numbers: Sequence[int], target: int = 24) -> tuple[bool, str]:
    """Whether ``expr`` uses every number exactly once with ``+ - * / × ÷`` and parentheses and
    equals ``target`` exactly; returns ``(ok, reason)``, the reason saying what is wrong (or
    ``"correct: ... = 24"``).

    Never evaluates code: a hand-written tokenizer accepts only digits, the operators, ``(``,
    ``)`` and spaces, and a recursive-descent parser builds the tree that is computed with
    fractions. Unary minus, decimals, ``**``, ``//``, ``%`` and anything longer than
    :data:`MAX_LENGTH` characters are rejected.
    """
    given = Counter(int(x) for x in _multiset(numbers))
    goal = _target(target)
    if not isinstance(expr, str):
        return False, f"the answer must be a str, not {type(expr).__name__}"
    if len(expr) > MAX_LENGTH:
        return False, f"the expression is too long ({len(expr)} characters; at most {MAX_LENGTH})"
    try:
        tree = _Parser(expr, _tokenize(expr)).parse()
        used = Counter(_used(tree))
        listed = " ".join(str(x) for x in sorted(given.elements()))
        for number in sorted(used):
            if number not in given:
                raise _Error(f"uses {number}, which is not one of {listed}")
        for number in sorted(used):
            if used[number] > given[number]:
                raise _Error(f"uses {number} {_times(used[number])}, but it is given "
                             f"{_times(given[number])}")
        missing = sorted((given - used).elements())
        if missing:
            raise _Error(f"does not use {' '.join(map(str, missing))}; every one of {listed} "
                         "must be used exactly once")
        value = _evaluate(expr, tree)
    except _Error as err:
        return False, str(err)
    if value != goal:
        return False, f"equals {_fmt(value)}, not {_fmt(goal)}"
    return True, f"correct: {expr.strip()} = {_fmt(goal)}"


# ---------------------------------------------------------------------------------------------
# Finding the expression in a model's text
# ---------------------------------------------------------------------------------------------

_MARK = re.compile(r"\banswer\b[*_\s]*(?:is\b|[:=])[*_\s]*:?", re.I)
_BOXED = re.compile(r"\\boxed\{((?:[^{}]|\{[^{}]*\})*)\}")
_RUN = re.compile(r"[0-9+\-−*/×÷() \t]+")
_LATEX = (("\\times", "×"), ("\\cdot", "*"), ("\\div", "÷"), ("\\left", ""), ("\\right", ""),
          ("**", ""), ("`", ""), ("$", ""), ("\\(", ""), ("\\)", ""), ("{", "("), ("}", ")"))
_IMPOSSIBLE = re.compile(
    r"\b(?:no\s+solution|impossible|unsolvable|not\s+solvable|not\s+possible|"
    r"cannot\s+(?:be\s+)?(?:made|make|reach|reached|done|solved)|can(?:no|')t\s+(?:be\s+)?"
    r"(?:made|make|reach|reached|done|solved))\b", re.I)


def _candidate(segment: str) -> str | None:
    """The expression in one piece of text: of the pieces between ``=`` signs, the first with an
    operator, and in it the longest run of expression characters that holds a digit."""
    for old, new in _LATEX:
        segment = segment.replace(old, new)
    parts = segment.split("=")
    for part in parts:
        runs = [str(r).strip() for r in _RUN.findall(part) if any(c.isdigit() for c in r)]
        if not runs:
            continue
        best = max(runs, key=len)
        if any(op in best for op in "+-−*/×÷"):
            return best
    for part in parts:
        runs = [str(r).strip() for r in _RUN.findall(part) if any(c.isdigit() for c in r)]
        if runs:
            return max(runs, key=len)
    return None


def extract_expression(text: str, target: int = 24) -> str | None:
    """The candidate expression in a model's text, or ``None``.

    Looked for (first found wins), after the last ``</think>``: the rest of the line after the
    last "Answer:" / "answer is"; the last ``\\boxed{...}``; the last line containing
    ``= 24`` (or ``24 =``); the last line that is nothing but an expression. LaTeX
    ``\\times``/``\\div`` and markdown (``**``, backticks, ``$``) are dropped first. Never
    raises on text.
    """
    if not isinstance(text, str):
        return None
    text = text.rsplit("</think>", 1)[-1]
    marks = list(_MARK.finditer(text))
    if marks:
        rest = text[marks[-1].end():].strip().split("\n", 1)[0]
        found = _candidate(rest)
        if found:
            return found
    boxes = _BOXED.findall(text)
    if boxes:
        found = _candidate(boxes[-1])
        if found:
            return found
    lines = [line for line in text.splitlines() if line.strip()]
    number = re.escape(str(target))
    goal = re.compile(rf"=\s*\**\s*{number}(?![\d.]\d)|(?<![\d./])\b{number}\s*=")
    for line in reversed(lines):
        if goal.search(line.replace("$", "").replace("`", "")):
            found = _candidate(line)
            if found:
                return found
    for line in reversed(lines):
        bare = line.strip().strip("*`$ .")
        if bare and _RUN.fullmatch(bare) and any(c.isdigit() for c in bare):
            return bare.strip()
    return None


def check_answer(text: str, numbers: Sequence[int], target: int = 24,
                 solvable: bool = True) -> tuple[bool, str]:
    """:func:`extract_expression` then :func:`check_expression` on a model's whole text.

    For a puzzle with no solution (``solvable=False``) the right answer is to say so ("no
    solution", "impossible", ...) without offering an expression that is accepted.
    """
    candidate = extract_expression(text, target)
    if not solvable:
        if candidate is not None and check_expression(candidate, numbers, target)[0]:
            return True, f"correct: {candidate} = {target}"  # only if the label were wrong
        if isinstance(text, str) and _IMPOSSIBLE.search(text.rsplit("</think>", 1)[-1]):
            return True, "correct: says the puzzle has no solution"
        return False, "the puzzle has no solution, and the answer does not say so"
    if candidate is None:
        return False, "no expression found in the answer"
    return check_expression(candidate, numbers, target)


# ---------------------------------------------------------------------------------------------
# The "game24" dataset
# ---------------------------------------------------------------------------------------------

TARGET = 24


class Game24Problem(Problem):
    """A Game-of-24 puzzle: :meth:`check` extracts the expression from a model's text and checks
    it with :func:`check_expression` (``answer`` is ``"24"``, so a plain :class:`Problem` made
    from :meth:`to_dict` falls back to checking only that the final number is 24)."""

    def check(self, text_or_answer: str | Answer | None) -> bool:
        return self.explain(text_or_answer)[0]

    def explain(self, text_or_answer: str | Answer | None) -> tuple[bool, str]:
        """``(ok, reason)`` for a model's text, e.g. ``(False, "uses 5 twice, ...")``."""
        if isinstance(text_or_answer, Answer):
            text_or_answer = text_or_answer.raw
        if not isinstance(text_or_answer, str):
            return False, "no answer"
        numbers = [int(x) for x in self.meta["numbers"]]
        return check_answer(text_or_answer, numbers, int(self.meta.get("target", TARGET)),
                            bool(self.meta.get("solvable", True)))


def _steps(node: _Node) -> tuple[list[str], str]:
    """Worked steps for a canonical expression, and how its value is written."""
    if node.op == "n":
        return [], node.text
    lines: list[str] = []
    written: list[str] = []
    for child in node.pos + node.neg:
        child_lines, value = _steps(child)
        lines += child_lines
        written.append(f"({value})" if "/" in value and child.op != "n" else value)
    join, split = (" + ", " - ") if node.op == "+" else (" * ", " / ")
    k = len(node.pos)
    text = join.join(written[:k]) + "".join(f"{split}{w}" for w in written[k:])
    lines.append(f"{text} = {_fmt(node.value)}")
    return lines, _fmt(node.value)


def _problem(numbers: tuple[int, ...]) -> Game24Problem:
    nodes = _solution_nodes(numbers, TARGET)
    shown = " ".join(map(str, numbers))
    if nodes:
        steps, _ = _steps(nodes[0])
        solution = (" ".join(f"{s}." for s in steps)
                    + f" The answer is {nodes[0].text} = {TARGET}.")
    else:
        solution = (f"No expression of {shown} with + - * / equals {TARGET}. "
                    "The answer is: no solution.")
    return Game24Problem(
        id="game24-" + "-".join(map(str, numbers)),
        question=f"Use the numbers {shown} and + - * / to make {TARGET}.",
        answer=str(TARGET),
        kind="number",
        solution=solution,
        meta={"numbers": list(numbers), "target": TARGET, "solvable": bool(nodes),
              "n_solutions": len(nodes), "solutions": [n.text for n in nodes[:5]],
              "difficulty": difficulty_of(len(nodes))},
    )


@functools.cache
def _all_problems() -> tuple[Game24Problem, ...]:
    """All 1820 multisets of four numbers from 1 to 13, solved (once per process)."""
    return tuple(_problem(numbers)
                 for numbers in itertools.combinations_with_replacement(range(1, 14), 4))


_KNOBS = "difficulty (1-3 or None), include_unsolvable (True/False)"


def _game24(n: int | None = None, seed: int = 0, **knobs: Any) -> Dataset:
    """Game-of-24 puzzles from 1-13; knobs: difficulty (1-3 or None), include_unsolvable."""
    knobs = dict(knobs)
    difficulty = knobs.pop("difficulty", None)
    if difficulty is not None and not (isinstance(difficulty, int)
                                       and not isinstance(difficulty, bool)
                                       and 1 <= difficulty <= 3):
        msg = f"game24: difficulty must be 1, 2, 3 or None, not {difficulty!r}."
        raise ValueError(msg)
    include_unsolvable = knobs.pop("include_unsolvable", False)
    if not isinstance(include_unsolvable, bool):
        msg = f"game24: include_unsolvable must be True or False, not {include_unsolvable!r}."
        raise ValueError(msg)
    no_more_knobs("game24", knobs, _KNOBS)
    pool = [p for p in _all_problems()
            if (include_unsolvable or p.meta["solvable"])
            and (difficulty is None or p.meta["difficulty"] == difficulty)]
    if n is None:
        problems = tuple(pool)
    else:
        if n > len(pool):
            msg = (f"game24 has only {len(pool)} puzzles with these knobs; "
                   f"ask for n <= {len(pool)}, not {n}.")
            raise ValueError(msg)
        order = list(range(len(pool)))
        random.Random(f"game24|{seed}").shuffle(order)
        problems = tuple(pool[i] for i in order[:n])
    return Dataset("game24", problems, dataset_card("game24"),
                   {"n": n, "seed": seed, "difficulty": difficulty,
                    "include_unsolvable": include_unsolvable})


register_dataset("game24", _game24, replace=True)
