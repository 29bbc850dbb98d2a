"""Problem sets with known answers, worked solutions and a card each. Introduced in lesson 01.

``load("arith", n=50, seed=0, difficulty=2)`` returns a :class:`Dataset` of :class:`Problem` s;
``problem.check(model_text)`` says whether a model's text contains the right answer, and
``dataset.exemplars(k, exclude=problem)`` picks few-shot examples that never include the problem
being asked. ``available()`` lists the names; ``register_dataset`` adds one (the built-ins are
registered the same way).

The data files and cards live in the top-level ``datasets/`` folder of the project (in an
installed wheel: the ``itc_lab._datasets`` package); :func:`data_dir` finds it.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import json
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, overload

from .answers import KINDS, Answer, is_correct, normalize_number, normalize_text
from .types import _known

__all__ = [
    "DEFAULT_SIZE",
    "Dataset",
    "DatasetFactory",
    "Problem",
    "available",
    "data_dir",
    "evaluate",
    "load",
    "register_dataset",
]

DEFAULT_SIZE = 100
"""Problems a generated dataset has when ``load`` is given no ``n``."""

MAX_SIZE = 10_000
"""Most problems a generator makes in one ``load``."""


def _bad(message: str) -> ValueError:
    return ValueError(message)


def _question_key(question: str) -> str:
    return " ".join(question.split()).casefold()


@dataclass(frozen=True)
class Problem:
    """One question with its gold answer and a worked solution. Introduced in lesson 01."""

    id: str
    """Unique and stable, e.g. ``"arith-d2-s0-0007"``: the same id is the same problem."""
    question: str
    """The question as shown to the model."""
    answer: str
    """Gold answer in canonical form (``normalize_number`` for numbers: ``"12"``, ``"5/2"``;
    ``normalize_text`` for text: ``"nk"``, ``"yes"``)."""
    kind: str = "number"
    """``"number"`` or ``"text"``: how answers are extracted and compared."""
    solution: str = ""
    """A short worked chain of thought ending in ``"The answer is X."`` (few-shot exemplar text)."""
    meta: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=True)
    """Difficulty knobs and what the answer was computed from (e.g. ``expression``)."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            msg = f"Problem kind must be one of {KINDS}, not {self.kind!r}."
            raise _bad(msg)
        for name in ("id", "question"):
            value = getattr(self, name)
            if not (isinstance(value, str) and value.strip()):
                msg = f"Problem {name} must be a non-empty string, not {value!r}."
                raise _bad(msg)
        canonical = (normalize_number if self.kind == "number" else normalize_text)(self.answer)
        if canonical is None:
            msg = (f"Problem {self.id}: the answer {self.answer!r} is not a {self.kind}; "
                   "give the gold answer, e.g. '12', '5/2' or 'nk'.")
            raise _bad(msg)
        if canonical != self.answer:
            msg = (f"Problem {self.id}: write the answer {self.answer!r} in canonical form "
                   f"{canonical!r} (normalize_{self.kind}() gives it).")
            raise _bad(msg)
        object.__setattr__(self, "meta", dict(self.meta))

    def check(self, text_or_answer: str | Answer | None) -> bool:
        """Whether a model's text (or an extracted :class:`Answer`) has this problem's answer."""
        return is_correct(text_or_answer, self.answer, self.kind)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "question": self.question, "answer": self.answer,
                "kind": self.kind, "solution": self.solution, "meta": dict(self.meta)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Problem:
        d = _known(cls, d)
        d["meta"] = dict(d.get("meta", {}))
        return cls(**d)


