"""Token confidence: probability bands, per-token rows and the least likely tokens. Introduced in
lesson 00."""

from __future__ import annotations

import math
from typing import Any, Literal

from ..types import Completion, Token

__all__ = [
    "HIGH_FROM",
    "LOW_BELOW",
    "NO_LOGPROBS_NOTE",
    "Band",
    "confidence_band",
    "logprob_note",
    "lowest_tokens",
    "token_rows",
]



LOW_BELOW = 0.3

HIGH_FROM = 0.7

Band = Literal["low", "medium", "high"]

NO_LOGPROBS_NOTE = "This backend returned no logprobs: showing the plain text, uncoloured."

def confidence_band(p: float) -> Band:
    """The colour band of a probability, as the front-end draws it.

    ``"low"`` (red) for ``p < 0.3``, ``"medium"`` (amber) for ``0.3 <= p < 0.7``, ``"high"``
    (green) for ``p >= 0.7``. The thresholds are ``LOW_BELOW`` and ``HIGH_FROM``; the same
    numbers are in ``widgets/token_view.js``. Introduced in lesson 00.
    """
    if isinstance(p, bool) or not isinstance(p, int | float) or math.isnan(p):
        msg = f"confidence_band needs a probability (a number from 0 to 1), not {p!r}."
        raise ValueError(msg)
    if p < LOW_BELOW:
        return "low"
    if p < HIGH_FROM:
        return "medium"
    return "high"

def token_rows(completion: Completion) -> list[dict[str, Any]]:
    """The ``tokens`` payload of a ``TokenView``: one dict per generated token.

    Each row is ``{"text", "logprob", "prob", "top"}`` where ``prob = exp(logprob)`` (``None``
    without a logprob) and ``top`` lists the alternatives at that position as
    ``{"text", "logprob", "prob"}``, most likely first. Introduced in lesson 00.
    """
    rows: list[dict[str, Any]] = []
    for token in completion.tokens:
        top = sorted(token.top, key=lambda a: -a.logprob)
        rows.append({
            "text": token.text,
            "logprob": token.logprob,
            "prob": token.prob,
            "top": [{"text": a.text, "logprob": a.logprob, "prob": a.prob} for a in top],
        })
    return rows

def lowest_tokens(completion: Completion, k: int = 3) -> list[tuple[int, Token]]:
    """The ``k`` least likely tokens as ``(position, token)``, least likely first.

    Tokens without a logprob are left out; ties keep text order. Introduced in lesson 00.
    """
    if not isinstance(k, int) or k < 0:
        msg = f"k must be a whole number >= 0, not {k!r}."
        raise ValueError(msg)
    scored = [(i, t) for i, t in enumerate(completion.tokens) if t.logprob is not None]
    scored.sort(key=lambda it: (it[1].logprob, it[0]))
    return scored[:k]

def logprob_note(completion: Completion) -> str:
    if not completion.tokens:
        return NO_LOGPROBS_NOTE
    missing = sum(1 for t in completion.tokens if t.logprob is None)
    if missing == len(completion.tokens):
        return "This backend returned no logprobs: the tokens are shown uncoloured (grey)."
    if missing:
        return f"{missing} of {len(completion.tokens)} tokens have no logprob (grey)."
    return ""
