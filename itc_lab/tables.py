"""Tables: results and reports as pandas DataFrames, shown with percentages and intervals.

One convention across the package:

- every result or report that holds rows has ``to_pandas()``, a plain ``pandas.DataFrame`` with
  one row per item it holds (``TechniqueResult``: per sample; ``SweepResult``: per record;
  ``RouterReport``: per problem routed; ``ComputeOptimalReport``: per level and policy;
  ``Completion``: per token; ``Comparison``: per estimate);
- functions that compute rows (``aggregate``, ``SweepResult.summary``, ``latency_table``,
  ``fixed_budget_curve`` ...) return a list of dicts, which every chart builder takes as it is
  and ``table(rows)`` (or ``pandas.DataFrame(rows)``) turns into a table;
- every chart builder takes rows, a DataFrame of any library narwhals knows (pandas, Polars,
  PyArrow ...), a :class:`Table` or a result with ``to_pandas()`` (see :func:`as_records`);
- ``table(data, percent=[...])`` shows rows as a :class:`Table`: a DataFrame with display
  formats (fractions as percentages, ``(low, high)`` pairs as intervals), its HTML escaped;
- result types have a short ``repr`` (one line, or a few: what it is and its key numbers) and an
  HTML repr (:func:`summary_html`), so a result as a cell's last line shows a summary, never its
  every token.

Introduced in lesson 01.
"""

from __future__ import annotations

import contextlib
import html
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "Table",
    "as_records",
    "as_values",
    "cut",
    "frame",
    "summary_html",
    "table",
]

_MISSING = "–"
"""What a table shows for ``None`` or NaN."""


def cut(text: object, width: int = 60) -> str:
    """``text`` on one line (whitespace runs become one space), cut to ``width`` characters
    with "…" at the end when longer; for short reprs of model text."""
    one = " ".join(str(text).split())
    return one if len(one) <= width else one[: max(1, width - 1)] + "…"


def summary_html(title: str, fields: Iterable[tuple[str, object]],
                 note: str | None = None) -> str:
    """A small two-column HTML table (``title`` as its caption, one row per ``(name, value)``),
    every string escaped: the HTML repr of the package's result types. Model text in a value
    stays text (``<script>`` shows as those characters)."""
    rows = "".join(f"<tr><th style=\"text-align:left\">{html.escape(str(k))}</th>"
                   f"<td style=\"text-align:left\">{html.escape(str(v))}</td></tr>"
                   for k, v in fields)
    tail = f"<p>{html.escape(note)}</p>" if note else ""
    return (f"<div class=\"itclab-summary\"><table><caption style=\"text-align:left\">"
            f"<b>{html.escape(title)}</b></caption><tbody>{rows}</tbody></table>{tail}</div>")


def _native(value: Any) -> Any:
    """NaN and NaT as ``None``; numpy scalars as Python numbers."""
    if value is None:
        return None
    item = getattr(value, "item", None)
    if item is not None and not isinstance(value, str | bytes) and callable(item):
        with contextlib.suppress(TypeError, ValueError):
            value = item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if type(value).__name__ in ("NaTType", "NAType"):
        return None
    return value