@dataclass(frozen=True)
class Dataset(Sequence[Problem]):
    """An ordered, immutable set of problems with its card. Introduced in lesson 01.

    Behaves like a tuple of :class:`Problem`: ``len(ds)``, ``ds[3]``, ``for p in ds``; a slice
    ``ds[:10]`` is again a Dataset.
    """

    name: str
    problems: tuple[Problem, ...]
    card: str = ""
    """The dataset card (markdown): source, license, fields, how answers are checked, knobs."""
    params: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=True)
    """How it was made: the ``n``, ``seed`` and knobs given to :func:`load`."""

    def __post_init__(self) -> None:
        problems = tuple(self.problems)
        for p in problems:
            if not isinstance(p, Problem):
                msg = f"Dataset {self.name!r} holds a {type(p).__name__}; give Problem objects."
                raise TypeError(msg)
        ids = [p.id for p in problems]
        if len(set(ids)) != len(ids):
            twice = sorted({i for i in ids if ids.count(i) > 1})
            msg = f"Dataset {self.name!r} has repeated problem ids {twice[:5]}; ids must be unique."
            raise _bad(msg)
        object.__setattr__(self, "problems", problems)
        object.__setattr__(self, "params", dict(self.params))

    def __len__(self) -> int:
        return len(self.problems)

    @overload
    def __getitem__(self, index: int) -> Problem: ...

    @overload
    def __getitem__(self, index: slice) -> Dataset: ...

    def __getitem__(self, index: int | slice) -> Problem | Dataset:
        if isinstance(index, slice):
            return replace(self, problems=self.problems[index])
        return self.problems[index]

    def __iter__(self) -> Iterator[Problem]:
        return iter(self.problems)

    def __repr__(self) -> str:
        return f"Dataset(name={self.name!r}, problems=<{len(self)} problems>, params={self.params})"

    def sample(self, n: int, seed: int = 0) -> Dataset:
        """``n`` distinct problems chosen at random (reproducible by ``seed``), in dataset order."""
        if not (isinstance(n, int) and 0 <= n <= len(self)):
            msg = f"sample(n) needs a whole number from 0 to {len(self)} (the size), not {n!r}."
            raise _bad(msg)
        chosen = sorted(random.Random(seed).sample(range(len(self)), n))
        return replace(self, problems=tuple(self.problems[i] for i in chosen))

    def exemplars(self, k: int, exclude: Problem | None, seed: int = 0) -> tuple[Problem, ...]:
        """``k`` few-shot exemplars from this dataset, never ``exclude`` itself nor any problem
        with the same id or the same question (whitespace and case ignored).

        The same ``seed`` gives the same exemplars for every excluded problem except where one
        would collide with it, so a few-shot prompt stays fixed across a benchmark.
        """
        if not (isinstance(k, int) and k >= 0):
            msg = f"exemplars(k) needs a whole number >= 0, not {k!r}."
            raise _bad(msg)
        if exclude is not None and not isinstance(exclude, Problem):
            msg = (f"exclude must be the Problem being asked (or None), "
                   f"not {type(exclude).__name__}.")
            raise TypeError(msg)

        def allowed(p: Problem) -> bool:
            return exclude is None or (p.id != exclude.id
                                       and _question_key(p.question)
                                       != _question_key(exclude.question))

        order = list(range(len(self)))
        random.Random(seed).shuffle(order)
        picked = tuple(self.problems[i] for i in order if allowed(self.problems[i]))[:k]
        if len(picked) < k:
            msg = (f"Asked for {k} exemplars but dataset {self.name!r} has only {len(picked)} "
                   "problems besides the excluded one; ask for fewer or load more (n=...).")
            raise _bad(msg)
        return picked

    def filter(self, **meta: Any) -> Dataset:
        """The problems whose ``meta`` matches every keyword: equal to the value, a member of it
        when it is a tuple, list, set or range (``steps=(1, 2)``), or passing it when it is a
        function (``max_value=lambda v: v <= 20``)."""
        known = {key for p in self.problems for key in p.meta}
        unknown = sorted(set(meta) - known)
        if unknown:
            msg = (f"No problem in {self.name!r} has meta {unknown}; "
                   f"filter on one of {sorted(known)}.")
            raise _bad(msg)

        def matches(p: Problem) -> bool:
            for key, want in meta.items():
                have = p.meta.get(key)
                if callable(want):
                    ok = bool(want(have))
                elif isinstance(want, tuple | list | set | frozenset | range):
                    ok = have in want
                else:
                    ok = have == want
                if not ok:
                    return False
            return True

        return replace(self, problems=tuple(p for p in self.problems if matches(p)))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "problems": [p.to_dict() for p in self.problems],
                "card": self.card, "params": dict(self.params)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Dataset:
        d = _known(cls, d)
        d["problems"] = tuple(Problem.from_dict(p) for p in d.get("problems", ()))
        d["params"] = dict(d.get("params", {}))
        return cls(**d)


# ---------------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------------

