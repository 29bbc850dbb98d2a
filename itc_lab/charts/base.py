"""What every chart shares: row checks, the row limit, model text made inert, and the offline
renderer."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import altair as alt

__all__ = [
    "LOOK_ALIKES",
    "MAX_ROWS",
    "ScriptSafeJSONEncoder",
    "chart_rows",
    "is_number",
    "safe_data",
    "safe_text",
    "safe_value",
    "series_field",
    "too_many_rows",
    "use_offline_renderer",
]

LOOK_ALIKES = {"<": "\u2039", ">": "\u203a"}
"""What ``safe_text`` writes for ``<`` and ``>``: the single angle quotation marks ‹ and ›."""

_LOOK_ALIKES = str.maketrans(LOOK_ALIKES)



MAX_ROWS = 5000

_SERIES_FIELDS = ("series", "technique", "method", "metric")

def too_many_rows(n: int, what: str, fix: str) -> ValueError:
    msg = f"{n} {what} is more than the {MAX_ROWS} rows a chart holds: {fix}"
    return ValueError(msg)

def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)

def chart_rows(rows: Sequence[Mapping[str, Any]], what: str, fix: str) -> list[dict[str, Any]]:
    items = [dict(r) for r in rows]
    if not items:
        msg = f"No rows to draw: give at least one {what}."
        raise ValueError(msg)
    if len(items) > MAX_ROWS:
        raise too_many_rows(len(items), "rows", fix)
    return items

def series_field(items: list[dict[str, Any]]) -> str | None:
    """The first of series/technique/method/metric that the rows have (all rows must have it)."""
    for key in _SERIES_FIELDS:
        if any(key in r for r in items):
            missing = [i for i, r in enumerate(items) if key not in r]
            if missing:
                msg = (f"Some rows have a {key!r} field and some do not (e.g. row {missing[0]}): "
                       f"give every row a {key!r} so its line can be coloured.")
                raise ValueError(msg)
            return key
    return None

def safe_text(text: object) -> str:
    """``text`` as a string that no HTML page can read as markup: ``<`` and ``>`` become ‹ and ›.

    Every chart builder passes each string it puts into a chart spec through this, or through
    ``safe_value`` / ``safe_data``: data values *and* keys (row keys are field names), titles,
    labels, scale domains and sort lists built from data. Why: model text is untrusted, and
    Altair writes the spec into HTML unescaped. ``chart.to_html()`` (with ``inline=True`` too),
    ``chart.save("x.html")`` and the ``html``/``default`` renderer put ``json.dumps(spec)``
    inside a ``<script>`` block, where a ``</script>`` in an answer ends the block and what
    follows (``<script>…``, ``<img onerror=…>``) runs in the page; ``<!--`` can break the
    page's own script. With no ``<`` in any string none of that can happen, whatever renders
    the spec later (Vega draws titles and labels as SVG or canvas text, and vega-tooltip
    escapes tooltips, but a spec may be shown by other tools).

    Only ``<`` and ``>`` are replaced, by look-alikes rather than entities, because the text
    is drawn as text: ``&lt;`` would be shown as those four characters. ``&`` and ``/`` stay:
    without ``<`` neither can start markup or end a script (an entity, where something reads
    the text as HTML, decodes to a character, never to a tag), and ``1/2`` and ``Q&A`` are
    common in answers. The text stays readable (``‹b›bold‹/b›``) and two answers differing
    only by ``<`` versus ‹ share a bar, which real answers never do.
    """
    return str(text).translate(_LOOK_ALIKES)


def safe_value(value: Any) -> Any:
    """``value`` with ``safe_text`` applied to every string in it, dict keys included (lists,
    tuples and mappings are copied; numbers, booleans and ``None`` are kept as they are)."""
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, Mapping):
        return {safe_text(k) if isinstance(k, str) else k: safe_value(v)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [safe_value(v) for v in value]
    return value


def safe_data(rows: Iterable[Mapping[str, Any]]) -> alt.InlineData:
    """``alt.InlineData`` of ``rows`` with every string made inert (see ``safe_text``); the
    builders' only way of putting rows into a chart."""
    return alt.InlineData(values=[safe_value(dict(r)) for r in rows])


class ScriptSafeJSONEncoder(json.JSONEncoder):
    """JSON that may sit inside an HTML ``<script>``: ``<``, ``>`` and ``&`` are written as
    ``\\u003c``, ``\\u003e`` and ``\\u0026`` (only strings hold them, so the value read back
    is the same). ``use_offline_renderer`` gives it to Altair's ``html`` renderer, so even a
    chart made without these builders from model text cannot run script in the page."""

    _ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})

    def encode(self, o: Any) -> str:
        return super().encode(o).translate(self._ESCAPES)

    def iterencode(self, o: Any, _one_shot: bool = False) -> Iterator[str]:
        for chunk in super().iterencode(o, _one_shot):
            yield chunk.translate(self._ESCAPES)


def use_offline_renderer() -> str:
    """Render charts as widgets with Vega bundled (no CDN, so charts draw offline and on Binder).

    Uses altair's ``jupyter`` renderer with ``offline=True`` (needs ``vl-convert-python``); the
    spec goes to the page as widget state, never as HTML. Without it, falls back to altair's
    ``html`` renderer, with the spec written by ``ScriptSafeJSONEncoder`` so no text in it can
    end the page's ``<script>``. Returns the renderer's name. Lessons call this in their setup
    cell. Introduced in lesson 01.
    """
    try:
        alt.renderers.enable("jupyter", offline=True)
    except (ImportError, ValueError, RuntimeError):
        alt.renderers.enable("html", json_kwds={"cls": ScriptSafeJSONEncoder})
        return "html"
    return "jupyter"
