"""Constrained writing: short writing tasks whose quality a program can measure exactly.

A task asks for one sentence on a topic that uses some required words, stays within a word limit
and avoids a letter. ``score_text`` checks each constraint and returns the fraction met, so every
draft of an iterative refinement gets an honest score. Introduced in lesson 05.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..answers import Answer
from .base import Dataset, Problem, register_dataset

__all__ = [
    "LETTERS",
    "TOPICS",
    "WORDS",
    "Check",
    "WritingProblem",
    "feedback_from_checks",
    "score_text",
]

TOPICS = ("the sea", "a city at night", "a garden", "the mountains", "a train journey",
          "a rainy day", "a library", "the desert", "a market", "winter")
WORDS = ("blue", "quiet", "bright", "river", "stone", "gold", "window", "morning", "light",
         "green", "road", "bird", "cloud", "bread", "music", "lamp", "wind", "paper")
LETTERS = "eatoinsr"
_WORD_RE = re.compile(r"[A-Za-z']+")


@dataclass(frozen=True)
class Check:
    """One constraint and whether a text meets it."""

    constraint: str
    ok: bool
    note: str


def score_text(text: str, meta: Mapping[str, Any]) -> tuple[float, list[Check]]:
    """The fraction of constraints met (0 to 1) and the check of each."""
    words = [w.lower() for w in _WORD_RE.findall(text)]
    checks: list[Check] = []
    for w in meta["required"]:
        ok = w in words
        checks.append(Check(f"uses the word '{w}'", ok, "" if ok else f"'{w}' is missing"))
    limit = int(meta["max_words"])
    n = len(words)
    checks.append(Check(f"at most {limit} words", 0 < n <= limit,
                        f"{n} words" if n > limit or n == 0 else ""))
    letter = str(meta["forbidden"])
    bad = sorted({w for w in words if letter in w})
    checks.append(Check(f"no letter '{letter}'", not bad,
                        "" if not bad else "uses it in " + ", ".join(bad[:5])))
    return sum(c.ok for c in checks) / len(checks), checks


def feedback_from_checks(checks: Sequence[Check]) -> str:
    """Plain feedback listing the broken constraints (the programmatic critic)."""
    broken = [f"- {c.constraint}: {c.note}" for c in checks if not c.ok]
    if not broken:
        return "All constraints are met."
    return "The sentence breaks these rules:\n" + "\n".join(broken)


@dataclass(frozen=True)
class WritingProblem(Problem):
    """A writing task; ``check`` is true when every constraint is met."""

    def check(self, text_or_answer: str | Answer | None) -> bool:
        if text_or_answer is None:
            return False
        text = text_or_answer.raw or "" if isinstance(text_or_answer, Answer) else text_or_answer
        return score_text(text, self.meta)[0] == 1.0


def _writing(n: int | None = None, seed: int = 0, **knobs: Any) -> Dataset:
    if knobs:
        msg = f"constrained-writing takes no knobs besides n and seed, not {sorted(knobs)}."
        raise ValueError(msg)
    size = 20 if n is None else n
    if not (isinstance(size, int) and 1 <= size <= 500):
        msg = f"n must be a whole number from 1 to 500, not {n!r}."
        raise ValueError(msg)
    rng = random.Random(f"constrained-writing-{seed}")
    problems = []
    for i in range(size):
        topic = rng.choice(TOPICS)
        letter = rng.choice(LETTERS)
        pool = [w for w in WORDS if letter not in w]
        required = sorted(rng.sample(pool, 2))
        max_words = rng.choice((10, 12, 15))
        question = (f"Write one sentence about {topic}. Use the words '{required[0]}' and "
                    f"'{required[1]}', use at most {max_words} words, and do not use the "
                    f"letter '{letter}' anywhere.")
        meta = {"topic": topic, "required": required, "max_words": max_words,
                "forbidden": letter}
        problems.append(WritingProblem(id=f"writing-s{seed}-{i:04d}", question=question,
                                       answer="pass", kind="text", solution="", meta=meta))
    return Dataset(name="constrained-writing", problems=tuple(problems),
                   card=_card(), params={"n": size, "seed": seed})


def _card() -> str:
    from .base import data_dir

    path = data_dir() / "constrained-writing.md"
    return path.read_text(encoding="utf-8") if path.exists() else ""


register_dataset("constrained-writing", _writing, replace=True)
