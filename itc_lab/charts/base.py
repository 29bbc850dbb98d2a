"""What every chart shares: row checks, the row limit, model text made inert, and the offline
renderer."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import altair as alt

from ..tables import as_records

__all__ = [
    "LOOK_ALIKES",
    "MAX_ROWS",
    "STATIC_RENDERER",
    "ScriptSafeJSONEncoder",
    "chart_rows",
    "chart_summary",
    "is_number",
    "param_name",
    "safe_data",
    "safe_text",
    "safe_value",
    "series_field",
    "static_chart",
    "svg_img_html",
    "too_many_rows",
    "use_offline_renderer",
    "widget_with_static_renderer",
]

LOOK_ALIKES = {"<": "\u2039", ">": "\u203a"}
"""What ``safe_text`` writes for ``<`` and ``>``: the single angle quotation marks ‹ and ›."""

_LOOK_ALIKES = str.maketrans(LOOK_ALIKES)



MAX_ROWS = 5000

_SERIES_FIELDS = ("series", "technique", "method", "metric")

def param_name(base: str, *content: Any) -> str:
    """A selection's name, unique to the chart's content and stable from run to run.

    Altair renames params that clash when charts are combined (``chart_a | chart_b``) and then
    links their selections; a name derived from the data keeps each chart's selection its own,
    while the same data always gives the same spec (stored lessons compare equal)."""
    digest = hashlib.sha1(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()
    return f"{base}_{digest[:8]}"


def too_many_rows(n: int, what: str, fix: str) -> ValueError:
    msg = f"{n} {what} is more than the {MAX_ROWS} rows a chart holds: {fix}"
    return ValueError(msg)

def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)

def chart_rows(rows: Sequence[Mapping[str, Any]] | Any, what: str,
               fix: str) -> list[dict[str, Any]]:
    """The rows as a list of dicts, checked for being there and for the row limit. ``rows``
    may be a list of dicts, a DataFrame of any library narwhals supports (pandas, Polars,
    PyArrow ...), an ``itc_lab.tables.Table`` or a result with ``to_pandas()`` (see
    ``tables.as_records``: missing values become ``None``)."""
    items = as_records(rows)
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


STATIC_RENDERER = "itc_lab"
"""The name of the Altair renderer that ``use_offline_renderer`` enables."""

_SVG_ELEMENTS = frozenset({
    "svg", "g", "path", "rect", "line", "text", "tspan", "circle", "ellipse", "polygon",
    "polyline", "defs", "clipPath", "linearGradient", "radialGradient", "stop", "pattern",
    "title", "desc"})


def _inert_svg(svg: str) -> bool:
    """Whether ``svg`` holds only drawing elements and no event handler, link or style sheet
    (what Vega's SVG renderer writes for charts without images or hyperlinks)."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(svg)
    except ET.ParseError:
        return False
    for el in root.iter():
        if el.tag.rpartition("}")[2] not in _SVG_ELEMENTS:
            return False
        for name in el.attrib:
            local = name.rpartition("}")[2].lower()
            if local.startswith("on") or local in ("href", "style"):
                return False
    return True


def _chart_titles(spec: Mapping[str, Any]) -> list[str]:
    title = spec.get("title")
    if isinstance(title, Mapping):
        title = title.get("text")
    if isinstance(title, list):
        title = " ".join(str(t) for t in title)
    if title:
        return [str(title)]
    found: list[str] = []
    for key in ("layer", "hconcat", "vconcat", "concat"):
        for part in spec.get(key) or ():
            if isinstance(part, Mapping):
                found += _chart_titles(part)
    if isinstance(spec.get("spec"), Mapping):
        found += _chart_titles(spec["spec"])
    return found


def chart_summary(spec: Mapping[str, Any], static: str | None = None) -> str:
    """The ``text/plain`` of a chart's display: its title(s) and the static form it carries,
    e.g. ``Chart "Judge ROC" (static SVG; run the cell for the interactive chart)``."""
    titles = [" ".join(t.split()) for t in _chart_titles(spec)]
    name = " | ".join(f'"{t[:80]}"' for t in titles[:4]) or "(untitled)"
    how = f"static {static}" if static else "no static image"
    return f"Chart {name} ({how}; run the cell for the interactive chart)"


_STATIC_FONT = "Arial, Helvetica, 'Liberation Sans', sans-serif"


def static_chart(spec: dict[str, Any]) -> dict[str, Any]:
    """The static forms of a Vega-Lite ``spec``, rendered offline by vl-convert:
    ``{"image/svg+xml": ...}``, or ``{"image/png": ...}`` when the SVG holds anything but
    drawing (links or images from data; a PNG cannot run script wherever it is shown), or
    ``{}`` when the chart cannot be converted. The SVG is the same for the same spec."""
    # No ARIA labels: an SVG shown as an image never exposes them (the image's alt text does
    # that), and they are a fifth to a third of the file. Text is laid out with vl-convert's
    # Liberation Sans, metric-compatible with Arial and Helvetica: naming them keeps a viewer
    # from drawing it in a wider sans-serif that would overflow the image.
    config = {"font": _STATIC_FONT, **(spec.get("config") or {}), "aria": False}
    spec = {**spec, "config": config}
    try:
        svg = _convert(spec, "image/svg+xml")
        if _inert_svg(svg):
            return {"image/svg+xml": svg}
        return {"image/png": _convert(spec, "image/png")}
    except Exception:  # a chart vl-convert cannot draw still shows live, just without a picture
        return {}


def _convert(spec: dict[str, Any], mime: str) -> Any:
    """``spec`` drawn by vl-convert as ``mime``. Tried up to four times: after a failed
    conversion, vl-convert 1.9 may report the same error again for the next charts it is given
    (seen once, then twice on a loaded machine)."""
    from altair.utils.mimebundle import spec_to_mimebundle

    fmt: Any = "svg" if mime == "image/svg+xml" else "png"
    version = alt.SCHEMA_VERSION.lstrip("v")
    attempts = 4
    for attempt in range(1, attempts + 1):
        try:
            bundle = spec_to_mimebundle(spec, format=fmt, mode="vega-lite",
                                        vegalite_version=version)
        except Exception:  # vl-convert raises ValueError, or its runtime's own errors
            if attempt == attempts:
                raise
            continue
        return (bundle if isinstance(bundle, dict) else bundle[0])[mime]
    raise AssertionError("unreachable")


def svg_img_html(svg: str, alt: str, cls: str = "itc-chart") -> str:
    """``<img class="itc-chart" src="data:image/svg+xml;base64,…" alt="…">``: an SVG as HTML.

    JupyterLab draws an ``image/svg+xml`` output only in a trusted notebook, and a lesson from
    a clone or a download is not trusted until it runs; its HTML sanitizer keeps an image with
    a ``data:`` source, and nothing inside an image can run. ``alt`` is escaped."""
    import base64
    import html

    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return (f'<img class="{html.escape(cls, quote=True)}" alt="{html.escape(alt, quote=True)}" '
            f'src="data:image/svg+xml;base64,{data}">')


def widget_with_static_renderer(spec: dict[str, Any],
                                **metadata: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Altair renderer: the ``jupyter`` renderer's widget view (offline Vega), plus a static
    SVG of the same chart (``static_chart``), the same SVG as an HTML image (``svg_img_html``,
    for untrusted notebooks in JupyterLab) and a short ``text/plain`` (``chart_summary``).

    Live JupyterLab shows the widget (its renderer ranks first); nbconvert, GitHub and a stored
    lesson opened without a kernel show the SVG. The output metadata marks it as a chart
    (``{"itc_lab": {"figure": "chart"}}``, as the views' ``TextFallback`` marks views).
    """
    # what altair's own ``jupyter`` renderer does, through public names only
    alt.JupyterChart.enable_offline(offline=bool(metadata.get("offline", False)))
    widget = alt.JupyterChart(chart=alt.Chart.from_dict(spec),
                              embed_options=metadata.get("embed_options"))
    bundle = widget._repr_mimebundle_()
    data, meta = bundle if isinstance(bundle, tuple) else (bundle, {})
    data = dict(data or {})
    static = static_chart(spec)
    data.update(static)
    kind = "SVG" if "image/svg+xml" in static else "PNG" if static else None
    data["text/plain"] = chart_summary(spec, kind)
    if "image/svg+xml" in static:
        data["text/html"] = svg_img_html(static["image/svg+xml"], data["text/plain"])
    meta = dict(meta or {})
    meta["itc_lab"] = {"figure": "chart"}
    return data, meta


def use_offline_renderer() -> str:
    """Render charts as widgets with Vega bundled (no CDN, so charts draw offline and on Binder),
    each with a static SVG beside it for wherever no kernel runs.

    Uses altair's ``jupyter`` renderer with ``offline=True`` (needs ``vl-convert-python``),
    wrapped as ``widget_with_static_renderer`` (registered as ``STATIC_RENDERER``); the spec
    goes to the page as widget state, never as HTML, and the SVG is drawn offline by
    vl-convert. Without it, falls back to altair's ``html`` renderer, with the spec written by
    ``ScriptSafeJSONEncoder`` so no text in it can end the page's ``<script>``. Returns the
    renderer's name. Lessons call this in their setup cell. Introduced in lesson 01.
    """
    try:
        alt.renderers.enable("jupyter", offline=True)
        import vl_convert  # noqa: F401 - the static SVG and the offline Vega both need it
    except (ImportError, ValueError, RuntimeError):
        alt.renderers.enable("html", json_kwds={"cls": ScriptSafeJSONEncoder})
        return "html"
    if STATIC_RENDERER not in alt.renderers.names():
        alt.renderers.register(STATIC_RENDERER, widget_with_static_renderer)
    alt.renderers.enable(STATIC_RENDERER, offline=True)
    return STATIC_RENDERER
