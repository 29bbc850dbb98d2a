"""What every chart shares: row checks, the row limit and the offline renderer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt

__all__ = [
    "MAX_ROWS",
    "chart_rows",
    "is_number",
    "series_field",
    "too_many_rows",
    "use_offline_renderer",
]



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

def use_offline_renderer() -> str:
    """Render charts as widgets with Vega bundled (no CDN, so charts draw offline and on Binder).

    Uses altair's ``jupyter`` renderer with ``offline=True`` (needs ``vl-convert-python``);
    without it, keeps altair's default ``html`` renderer. Returns the renderer's name. Lessons call
    this in their setup cell. Introduced in lesson 01.
    """
    try:
        alt.renderers.enable("jupyter", offline=True)
    except (ImportError, ValueError, RuntimeError):
        alt.renderers.enable("html")
        return "html"
    return "jupyter"
