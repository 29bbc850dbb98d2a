"""UsageView: calls, tokens, latency and cost of a set of completions. Introduced in lesson 00."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import anywidget
import traitlets

from ..types import Completion, CostModel, Usage
from .base import FRONTEND, TextFallback

__all__ = [
    "UsageView",
    "usage_summary",
]


def usage_summary(usage: Usage) -> dict[str, Any]:
    """The ``summary`` payload of a ``UsageView`` (numbers from ``usage``, prices per 1M tokens).

    Introduced in lesson 00.
    """
    cm = usage.cost_model
    return {
        "calls": usage.calls,
        "cached_calls": usage.cached_calls,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
        "latency_s": usage.latency_s,
        "max_latency_s": usage.max_latency_s,
        "tokens_per_second": usage.tokens_per_second,
        "cost": usage.cost,
        "currency": cm.currency,
        "prompt_price": cm.prompt_price,
        "completion_price": cm.completion_price,
        "text": usage.summary(),
    }

class UsageView(TextFallback, anywidget.AnyWidget):  # type: ignore[misc]
    """Calls, tokens, latency, tokens/s and cost (with the prices used) of some completions.

    ``UsageView(usage)`` or ``UsageView.of(completions, cost_model=None)``. Introduced in
    lesson 00.
    """

    _esm = FRONTEND / "usage_view.js"
    _css = FRONTEND / "token_view.css"

    summary = traitlets.Dict().tag(sync=True)
    """See ``usage_summary``."""

    def __init__(self, usage: Usage, **kwargs: Any) -> None:
        if not isinstance(usage, Usage):
            msg = (f"UsageView needs a Usage, not {type(usage).__name__}; for completions use "
                   "UsageView.of(completions).")
            raise TypeError(msg)
        self.usage = usage
        super().__init__(summary=usage_summary(usage), **kwargs)

    @classmethod
    def of(cls, completions: Iterable[Completion],
           cost_model: CostModel | None = None) -> UsageView:
        """The usage of ``completions`` (see ``Usage.of``)."""
        return cls(Usage.of(completions, cost_model))

    def _text_summary(self) -> str:
        return f"UsageView: {self.usage.summary()}"
