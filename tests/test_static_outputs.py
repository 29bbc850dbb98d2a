"""Every picture is visible without a kernel (issue 19).

Each chart's display carries a static SVG beside its widget view (``charts.base``'s renderer),
each view a static HTML snapshot (``views.base.TextFallback``), and the output metadata marks
both as figures (``{"itc_lab": {"figure": ...}}``). ``itc-lab record`` stores the lessons with
the widget views removed (``cli.clean_outputs``): a stored widget view has no model to draw, so
JupyterLab, nbconvert and GitHub show the static forms, while a live run shows the widgets.

Checked here: (a) over the stored lessons, every figure has its static form and no widget view
or ``<… object at 0x…>`` text is left; (b) every stored lesson exported by nbconvert (no
execution) and opened in headless Chromium draws exactly one picture per figure; (c) hostile
model text stays text in every view's snapshot and every chart's SVG, in unit tests and in a
browser (no handler runs).
"""

from __future__ import annotations

import base64
import contextlib
import html
import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import altair as alt
import nbformat
import pytest

from itc_lab.charts import use_offline_renderer
from itc_lab.charts.base import (
    chart_summary,
    static_chart,
    svg_img_html,
    widget_with_static_renderer,
)
from itc_lab.cli import WIDGET_VIEW, clean_outputs
from itc_lab.connect import lessons_dir
from itc_lab.search import Node, SearchTree
from itc_lab.types import Alternative, Completion, CostModel, Token, Usage
from itc_lab.views import DiffView, TokenView, TraceList, TraceView, TreeView, UsageView
from itc_lab.views.base import FIGURE_KEY, STATIC_CLASS

from . import jupyterlab_support as lab_harness
from . import test_lessons_browser
from .browser_support import ARTIFACTS, CHROMIUM, IMG_XSS, SCRIPT_XSS

jupyterlab = test_lessons_browser.jupyterlab
"""JupyterLab on a copy of the lessons (the fixture of tests/test_lessons_browser.py)."""

LESSONS = sorted(lessons_dir().glob("[0-9][0-9]_*.ipynb"))
IMAGES = ("image/svg+xml", "image/png")
HOSTILE = f"</script>{SCRIPT_XSS}{IMG_XSS}<!-- & \"quoted\" 'x'"
"""Ends a script block, runs two payloads, opens a comment, and breaks out of attributes."""

ESCAPED_IMG = html.escape(IMG_XSS, quote=True)


# -- what a snapshot may hold ------------------------------------------------------------------

SNAPSHOT_TAGS = {"div", "span", "strong", "code", "table", "tbody", "tr", "th", "td", "ol",
                 "ul", "li", "details", "summary", "del", "ins"}
SNAPSHOT_ATTRS = {"class", "style", "title", "value"}
SVG_TAGS = {"svg", "g", "path", "rect", "line", "text", "tspan", "circle", "ellipse",
            "polygon", "polyline", "defs", "clipPath", "linearGradient", "radialGradient",
            "stop", "pattern", "title", "desc"}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def assert_inert_html(snapshot: str) -> str:
    """Only the snapshot's own tags and attributes, no handler, no link; returns the text."""
    parser = _Tags()
    parser.feed(snapshot)
    parser.close()
    for tag, attrs in parser.tags:
        assert tag in SNAPSHOT_TAGS, f"unexpected <{tag}>"
        names = {name for name, _ in attrs}
        assert names <= SNAPSHOT_ATTRS, f"<{tag}> has {names - SNAPSHOT_ATTRS}"
        style = dict(attrs).get("style") or ""
        assert "url(" not in style and "expression" not in style
    assert "<!--" not in snapshot and "<script" not in snapshot.lower()
    return "".join(parser.text)


def assert_chart_html(snapshot: str, svg: str) -> None:
    """A chart's text/html: one image of its own SVG, as a data URI; nothing else."""
    parser = _Tags()
    parser.feed(snapshot)
    parser.close()
    [(tag, attrs)] = parser.tags
    attributes = dict(attrs)
    assert tag == "img" and set(attributes) == {"class", "alt", "src"}
    assert attributes["class"] == "itc-chart"
    prefix = "data:image/svg+xml;base64,"
    assert str(attributes["src"]).startswith(prefix)
    assert base64.b64decode(str(attributes["src"])[len(prefix):]).decode() == svg


