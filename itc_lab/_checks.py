"""Argument checks and small numeric helpers shared by the whole package (one definition each).

Each check returns the value it accepted, or raises a ``ValueError`` that names the argument,
what it must be and what it got, so the message tells a learner what to change.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields
from fractions import Fraction
from typing import Any

__all__ = [
    "finite",
    "known_fields",
    "mean_or_none",
    "probability",
    "quantile",
    "row_field",
    "row_number",
    "shorten",
    "truth_value",
    "whole",
]


def whole(name: str, value: object, low: int, high: int | None = None, hint: str = "") -> int:
    """``value`` as an int in ``[low, high]`` (``high=None``: no upper bound)."""
    if (isinstance(value, int) and not isinstance(value, bool) and value >= low
            and (high is None or value <= high)):
        return value
    bounds = f"from {low} to {high}" if high is not None else f">= {low}"
    msg = f"{name} must be a whole number {bounds}, not {value!r}.{hint}"
    raise ValueError(msg)


def finite(name: str, value: object) -> float:
    """``value`` as a float, if it is a finite real number (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Fraction) or not (
            math.isfinite(value)):
        msg = f"{name} must be a finite number, not {value!r}."
        raise ValueError(msg)
    return float(value)


def probability(name: str, value: object) -> float:
    """``value`` as a float from 0 to 1."""
    number = finite(name, value)
    if not 0.0 <= number <= 1.0:
        msg = f"{name} must be a probability from 0 to 1, not {value!r}."
        raise ValueError(msg)
    return number


def quantile(ordered: Sequence[float], q: float) -> float:
    """Linear-interpolation quantile of sorted values (numpy's default method)."""
    pos = q * (len(ordered) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def mean_or_none(values: Iterable[float | None]) -> float | None:
    """The mean of the values that are not ``None``; ``None`` when there are none."""
    ps = [v for v in values if v is not None]
    return math.fsum(ps) / len(ps) if ps else None


def row_field(row: Mapping[str, Any], key: str, i: int, name: str = "rows") -> Any:
    """``row[key]`` of the ``i``-th row of ``name``, or an error naming the fields it has."""
    if not isinstance(row, Mapping):
        msg = f"{name}[{i}] must be a dict, not {type(row).__name__}."
        raise ValueError(msg)
    if key not in row:
        msg = f"{name}[{i}] has no {key!r} field; its fields are {sorted(row)}."
        raise ValueError(msg)
    return row[key]


def row_number(row: Mapping[str, Any], key: str, i: int, name: str = "rows") -> float:
    """``row[key]`` as a finite float (see ``row_field``)."""
    return finite(f"{name}[{i}][{key!r}]", row_field(row, key, i, name))


def truth_value(value: object, where: str) -> float:
    """A correctness flag or rate: True/False, or a number from 0 to 1."""
    if isinstance(value, bool):
        return float(value)
    number = finite(where, value)
    if not 0 <= number <= 1:
        msg = f"{where} must be True/False or a number from 0 to 1, not {value!r}."
        raise ValueError(msg)
    return number


def known_fields(cls: type, d: Mapping[str, Any]) -> dict[str, Any]:
    """``d`` as keyword arguments of the dataclass ``cls``; an unknown key is an error."""
    names = {f.name for f in fields(cls) if f.init}
    unknown = set(d) - names
    if unknown:
        msg = f"{cls.__name__} has no field(s) {sorted(unknown)}; known fields: {sorted(names)}."
        raise ValueError(msg)
    return dict(d)


def shorten(text: str, width: int, *, collapse: bool = True) -> str:
    """``text`` cut to ``width`` characters with an ellipsis; ``collapse`` first joins its
    whitespace runs into single spaces (one line)."""
    if collapse:
        text = " ".join(str(text).split())
    if width <= 0:
        return ""
    return text if len(text) <= width else text[: width - 1] + "…"
