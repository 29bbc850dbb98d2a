"""The coin-flip dataset: track a coin through flips. Introduced in lesson 01."""

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


def _coin_flip_problem(rng: random.Random, i: int, *, flips: int, seed: int) -> Problem:
    first_names, _ = name_lists()
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
    flips = knob("coin-flip", knobs, "flips", 2, 2, 4)
    no_more_knobs("coin-flip", knobs, "flips (2-4, the number of people)")

    def make(rng: random.Random, i: int) -> Problem:
        return _coin_flip_problem(rng, i, flips=flips, seed=seed)

    problems = generate_unique(dataset_size(n), f"coin-flip|{flips}|{seed}", make)
    return Dataset("coin-flip", problems, dataset_card("coin-flip"),
                   {"n": n, "seed": seed, "flips": flips})


register_dataset("coin-flip", _coin_flip, replace=True)