def assert_inert_svg(svg: str) -> str:
    """Only drawing elements, no handler, no link, no style sheet; returns the text drawn."""
    root = ET.fromstring(svg)  # our own output
    for el in root.iter():
        tag = el.tag.rpartition("}")[2]
        assert tag in SVG_TAGS, f"unexpected <{tag}>"
        for name in el.attrib:
            local = name.rpartition("}")[2].lower()
            assert not local.startswith("on") and local not in ("href", "style"), name
    return "".join(root.itertext())


# -- hostile model text in every view and in charts --------------------------------------------


def _completion(text: str = HOSTILE) -> Completion:
    pieces = [("First", 0.9), (f" {text}", 0.2), ("\nSo", 0.6), (f" {text}.", 0.8)]
    tokens = tuple(Token(t, math.log(p), (Alternative(text, math.log(p / 2)),))
                   for t, p in pieces)
    return Completion(text="".join(t for t, _ in pieces), model=text, backend="fake", seed=0,
                      tokens=tokens, prompt_tokens=3, completion_tokens=4, latency_s=0.1)


def _tree() -> SearchTree:
    nodes = (
        Node(0, None, 0, HOSTILE, "", HOSTILE, HOSTILE, 0.5, status="expanded", order=0),
        Node(1, 0, 1, HOSTILE, HOSTILE, HOSTILE, HOSTILE, 1.0, status="solution"),
        Node(2, 0, 1, "x", HOSTILE * 3, "p", "e", 0.1, status="pruned"),
    )
    return SearchTree(algorithm="bfs", nodes=nodes, solution_id=1,
                      budget={HOSTILE: 10}, spent={HOSTILE: 3}, config={"stopped": HOSTILE})


VIEWS: dict[str, Callable[[], Any]] = {
    "TokenView": lambda: TokenView(_completion(), title=HOSTILE),
    "TokenView (no logprobs)": lambda: TokenView(
        Completion(text=HOSTILE, model=HOSTILE, backend="fake", seed=0), title=HOSTILE),
    "TraceView": lambda: TraceView(_completion(), answer=HOSTILE, gold=HOSTILE, correct=False,
                                   title=HOSTILE),
    "TraceList": lambda: TraceList([_completion(), _completion()], [HOSTILE, None], HOSTILE,
                                   [False, None], title=HOSTILE),
    "UsageView": lambda: UsageView(Usage.of([_completion()], CostModel(1, 2, HOSTILE))),
    "TreeView": lambda: TreeView(_tree()),
    "DiffView": lambda: DiffView([HOSTILE, f"a {HOSTILE} b", "c"], [HOSTILE, HOSTILE],
                                 [0.1, 0.5, None], title=HOSTILE),
    "DiffView (side)": lambda: DiffView([HOSTILE, f"a {HOSTILE} b"], [HOSTILE], mode="side"),
}


