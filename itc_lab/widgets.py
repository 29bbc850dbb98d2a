"""Notebook widgets: token confidence and usage/cost. Introduced in lesson 00.

``TokenView`` colours every generated token by its probability and shows, on hover or keyboard
focus, the alternatives the model considered. ``UsageView`` sums calls, tokens, latency and cost.
``show(obj)`` picks the right one. Both are anywidgets whose front-end (ES modules and CSS) ships
in the package ``itc_lab._frontend`` (the folder ``widgets/`` of the source tree).

Outside a notebook the widgets still print a one-line text summary.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import anywidget
import traitlets

from .types import Completion, CostModel, Token, Usage

__all__ = [
    "HIGH_FROM",
    "LOW_BELOW",
    "TokenView",
    "UsageView",
    "confidence_band",
    "lowest_tokens",
    "show",
    "token_rows",
    "usage_summary",
]

LOW_BELOW = 0.3
"""A token with probability below this is in the ``"low"`` band (red)."""
HIGH_FROM = 0.7
"""A token with probability from this up is in the ``"high"`` band (green)."""

Band = Literal["low", "medium", "high"]

NO_LOGPROBS_NOTE = "This backend returned no logprobs: showing the plain text, uncoloured."


def _frontend_dir() -> Path:
    """The folder with the widgets' JS and CSS: the installed package, else the source tree."""
    candidates: list[Path] = []
    try:
        spec = importlib.util.find_spec("itc_lab._frontend")
    except (ImportError, ValueError):
        spec = None
    if spec is not None:
        candidates.extend(Path(p) for p in spec.submodule_search_locations or ())
        if spec.origin:
            candidates.append(Path(spec.origin).parent)
    source_tree = Path(__file__).resolve().parents[1] / "widgets"
    candidates.append(source_tree)
    for folder in candidates:
        if (folder / "token_view.js").is_file():
            return folder
    return source_tree


_FRONTEND = _frontend_dir()


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


def _short(text: str, width: int = 32) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _token_summary(completion: Completion) -> str:
    n = len(completion.tokens)
    if not n:
        return f"TokenView: no tokens ({_short(completion.text, 40)!r}; no logprobs)"
    probs = [t.prob for t in completion.tokens if t.prob is not None]
    line = f"TokenView: {n} token{'s' if n != 1 else ''}"
    if not probs:
        return line + ", no logprobs"
    line += f", mean p={sum(probs) / len(probs):.2f}"
    (_, low), = lowest_tokens(completion, 1)
    return line + f", lowest {_short(low.text)!r} p={low.prob or 0.0:.2f}"


def _note(completion: Completion) -> str:
    if not completion.tokens:
        return NO_LOGPROBS_NOTE
    missing = sum(1 for t in completion.tokens if t.logprob is None)
    if missing == len(completion.tokens):
        return "This backend returned no logprobs: the tokens are shown uncoloured (grey)."
    if missing:
        return f"{missing} of {len(completion.tokens)} tokens have no logprob (grey)."
    return ""


class _TextFallback:
    """Mixin: keep the widget view in the mimebundle, but make ``text/plain`` a summary."""

    def _text_summary(self) -> str:
        raise NotImplementedError

    def __repr__(self) -> str:
        return self._text_summary()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)  # type: ignore[misc]
        data, meta = bundle if isinstance(bundle, tuple) else (bundle, None)
        data = dict(data or {})
        data["text/plain"] = self._text_summary()
        return (data, meta) if meta is not None else data


class TokenView(_TextFallback, anywidget.AnyWidget):  # type: ignore[misc]
    """A completion's tokens coloured by probability, with alternatives on hover or focus.

    ``TokenView(completion, title="")`` or ``TokenView.from_completion(completion)``; put it last
    in a cell to display it. Colours: red ``p < 0.3``, amber ``p < 0.7``, green otherwise (see
    ``confidence_band``). Without logprobs the plain text is shown with a note.
    Introduced in lesson 00.
    """

    _esm = _FRONTEND / "token_view.js"
    _css = _FRONTEND / "token_view.css"

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
            note=_note(completion),
            text=completion.text,
            **kwargs,
        )

    @classmethod
    def from_completion(cls, completion: Completion, title: str = "") -> TokenView:
        """The same as ``TokenView(completion, title)``."""
        return cls(completion, title=title)

    def _text_summary(self) -> str:
        return _token_summary(self.completion)


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


class UsageView(_TextFallback, anywidget.AnyWidget):  # type: ignore[misc]
    """Calls, tokens, latency, tokens/s and cost (with the prices used) of some completions.

    ``UsageView(usage)`` or ``UsageView.of(completions, cost_model=None)``. Introduced in
    lesson 00.
    """

    _esm = _FRONTEND / "usage_view.js"
    _css = _FRONTEND / "token_view.css"

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
