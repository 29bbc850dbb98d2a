""""""

from __future__ import annotations

import functools
import importlib.util
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, overload

from .._checks import known_fields
from ..answers import KINDS, Answer, is_correct, normalize_number, normalize_text

__all__ = [
    "DEFAULT_SIZE",
    "MAX_SIZE",
    "Dataset",
    "DatasetFactory",
    "Problem",
    "available",
    "data_dir",
    "dataset_card",
    "dataset_size",
    "generate_unique",
    "knob",
    "load",
    "name_lists",
    "no_more_knobs",
    "read_data_file",
    "register_dataset",
]

DEFAULT_SIZE = 100

"""Problems a generated dataset has when ``load`` is given no ``n``."""

MAX_SIZE = 10_000

"""Most problems a generator makes in one ``load``."""

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
            raise ValueError(msg)
        for name in ("id", "question"):
            value = getattr(self, name)
            if not (isinstance(value, str) and value.strip()):
                msg = f"Problem {name} must be a non-empty string, not {value!r}."
                raise ValueError(msg)
        canonical = (normalize_number if self.kind == "number" else normalize_text)(self.answer)
        if canonical is None:
            msg = (f"Problem {self.id}: the answer {self.answer!r} is not a {self.kind}; "
                   "give the gold answer, e.g. '12', '5/2' or 'nk'.")
            raise ValueError(msg)
        if canonical != self.answer:
            msg = (f"Problem {self.id}: write the answer {self.answer!r} in canonical form "
                   f"{canonical!r} (normalize_{self.kind}() gives it).")
            raise ValueError(msg)
        object.__setattr__(self, "meta", dict(self.meta))

    def check(self, text_or_answer: str | Answer | None) -> bool:
        """Whether a model's text (or an extracted :class:`Answer`) has this problem's answer."""
        return is_correct(text_or_answer, self.answer, self.kind)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "question": self.question, "answer": self.answer,
                "kind": self.kind, "solution": self.solution, "meta": dict(self.meta)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Problem:
        d = known_fields(cls, d)
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
            raise ValueError(msg)
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
            raise ValueError(msg)
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
            raise ValueError(msg)
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
            raise ValueError(msg)
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
            raise ValueError(msg)

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
        d = known_fields(cls, d)
        d["problems"] = tuple(Problem.from_dict(p) for p in d.get("problems", ()))
        d["params"] = dict(d.get("params", {}))
        return cls(**d)

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
        raise ValueError(msg)
    if name in _REGISTRY and not replace:
        msg = f"A dataset named {name!r} is already registered (pass replace=True to override)."
        raise ValueError(msg)
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
        raise ValueError(msg) from None
    if n is not None and not (isinstance(n, int) and not isinstance(n, bool) and n >= 1):
        msg = f"n must be a whole number >= 1 (or None for the default size), not {n!r}."
        raise ValueError(msg)
    if not (isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0):
        msg = f"seed must be a whole number >= 0, not {seed!r}."
        raise ValueError(msg)
    dataset = factory(n=n, seed=seed, **knobs)
    if not isinstance(dataset, Dataset):
        msg = f"The factory of dataset {name!r} returned a {type(dataset).__name__}, not a Dataset."
        raise TypeError(msg)
    return dataset

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
    return Path(__file__).resolve().parents[2] / "datasets"

def read_data_file(filename: str) -> str:
    """A data file's text, or an error that says how to restore it."""
    path = data_dir() / filename
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        msg = (f"The dataset file {path} is missing; reinstall itc-lab or restore the file "
               "from the project's datasets/ folder.")
        raise FileNotFoundError(msg) from None

@functools.cache
def dataset_card(name: str) -> str:
    return read_data_file(f"{name}.md")

@functools.cache
def name_lists() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(first names, surnames) from ``names.txt``."""
    sections: dict[str, list[str]] = {"first": [], "last": []}
    current: list[str] | None = None
    for number, line in enumerate(read_data_file("names.txt").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line in ("[first]", "[last]"):
            current = sections[line[1:-1]]
        elif current is None or not (line.isascii() and line.isalpha()):
            msg = f"names.txt line {number}: {line!r} is not a name inside [first] or [last]."
            raise ValueError(msg)
        else:
            current.append(line)
    return tuple(sections["first"]), tuple(sections["last"])

def knob(dataset: str, knobs: dict[str, Any], name: str, default: int, lo: int, hi: int) -> int:
    value = knobs.pop(name, default)
    if not (isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi):
        msg = f"{dataset}: {name} must be a whole number from {lo} to {hi}, not {value!r}."
        raise ValueError(msg)
    return value

def no_more_knobs(dataset: str, knobs: Mapping[str, Any], allowed: str) -> None:
    if knobs:
        msg = (f"Dataset {dataset!r} has no knob(s) {sorted(knobs)}; "
               f"{'its knobs are: ' + allowed if allowed else 'it has no knobs'}.")
        raise ValueError(msg)

def dataset_size(n: int | None) -> int:
    size = DEFAULT_SIZE if n is None else n
    if size > MAX_SIZE:
        msg = f"n must be at most {MAX_SIZE} for a generated dataset, not {size}."
        raise ValueError(msg)
    return size

def generate_unique(size: int, seed_text: str,
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

"""What ``difficulty`` 1-3 means for the ``"arith"`` knobs (explicit knobs override it)."""

