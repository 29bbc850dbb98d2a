"""The course site (docs/, ``./run docs``): built from the lessons' stored outputs, offline.

The build runs here, in a temporary folder, with warnings as errors; without Sphinx the tests fail
with the install hint (they never skip). The files are then checked for every lesson, guide and
reference page, for assets from another host, and for widget outputs shown as Python reprs. The
``browser`` half opens every page in headless Chromium, served through Playwright's routing from
``ORIGIN`` (no server, no network), and fails on a console error, on any request to another host,
on a missing title, and on fewer drawn figures than the stored notebook has static pictures (so it
tightens by itself as outputs gain static fallbacks). Screenshots go to ``tests/artifacts/``.
"""

from __future__ import annotations

import ast
import importlib
import json
import mimetypes
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .browser_support import ARTIFACTS, ORIGIN

pytestmark = pytest.mark.lessons  # builds the site from the stored lessons

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
LESSONS = sorted(p.stem for p in (ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))
GUIDES = [
    "index", "install", "about", "development", "benchmarks", "troubleshooting",
    "instructors", "deployment", "reference/index", "datasets/index",
    "guide/index", "guide/backends", "guide/techniques", "guide/search", "guide/analysis",
    "guide/pictures", "guide/datasets", "guide/exercises", "guide/experiments",
]
"""Pages other parts of the project link to (the README among them): their names are stable."""
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
IMAGE_MIMES = ("image/svg+xml", "image/png", "image/jpeg", "image/gif")
INSTALL_HINT = ("the course site needs Sphinx, MyST-NB and the book theme: "
                "pip install -e '.[docs]' (./run docs installs them)")


# --------------------------------------------------------------------------- the build


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built site (its html folder), built once per module with warnings as errors."""
    for module in ("sphinx", "myst_nb", "sphinx_book_theme"):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            pytest.fail(f"{module} is not importable ({exc}); {INSTALL_HINT}", pytrace=False)
    out = tmp_path_factory.mktemp("site")
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
           "-d", str(out / "doctrees"), str(DOCS), str(out / "html")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, cwd=ROOT)
    if proc.returncode:
        pytest.fail(f"sphinx-build failed (exit {proc.returncode}):\n{proc.stderr[-6000:]}",
                    pytrace=False)
    return out / "html"


def stored_outputs(lesson: str) -> list[dict[str, Any]]:
    """Every display output (``data`` bundle) of a stored lesson, in order."""
    nb = json.loads((ROOT / "lessons" / f"{lesson}.ipynb").read_text(encoding="utf-8"))
    return [out["data"] for cell in nb["cells"] for out in cell.get("outputs", [])
            if "data" in out]


def expected_figures(lesson: str) -> dict[str, int]:
    """What the site must draw for a lesson, from its stored outputs: pictures (an output with
    an SVG or raster image), HTML snapshots (HTML but no image), and bare widget views (neither:
    shown as a note)."""
    want = {"images": 0, "html": 0, "bare_widgets": 0}
    for data in stored_outputs(lesson):
        if any(m in data for m in IMAGE_MIMES):
            want["images"] += 1
        elif "text/html" in data:
            want["html"] += 1
        elif WIDGET_MIME in data:
            want["bare_widgets"] += 1
    return want


def lesson_title(lesson: str) -> str:
    nb = json.loads((ROOT / "lessons" / f"{lesson}.ipynb").read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    raise AssertionError(f"{lesson} has no '# ' title")


def test_every_lesson_guide_and_reference_page_is_built(site: Path) -> None:
    missing = [f"lessons/{lesson}.html" for lesson in LESSONS
               if not (site / "lessons" / f"{lesson}.html").is_file()]
    missing += [f"{page}.html" for page in GUIDES if not (site / f"{page}.html").is_file()]
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        from itc_site import public_modules  # the reference's own list of modules
    finally:
        sys.path.remove(str(DOCS / "_ext"))
    modules = public_modules()
    assert "itc_lab.analysis.voting" in modules and "itc_lab._compat" not in modules
    missing += [f"reference/generated/{m}.html" for m in modules
                if not (site / "reference" / "generated" / f"{m}.html").is_file()]
    assert not missing, f"pages not built: {missing}"
    # the lessons come in order in the navigation
    index = (site / "index.html").read_text(encoding="utf-8")
    positions = [index.find(f'href="lessons/{lesson}.html"') for lesson in LESSONS]
    assert -1 not in positions and positions == sorted(positions), positions


def test_no_page_loads_anything_from_another_host(site: Path) -> None:
    remote = re.compile(r"""<(script|link|img|iframe|source|video|audio|embed|object)\b[^>]*?"""
                        r"""\b(src|href|data)\s*=\s*["']?(https?:)?//""", re.I)
    css_remote = re.compile(r"""(url\(\s*["']?(https?:)?//|@import\s+["']?(https?:)?//)""", re.I)
    found = []
    for page in site.rglob("*.html"):
        for match in remote.finditer(page.read_text(encoding="utf-8", errors="replace")):
            found.append(f"{page.relative_to(site)}: {match.group(0)[:120]}")
    for sheet in site.rglob("*.css"):
        if css_remote.search(sheet.read_text(encoding="utf-8", errors="replace")):
            found.append(f"{sheet.relative_to(site)}: remote url() or @import")
    assert not found, "assets from another host:\n" + "\n".join(found[:20])