def as_records(data: Any) -> list[dict[str, Any]]:
    """Rows as a list of plain dicts, from any of: a list (or other iterable) of mappings; a
    DataFrame of any library narwhals supports (pandas, Polars, PyArrow, Modin ...), a
    narwhals DataFrame, a :class:`Table`, or a result with ``to_pandas()``. Missing values
    (NaN, ``None``) become ``None`` and numpy scalars Python numbers, so rows from a DataFrame
    and rows built by hand draw the same chart."""
    import narwhals as nw

    if isinstance(data, Table):
        data = data.data
    native = nw.from_native(data, eager_only=True, pass_through=True)
    if isinstance(native, nw.DataFrame):
        data = native.to_pandas()
    elif not hasattr(data, "columns") and callable(getattr(data, "to_pandas", None)):
        data = data.to_pandas()  # a result or report of this package
    if hasattr(data, "to_dict") and hasattr(data, "columns"):
        return [{str(k): _native(v) for k, v in r.items()}
                for r in data.to_dict(orient="records")]
    if isinstance(data, str | bytes | Mapping) or not isinstance(data, Iterable):
        msg = (f"Give rows as a list of dicts or a DataFrame, not a {type(data).__name__}: e.g. "
               "[{'k': 1, 'accuracy': 0.4}, ...] or pandas.DataFrame(rows).")
        raise ValueError(msg)
    out = []
    for i, r in enumerate(data):
        if not isinstance(r, Mapping):
            msg = (f"Row {i} is a {type(r).__name__}, not a dict of field → value: give rows "
                   "as dicts, or a DataFrame.")
            raise ValueError(msg)
        out.append(dict(r))
    return out


def as_values(values: Any) -> list[Any]:
    """A column as a plain list: a list, a pandas Series, a NumPy array or any iterable, with
    missing values (NaN, ``None``) as ``None`` and numpy scalars as Python values (e.g. the
    answers a vote chart counts, from a DataFrame's column)."""
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
        msg = (f"Give a list of values (or a DataFrame column), not a "
               f"{type(values).__name__}.")
        raise ValueError(msg)
    return [_native(v) for v in values]


def frame(rows: Iterable[Mapping[str, Any]], columns: Sequence[str] | None = None
          ) -> Any:
    """A pandas DataFrame of ``rows`` (dicts), with ``columns`` in that order when given (an
    empty list of rows still has them). What every ``to_pandas()`` of the package returns."""
    import pandas as pd  # type: ignore[import-untyped]

    items = [dict(r) for r in rows]
    if columns is None:
        return pd.DataFrame(items)
    return pd.DataFrame(items, columns=list(columns))


def _percent(digits: int) -> Callable[[Any], str]:
    def fmt(v: Any) -> str:
        if isinstance(v, tuple | list) and len(v) == 2:
            lo, hi = (_native(x) for x in v)
            if lo is None or hi is None:
                return _MISSING
            return f"{100 * lo:.{max(0, digits - 1)}f}–{100 * hi:.{max(0, digits - 1)}f}%"
        return f"{v:.{digits}%}"
    return fmt


def _spec(spec: str) -> Callable[[Any], str]:
    def fmt(v: Any) -> str:
        if isinstance(v, tuple | list):
            return "–".join(format(x, spec) for x in v)
        return format(v, spec)
    return fmt


