"""Notebook widgets: token confidence, usage/cost and reasoning traces. Introduced in lesson 00.

``TokenView`` colours every generated token by its probability and shows, on hover or keyboard
focus, the alternatives the model considered. ``UsageView`` sums calls, tokens, latency and cost.
``show(obj)`` picks the right one. ``TraceView`` cuts a chain-of-thought completion into numbered
steps (see ``segment_steps``), with the same token colours, the final answer boxed and a
correct/wrong badge; ``TraceList`` shows several traces one line each, expandable. All are
anywidgets whose front-end (ES modules and CSS) ships in the package ``itc_lab._frontend`` (the
folder ``widgets/`` of the source tree).

Outside a notebook the widgets still print a one-line text summary.
"""

from __future__ import annotations

import bisect
import importlib.util
import itertools
import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import anywidget
import traitlets

from .types import Completion, CostModel, Token, Usage

__all__ = [
    "HIGH_FROM",
    "LOW_BELOW",
    "STEP_WORDS",
    "TokenView",
    "TraceList",
    "TraceView",
    "UsageView",
    "confidence_band",
    "lowest_tokens",
    "segment_steps",
    "show",
    "step_starts",
    "token_rows",
    "trace_payload",
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


# -- Reasoning traces -----------------------------------------------------------------------------

STEP_WORDS = ("Step", "First", "Then", "So", "Therefore")
"""Words that start a new step when they open a sentence (see ``segment_steps``)."""

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


def _mean(values: Iterable[float | None]) -> float | None:
    ps = [v for v in values if v is not None]
    return sum(ps) / len(ps) if ps else None


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
            "mean_prob": _mean(row["prob"] for row in members),
        })
    return steps


