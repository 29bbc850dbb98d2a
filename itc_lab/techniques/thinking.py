"""Thinking tokens: what a reasoning model spends before it answers. Introduced in lesson 07."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..datasets.base import Dataset, Problem
from ..types import Completion, CostModel, Message, Request

__all__ = [
    "ANSWER_MARK",
    "THINK_STATUSES",
    "THINK_SYSTEM",
    "split_thinking",
    "think_request",
    "thinking_share",
    "thinking_status",
]

THINK_SYSTEM = ("Think inside <think> and </think> first. After </think>, give only the final "
                "answer.")
"""The system turn of :func:`think_request`: think between the tags, then answer."""

ANSWER_MARK = "The answer is"
"""Where a worked solution's final answer begins (every dataset's solutions end with it)."""


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


# -- imitated thinking, for a model that has no thinking mode ---------------------------------
def think_request(problem: Problem, exemplars: Dataset, *, k: int = 3,
                  system: str = THINK_SYSTEM, **options: Any) -> Request:
    """A few-shot chat request that teaches a non-reasoning model to *imitate* thinking.

    The turns: ``system``, then ``k`` worked exemplars from ``exemplars`` (never ``problem``
    itself; see ``Dataset.exemplars``), each answered as ``<think>working</think>`` followed by
    ``The answer is …`` on a new line, then ``problem``'s question. ``options`` are the other
    :class:`Request` fields, e.g. ``temperature=0.5, max_tokens=96, stop=("\\n\\n",)``. Split the
    completions with :func:`split_thinking`. Introduced in lesson 07.
    """
    if not isinstance(problem, Problem):
        msg = f"think_request takes the Problem to ask, not a {type(problem).__name__}."
        raise ValueError(msg)
    if not isinstance(exemplars, Dataset):
        msg = (f"exemplars must be a Dataset to draw worked examples from (e.g. "
               f"datasets.load('arith', n=20)), not a {type(exemplars).__name__}.")
        raise ValueError(msg)
    taken = sorted({"prompt", "messages"} & set(options))
    if taken:
        msg = (f"think_request builds the messages itself; drop {', '.join(taken)}= and pass "
               "only sampling options (temperature=, max_tokens=, stop=, ...).")
        raise ValueError(msg)
    turns = [Message("system", system)]
    for ex in exemplars.exemplars(k, exclude=problem):
        working, mark, final = ex.solution.rpartition(ANSWER_MARK)
        if not mark:
            msg = (f"Exemplar {ex.id!r} has no {ANSWER_MARK!r} in its solution, so its working "
                   "and its answer cannot be told apart; use a dataset whose solutions end in "
                   f"'{ANSWER_MARK} X.'")
            raise ValueError(msg)
        turns += [Message("user", ex.question),
                  Message("assistant", f"<think>{working.strip()}</think>\n{mark}{final}")]
    turns.append(Message("user", problem.question))
    return Request(messages=tuple(turns), **options)


THINK_STATUSES = ("closed", "unclosed", "none")
"""What :func:`thinking_status` finds: the thinking was closed, opened and never closed, or never
opened."""


def _tags(open_tag: str, close_tag: str) -> None:
    if not (isinstance(close_tag, str) and close_tag):
        msg = f"close_tag must be a non-empty string such as '</think>', not {close_tag!r}."
        raise ValueError(msg)
    if not isinstance(open_tag, str):
        msg = f"open_tag must be a string such as '<think>' (or ''), not {open_tag!r}."
        raise ValueError(msg)


def thinking_status(completion: Completion, *, open_tag: str = "<think>",
                    close_tag: str = "</think>") -> str:
    """How a completion's *imitated* thinking ended, one of :data:`THINK_STATUSES`:
    ``"closed"`` (``close_tag`` is in the text: thinking, then the answer), ``"unclosed"``
    (``open_tag`` opened a thinking block that never closed, e.g. cut off by ``max_tokens`` or
    a stop string: everything is thinking and no answer was given) or ``"none"`` (no tags: the
    model answered without imitating thinking). Introduced in lesson 07."""
    if not isinstance(completion, Completion):
        msg = f"thinking_status takes a Completion, not a {type(completion).__name__}."
        raise ValueError(msg)
    _tags(open_tag, close_tag)
    if close_tag in completion.text:
        return "closed"
    if open_tag and open_tag in completion.text:
        return "unclosed"
    return "none"


def split_thinking(completion: Completion, *, open_tag: str = "<think>",
                   close_tag: str = "</think>") -> Completion:
    """The completion with *imitated* thinking moved out of its text.

    - Closed (``close_tag`` in the text): the text up to the first ``close_tag`` (``open_tag``
      removed, whitespace stripped) becomes ``thinking``, the rest (stripped) the ``text``.
    - Unclosed (``open_tag`` but no ``close_tag``, e.g. cut off by ``max_tokens``): it is all
      thinking; ``text`` is empty, so no answer is read from an unfinished thought and
      :func:`thinking_share` counts every token as thinking.
    - No tags: the text is the answer and ``thinking`` is ``None``.

    Token counts are left as they are, so :func:`thinking_share` splits them by characters;
    :func:`thinking_status` tells the three cases apart. For imitated thinking only: a real
    reasoning model returns its thinking separately. Introduced in lesson 07.
    """
    if not isinstance(completion, Completion):
        msg = f"split_thinking takes a Completion, not a {type(completion).__name__}."
        raise ValueError(msg)
    status = thinking_status(completion, open_tag=open_tag, close_tag=close_tag)
    if status == "none":
        return replace(completion, thinking=None)
    thinking, _, answer = completion.text.partition(close_tag)
    if open_tag:
        thinking = thinking.replace(open_tag, "")
    return replace(completion, thinking=thinking.strip(), text=answer.strip())
