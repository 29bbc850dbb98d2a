"""TokenView: tokens coloured by probability, alternatives on hover. Introduced in lesson 00."""

from __future__ import annotations

from typing import Any

import anywidget
import traitlets

from .._checks import shorten
from ..analysis.tokens import logprob_note, lowest_tokens, token_rows
from ..types import Completion, Usage
from .base import (
    FRONTEND,
    MUTED,
    TEXT_BOX,
    TextFallback,
    band_legend,
    capped,
    esc,
    token_spans,
)
from .usage_view import UsageView

__all__ = [
    "TokenView",
    "show",
]

"""A token with probability below this is in the ``"low"`` band (red)."""

"""A token with probability from this up is in the ``"high"`` band (green)."""

def _token_summary(completion: Completion) -> str:
    n = len(completion.tokens)
    if not n:
        text = shorten(completion.text, 40, collapse=False)
        return f"TokenView: no tokens ({text!r}; no logprobs)"
    probs = [t.prob for t in completion.tokens if t.prob is not None]
    line = f"TokenView: {n} token{'s' if n != 1 else ''}"
    if not probs:
        return line + ", no logprobs"
    line += f", mean p={sum(probs) / len(probs):.2f}"
    (_, low), = lowest_tokens(completion, 1)
    return line + f", lowest {shorten(low.text, 32, collapse=False)!r} p={low.prob or 0.0:.2f}"


class TokenView(TextFallback, anywidget.AnyWidget):  # type: ignore[misc]
    """A completion's tokens coloured by probability, with alternatives on hover or focus.

    ``TokenView(completion, title="")`` or ``TokenView.from_completion(completion)``; put it last
    in a cell to display it. Colours: red ``p < 0.3``, amber ``p < 0.7``, green otherwise (see
    ``confidence_band``). Without logprobs the plain text is shown with a note.
    Introduced in lesson 00.
    """

    _esm = FRONTEND / "token_view.js"
    _css = FRONTEND / "token_view.css"

    tokens = traitlets.List(traitlets.Dict()).tag(sync=True)
    """One ``{"text", "logprob", "prob", "top"}`` per token (see ``token_rows``)."""
    title = traitlets.Unicode("").tag(sync=True)
    model = traitlets.Unicode("").tag(sync=True)
    """The model that wrote the completion."""
    note = traitlets.Unicode("").tag(sync=True)
    """Shown above the text, e.g. when the backend returned no logprobs."""
    text = traitlets.Unicode("").tag(sync=True)
    """The completion text (shown plain when there are no tokens)."""

    def __init__(self, completion: Completion, title: str = "", **kwargs: Any) -> None:
        if not isinstance(completion, Completion):
            msg = (f"TokenView needs a Completion (from backend.generate(...)), "
                   f"not {type(completion).__name__}.")
            raise TypeError(msg)
        self.completion = completion
        super().__init__(
            tokens=token_rows(completion),
            title=title,
            model=completion.model,
            note=logprob_note(completion),
            text=completion.text,
            **kwargs,
        )

    @classmethod
    def from_completion(cls, completion: Completion, title: str = "") -> TokenView:
        """The same as ``TokenView(completion, title)``."""
        return cls(completion, title=title)

    def _text_summary(self) -> str:
        return _token_summary(self.completion)

    def _static_html(self) -> str:
        head = [f"<strong>{esc(self.title)}</strong>"] if self.title else []
        if self.model:
            head.append(f'<code style="color: {MUTED}">{esc(self.model)}</code>')
        summary = _token_summary(self.completion).removeprefix("TokenView: ")
        head.append(f'<span style="color: {MUTED}">{esc(summary)}</span>')
        parts = [f'<div style="margin-bottom: 2px">{" · ".join(head)}</div>']
        if self.note:
            parts.append(f'<div style="border-left: 3px solid rgb(217, 119, 6); '
                         f'padding: 2px 8px; margin: 4px 0">{esc(self.note)}</div>')
        if self.tokens:
            parts.append(band_legend())
            parts.append(f'<div style="{TEXT_BOX}">{token_spans(self.tokens)}</div>')
        else:
            parts.append(f'<div style="{TEXT_BOX}">{capped(self.text)}</div>')
        return "".join(parts)

def show(obj: Completion | Usage) -> TokenView | UsageView:
    """The widget for ``obj``: a ``TokenView`` for a Completion, a ``UsageView`` for a Usage.

    Put ``show(x)`` last in a cell (or pass it to ``display``). Introduced in lesson 00.
    """
    if isinstance(obj, Completion):
        return TokenView(obj)
    if isinstance(obj, Usage):
        return UsageView(obj)
    hint = ""
    if isinstance(obj, list | tuple) and obj and all(isinstance(c, Completion) for c in obj):
        hint = (" For a list of completions use show(completions[0]) for one of them or "
                "UsageView.of(completions) for their usage.")
    msg = (f"show() takes a Completion (→ TokenView) or a Usage (→ UsageView), "
           f"not {type(obj).__name__}.{hint}")
    raise TypeError(msg)

"""Words that start a new step when they open a sentence (see ``segment_steps``)."""