def _bundle(obj: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    bundle = obj._repr_mimebundle_()
    return bundle if isinstance(bundle, tuple) else (bundle, {})


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_view_snapshot_keeps_model_text_as_text(name: str) -> None:
    view = VIEWS[name]()
    data, meta = _bundle(view)
    assert WIDGET_VIEW in data and meta[FIGURE_KEY] == {"figure": type(view).__name__}
    snapshot = data["text/html"]
    assert snapshot.startswith(f'<div class="{STATIC_CLASS} {STATIC_CLASS}-')
    text = assert_inert_html(snapshot)
    assert IMG_XSS in text or "<img src=x onerr" in text  # shown as text (maybe shortened)
    assert ESCAPED_IMG in snapshot or "&lt;img src=x onerr" in snapshot


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_view_snapshot_carries_its_own_colours_for_either_theme(name: str) -> None:
    """A dark theme colours text light, and code and table cells dark: a snapshot is a light
    card with its own text colour, and its code and table cells set theirs (the lesson browser
    test measures the contrast in JupyterLab's dark theme)."""
    snapshot = _bundle(VIEWS[name]())[0]["text/html"]
    root = re.match(r'<div class="[^"]*" style="([^"]*)"', snapshot)
    assert root and "background-color: #ffffff" in root[1] and "color: #1f2328" in root[1]
    for tag in re.findall(r"<(code|table|th|td)[ >]", snapshot):
        assert not re.search(f"<{tag}>", snapshot), f"<{tag}> without its own colours"
    assert "<code>" not in snapshot and "<td>" not in snapshot


def _hostile_chart() -> alt.TopLevelMixin:
    """Made by hand from model text, without the builders' safe_text."""
    rows = [{"answer": HOSTILE, "n": 3}, {"answer": f"{HOSTILE} 2", "n": 1}]
    bars = alt.Chart(alt.InlineData(values=rows)).mark_bar().encode(
        x=alt.X("answer:N", title=HOSTILE), y="n:Q", tooltip=["answer:N"])
    labels = alt.Chart(alt.InlineData(values=rows)).mark_text(dy=-5).encode(
        x="answer:N", y="n:Q", text="answer:N")
    return alt.layer(bars, labels).properties(title=HOSTILE)


def test_chart_static_svg_keeps_model_text_as_text() -> None:
    data, meta = widget_with_static_renderer(_hostile_chart().to_dict(), offline=True)
    assert meta == {FIGURE_KEY: {"figure": "chart"}}
    assert set(data) == {WIDGET_VIEW, "image/svg+xml", "text/html", "text/plain"}
    svg = data["image/svg+xml"]
    text = assert_inert_svg(svg)
    assert_chart_html(data["text/html"], svg)
    assert "<img src=x" not in data["text/html"] and ESCAPED_IMG in data["text/html"]  # alt
    assert IMG_XSS in text and SCRIPT_XSS in text  # drawn as text
    assert "<img" not in svg and "<script" not in svg
    assert data["text/plain"].startswith('Chart "</script>')
    assert "object at" not in data["text/plain"] and len(data["text/plain"]) < 200


@pytest.mark.parametrize("builder", ["vote_chart", "accuracy_chart", "router_chart",
                                     "scaling_chart"])
def test_builder_charts_static_svg_is_inert(builder: str) -> None:
    from .test_chart_safety import BUILDERS, h

    data, _ = widget_with_static_renderer(BUILDERS[builder](h("title")).to_dict())
    assert_inert_svg(data["image/svg+xml"])
    assert "<img" not in data["image/svg+xml"]


def test_static_chart_is_deterministic_and_never_active() -> None:
    spec = _hostile_chart().to_dict()
    assert static_chart(spec) == static_chart(spec)
    # links from data would put href into the SVG: vl-convert cannot draw them at all here,
    # and anything it draws that is not plain drawing becomes a PNG
    linked = alt.Chart(alt.InlineData(values=[{"u": "javascript:alert(1)", "n": 1}])).mark_bar(
    ).encode(x="n:Q", href="u:N").to_dict()
    forms = static_chart(linked)
    assert "image/svg+xml" not in forms or "javascript:" not in forms["image/svg+xml"]
    assert set(forms) <= {"image/png", "image/svg+xml"}


def test_chart_summary_names_the_titles() -> None:
    spec = alt.hconcat(alt.Chart().mark_point().properties(title="A"),
                       alt.Chart().mark_point().properties(title={"text": ["B", "C"]})).to_dict()
    assert chart_summary(spec, "SVG") == (
        'Chart "A" | "B C" (static SVG; run the cell for the interactive chart)')
    assert chart_summary({}, None).startswith("Chart (untitled) (no static image")


def test_use_offline_renderer_adds_the_svg_to_every_chart() -> None:
    try:
        assert use_offline_renderer() == "itc_lab"
        data, meta = _bundle(alt.Chart(alt.InlineData(values=[{"x": 1}])).mark_point()
                             .encode(x="x:Q"))
    finally:
        alt.renderers.enable("default")
    assert {WIDGET_VIEW, "image/svg+xml", "text/html", "text/plain"} <= set(data)
    assert meta[FIGURE_KEY] == {"figure": "chart"}


def test_svg_img_html_escapes_the_alt_text() -> None:
    snapshot = svg_img_html("<svg/>", f'"{IMG_XSS}')
    assert snapshot == ('<img class="itc-chart" alt="&quot;&lt;img src=x onerror=window.__pwned=1'
                        '&gt;" src="data:image/svg+xml;base64,PHN2Zy8+">')


def test_clean_outputs_keeps_the_static_forms_only() -> None:
    nb = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    nb.metadata["widgets"] = {"state": {"x": {"_esm": "…900 KB…"}}}
    cell = nbformat.v4.new_code_cell("x")  # type: ignore[no-untyped-call]
    cell.metadata["execution"] = {"iopub.status.busy": "2026-01-01"}
    view = {WIDGET_VIEW: {"model_id": "a"}, "text/html": "<div>", "text/plain": "v"}
    chart = {WIDGET_VIEW: {"model_id": "b"}, "image/svg+xml": "<svg/>", "text/plain": "c"}
    slider = {WIDGET_VIEW: {"model_id": "c"}, "text/plain": "IntSlider()"}
    cell.outputs = [nbformat.v4.new_output("execute_result", data=d, execution_count=1)  # type: ignore[no-untyped-call]
                    for d in (view, chart, slider)]
    nb.cells = [cell]
    assert clean_outputs(nb) == 2
    assert "widgets" not in nb.metadata and "execution" not in cell.metadata
    assert [sorted(o["data"]) for o in cell.outputs] == [
        ["text/html", "text/plain"], ["image/svg+xml", "text/plain"],
        [WIDGET_VIEW, "text/plain"]]  # no static form: the widget view stays (and is flagged)


# -- (a) the stored lessons ---------------------------------------------------------------------


def _outputs(path: Path) -> list[dict[str, Any]]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [o for cell in nb["cells"] if cell["cell_type"] == "code" for o in cell["outputs"]]


def _figures(path: Path) -> dict[str, int]:
    """How many stored outputs are charts, views, and other pictures (Graphviz)."""
    counts = {"charts": 0, "views": 0, "images": 0}
    for out in _outputs(path):
        figure = out.get("metadata", {}).get(FIGURE_KEY, {}).get("figure")
        if figure == "chart":
            counts["charts"] += 1
        elif figure:
            counts["views"] += 1
        elif any(m in out.get("data", {}) for m in IMAGES):
            counts["images"] += 1
    return counts


def test_lessons_are_found() -> None:
    assert len(LESSONS) >= 8


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_every_stored_figure_has_its_static_form(path: Path) -> None:
    found = 0
    for out in _outputs(path):
        data = out.get("data", {})
        plain = "".join(data.get("text/plain", ""))
        assert "JupyterChart object at" not in plain and " object at 0x" not in plain, plain
        assert WIDGET_VIEW not in data, (
            f"a stored widget view ({plain[:60]!r}): re-store the lesson with "
            "`itc-lab record NN --outputs-only`, which keeps only the static forms")
        figure = out.get("metadata", {}).get(FIGURE_KEY, {}).get("figure")
        if figure is None:
            continue
        found += 1
        if figure == "chart":
            assert any(m in data for m in IMAGES), f"a chart without an image: {plain[:80]}"
            if "image/svg+xml" in data:
                svg = "".join(data["image/svg+xml"])
                assert_inert_svg(svg)
                assert_chart_html("".join(data["text/html"]), svg)
            assert plain.startswith("Chart ")
        else:
            snapshot = "".join(data.get("text/html", ""))
            assert snapshot.startswith(f'<div class="{STATIC_CLASS} {STATIC_CLASS}-'
                                       f'{figure.lower()}"'), f"{figure} without a snapshot"
            assert_inert_html(snapshot)
            assert plain.startswith(f"{figure}:")
    assert found >= 1, f"{path.name} stores no figure"


# -- (b) and (c) in Chromium --------------------------------------------------------------------

FIGURES_JS = """() => {
  const seen = (e) => { const r = e.getBoundingClientRect(); return r.width > 2 && r.height > 2; };
  return [...document.querySelectorAll('.jp-OutputArea-output')].map((o) => {
    const pic = o.querySelector('svg, img');
    const view = o.querySelector('.itc-static');
    return {
      picture: !!pic && seen(pic)
        && (pic.tagName === 'IMG' || pic.querySelectorAll('*').length > 5),
      view: !!view && seen(view) && view.textContent.trim().length > 0,
      text: o.textContent.slice(0, 200),
    };
  });
}"""


def _export(notebook: Any) -> str:
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(notebook)  # type: ignore[no-untyped-call]
    return str(body)


def _open(browser: Any, page_html: str, path: Path) -> Any:
    path.write_text(page_html, encoding="utf-8")
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    # offline: the export's require.js and MathJax come from a CDN; the pictures need neither
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
               else route.abort())
    page.goto(path.as_uri(), wait_until="load")
    return context, page


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no {CHROMIUM}")
def test_exported_lesson_draws_every_figure(path: Path, browser: Any,
                                            tmp_path: Path) -> None:
    want = _figures(path)
    page_html = _export(nbformat.read(path, as_version=4))  # type: ignore[no-untyped-call]
    context, page = _open(browser, page_html, tmp_path / f"{path.stem}.html")
    try:
        outputs = page.evaluate(FIGURES_JS)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"export_{path.stem}.png"), full_page=True)
        body = page.inner_text("body")
    finally:
        context.close()
    pictures = sum(o["picture"] for o in outputs)
    views = sum(o["view"] for o in outputs)
    assert views == want["views"], f"{path.stem}: {views} snapshots drawn, want {want}"
    assert pictures == want["charts"] + want["images"], (
        f"{path.stem}: {pictures} pictures drawn, want {want}")
    assert "JupyterChart object at" not in body
    assert "Loading widget" not in body and "Error displaying widget" not in body


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no {CHROMIUM}")
def test_hostile_text_runs_nothing_in_an_exported_notebook(browser: Any,
                                                           tmp_path: Path) -> None:
    """Every view and a hand-made chart, with hostile model text, displayed as a lesson stores
    them (cleaned), exported by nbconvert and opened in Chromium: each draws, the text shows
    as text, no handler runs and no element comes from the text."""
    nb = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    cell = nbformat.v4.new_code_cell("hostile")  # type: ignore[no-untyped-call]
    figures = [VIEWS[name]() for name in sorted(VIEWS)]
    bundles = [_bundle(v) for v in figures]
    bundles.append(widget_with_static_renderer(_hostile_chart().to_dict()))
    cell.outputs = [nbformat.v4.new_output("display_data", data=d, metadata=m)  # type: ignore[no-untyped-call]
                    for d, m in bundles]
    nb.cells = [cell]
    clean_outputs(nb)
    context, page = _open(browser, _export(nb), tmp_path / "hostile.html")
    try:
        page.wait_for_timeout(300)  # an onerror would fire on the failed image load
        outputs = page.evaluate(FIGURES_JS)
        pwned = page.evaluate("() => window.__pwned === undefined ? null : window.__pwned")
        # nbconvert shows an SVG as <img src="data:image/svg+xml;base64,…">, where nothing in
        # it can run; any other element here would have come from the text
        injected = page.evaluate(
            "() => document.querySelectorAll('.jp-OutputArea-output "
            "img:not([src^=\"data:image/svg+xml;base64,\"]), .jp-OutputArea-output script, "
            ".itc-static img, .itc-static b, .jp-OutputArea-output [onerror]').length")
        body = page.inner_text("body")
    finally:
        context.close()
    assert pwned is None
    assert injected == 0
    assert sum(o["view"] for o in outputs) == len(figures)
    assert sum(o["picture"] for o in outputs) == 1
    assert IMG_XSS in body and SCRIPT_XSS in body


