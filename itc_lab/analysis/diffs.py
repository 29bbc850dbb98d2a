"""Word-level diffs between drafts. Introduced in lesson 05."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Any

__all__ = [
    "diff_rounds",
    "diff_stats",
    "tokenize",
    "word_diff",
]

_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")

def tokenize(text: str) -> list[str]:
    """Words, whitespace runs and single other characters; ``"".join`` gives ``text`` back."""
    return _TOKEN.findall(text)

def _is_word(token: str) -> bool:
    return not token.isspace()

def _opcodes(a: str, b: str) -> tuple[list[str], list[str], list[tuple[str, int, int, int, int]]]:
    ta, tb = tokenize(a), tokenize(b)
    matcher = difflib.SequenceMatcher(None, ta, tb, autojunk=False)
    return ta, tb, [(str(t), i1, i2, j1, j2) for t, i1, i2, j1, j2 in matcher.get_opcodes()]

def word_diff(a: str, b: str) -> list[dict[str, str]]:
    """The runs turning ``a`` into ``b``: equal and delete texts join to ``a``, equal and insert
    texts to ``b``. Adjacent runs of the same kind are merged; empty runs are left out."""
    ta, tb, codes = _opcodes(a, b)
    ops: list[dict[str, str]] = []

    def add(op: str, text: str) -> None:
        if not text:
            return
        if ops and ops[-1]["op"] == op:
            ops[-1]["text"] += text
        else:
            ops.append({"op": op, "text": text})

    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal":
            add("equal", "".join(ta[i1:i2]))
        else:
            add("delete", "".join(ta[i1:i2]))
            add("insert", "".join(tb[j1:j2]))
    return ops

def diff_stats(a: str, b: str) -> dict[str, Any]:
    """Words ``added``, ``removed`` and ``unchanged`` from ``a`` to ``b``, and ``similarity``
    (0-1, difflib's ratio over the words; 1.0 when both have none)."""
    ta, tb, codes = _opcodes(a, b)
    added = removed = unchanged = 0
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal":
            unchanged += sum(map(_is_word, ta[i1:i2]))
        else:
            removed += sum(map(_is_word, ta[i1:i2]))
            added += sum(map(_is_word, tb[j1:j2]))
    wa = [t for t in ta if _is_word(t)]
    wb = [t for t in tb if _is_word(t)]
    if not wa and not wb:
        similarity = 1.0
    else:
        similarity = difflib.SequenceMatcher(None, wa, wb, autojunk=False).ratio()
    return {"added": added, "removed": removed, "unchanged": unchanged,
            "similarity": similarity}

def _score(scores: Sequence[float | None] | None, i: int) -> float | None:
    if scores is None or i >= len(scores) or scores[i] is None:
        return None
    return float(scores[i])  # type: ignore[arg-type]

def diff_rounds(drafts: Sequence[str], feedback: Sequence[str] = (),
                scores: Sequence[float | None] | None = None) -> list[dict[str, Any]]:
    """One dict per step draft ``i`` → draft ``i + 1``: index, before, after, feedback (``""``
    when missing), score_before, score_after and ``ops`` (``word_diff``)."""
    rounds = []
    for i in range(len(drafts) - 1):
        before, after = str(drafts[i]), str(drafts[i + 1])
        rounds.append({
            "index": i,
            "before": before,
            "after": after,
            "feedback": str(feedback[i]) if i < len(feedback) else "",
            "score_before": _score(scores, i),
            "score_after": _score(scores, i + 1),
            "ops": word_diff(before, after),
        })
    return rounds
