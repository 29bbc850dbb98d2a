"""A reasoning trace cut into steps. Introduced in lesson 01."""

from __future__ import annotations

import bisect
import itertools
import re
from typing import Any

from .._checks import mean_or_none
from ..types import Completion
from .tokens import token_rows

__all__ = [
    "STEP_WORDS",
    "segment_steps",
    "step_starts",
]


STEP_WORDS = ("Step", "First", "Then", "So", "Therefore")

_LINE_BREAKS = r"\n\r\v\f\x1c-\x1e\x85\u2028\u2029"  # what str.splitlines splits at

_STEP_START = re.compile(
    rf"[{_LINE_BREAKS}]\s*(?=\S)"  # a line break, blank lines and indentation
    r"|[.!?…][\"'”’»)\]]*\s+"  # or a sentence end (closing quotes/brackets allowed), a space
    rf"(?=(?:{'|'.join(STEP_WORDS)})\b)",  # ... and one of the step words
)

def step_starts(text: str) -> list[int]:
    """Where new reasoning steps begin in ``text``: character offsets, ascending.

    The rule of ``segment_steps``: a new step begins at the first non-whitespace character after
    a line break, and at a sentence end (``.``, ``!``, ``?`` or ``…``, then optional closing
    quotes or brackets, then whitespace) followed by one of the words ``STEP_WORDS`` (capitalised,
    as a whole word). Offset 0 is never listed. Introduced in lesson 00.
    """
    return sorted({m.end() for m in _STEP_START.finditer(text)} - {0, len(text)})

def _token_anchor(start: int, text: str) -> int:
    """The offset that decides a token's step: its first non-whitespace character, if any."""
    lead = len(text) - len(text.lstrip())
    return start + lead if lead < len(text) else start


def segment_steps(completion: Completion) -> list[dict[str, Any]]:
    """Split a completion into reasoning steps: the ``steps`` payload of a ``TraceView``.

    **Rule.** A new step begins (1) at the first non-whitespace character after a line break
    (blank lines and indentation stay with the step they follow, so no step is empty), and
    (2) after a sentence end — ``.``, ``!``, ``?`` or ``…``, optional closing quotes/brackets,
    whitespace — when the next word is ``Step``, ``First``, ``Then``, ``So`` or ``Therefore``
    (``STEP_WORDS``; capitalised, whole word). The whitespace before a new step ends the previous
    one. See ``step_starts``.

    **Tokens are never split.** With tokens, each token belongs to exactly one step: the step
    that holds its first non-whitespace character (a token of only whitespace goes with the step
    where it begins), and step texts are the concatenation of their tokens. When the tokens spell
    ``completion.text`` (the normal case) the step texts concatenate to ``completion.text``;
    otherwise they concatenate to the tokens' text. Without tokens the text itself is split by the
    same rule and every ``tokens`` list is empty.

    Each step is ``{"index", "text", "tokens", "mean_prob"}``: ``index`` is the step number
    shown (from 1), ``tokens`` the rows of ``token_rows`` for its tokens, ``mean_prob`` the mean
    probability of its tokens (``None`` without logprobs). An empty completion has no steps.
    Introduced in lesson 00.
    """
    if not isinstance(completion, Completion):
        msg = f"segment_steps needs a Completion, not {type(completion).__name__}."
        raise TypeError(msg)
    steps: list[dict[str, Any]] = []
    rows = token_rows(completion)
    if not rows:
        text = completion.text
        cuts = [0, *step_starts(text), len(text)]
        for a, b in itertools.pairwise(cuts):
            if b > a:
                steps.append({"index": len(steps) + 1, "text": text[a:b], "tokens": [],
                              "mean_prob": None})
        return steps
    starts = step_starts("".join(row["text"] for row in rows))
    groups: list[tuple[int, list[dict[str, Any]]]] = []
    offset = 0
    for row in rows:
        step = bisect.bisect_right(starts, _token_anchor(offset, row["text"]))
        if not groups or groups[-1][0] != step:
            groups.append((step, []))
        groups[-1][1].append(row)
        offset += len(row["text"])
    for _, members in groups:
        steps.append({
            "index": len(steps) + 1,
            "text": "".join(row["text"] for row in members),
            "tokens": members,
            "mean_prob": mean_or_none(row["prob"] for row in members),
        })
    return steps