DatasetFactory = Callable[..., Dataset]
"""Builds a dataset: called as ``factory(n=n, seed=seed, **knobs)``; ``n`` may be ``None``
(the dataset's default size). It should raise ``ValueError`` naming the allowed range of a bad
knob."""

_REGISTRY: dict[str, DatasetFactory] = {}


def register_dataset(name: str, factory: DatasetFactory, *, replace: bool = False) -> None:
    """Make ``load(name, ...)`` call ``factory(n=..., seed=..., **knobs)``.

    Introduced in lesson 01.
    """
    if not (isinstance(name, str) and name.strip()):
        msg = f"A dataset name must be a non-empty string, not {name!r}."
        raise _bad(msg)
    if name in _REGISTRY and not replace:
        msg = f"A dataset named {name!r} is already registered (pass replace=True to override)."
        raise _bad(msg)
    if not callable(factory):
        msg = f"The factory for {name!r} must be callable as factory(n=..., seed=..., **knobs)."
        raise TypeError(msg)
    _REGISTRY[name] = factory


def available() -> list[str]:
    """Names that :func:`load` accepts, sorted. Introduced in lesson 01."""
    return sorted(_REGISTRY)


def load(name: str, n: int | None = None, seed: int = 0, **knobs: Any) -> Dataset:
    """Load or generate a dataset. Introduced in lesson 01.

    ``n``: how many problems (``None``: all of a fixed set, :data:`DEFAULT_SIZE` of a generated
    one); ``seed``: which ones (generation and sampling are reproducible); ``knobs``: the
    dataset's difficulty settings, listed on its card (e.g. ``difficulty=3`` for ``"arith"``).
    """
    try:
        factory = _REGISTRY[name]
    except (KeyError, TypeError):
        msg = f"Unknown dataset {name!r}; choose one of: {', '.join(available())}."
        raise _bad(msg) from None
    if n is not None and not (isinstance(n, int) and not isinstance(n, bool) and n >= 1):
        msg = f"n must be a whole number >= 1 (or None for the default size), not {n!r}."
        raise _bad(msg)
    if not (isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0):
        msg = f"seed must be a whole number >= 0, not {seed!r}."
        raise _bad(msg)
    dataset = factory(n=n, seed=seed, **knobs)
    if not isinstance(dataset, Dataset):
        msg = f"The factory of dataset {name!r} returned a {type(dataset).__name__}, not a Dataset."
        raise TypeError(msg)
    return dataset


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------


def data_dir() -> Path:
    """The folder with the data files and cards: the ``itc_lab._datasets`` package when
    installed from a wheel, else the project's top-level ``datasets/`` folder. Introduced in
    lesson 01."""
    try:
        spec = importlib.util.find_spec("itc_lab._datasets")
    except (ImportError, ValueError):
        spec = None
    if spec is not None:
        if spec.submodule_search_locations:
            return Path(next(iter(spec.submodule_search_locations)))
        if spec.origin:
            return Path(spec.origin).parent
    return Path(__file__).resolve().parents[1] / "datasets"


def _read(filename: str) -> str:
    path = data_dir() / filename
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        msg = (f"The dataset file {path} is missing; reinstall itc-lab or restore the file "
               "from the project's datasets/ folder.")
        raise FileNotFoundError(msg) from None


@functools.cache
def _card(name: str) -> str:
    return _read(f"{name}.md")