@pytest.mark.parametrize("lesson", LESSONS)
def test_stored_outputs_render_their_static_forms(site: Path, lesson: str) -> None:
    html = (site / "lessons" / f"{lesson}.html").read_text(encoding="utf-8")
    want = expected_figures(lesson)
    assert "JupyterChart object at" not in html
    assert "<altair." not in html and "&lt;altair." not in html
    # an output with only a widget view becomes a note; one with a static form never does
    assert html.count('class="itc-no-static-output"') == want["bare_widgets"]
    assert html.count(f'<script type="{WIDGET_MIME}">') == 0
    assert html.count('class="output text_html"') >= want["html"]


XSS = "<img src=x onerror=window.__pwned=1></script><script>window.__pwned=2</script>"
SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40">'
       '<rect width="120" height="40" fill="#4c78a8"/></svg>')
PNG = ("iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAACQkWg2AAAAFklEQVR4nGNkaPjPQApgIkn1qIbhowEA"
       "Ri8B4ZXvXLgAAAAASUVORK5CYII=")
SNAPSHOT = ('<div class="itc-snapshot">&lt;img src=x onerror=window.__pwned=1&gt;'
            '<span>static snapshot</span></div>')
CHART_REPR = "<altair.jupyter.jupyter_chart.JupyterChart object at 0x7f00>"


def _display(data: dict[str, Any]) -> dict[str, Any]:
    view = {"model_id": "0123", "version_major": 2, "version_minor": 0}
    return {"output_type": "display_data", "metadata": {},
            "data": {"application/vnd.jupyter.widget-view+json": view, **data}}


