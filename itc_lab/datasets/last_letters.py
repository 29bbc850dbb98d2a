"""The last-letters dataset: concatenate the last letters of names. Introduced in lesson 01."""

from __future__ import annotations

import random
from typing import Any

from .base import (
    Dataset,
    Problem,
    dataset_card,
    dataset_size,
    generate_unique,
    knob,
    name_lists,
    no_more_knobs,
    register_dataset,
)

__all__ = [
]


def _last_letters_problem(rng: random.Random, i: int, *, words: int, seed: int) -> Problem:
    first_names, surnames = name_lists()
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
    words = knob("last-letters", knobs, "words", 2, 2, 4)
    no_more_knobs("last-letters", knobs, "words (2-4)")

    def make(rng: random.Random, i: int) -> Problem:
        return _last_letters_problem(rng, i, words=words, seed=seed)

    problems = generate_unique(dataset_size(n), f"last-letters|{words}|{seed}", make)
    return Dataset("last-letters", problems, dataset_card("last-letters"),
                   {"n": n, "seed": seed, "words": words})


register_dataset("last-letters", _last_letters, replace=True)
