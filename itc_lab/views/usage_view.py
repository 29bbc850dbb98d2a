"""UsageView: calls, tokens, latency and cost of a set of completions. Introduced in lesson 00."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import anywidget
import traitlets

from ..types import Completion, CostModel, Usage
from .base import FRONTEND, MUTED, TextFallback, esc

__all__ = [
    "UsageView",
    "usage_rows",
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

def _num(x: Any) -> float:
    return float(x) if isinstance(x, int | float) and x == x and abs(x) != float("inf") else 0.0

def _price(x: Any) -> str:
    text = f"{_num(x):,.4f}".rstrip("0")
    decimals = len(text.split(".")[1]) if "." in text else 0
    return text + "0" * max(0, 2 - decimals)

def usage_rows(s: dict[str, Any]) -> list[tuple[str, str]]:
    """The ``(label, value)`` rows a ``UsageView`` shows for a ``usage_summary`` (the same as
    ``rows`` in ``widgets/usage_view.js``)."""
    currency = str(s.get("currency") or "")
    cached = _num(s.get("cached_calls"))
    return [
        ("Calls", f"{_num(s.get('calls')):,.0f}" + (f" ({cached:,.0f} cached)" if cached else "")),
        ("Prompt tokens", f"{_num(s.get('prompt_tokens')):,.0f}"),
        ("Completion tokens", f"{_num(s.get('completion_tokens')):,.0f}"),
        ("Total tokens", f"{_num(s.get('total_tokens')):,.0f}"),
        ("Latency (summed)", f"{_num(s.get('latency_s')):.2f} s "
                             f"(slowest {_num(s.get('max_latency_s')):.2f} s)"),
        ("Throughput", f"{_num(s.get('tokens_per_second')):.1f} tokens/s"),
        ("Cost", f"{_num(s.get('cost')):.6f} {currency}"),
        ("Prices", f"{_price(s.get('prompt_price'))} / {_price(s.get('completion_price'))} "
                   f"{currency} per 1M prompt / completion tokens"),
    ]

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

    def _static_html(self) -> str:
        rows = "".join(f'<tr><th style="text-align: left; font-weight: normal; color: {MUTED}; '
                       f'padding: 1px 12px 1px 0">{esc(label)}</th>'
                       f'<td style="text-align: left; padding: 1px 0">{esc(value)}</td></tr>'
                       for label, value in usage_rows(self.summary))
        return (f"<strong>Usage</strong><table style=\"border-collapse: collapse; margin: "
                f"2px 0\"><tbody>{rows}</tbody></table><div style=\"color: {MUTED}\">Summed "
                "latency counts overlapping calls separately; wall-clock time can be less.</div>")
