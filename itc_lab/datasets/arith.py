"""The arith and arith-curated datasets: generated and curated word problems, and a safe evaluator.
Introduced in lesson 01."""

from __future__ import annotations

import ast
import functools
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
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
    read_data_file,
    register_dataset,
)

__all__ = [
    "ARITH_PRESETS",
    "CURATED_FILE",
    "evaluate",
]


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
        raise ValueError(msg)
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError:
        msg = f"{expression!r} is not an arithmetic expression (numbers, + - * / and parentheses)."
        raise ValueError(msg) from None

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
                raise ValueError(msg)
            return _OPS[type(node.op)](left, right)
        msg = (f"{expression!r} may only use numbers, + - * / and parentheses "
               f"(found {type(node).__name__}).")
        raise ValueError(msg)

    return value(tree.body)

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

_ARITH_KNOBS = ("difficulty (1-3), steps (1-4), max_value (10-10000), distractors (0-2)")

def _arith_problem(rng: random.Random, i: int, *, steps: int, max_value: int,
                   distractors: int, difficulty: int | None, seed: int) -> Problem:
    first_names, _ = name_lists()
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
    difficulty = knob("arith", knobs, "difficulty", 2, 1, 3)
    preset = ARITH_PRESETS[difficulty]
    steps = knob("arith", knobs, "steps", preset["steps"], 1, 4)
    max_value = knob("arith", knobs, "max_value", preset["max_value"], 10, 10_000)
    distractors = knob("arith", knobs, "distractors", preset["distractors"], 0, 2)
    no_more_knobs("arith", knobs, _ARITH_KNOBS)
    size = dataset_size(n)

    def make(rng: random.Random, i: int) -> Problem:
        return _arith_problem(rng, i, steps=steps, max_value=max_value, distractors=distractors,
                              difficulty=difficulty, seed=seed)

    problems = generate_unique(size, f"arith|{steps}|{max_value}|{distractors}|{seed}", make)
    params = {"n": n, "seed": seed, "difficulty": difficulty, "steps": steps,
              "max_value": max_value, "distractors": distractors}
    return Dataset("arith", problems, dataset_card("arith"), params)

CURATED_FILE = "arith_curated.jsonl"

@functools.cache
def _curated_problems() -> tuple[Problem, ...]:
    problems = []
    for number, line in enumerate(read_data_file(CURATED_FILE).splitlines(), 1):
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
            raise ValueError(msg) from None
        computed = str(evaluate(record["expression"]))  # canonical: "12", "5/2"
        if computed != problem.answer:
            msg = (f"{where}: the expression {record['expression']!r} gives {computed}, "
                   f"but the answer is {problem.answer}; fix one of them.")
            raise ValueError(msg)
        problems.append(problem)
    return tuple(problems)

def _arith_curated(n: int | None = None, seed: int = 0, **knobs: Any) -> Dataset:
    """The 40 hand-written problems; ``n`` picks a seeded sample of them."""
    no_more_knobs("arith-curated", knobs, "")
    problems = _curated_problems()
    if n is not None and n > len(problems):
        msg = f"arith-curated has {len(problems)} problems; ask for n from 1 to {len(problems)}."
        raise ValueError(msg)
    dataset = Dataset("arith-curated", problems, dataset_card("arith-curated"),
                      {"n": n, "seed": seed})
    return dataset if n is None else dataset.sample(n, seed)


register_dataset("arith", _arith, replace=True)
register_dataset("arith-curated", _arith_curated, replace=True)