JUPYTERLAB_JS = """() => {
  const nb = '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook';
  const seen = (e) => { const r = e.getBoundingClientRect(); return r.width > 2 && r.height > 2; };
  const drawn = (e) => seen(e) && (e.tagName !== 'IMG' || (e.complete && e.naturalWidth > 0));
  const outputs = [...document.querySelectorAll(nb + ' .jp-OutputArea-output')];
  return {
    charts: [...document.querySelectorAll(nb + ' img.itc-chart')].filter(drawn).length,
    views: [...document.querySelectorAll(nb + ' .itc-static')]
      .filter((e) => seen(e) && e.textContent.trim().length > 0).length,
    chartsAsText: outputs.filter((o) => o.textContent.startsWith('Chart "')).length,
    broken: outputs.filter((o) => /Loading widget|Error displaying widget|object at 0x/
      .test(o.textContent)).length,
  };
}"""


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no {CHROMIUM}")
def test_stored_lesson_shows_its_figures_in_jupyterlab_before_it_runs(
        path: Path, browser: Any, jupyterlab: str) -> None:
    """A lesson from a clone is not trusted, so JupyterLab draws only safe output types: the
    views' HTML snapshots and the charts' SVG as an HTML image must both show, unrun."""
    want = _figures(path)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{jupyterlab}/lab/workspaces/static-{path.stem}/tree/{path.name}"
                  f"?reset&token={lab_harness.TOKEN}")
        page.wait_for_selector(f"{lab_harness.NB} .jp-Cell", timeout=120_000)
        with contextlib.suppress(Exception):  # the assertions below say what is missing
            page.wait_for_function(
                f"() => {{ const s = ({JUPYTERLAB_JS})(); "
                f"return s.charts >= {want['charts']} && s.views >= {want['views']}; }}",
                timeout=30_000, polling=250)
        state = page.evaluate(JUPYTERLAB_JS)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"unrun_{path.stem}.png"))
    finally:
        context.close()
    assert state == {"charts": want["charts"], "views": want["views"], "chartsAsText": 0,
                     "broken": 0}, f"{path.stem}: {state}, want {want}"