@functools.cache
def _names() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(first names, surnames) from ``names.txt``."""
    sections: dict[str, list[str]] = {"first": [], "last": []}
    current: list[str] | None = None
    for number, line in enumerate(_read("names.txt").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line in ("[first]", "[last]"):
            current = sections[line[1:-1]]
        elif current is None or not (line.isascii() and line.isalpha()):
            msg = f"names.txt line {number}: {line!r} is not a name inside [first] or [last]."
            raise _bad(msg)
        else:
            current.append(line)
    return tuple(sections["first"]), tuple(sections["last"])


# ---------------------------------------------------------------------------------------------
# Knobs
# ---------------------------------------------------------------------------------------------


def _knob(dataset: str, knobs: dict[str, Any], name: str, default: int, lo: int, hi: int) -> int:
    value = knobs.pop(name, default)
    if not (isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi):
        msg = f"{dataset}: {name} must be a whole number from {lo} to {hi}, not {value!r}."
        raise _bad(msg)
    return value


def _no_more_knobs(dataset: str, knobs: Mapping[str, Any], allowed: str) -> None:
    if knobs:
        msg = (f"Dataset {dataset!r} has no knob(s) {sorted(knobs)}; "
               f"{'its knobs are: ' + allowed if allowed else 'it has no knobs'}.")
        raise _bad(msg)


def _size(n: int | None) -> int:
    size = DEFAULT_SIZE if n is None else n
    if size > MAX_SIZE:
        msg = f"n must be at most {MAX_SIZE} for a generated dataset, not {size}."
        raise _bad(msg)
    return size


def _generate(size: int, seed_text: str,
              make: Callable[[random.Random, int], Problem]) -> tuple[Problem, ...]:
    """Problems 0..size-1, each from its own seeded generator, with no question repeated.

    Problem ``i`` depends only on the seed text and on problems before it, so a smaller ``n``
    gives a prefix of a larger one.
    """
    problems: list[Problem] = []
    seen: set[str] = set()
    for i in range(size):
        problem = None
        for attempt in range(50):
            problem = make(random.Random(f"{seed_text}|{i}|{attempt}"), i)
            if _question_key(problem.question) not in seen:
                break
        assert problem is not None
        seen.add(_question_key(problem.question))
        problems.append(problem)
    return tuple(problems)


# ---------------------------------------------------------------------------------------------
# A safe arithmetic evaluator
# ---------------------------------------------------------------------------------------------

_OPS: dict[type, Callable[[Fraction, Fraction], Fraction]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}


def evaluate(expression: str) -> Fraction:
    """The exact value of an arithmetic expression of numbers, ``+ - * /`` and parentheses.

    Parsed with :mod:`ast` and computed with fractions (``"7 / 2"`` is ``Fraction(7, 2)``); never
    ``eval``: names, calls, powers and everything else raise ``ValueError``. Introduced in
    lesson 01.
    """
    if not isinstance(expression, str) or len(expression) > 500:
        msg = "evaluate() needs an arithmetic expression as a str of at most 500 characters."
        raise _bad(msg)
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError:
        msg = f"{expression!r} is not an arithmetic expression (numbers, + - * / and parentheses)."
        raise _bad(msg) from None

    def value(node: ast.AST) -> Fraction:
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return Fraction(str(node.value))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            inner = value(node.operand)
            return -inner if isinstance(node.op, ast.USub) else inner
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            left, right = value(node.left), value(node.right)
            if isinstance(node.op, ast.Div) and right == 0:
                msg = f"{expression!r} divides by zero."
                raise _bad(msg)
            return _OPS[type(node.op)](left, right)
        msg = (f"{expression!r} may only use numbers, + - * / and parentheses "
               f"(found {type(node).__name__}).")
        raise _bad(msg)

    return value(tree.body)


# ---------------------------------------------------------------------------------------------
# "arith": generated arithmetic word problems
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scene:
    """A story whose one quantity changes step by step. Placeholders: {name} {a} {b} {nth}
    {times} (``twice``, ``three times`` ...) and {part} (``half``, ``two thirds`` ...); a fact is
    (sentence with {x}, lowest x, highest x)."""

    key: str
    start: tuple[str, ...]
    add: tuple[str, ...]
    sub: tuple[str, ...]
    mul: tuple[str, ...]
    div: tuple[str, ...]
    question: str
    facts: tuple[tuple[str, int, int], ...]


_SCENES = (
    _Scene(
        "apples",
        start=("{name} has {a} apples.", "{name} picks {a} apples in the orchard."),
        add=("{name} picks {b} more apples.", "A neighbour gives {name} {b} apples.",
             "{name} buys {b} apples at the market."),
        sub=("{name} eats {b} of the apples.", "{name} gives {b} apples to a friend.",
             "{name} uses {b} apples to make a pie."),
        mul=("After another trip to the orchard, {name} has {times} as many apples as before.",
             "{name}'s aunt brings so many apples that {name} now has {times} as many."),
        div=("{name} gives away {part} of the apples.",
             "{name} uses {part} of the apples to make apple juice."),
        question="How many apples does {name} have now?",
        facts=(("The apple tree is {x} years old.", 3, 60),
               ("{name} lives {x} km from the orchard.", 2, 30)),
    ),
    _Scene(
        "coins",
        start=("{name} has {a} coins in a jar.", "{name}'s jar holds {a} coins."),
        add=("{name} puts {b} more coins in the jar.",
             "{name} finds {b} coins under the sofa and adds them to the jar.",
             "A friend pays back {b} coins, and {name} puts them in the jar."),
        sub=("{name} takes {b} coins out of the jar to buy a snack.",
             "{name} spends {b} coins from the jar at the fair."),
        mul=("A grandparent adds coins until the jar holds {times} as many coins as before.",
             "After a birthday, {name}'s jar holds {times} as many coins as before."),
        div=("{name} spends {part} of the coins in the jar on a book.",
             "{name} gives {part} of the coins in the jar to charity."),
        question="How many coins are in the jar now?",
        facts=(("The jar is {x} cm tall.", 10, 40), ("{name} is {x} years old.", 6, 15)),
    ),
    _Scene(
        "pages",
        start=("{name} has a notebook with {a} empty pages.",),
        add=("{name} glues {b} extra empty pages into the notebook.",
             "{name} clips {b} more empty pages into the notebook."),
        sub=("{name} fills {b} pages with drawings.", "{name} writes notes on {b} pages.",
             "{name} tears out {b} empty pages to make paper planes."),
        mul=("{name} swaps it for a notebook with {times} as many empty pages.",
             "{name} binds it together with others, which gives {times} as many empty pages."),
        div=("{name} fills {part} of the empty pages with a story.",
             "{name} uses {part} of the empty pages for a school project."),
        question="How many empty pages does {name}'s notebook have now?",
        facts=(("The notebook cost {x} dollars.", 2, 12), ("{name}'s pen is {x} cm long.", 9, 16)),
    ),
    _Scene(
        "bus",
        start=("A bus leaves the depot with {a} passengers.",
               "A bus starts its trip with {a} passengers on board."),
        add=("At the {nth} stop, {b} people get on.",
             "At the {nth} stop, {b} passengers board the bus."),
        sub=("At the {nth} stop, {b} people get off.",
             "At the {nth} stop, {b} passengers leave the bus."),
        mul=("At the {nth} stop, so many people get on that there are {times} as many "
             "passengers as before.",),
        div=("At the {nth} stop, {part} of the passengers get off.",),
        question="How many passengers are on the bus now?",
        facts=(("The bus is {x} years old.", 2, 20),
               ("The driver, {name}, has driven buses for {x} years.", 2, 35)),
    ),
    _Scene(
        "baking",
        start=("{name} bakes {a} cookies and puts them on a tray.",),
        add=("{name} bakes {b} more cookies and puts them on the tray too.",
             "A friend brings {b} cookies, and {name} adds them to the tray."),
        sub=("{name}'s family eats {b} cookies from the tray.",
             "{name} gives {b} cookies from the tray to the neighbours."),
        mul=("{name} bakes more batches until the tray holds {times} as many cookies as before.",),
        div=("{name} packs {part} of the cookies on the tray into boxes for the school fair.",
             "{name} puts {part} of the cookies on the tray into the freezer."),
        question="How many cookies are on the tray now?",
        facts=(("The oven is set to {x} degrees.", 160, 220),
               ("The recipe book has {x} pages.", 80, 300)),
    ),
    _Scene(
        "marbles",
        start=("{name} has {a} marbles.", "{name} keeps {a} marbles in a bag."),
        add=("{name} wins {b} marbles in a game.", "{name} gets {b} marbles as a present."),
        sub=("{name} loses {b} marbles in a game.", "{name} gives {b} marbles to a friend."),
        mul=("{name} trades some toys and ends up with {times} as many marbles as before.",),
        div=("{name} gives {part} of the marbles to a younger cousin.",
             "{name} loses {part} of the marbles through a hole in the bag."),
        question="How many marbles does {name} have now?",
        facts=(("{name}'s cousin is {x} years old.", 3, 12),
               ("The game lasts {x} minutes.", 5, 45)),
    ),
    _Scene(
        "library",
        start=("A library shelf holds {a} books.",),
        add=("The librarian, {name}, puts {b} returned books on the shelf.",
             "{name} adds {b} new books to the shelf.",
             "Readers return {b} books, and they go back on the shelf."),
        sub=("Readers borrow {b} books from the shelf.",
             "{name} takes {b} damaged books off the shelf."),
        mul=("After a donation, the shelf holds {times} as many books as before.",),
        div=("The librarian, {name}, moves {part} of the books to another room.",
             "Readers borrow {part} of the books on the shelf."),
        question="How many books are on the shelf now?",
        facts=(("The shelf is {x} cm wide.", 60, 200), ("The library has {x} chairs.", 10, 90)),
    ),
    _Scene(
        "parking",
        start=("A car park has {a} cars in it.", "In the morning, {a} cars are in a car park."),
        add=("Then {b} more cars drive in.", "Later, {b} cars arrive and park."),
        sub=("Then {b} cars drive out.", "Later, {b} cars leave."),
        mul=("By noon there are {times} as many cars as before.",),
        div=("In the afternoon, {part} of the cars leave.",),
        question="How many cars are in the car park now?",
        facts=(("Parking costs {x} cents an hour.", 50, 400),
               ("The car park has {x} lamps.", 4, 40)),
    ),
)
_GENERIC_FACTS = (
    ("It is {x} degrees outside.", 5, 35),
    ("{name}'s best friend is {x} years old.", 6, 14),
    ("{name} walked {x} steps this morning.", 300, 9000),
)
_ORDINALS = ("first", "second", "third", "fourth")
_TIMES = {2: "twice", 3: "three times", 4: "four times", 5: "five times"}
_PART_GONE = {2: "half", 3: "two thirds", 4: "three quarters", 5: "four fifths"}
_PART_LEFT = {2: "half", 3: "a third", 4: "a quarter", 5: "a fifth"}
_SYMBOL = {"+": "+", "-": "-", "*": "×", "/": "÷"}

ARITH_PRESETS: dict[int, dict[str, int]] = {
    1: {"steps": 1, "max_value": 20, "distractors": 0},
    2: {"steps": 2, "max_value": 50, "distractors": 1},
    3: {"steps": 3, "max_value": 100, "distractors": 2},
}
"""What ``difficulty`` 1-3 means for the ``"arith"`` knobs (explicit knobs override it)."""

_ARITH_KNOBS = ("difficulty (1-3), steps (1-4), max_value (10-10000), distractors (0-2)")


def _arith_problem(rng: random.Random, i: int, *, steps: int, max_value: int,
                   distractors: int, difficulty: int | None, seed: int) -> Problem:
    first_names, _ = _names()
    scene = rng.choice(_SCENES)
    name = rng.choice(first_names)
    state = rng.randint(2, max_value)
    story = [rng.choice(scene.start).format(name=name, a=state)]
    solution = [story[0]]
    expression, top, ops, operands = str(state), "", [], [state]
    used: set[str] = set()
    for step in range(steps):
        options = []
        if state + 2 <= max_value:
            options += ["+"] * 3
        if state >= 3:
            options += ["-"] * 3
        if state * 2 <= max_value:
            options.append("*")
        divisors = [k for k in range(2, 6) if state % k == 0]
        if divisors:
            options.append("/")
        op = rng.choice(options)
        if op == "+":
            b = rng.randint(2, max_value - state)
            new, templates = state + b, scene.add
        elif op == "-":
            b = rng.randint(2, state - 1)
            new, templates = state - b, scene.sub
        elif op == "*":
            b = rng.randint(2, min(5, max_value // state))
            new, templates = state * b, scene.mul
        else:
            b = rng.choice(divisors)
            new, templates = state // b, scene.div
        fresh = [t for t in templates if t not in used] or list(templates)
        template = rng.choice(fresh)
        used.add(template)
        sentence = template.format(name=name, b=b, nth=_ORDINALS[step], times=_TIMES.get(b, ""),
                                   part=_PART_GONE.get(b, ""))
        story.append(sentence)
        equation = f"{state} {_SYMBOL[op]} {b} = {new}"
        if op == "/":
            solution.append(f"{sentence[:-1]}, so {_PART_LEFT[b]} is left: {equation}.")
        else:
            solution.append(f"{sentence[:-1]}, so {equation}.")
        if op in "*/" and top in ("+", "-"):
            expression = f"({expression})"
        expression = f"{expression} {op} {b}"
        top = op
        ops.append(op)
        operands.append(b)
        state = new
    facts = list(rng.sample(scene.facts + _GENERIC_FACTS, distractors))
    fact_values = []
    for fact, lo, hi in facts:
        x = rng.randint(lo, hi)
        fact_values.append(x)
        story.insert(rng.randint(1, len(story)), fact.format(name=name, x=x))
    question = " ".join([*story, scene.question.format(name=name)])
    solution.append(f"The answer is {state}.")
    preset = ARITH_PRESETS.get(difficulty or 0)
    if preset == {"steps": steps, "max_value": max_value, "distractors": distractors}:
        pid = f"arith-d{difficulty}-s{seed}-{i:04d}"
    else:
        difficulty = None
        pid = f"arith-st{steps}-mv{max_value}-di{distractors}-s{seed}-{i:04d}"
    meta = {"difficulty": difficulty, "steps": steps, "max_value": max_value,
            "distractors": distractors, "expression": expression, "ops": ops,
            "operands": operands, "scene": scene.key, "name": name,
            "distractor_values": fact_values}
    return Problem(id=pid, question=question, answer=str(state), kind="number",
                   solution=" ".join(solution), meta=meta)


def _arith(n: int | None = None, seed: int = 0, **knobs: Any) -> Dataset:
    """Generated arithmetic word problems; knobs: difficulty, steps, max_value, distractors."""
    knobs = dict(knobs)
    difficulty = _knob("arith", knobs, "difficulty", 2, 1, 3)
    preset = ARITH_PRESETS[difficulty]
    steps = _knob("arith", knobs, "steps", preset["steps"], 1, 4)
    max_value = _knob("arith", knobs, "max_value", preset["max_value"], 10, 10_000)
    distractors = _knob("arith", knobs, "distractors", preset["distractors"], 0, 2)
    _no_more_knobs("arith", knobs, _ARITH_KNOBS)
    size = _size(n)

    def make(rng: random.Random, i: int) -> Problem:
        return _arith_problem(rng, i, steps=steps, max_value=max_value, distractors=distractors,
                              difficulty=difficulty, seed=seed)

    problems = _generate(size, f"arith|{steps}|{max_value}|{distractors}|{seed}", make)
    params = {"n": n, "seed": seed, "difficulty": difficulty, "steps": steps,
              "max_value": max_value, "distractors": distractors}
    return Dataset("arith", problems, _card("arith"), params)


# ---------------------------------------------------------------------------------------------
# "arith-curated": a fixed, hand-written set
# ---------------------------------------------------------------------------------------------

CURATED_FILE = "arith_curated.jsonl"


@functools.cache
def _curated_problems() -> tuple[Problem, ...]:
    problems = []
    for number, line in enumerate(_read(CURATED_FILE).splitlines(), 1):
        if not line.strip():
            continue
        where = f"{CURATED_FILE} line {number}"
        try:
            record = json.loads(line)
            problem = Problem(id=record["id"], question=record["question"],
                              answer=record["answer"], kind="number",
                              solution=record["solution"],
                              meta={"steps": record["steps"], "expression": record["expression"]})
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            msg = (f"{where} is not a record with id, question, answer, solution, steps and "
                   f"expression ({exc}).")
            raise _bad(msg) from None
        computed = str(evaluate(record["expression"]))  # canonical: "12", "5/2"
        if computed != problem.answer:
            msg = (f"{where}: the expression {record['expression']!r} gives {computed}, "
                   f"but the answer is {problem.answer}; fix one of them.")
            raise _bad(msg)
        problems.append(problem)
    return tuple(problems)


def _arith_curated(n: int | None = None, seed: int = 0, **knobs: Any) -> Dataset:
    """The 40 hand-written problems; ``n`` picks a seeded sample of them."""
    _no_more_knobs("arith-curated", knobs, "")
    problems = _curated_problems()
    if n is not None and n > len(problems):
        msg = f"arith-curated has {len(problems)} problems; ask for n from 1 to {len(problems)}."
        raise _bad(msg)
    dataset = Dataset("arith-curated", problems, _card("arith-curated"),
                      {"n": n, "seed": seed})
    return dataset if n is None else dataset.sample(n, seed)


# ---------------------------------------------------------------------------------------------
# "last-letters" and "coin-flip": symbolic tasks in the style of Wei et al. (2022)
# ---------------------------------------------------------------------------------------------


def _last_letters_problem(rng: random.Random, i: int, *, words: int, seed: int) -> Problem:
    first_names, surnames = _names()
    chosen = [*rng.sample(first_names, words - 1), rng.choice(surnames)]
    answer = "".join(w[-1] for w in chosen).lower()
    steps = " ".join(f'The last letter of "{w}" is "{w[-1]}".' for w in chosen)
    solution = f'{steps} Concatenating them is "{answer}". The answer is {answer}.'
    question = (f'Take the last letters of the words in "{" ".join(chosen)}" '
                "and concatenate them.")
    return Problem(id=f"last-letters-w{words}-s{seed}-{i:04d}", question=question,
                   answer=answer, kind="text", solution=solution,
                   meta={"words": words, "names": chosen})


def _last_letters(n: int | None = None, seed: int = 0, **knobs: Any) -> Dataset:
    """Last-letter concatenation of 2-4 names; knob: words."""
    knobs = dict(knobs)
    words = _knob("last-letters", knobs, "words", 2, 2, 4)
    _no_more_knobs("last-letters", knobs, "words (2-4)")

    def make(rng: random.Random, i: int) -> Problem:
        return _last_letters_problem(rng, i, words=words, seed=seed)

    problems = _generate(_size(n), f"last-letters|{words}|{seed}", make)
    return Dataset("last-letters", problems, _card("last-letters"),
                   {"n": n, "seed": seed, "words": words})


def _coin_flip_problem(rng: random.Random, i: int, *, flips: int, seed: int) -> Problem:
    first_names, _ = _names()
    people = rng.sample(first_names, flips)
    flipped = [rng.random() < 0.5 for _ in people]
    times = sum(flipped)
    story = " ".join(f"{p} flips the coin." if f else f"{p} does not flip the coin."
                     for p, f in zip(people, flipped, strict=True))
    question = f"A coin is heads up. {story} Is the coin still heads up?"
    who = [p for p, f in zip(people, flipped, strict=True) if f]
    answer = "yes" if times % 2 == 0 else "no"
    parity = "even" if times % 2 == 0 else "odd"
    if who:
        by = who[0] if len(who) == 1 else ", ".join(who[:-1]) + " and " + who[-1]
        first = f"The coin was flipped by {by}."
    else:
        first = "Nobody flipped the coin."
    result = "it is still heads up" if answer == "yes" else "it is tails up"
    solution = (f"{first} So the coin was flipped {times} time{'' if times == 1 else 's'}, "
                f"which is an {parity} number. The coin started heads up, so after an {parity} "
                f"number of flips {result}. The answer is {answer}.")
    return Problem(id=f"coin-flip-p{flips}-s{seed}-{i:04d}", question=question, answer=answer,
                   kind="text", solution=solution,
                   meta={"flips": flips, "people": people, "flipped": flipped,
                         "times_flipped": times})


def _coin_flip(n: int | None = None, seed: int = 0, **knobs: Any) -> Dataset:
    """Coin-flip state tracking with 2-4 people; knob: flips (number of people)."""
    knobs = dict(knobs)
    flips = _knob("coin-flip", knobs, "flips", 2, 2, 4)
    _no_more_knobs("coin-flip", knobs, "flips (2-4, the number of people)")

    def make(rng: random.Random, i: int) -> Problem:
        return _coin_flip_problem(rng, i, flips=flips, seed=seed)

    problems = _generate(_size(n), f"coin-flip|{flips}|{seed}", make)
    return Dataset("coin-flip", problems, _card("coin-flip"),
                   {"n": n, "seed": seed, "flips": flips})


for _name, _factory in (("arith", _arith), ("arith-curated", _arith_curated),
                        ("last-letters", _last_letters), ("coin-flip", _coin_flip)):
    register_dataset(_name, _factory)

# The Game of 24 lives in its own module, which registers "game24" when imported; it needs only
# the names defined above, so importing it last is safe whichever module is imported first.
from . import game24 as _game24  # noqa: E402, F401
from . import writing as _writing  # noqa: E402, F401  (registers "constrained-writing")