@pytest.fixture(scope="module")
def fallback_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-notebook site with the docs' own configuration, whose outputs carry what the
    lessons' outputs will: a chart with an SVG, one with a PNG, a widget with an HTML snapshot,
    a bare widget, a stored script, and model text with markup in it."""
    src = tmp_path_factory.mktemp("fallback_src")
    outputs = [
        _display({"image/svg+xml": SVG, "text/plain": CHART_REPR}),
        _display({"image/png": PNG, "text/plain": CHART_REPR}),
        _display({"text/html": SNAPSHOT, "text/plain": "TokenView(...)"}),
        _display({"text/plain": CHART_REPR}),
        {"output_type": "display_data", "metadata": {},
         "data": {"application/javascript": "window.__pwned = 3", "text/plain": "<js>"}},
        {"output_type": "stream", "name": "stdout", "text": XSS + "\n"},
        {"output_type": "execute_result", "execution_count": 1, "metadata": {},
         "data": {"text/plain": repr(XSS)}},
    ]
    nb = {"nbformat": 4, "nbformat_minor": 5,
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                      "language": "python"},
                       "language_info": {"name": "python"}},
          "cells": [{"cell_type": "markdown", "id": "a", "metadata": {},
                     "source": "# Fallbacks\n\nStatic forms of widget outputs."},
                    {"cell_type": "code", "id": "b", "metadata": {}, "execution_count": 1,
                     "source": "show()", "outputs": outputs}]}
    (src / "index.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    (src / "conf.py").write_text(
        "from pathlib import Path\n"
        f"__file__ = {str(DOCS / 'conf.py')!r}\n"
        "exec(compile(Path(__file__).read_text(), __file__, 'exec'))\n"
        f"html_static_path = [{str(DOCS / '_static')!r}]\n"
        "itc_site_reference = False\n"
        "exclude_patterns = []\n", encoding="utf-8")
    out = tmp_path_factory.mktemp("fallback_site")
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
           "-d", str(out / "doctrees"), str(src), str(out / "html")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    if proc.returncode:
        pytest.fail(f"sphinx-build of the fallback page failed:\n{proc.stderr[-4000:]}",
                    pytrace=False)
    return out / "html"


def test_static_forms_win_over_widget_views(fallback_site: Path) -> None:
    html = (fallback_site / "index.html").read_text(encoding="utf-8")
    outputs = html[html.index('class="cell_output'):]
    images = re.findall(r'<img [^>]*src="(_images/[^"]+)"', outputs)
    assert [Path(i).suffix for i in images] == [".svg", ".png"], images
    assert SNAPSHOT in outputs                           # the HTML snapshot, as stored
    assert outputs.count('class="itc-no-static-output"') == 1   # the bare widget only
    assert "JupyterChart object at" not in outputs and "application/javascript" not in outputs
    assert "window.__pwned = 3" not in outputs           # a stored script is never rendered
    assert "<img src=x" not in outputs and "<script>window.__pwned" not in outputs
    assert "&lt;img src=x onerror" in outputs            # model text is shown, escaped


def test_python_in_the_guides_imports_what_exists() -> None:
    """Every ``from itc_lab… import …`` and ``import itc_lab…`` in the site's Markdown names
    something that exists (the guides were moved from the README; the API moves on)."""
    problems = []
    included = [ROOT / "benchmarks" / "README.md", *sorted((ROOT / "datasets").glob("*.md"))]
    for page in [*sorted(DOCS.rglob("*.md")), *included]:
        if "_build" in page.parts:
            continue
        text = page.read_text(encoding="utf-8")
        for block in re.findall(r"^```python\n(.*?)^```", text, re.S | re.M):
            flags = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
            tree = compile(block, str(page), "exec", flags=flags)
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("itc_lab"):
                    module = importlib.import_module(node.module or "")
                    problems += [f"{page.relative_to(ROOT)}: {node.module}.{a.name}"
                                 for a in node.names if not hasattr(module, a.name)]
                elif isinstance(node, ast.Import):
                    for alias in node.names:
                        if alias.name.startswith("itc_lab"):
                            importlib.import_module(alias.name)
    assert not problems, f"names the guides import that do not exist: {problems}"


# --------------------------------------------------------------------------- in the browser


class SitePage:
    """A page of the built site in Chromium, with what it requested and the errors it logged."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.foreign: list[str] = []
        self.missing: list[str] = []
        self.errors: list[str] = []