def _default(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return f"{v:,.0f}" if abs(v) >= 1e4 else f"{v:.0f}"
        return f"{v:,.0f}" if abs(v) >= 1e4 else f"{v:.4g}"
    if isinstance(v, tuple | list):
        return ", ".join(_default(_native(x)) for x in v)
    return str(v)


def _cell(value: Any, fmt: Callable[[Any], str]) -> str:
    if isinstance(value, tuple | list):
        return fmt(value)
    value = _native(value)
    return _MISSING if value is None else fmt(value)


class Table:
    """A pandas DataFrame (``data``, its numbers untouched) with display formats.

    Shown in a notebook as an HTML table (every cell escaped: model text stays text) and as
    aligned plain text by ``repr``; ``to_pandas()`` gives a copy of the numbers. Build one with
    :func:`table`. Introduced in lesson 01.
    """

    def __init__(self, data: Any,
                 formats: Mapping[str, Callable[[Any], str]] | None = None) -> None:
        self.data = data
        self.formats = dict(formats or {})

    def to_pandas(self) -> Any:
        """A copy of the numbers as a DataFrame."""
        return self.data.copy()

    def __len__(self) -> int:
        return len(self.data)

    def _columns_shown(self) -> Any:
        """The data with a named (or non-default) index shown as its first column."""
        df = self.data
        if df.index.name is None and list(df.index) == list(range(len(df))):
            return df
        return df.reset_index()

    def formatted(self) -> Any:
        """The table as shown: every cell as its display string."""
        df = self._columns_shown()
        out = df.astype(object).copy()
        out.columns = [str(c) for c in out.columns]  # a pivot's column axis name is no column
        for col in out.columns:
            fmt = self.formats.get(str(col), _default)
            out[col] = [_cell(v, fmt) for v in df[col]]
        return out

    def __repr__(self) -> str:
        shown = self.formatted()
        if shown.empty:
            return f"Table (no rows; columns: {', '.join(map(str, shown.columns))})"
        return str(shown.to_string(index=False))

    def numeric_columns(self) -> set[str]:
        """The columns shown right-aligned: numbers, and columns with a display format."""
        import pandas as pd

        df = self._columns_shown()
        return {str(c) for c in df.columns
                if str(c) in self.formats or (pd.api.types.is_numeric_dtype(df[c])
                                              and not pd.api.types.is_bool_dtype(df[c]))}

    def _repr_html_(self) -> str:
        """Every cell escaped; text columns left-aligned and numbers right-aligned (a notebook
        right-aligns every cell, which pushes words away from their header)."""
        shown = self.formatted()
        right = self.numeric_columns()
        align = [f'text-align: {"right" if str(c) in right else "left"}' for c in shown.columns]
        head = "".join(f'<th style="{a}">{html.escape(str(c))}</th>'
                       for c, a in zip(shown.columns, align, strict=True))
        rows = "".join(
            "<tr>" + "".join(f'<td style="{a}">{html.escape(str(v))}</td>'
                             for v, a in zip(row, align, strict=True)) + "</tr>"
            for row in shown.itertuples(index=False, name=None))
        return (f'<table class="itclab-table"><thead><tr>{head}</tr></thead>'
                f"<tbody>{rows}</tbody></table>")


def table(data: Any, *, percent: Sequence[str] | Mapping[str, int] = (),
          formats: Mapping[str, str | Callable[[Any], str]] | None = None,
          columns: Sequence[str] | None = None,
          rename: Mapping[str, str] | None = None) -> Table:
    """``data`` (rows, a DataFrame or a result with ``to_pandas()``) as a :class:`Table`.

    ``percent`` lists the columns holding fractions from 0 to 1, shown as percentages with one
    decimal (or ``{"accuracy": 0}`` for a number of decimals per column); a ``(low, high)`` pair
    in such a column shows as an interval, ``"14–41%"``. ``formats`` gives other columns a
    format spec (``{"tokens": ".0f", "gain": "+.1f"}``) or a function of the value. ``columns``
    keeps those columns in that order; ``rename`` renames them for display (formats and
    ``percent`` use the original names). Missing values show as "–"; other floats with up to
    four significant digits. Introduced in lesson 01.
    """
    import pandas as pd  # type: ignore[import-untyped]

    df = pd.DataFrame(as_records(data)) if not isinstance(data, pd.DataFrame) else data.copy()
    if columns is not None:
        missing = [c for c in columns if c not in df.columns]
        if missing:
            msg = (f"table(columns=...) names {missing}, which the data does not have; its "
                   f"columns are {list(map(str, df.columns))}.")
            raise ValueError(msg)
        df = df[list(columns)]
    fmts: dict[str, Callable[[Any], str]] = {}
    digits = dict(percent) if isinstance(percent, Mapping) else dict.fromkeys(percent, 1)
    for name, d in digits.items():
        fmts[name] = _percent(int(d))
    for name, f in (formats or {}).items():
        fmts[name] = _spec(f) if isinstance(f, str) else f
    unknown = sorted(set(fmts) - {str(c) for c in df.columns} - {str(df.index.name)})
    if unknown:
        msg = (f"table() formats columns {unknown}, which the data does not have; its columns "
               f"are {list(map(str, df.columns))}.")
        raise ValueError(msg)
    if rename:
        df = df.rename(columns=dict(rename))
        fmts = {rename.get(k, k): f for k, f in fmts.items()}
    return Table(df, fmts)
