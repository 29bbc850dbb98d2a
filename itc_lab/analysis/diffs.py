"""Word-level diffs between drafts. Introduced in lesson 05."""

from __future__ import annotations

import bisect
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

_Opcode = tuple[str, int, int, int, int]

_WHOLE = 1_000_000
"""Up to this many token pairs (tokens of ``a`` times tokens of ``b``, about 500 words each)
difflib diffs the whole drafts, as it always did: about 0.1 s. Its matcher takes time in
proportion to that product (quadratic), so longer drafts are cut into blocks first."""

_BLOCK = 40_000
"""Blocks of longer drafts up to this many token pairs (about 100 words a side) go to difflib."""

_GRAMS = (1, 4, 12)
"""Anchor sizes tried in turn: single tokens, then runs of 4 and 12 tokens (2 and 6 words)."""


def _anchors(ta: Sequence[str], tb: Sequence[str], i1: int, i2: int, j1: int, j2: int,
             k: int) -> list[tuple[int, int]]:
    """Token pairs ``(i, j)`` where a run of ``k`` tokens occurring once in ``ta[i1:i2]`` and
    once in ``tb[j1:j2]`` starts, the longest chain of them in the same order in both
    (patience diff: a longest increasing subsequence, in n log n)."""

    def runs(t: Sequence[str], lo: int, hi: int) -> dict[Any, int]:
        seen: dict[Any, int] = {}
        for i in range(lo, hi - k + 1):
            key = t[i] if k == 1 else tuple(t[i:i + k])
            seen[key] = -1 if key in seen else i
        return seen

    in_a, in_b = runs(ta, i1, i2), runs(tb, j1, j2)
    pairs = sorted((i, in_b[key]) for key, i in in_a.items() if i >= 0 and in_b.get(key, -1) >= 0)
    tails: list[int] = []  # tails[n]: index in pairs of the smallest j ending a chain of n + 1
    tail_js: list[int] = []
    back: list[int] = []
    for n, (_, j) in enumerate(pairs):
        at = bisect.bisect_left(tail_js, j)
        back.append(tails[at - 1] if at else -1)
        if at == len(tails):
            tails.append(n)
            tail_js.append(j)
        else:
            tails[at] = n
            tail_js[at] = j
    chain: list[tuple[int, int]] = []
    n = tails[-1] if tails else -1
    while n >= 0:
        chain.append(pairs[n])
        n = back[n]
    return chain[::-1]


def _block_opcodes(ta: Sequence[str], tb: Sequence[str]) -> list[_Opcode]:
    """Opcodes of long drafts in near-linear time: common ends are matched, blocks small
    enough go to difflib, larger ones are split at anchors (runs of tokens found once on each
    side, in the same order) and the parts diffed in turn. A large block with no anchor at all
    shares no run of 12 tokens that is unique on both sides: it is shown replaced whole. The
    anchor search stops splitting (and replaces what is left whole) after about 64 passes over
    the drafts, so no input takes more than linear time."""
    codes: list[_Opcode] = []
    budget = 64 * (len(ta) + len(tb)) + 100_000
    todo: list[_Opcode] = [("block", 0, len(ta), 0, len(tb))]  # a stack: last in, first done
    while todo:
        tag, i1, i2, j1, j2 = todo.pop()
        if tag != "block":
            codes.append((tag, i1, i2, j1, j2))
            continue
        head = 0
        while i1 + head < i2 and j1 + head < j2 and ta[i1 + head] == tb[j1 + head]:
            head += 1
        if head:
            codes.append(("equal", i1, i1 + head, j1, j1 + head))
            i1, j1 = i1 + head, j1 + head
        tail = 0
        while i1 < i2 - tail and j1 < j2 - tail and ta[i2 - tail - 1] == tb[j2 - tail - 1]:
            tail += 1
        if tail:
            todo.append(("equal", i2 - tail, i2, j2 - tail, j2))
            i2, j2 = i2 - tail, j2 - tail
        if i1 == i2 or j1 == j2 or (i2 - i1) * (j2 - j1) <= _BLOCK:
            matcher = difflib.SequenceMatcher(None, ta[i1:i2], tb[j1:j2], autojunk=False)
            codes.extend((str(t), a1 + i1, a2 + i1, b1 + j1, b2 + j1)
                         for t, a1, a2, b1, b2 in matcher.get_opcodes())
            continue
        chain: list[tuple[int, int]] = []
        for k in _GRAMS:
            if budget <= 0:
                break
            budget -= k * (i2 - i1 + j2 - j1)
            chain = _anchors(ta, tb, i1, i2, j1, j2, k)
            if chain:
                break
        if not chain:
            codes.append(("replace", i1, i2, j1, j2))
            continue
        parts: list[_Opcode] = []
        for i, j in chain:
            parts.append(("block", i1, i, j1, j))
            parts.append(("equal", i, i + 1, j, j + 1))
            i1, j1 = i + 1, j + 1
        parts.append(("block", i1, i2, j1, j2))
        todo.extend(reversed(parts))
    return codes
def _opcodes(a: str, b: str) -> tuple[list[str], list[str], list[_Opcode]]:
    """Tokens of both drafts and difflib-style opcodes turning one into the other.

    Drafts up to :data:`_WHOLE` token pairs get difflib's opcodes, exactly as before; longer
    ones :func:`_block_opcodes`, near-linear where difflib is quadratic (two very different
    10,000-word drafts took it over a minute)."""
    ta, tb = tokenize(a), tokenize(b)
    if len(ta) * len(tb) <= _WHOLE:
        matcher = difflib.SequenceMatcher(None, ta, tb, autojunk=False)
        return ta, tb, [(str(t), i1, i2, j1, j2) for t, i1, i2, j1, j2 in matcher.get_opcodes()]
    return ta, tb, _block_opcodes(ta, tb)

def word_diff(a: str, b: str) -> list[dict[str, str]]:
    """The runs turning ``a`` into ``b``: equal and delete texts join to ``a``, equal and insert
    texts to ``b``. Adjacent runs of the same kind are merged; empty runs are left out.

    Drafts of up to about 500 words each are diffed by difflib over their tokens; longer ones
    are first split at runs of tokens found once in each (see ``_block_opcodes``), so two
    40,000-word drafts take a second or so, not many minutes. Where long drafts share no such
    run, that stretch is shown deleted and inserted whole."""
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
    (0-1, difflib's ratio over the words; 1.0 when both have none). For long drafts (over
    about 500 words each) the ratio is ``2 * unchanged / (words of a + words of b)``, which
    difflib's would be if it matched the same words."""
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
    elif len(wa) * len(wb) <= _WHOLE:
        similarity = difflib.SequenceMatcher(None, wa, wb, autojunk=False).ratio()
    else:  # difflib's ratio is quadratic: the same 2 * matches / total, from the opcodes
        similarity = 2 * unchanged / (len(wa) + len(wb))
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
