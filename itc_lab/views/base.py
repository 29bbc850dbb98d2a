"""What every view shares: the front-end folder, ES-module bundling and the text fallback."""

from __future__ import annotations

import html
import importlib.util
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..analysis.tokens import confidence_band

__all__ = [
    "BAND_COLOURS",
    "FIGURE_KEY",
    "FRONTEND",
    "MAX_STATIC_CHARS",
    "MAX_STATIC_TOKENS",
    "MUTED",
    "STATIC_CLASS",
    "TEXT_BOX",
    "TextFallback",
    "band_legend",
    "bundle_esm",
    "capped",
    "esc",
    "frontend_dir",
    "static_figure",
    "token_spans",
]



def frontend_dir() -> Path:
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
    source_tree = Path(__file__).resolve().parents[2] / "widgets"
    candidates.append(source_tree)
    for folder in candidates:
        if (folder / "token_view.js").is_file():
            return folder
    return source_tree

FRONTEND = frontend_dir()


FIGURE_KEY = "itc_lab"
"""The key of the output metadata that marks a figure: ``{"itc_lab": {"figure": "TokenView"}}``
for a view, ``{"figure": "chart"}`` for an Altair chart (see ``charts.base``). Stored lessons keep
it after their widget views are removed (``itc-lab record``), so tests can find every figure."""

STATIC_CLASS = "itc-static"
"""The class of the root element of every view's static snapshot (``text/html``)."""

MAX_STATIC_TOKENS = 400
"""Tokens drawn in a static snapshot of one completion; the rest are counted, not shown."""

MAX_STATIC_CHARS = 1500
"""Characters of one text (a draft, a feedback, a node's texts) in a static snapshot."""

MUTED = "#59636e"
"""The colour of secondary text in static snapshots."""

BAND_COLOURS = {
    "low": "rgba(220, 38, 38, 0.3)",
    "medium": "rgba(217, 119, 6, 0.3)",
    "high": "rgba(22, 163, 74, 0.22)",
    "none": "rgba(128, 128, 128, 0.18)",
}
"""The token backgrounds of ``widgets/token_view.css`` by confidence band, as inline styles."""

_UNDERLINES = {"low": "underline wavy rgb(220, 38, 38)",
               "medium": "underline dotted rgb(217, 119, 6)"}


def esc(text: object) -> str:
    """``text`` as HTML text or attribute value: ``& < > " '`` escaped (``html.escape``). Every
    piece of model text in a static snapshot goes through this."""
    return html.escape(str(text), quote=True)


def capped(text: object, limit: int = MAX_STATIC_CHARS) -> str:
    """``text`` escaped, cut to ``limit`` characters with a note of how many were left out."""
    s = str(text)
    if len(s) <= limit:
        return esc(s)
    rest = len(s) - limit
    return (f"{esc(s[:limit])}<span style=\"color: {MUTED}\">… ({rest:,} more "
            f"character{'s' if rest != 1 else ''})</span>")


def _token_title(row: Mapping[str, Any]) -> str:
    prob = row.get("prob")
    title = "no logprob" if prob is None else f"p={prob:.2f}"
    alts = [a for a in row.get("top") or () if a.get("prob") is not None][:5]
    if alts:
        title += " · top: " + ", ".join(f"{str(a['text'])[:20]!r} {a['prob']:.2f}"
                                         for a in alts)
    return title


def token_spans(rows: Iterable[Mapping[str, Any]], limit: int = MAX_STATIC_TOKENS) -> str:
    """Tokens (rows of ``token_rows``) as ``<span>``s coloured by confidence band, with the
    probability and the alternatives as a tooltip; at most ``limit``, then how many more."""
    out: list[str] = []
    rows = list(rows)
    for row in rows[:limit]:
        prob = row.get("prob")
        band = "none" if prob is None else confidence_band(prob)
        style = f"background-color: {BAND_COLOURS[band]}; border-radius: 2px"
        if band in _UNDERLINES:
            style += f"; text-decoration: {_UNDERLINES[band]}"
        out.append(f'<span class="itc-static-tok itc-static-{band}" style="{style}" '
                   f'title="{esc(_token_title(row))}">{esc(row.get("text", ""))}</span>')
    if len(rows) > limit:
        rest = len(rows) - limit
        out.append(f'<span style="color: {MUTED}"> … ({rest:,} more token'
                   f'{"s" if rest != 1 else ""})</span>')
    return "".join(out)


TEXT_BOX = ("font-family: ui-monospace, SFMono-Regular, Menlo, monospace; line-height: 1.9; "
            "white-space: pre-wrap; overflow-wrap: anywhere; padding: 6px 8px; "
            "border: 1px solid #d0d7de; border-radius: 4px")