def _answer_text(value: object, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    msg = f"{name} must be a string (or None), not {type(value).__name__}."
    raise TypeError(msg)


def _flag(value: object) -> bool | None:
    if value is None:
        return None
    if value in (True, False) and not isinstance(value, str):
        return bool(value)
    msg = f"correct must be True, False or None (not graded), not {value!r}."
    raise TypeError(msg)


def _trace_note(completion: Completion) -> str:
    note = _note(completion)
    if completion.tokens and "".join(t.text for t in completion.tokens) != completion.text:
        extra = "The tokens do not spell the text exactly; the steps follow the tokens."
        note = f"{note} {extra}" if note else extra
    return note


def trace_payload(completion: Completion, *, answer: str | None = None, gold: str | None = None,
                  correct: bool | None = None, title: str = "") -> dict[str, Any]:
    """The synced traits of a ``TraceView`` (and one item of ``TraceList.traces``).

    ``{"steps", "answer", "gold", "correct", "title", "model", "note"}``; ``steps`` comes from
    ``segment_steps``. Introduced in lesson 00.
    """
    if not isinstance(completion, Completion):
        msg = (f"A trace needs a Completion (from backend.generate(...)), "
               f"not {type(completion).__name__}.")
        raise TypeError(msg)
    return {
        "steps": segment_steps(completion),
        "answer": _answer_text(answer, "answer"),
        "gold": _answer_text(gold, "gold"),
        "correct": _flag(correct),
        "title": str(title),
        "model": completion.model,
        "note": _trace_note(completion),
    }


def _verdict(answer: str | None, correct: bool | None) -> str:
    """As the front-end's badge: "correct", "wrong", "no answer" or "not graded"."""
    if not answer:
        return "no answer"
    if correct is None:
        return "not graded"
    return "correct" if correct else "wrong"


def _trace_summary(payload: dict[str, Any], name: str = "TraceView") -> str:
    steps = payload["steps"]
    line = f"{name}: {len(steps)} step{'s' if len(steps) != 1 else ''}"
    answer, gold = payload["answer"], payload["gold"]
    verdict = _verdict(answer, payload["correct"])
    show_gold = gold is not None and verdict != "correct"
    if verdict == "no answer":
        line += ", no answer" + (f" (gold {_short(gold)!r})" if show_gold else "")
    else:
        line += f", answer {_short(answer)!r} ({verdict}"
        line += f", gold {_short(gold)!r})" if show_gold else ")"
    mean = _mean(row["prob"] for step in steps for row in step["tokens"])
    return line + (f", mean p={mean:.2f}" if mean is not None else ", no logprobs")


def _inline_module(source: str, names: str, file: str) -> str:
    """``const {names} = (() => {module body; return {exports};})();`` for an ``import``."""
    exported = re.findall(
        r"^export\s+(?:async\s+)?(?:function\*?|const|let|class)\s+([A-Za-z_$][\w$]*)",
        source, flags=re.M)
    body = re.sub(r"^export\s+default\b[^\n]*$", "", source, flags=re.M)
    body = re.sub(r"^export\s+(?=(?:async\s+)?(?:function|const|let|class)\b)", "", body,
                  flags=re.M)
    if re.search(r"^\s*(?:export|import)\b", body, flags=re.M):
        msg = f"Cannot inline {file}: only `export function/const/let/class` lines are handled."
        raise RuntimeError(msg)
    wanted = []
    for item in names.split(","):
        parts = item.split()
        if not parts:
            continue
        if parts[0] not in exported or len(parts) not in (1, 3):
            msg = f"{file} does not export {item.strip()!r} (exports: {exported})."
            raise RuntimeError(msg)
        wanted.append(parts[0] if len(parts) == 1 else f"{parts[0]}: {parts[2]}")
    return (f"// ---- inlined from {file} ----\nconst {{ {', '.join(wanted)} }} = (() => {{\n"
            f"{body}\nreturn {{ {', '.join(exported)} }};\n}})();\n// ---- end of {file} ----")


def _bundle_esm(name: str, folder: Path | None = None) -> str:
    """The ES module ``name`` of the front-end with its ``import {…} from "./x.js"`` lines
    replaced by scoped copies of those files.

    An anywidget module is loaded from a ``blob:`` URL, so it cannot import its sibling files;
    this is how ``trace_view.js`` reuses the helpers of ``token_view.js`` in the notebook.
    """
    folder = folder or _FRONTEND
    source = (folder / name).read_text(encoding="utf-8")

    def inline(m: re.Match[str]) -> str:
        file = m.group("file")
        return _inline_module((folder / file).read_text(encoding="utf-8"), m.group("names"), file)

    return re.sub(
        r"^import\s*\{(?P<names>[^}]*)\}\s*from\s*[\"']\./(?P<file>[\w.-]+\.js)[\"'];?[ \t]*$",
        inline, source, flags=re.M)


def _trace_css() -> str:
    return "\n".join((_FRONTEND / f).read_text(encoding="utf-8")
                     for f in ("token_view.css", "trace_view.css"))


class TraceView(_TextFallback, anywidget.AnyWidget):  # type: ignore[misc]
    """A chain-of-thought completion as numbered steps, tokens coloured by probability.

    ``TraceView(completion, answer="5", gold="5", correct=True, title="")``. ``answer`` is the
    final answer as extracted from the text; its last occurrence in the text is boxed. The badge
    says ``correct``, ``wrong`` (then the gold answer is shown too), ``no answer`` (``answer`` is
    ``None`` or empty) or ``not graded`` (``correct=None``). Steps follow ``segment_steps``;
    colours and the hover/focus details are those of ``TokenView``. Introduced in lesson 00.
    """

    _esm = _bundle_esm("trace_view.js")
    _css = _trace_css()

    steps = traitlets.List(traitlets.Dict()).tag(sync=True)
    """One ``{"index", "text", "tokens", "mean_prob"}`` per step (see ``segment_steps``)."""
    answer = traitlets.Unicode(None, allow_none=True).tag(sync=True)
    """The extracted final answer (``None``: none found)."""
    gold = traitlets.Unicode(None, allow_none=True).tag(sync=True)
    """The reference answer, if known."""
    correct = traitlets.Bool(None, allow_none=True).tag(sync=True)
    """Whether ``answer`` is right; ``None`` when not graded."""
    title = traitlets.Unicode("").tag(sync=True)
    model = traitlets.Unicode("").tag(sync=True)
    """The model that wrote the completion."""
    note = traitlets.Unicode("").tag(sync=True)
    """Shown above the steps, e.g. when the backend returned no logprobs."""

    def __init__(self, completion: Completion, *, answer: str | None = None,
                 gold: str | None = None, correct: bool | None = None, title: str = "",
                 **kwargs: Any) -> None:
        payload = trace_payload(completion, answer=answer, gold=gold, correct=correct,
                                title=title)
        self.completion = completion
        super().__init__(**payload, **kwargs)

    def payload(self) -> dict[str, Any]:
        """The synced traits as one dict (the shape of a ``TraceList.traces`` item)."""
        return {name: getattr(self, name)
                for name in ("steps", "answer", "gold", "correct", "title", "model", "note")}

    def _text_summary(self) -> str:
        return _trace_summary(self.payload())


class TraceList(_TextFallback, anywidget.AnyWidget):  # type: ignore[misc]
    """Several reasoning traces (e.g. the k samples of self-consistency), one line each.

    ``TraceList(completions, answers, gold, correct_flags, title="")``: ``answers[i]`` is the
    answer extracted from ``completions[i]`` (``None``: none); the third argument is one gold
    answer for all or one per completion; ``correct_flags[i]`` is True, False or None (not
    graded), or pass ``None`` for all ungraded. Each line shows the answer and a ✓/✗ mark; click
    (or Enter) expands it to the full ``TraceView`` rendering. ``selected`` is the expanded
    trace's position (-1: none), set from the browser and settable from Python.
    Introduced in lesson 00.
    """

    _esm = TraceView._esm
    _css = TraceView._css

    traces = traitlets.List(traitlets.Dict()).tag(sync=True)
    """One ``TraceView`` payload per completion (see ``trace_payload``)."""
    title = traitlets.Unicode("").tag(sync=True)
    selected = traitlets.Int(-1).tag(sync=True)
    """Which trace is expanded (position in ``traces``); -1 when none."""

    def __init__(self, completions: Sequence[Completion], answers: Sequence[str | None],
                 golds_or_gold: str | Sequence[str | None] | None,
                 correct_flags: Sequence[bool | None] | None, title: str = "",
                 **kwargs: Any) -> None:
        completions = list(completions)
        n = len(completions)
        answers = list(answers)
        if golds_or_gold is None or isinstance(golds_or_gold, str | int | float):
            golds: list[Any] = [golds_or_gold] * n
        else:
            golds = list(golds_or_gold)
        flags: list[Any] = [None] * n if correct_flags is None else list(correct_flags)
        for name, values in (("answers", answers), ("golds", golds), ("correct_flags", flags)):
            if len(values) != n:
                msg = f"TraceList got {n} completions but {len(values)} {name}; give one each."
                raise ValueError(msg)
        self.completions = completions
        traces = [trace_payload(c, answer=a, gold=g, correct=f, title=f"Sample {i + 1}")
                  for i, (c, a, g, f) in enumerate(zip(completions, answers, golds, flags,
                                                       strict=True))]
        super().__init__(traces=traces, title=str(title), **kwargs)

    def _text_summary(self) -> str:
        verdicts = [_verdict(t["answer"], t["correct"]) for t in self.traces]
        line = f"TraceList: {len(self.traces)} trace{'s' if len(self.traces) != 1 else ''}"
        for v in ("correct", "wrong", "no answer", "not graded"):
            if verdicts.count(v):
                line += f", {verdicts.count(v)} {v}"
        counts: dict[str, int] = {}
        for t in self.traces:
            if t["answer"]:
                counts[t["answer"]] = counts.get(t["answer"], 0) + 1
        if counts:
            ranked = sorted(counts.items(), key=lambda kv: -kv[1])  # stable: first seen first
            line += "; answers " + ", ".join(f"{_short(a)!r}×{k}" for a, k in ranked)
        return line
