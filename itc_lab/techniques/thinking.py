"""Thinking tokens: what a reasoning model spends before it answers. Introduced in lesson 07."""

from __future__ import annotations

from typing import Any

from ..types import Completion, CostModel

__all__ = [
    "thinking_share",
]


# -- reasoning models ---------------------------------------------------------------------------
def thinking_share(completion: Completion,
                   cost_model: CostModel | None = None) -> dict[str, Any]:
    """How much of a reasoning model's completion went to thinking, and what it cost.

    ``completion_tokens`` counts thinking and answer together, and backends do not report the
    split, so the thinking tokens are an *estimate*: ``completion_tokens`` shared out in
    proportion to characters (``round(completion_tokens * thinking_chars / all_chars)``). Returns
    ``thinking_chars``, ``answer_chars``, ``thinking_share`` (of characters, 0 to 1),
    ``completion_tokens``, ``thinking_tokens_est``, ``answer_tokens_est`` (tokens), ``cost`` (the
    whole completion, prompt included) and ``thinking_cost_est`` (the estimated thinking tokens at
    the completion price), both in ``currency``.
    """
    if not isinstance(completion, Completion):
        msg = f"thinking_share takes a Completion, not a {type(completion).__name__}."
        raise ValueError(msg)
    cm = cost_model or CostModel()
    thinking_chars = len(completion.thinking or "")
    answer_chars = len(completion.text)
    chars = thinking_chars + answer_chars
    share = thinking_chars / chars if chars else 0.0
    tokens = completion.completion_tokens
    thinking_tokens = round(tokens * share)
    return {"thinking_chars": thinking_chars, "answer_chars": answer_chars,
            "thinking_share": share, "completion_tokens": tokens,
            "thinking_tokens_est": thinking_tokens, "answer_tokens_est": tokens - thinking_tokens,
            "cost": cm.cost(completion.prompt_tokens, tokens),
            "thinking_cost_est": cm.cost(0, thinking_tokens), "currency": cm.currency}