"""The inline style of a box of model text in static snapshots."""


def band_legend() -> str:
    """The colour key of ``token_spans``."""
    items = (("low", "p < 0.3"), ("medium", "0.3 ≤ p < 0.7"), ("high", "p ≥ 0.7"))
    return ('<div style="margin: 2px 0 4px">'
            + " ".join(f'<span style="background-color: {BAND_COLOURS[b]}; padding: 0 4px; '
                       f'border-radius: 3px">{esc(label)}</span>' for b, label in items)
            + "</div>")


_CARD = ("font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; font-size: 13px; "
        "line-height: 1.45; max-width: 100%; background-color: #ffffff; color: #1f2328; "
        "padding: 6px 8px; border-radius: 4px")
"""The root style of a static snapshot: a light card with its own text colour, so every colour
inside it (confidence bands, badges, muted text) reads the same under a light or a dark theme;
the inline styles are kept by JupyterLab's sanitizer, which drops ``<style>`` and classes'
meaning outside JupyterLab."""

_THEMED_TAGS = re.compile(r"<(code|table|tr|th|td)(?=[ >])(?: style=\"([^\"]*)\")?")
_OWN_BACKGROUND = {"code": "background-color: #f6f8fa; color: #1f2328; padding: 0 3px",
                   "table": "color: #1f2328", "tr": "background-color: transparent",
                   "th": "color: #1f2328", "td": "color: #1f2328"}


def _own_backgrounds(body: str) -> str:
    """``<code>`` and tables with colours of their own: a dark theme gives them dark backgrounds
    and light text (JupyterLab's rendered-HTML rules) inside the card. ``body`` is our own
    markup with every model text escaped, so no ``<code`` in it comes from a model."""
    def own(m: re.Match[str]) -> str:
        style = _OWN_BACKGROUND[m.group(1)] + (f"; {m.group(2)}" if m.group(2) else "")
        return f'<{m.group(1)} style="{style}"'

    return _THEMED_TAGS.sub(own, body)


def static_figure(kind: str, body: str) -> str:
    """The ``text/html`` of a view's static snapshot: ``body`` (already escaped HTML) in a root
    ``<div class="itc-static itc-static-{kind}">`` with inline styles only (no ``<style>``, no
    script: the snapshot must read the same in JupyterLab's sanitizer, nbconvert and GitHub)."""
    name = esc(kind)
    return (f'<div class="{STATIC_CLASS} {STATIC_CLASS}-{name.lower()}" '
            f'style="{_CARD}">'
            f"{_own_backgrounds(body)}"
            f'<div style="color: {MUTED}; font-size: 11px; margin-top: 4px">Static snapshot '
            f"of a {name}; run the cell for the interactive view.</div></div>")


class TextFallback:
    """Mixin: keep the widget view in the mimebundle, make ``text/plain`` a summary, and add
    a static ``text/html`` snapshot (``_static_html``) for wherever no kernel runs.

    Front-ends with a kernel prefer the widget view (JupyterLab ranks it first); nbconvert,
    GitHub and a lesson opened before it runs show the snapshot. The output metadata says
    which view it is (``FIGURE_KEY``).
    """

    def _text_summary(self) -> str:
        raise NotImplementedError

    def _static_html(self) -> str:
        """What the view shows, as escaped HTML (the inside of ``static_figure``)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return self._text_summary()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)  # type: ignore[misc]
        data, meta = bundle if isinstance(bundle, tuple) else (bundle, None)
        data = dict(data or {})
        name = type(self).__name__
        data["text/plain"] = self._text_summary()
        data["text/html"] = static_figure(name, self._static_html())
        meta = dict(meta or {})
        meta[FIGURE_KEY] = {"figure": name}
        return data, meta

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

def bundle_esm(name: str, folder: Path | None = None) -> str:
    """The ES module ``name`` of the front-end with its ``import {…} from "./x.js"`` lines
    replaced by scoped copies of those files.

    An anywidget module is loaded from a ``blob:`` URL, so it cannot import its sibling files;
    this is how ``trace_view.js`` reuses the helpers of ``token_view.js`` in the notebook.
    """
    folder = folder or FRONTEND
    source = (folder / name).read_text(encoding="utf-8")

    def inline(m: re.Match[str]) -> str:
        file = m.group("file")
        return _inline_module((folder / file).read_text(encoding="utf-8"), m.group("names"), file)

    return re.sub(
        r"^import\s*\{(?P<names>[^}]*)\}\s*from\s*[\"']\./(?P<file>[\w.-]+\.js)[\"'];?[ \t]*$",
        inline, source, flags=re.M)