@pytest.fixture
def open_site(browser: Any, site: Path) -> Iterator[Any]:
    contexts = []

    def open_(path: str, name: str) -> SitePage:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        result = SitePage(context.new_page())
        page = result.page
        page.on("console", lambda m: result.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: result.errors.append(str(e)))

        def serve(route: Any) -> None:
            url = route.request.url
            if not url.startswith(f"{ORIGIN}/"):
                result.foreign.append(url)
                route.abort()
                return
            rel = url[len(ORIGIN) + 1:].split("#")[0].split("?")[0] or "index.html"
            file = (site / rel).resolve()
            if file.is_dir():
                file = file / "index.html"
            if rel == "favicon.ico":
                route.fulfill(status=204, body="")
            elif file.is_file() and file.is_relative_to(site.resolve()):
                ctype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
                route.fulfill(status=200, content_type=ctype, body=file.read_bytes())
            else:
                result.missing.append(rel)
                route.fulfill(status=404, body="not found")

        page.route("**/*", serve)
        page.goto(f"{ORIGIN}/{path}", wait_until="load")
        page.wait_for_load_state("networkidle")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"docs_{name}.png"))
        return result

    yield open_
    for context in contexts:
        context.close()


DRAWN_FIGURES = """() => {
  const figures = [...document.querySelectorAll(
      '.cell_output img, .cell_output svg:not(svg svg), .cell_output canvas')];
  const drawn = figures.filter((el) => {
    const box = el.getBoundingClientRect();
    if (box.width < 2 || box.height < 2) return false;
    return el.tagName !== 'IMG' || (el.complete && el.naturalWidth > 0);
  });
  return {figures: figures.length, drawn: drawn.length};
}"""
"""Figures in the lesson's output areas, and those actually drawn (an image that loaded, an SVG
or canvas with a size)."""


def drawn_figures(page: Any) -> dict[str, int]:
    return dict(page.evaluate(DRAWN_FIGURES))


@pytest.mark.browser
@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_page_in_the_browser(open_site: Any, lesson: str) -> None:
    shown = open_site(f"lessons/{lesson}.html", lesson)
    page = shown.page
    title = lesson_title(lesson)
    assert not shown.foreign, f"requests to another host: {shown.foreign}"
    assert not shown.missing, f"files the page asked for that the site lacks: {shown.missing}"
    assert not shown.errors, f"console errors: {shown.errors}"
    assert title in page.title()
    assert page.locator("h1").first.inner_text().strip().rstrip("#").strip() == title
    want = expected_figures(lesson)
    got = drawn_figures(page)
    assert got["drawn"] == got["figures"], f"figures not drawn (blank or broken): {got}"
    assert got["drawn"] >= want["images"], f"{lesson}: {got} drawn, stored outputs {want}"
    assert page.locator(".cell_output .output.text_html").count() >= want["html"]
    assert page.evaluate("typeof window.__pwned") == "undefined"


@pytest.mark.browser
def test_static_forms_are_drawn_and_model_text_stays_inert(browser: Any,
                                                           fallback_site: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    foreign: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    def serve(route: Any) -> None:
        url = route.request.url
        rel = url[len(ORIGIN) + 1:].split("#")[0].split("?")[0]
        file = fallback_site / rel
        if not url.startswith(f"{ORIGIN}/"):
            foreign.append(url)
            route.abort()
        elif file.is_file():
            ctype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            route.fulfill(status=200, content_type=ctype, body=file.read_bytes())
        else:
            route.fulfill(status=204 if rel == "favicon.ico" else 404, body="")

    page.route("**/*", serve)
    try:
        page.goto(f"{ORIGIN}/index.html", wait_until="load")
        page.wait_for_load_state("networkidle")
        assert drawn_figures(page) == {"figures": 2, "drawn": 2}
        assert page.locator(".itc-snapshot").inner_text() == (
            "<img src=x onerror=window.__pwned=1>static snapshot")
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert not errors and not foreign, (errors, foreign)
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.parametrize("page_name", GUIDES)
def test_guide_page_in_the_browser(open_site: Any, page_name: str) -> None:
    shown = open_site(f"{page_name}.html", page_name.replace("/", "_"))
    assert not shown.foreign, f"requests to another host: {shown.foreign}"
    assert not shown.missing, f"files the page asked for that the site lacks: {shown.missing}"
    assert not shown.errors, f"console errors: {shown.errors}"
    assert shown.page.locator("h1").count() >= 1
    assert shown.page.locator("h1").first.inner_text().strip()
