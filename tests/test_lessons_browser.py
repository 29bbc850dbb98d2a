"""Every lesson, opened in JupyterLab in headless Chromium, run top to bottom.

JupyterLab is started headless on a copy of the lessons (replay mode: recorded model responses,
no model needed); each lesson is opened, its stored outputs are cleared, "Run All Cells" is clicked,
and the test waits until every code cell has run. Then it checks what a learner would see: every
widget the stored notebook shows is rendered (our widgets draw text, Altair charts draw an SVG or
canvas, Graphviz trees draw an SVG), no cell wrote to stderr or raised, nothing failed to load,
and the browser console is free of errors. Screenshots are kept in ``tests/artifacts/``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest

from itc_lab.connect import lessons_dir

from .browser_support import ARTIFACTS, CONTRAST_HELPERS
from .jupyterlab_support import (
    NB,
    JupyterLabError,
    jupyterlab_server,
    open_lesson,
    run_all,
    shut_down_kernels,
)

pytestmark = pytest.mark.browser

LESSONS = sorted(p.stem for p in lessons_dir().glob("[0-9][0-9]_*.ipynb"))
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
RUN_TIMEOUT_MS = 300_000


def expected_outputs(lesson: str) -> dict[str, int]:
    """What the stored (replayed) notebook shows: Altair charts, our widgets and SVG images."""
    nb = json.loads((lessons_dir() / f"{lesson}.ipynb").read_text())
    want = {"charts": 0, "widgets": 0, "svg": 0, "images": 0}
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            # stored lessons keep static forms only; each figure is marked in its metadata
            figure = out.get("metadata", {}).get("itc_lab", {}).get("figure")
            if figure == "chart":
                want["charts"] += 1
            elif figure:
                want["widgets"] += 1
            elif "image/svg+xml" in data and "text/html" in data:
                want["images"] += 1  # JupyterLab prefers the HTML form: the SVG as an <img>
            elif "image/svg+xml" in data:
                want["svg"] += 1
    return want


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A JupyterLab server on a copy of the lessons; yields its base URL."""
    try:
        with jupyterlab_server(tmp_path_factory.mktemp("jupyterlab"), LESSONS) as base:
            yield base
    except JupyterLabError as exc:
        pytest.fail(str(exc), pytrace=False)


PAGE_STATE = """() => {
  const outputs = [...document.querySelectorAll('NB .jp-OutputArea-output')];
  const visible = (e) => {
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };
  const charts = [...document.querySelectorAll('NB .vega-embed')];
  // our views (their roots carry itc-* classes); an exercise's feedback box is not a view
  const ours = outputs.filter((o) => o.querySelector('[class^="itc-"], [class*=" itc-"]')
    && !o.querySelector('.itc-lab-feedback'));
  return {
    codeCells: document.querySelectorAll('NB .jp-CodeCell').length,
    charts: charts.length,
    chartsDrawn: charts.filter((c) => [...c.querySelectorAll('svg, canvas')].some(visible)).length,
    widgets: ours.length,
    widgetsDrawn: ours.filter((o) => visible(o) && o.textContent.trim().length > 0).length,
    svg: [...document.querySelectorAll('NB .jp-RenderedSVG')].filter(visible).length,
    images: [...document.querySelectorAll('NB .jp-OutputArea-output img.graphviz-tree')]
      .filter((i) => visible(i) && i.naturalWidth > 0).length,
    stderr: [...document.querySelectorAll(
      'NB .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
      .map((e) => e.textContent.slice(0, 400)),
    widgetProblems: outputs.map((o) => o.textContent)
      .filter((t) => /Error displaying widget|Loading widget\\.\\.\\.|model not found/.test(t))
      .map((t) => t.slice(0, 200)),
  };
}""".replace("NB", NB)

LAYOUT = """() => {
  // What a learner sees in each chart: nothing wider than the notebook's column, no two labels
  // drawn over each other, and a legend wherever colour carries meaning.
  const hidden = (e) => {
    for (let n = e; n && n.tagName !== 'svg'; n = n.parentElement) {
      const cs = getComputedStyle(n);
      if (cs.display === 'none' || cs.visibility === 'hidden' || Number(cs.opacity) === 0
          || n.getAttribute('opacity') === '0' || n.getAttribute('fill-opacity') === '0')
        return true;
    }
    return false;
  };
  const column = document.querySelector('NB .jp-Cell .jp-OutputArea')
    || document.querySelector('NB .jp-Cell');
  const columnRight = column.getBoundingClientRect().right;
  const problems = [];
  [...document.querySelectorAll('NB .vega-embed')].forEach((chart, i) => {
    const svg = chart.querySelector('svg');
    if (!svg) return;
    const name = `chart ${i + 1}`;
    const out = chart.closest('.jp-OutputArea-output');
    const box = svg.getBoundingClientRect();
    // the chart and its actions menu must fit: an output that scrolls sideways hides part
    const room = Math.min(columnRight - box.left, out ? out.clientWidth : Infinity);
    const needs = out ? out.scrollWidth : box.width;
    if (box.right > columnRight + 1 || needs > room + 1)
      problems.push(`${name}: needs ${Math.round(needs)} px, wider than the notebook `
        + `column (${Math.round(room)} px)`);
    const labels = [...svg.querySelectorAll('text')]
      .filter((t) => t.textContent.trim() && !hidden(t))
      .map((t) => ({text: t.textContent.trim(), r: t.getBoundingClientRect()}))
      .filter((l) => l.r.width > 0 && l.r.height > 0);
    for (let a = 0; a < labels.length; a++) {
      for (let b = a + 1; b < labels.length; b++) {
        const p = labels[a].r, q = labels[b].r;
        const w = Math.min(p.right, q.right) - Math.max(p.left, q.left);
        const h = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
        // glyph boxes of neighbouring lines touch; an overlap is a third of the smaller label
        if (w > 1 && h > 1 && w * h > Math.min(p.width * p.height, q.width * q.height) / 3)
          problems.push(`${name}: labels overlap: "${labels[a].text}" / "${labels[b].text}"`);
      }
    }
    // the colours marks are drawn in (dashed reference lines and rules aside): two or more
    // mean colour encodes something, which a legend must name
    const colours = new Set();
    svg.querySelectorAll('.role-mark:not(.mark-text):not(.mark-rule) > *').forEach((m) => {
      if (hidden(m) || m.closest('.role-legend') || m.getAttribute('stroke-dasharray')) return;
      for (const c of [m.getAttribute('fill'), m.getAttribute('stroke')]) {
        if (c && !/^(none|transparent|#fff(fff)?|white)$/i.test(c)) colours.add(c.toLowerCase());
      }
    });
    const legend = svg.querySelector('.role-legend');
    if (colours.size > 1 && !legend)
      problems.push(`${name}: ${colours.size} colours and no legend`);
  });
  return problems;
}""".replace("NB", NB)

@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_runs_in_jupyterlab(browser: Any, jupyterlab: str, lesson: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    console: list[str] = []
    # errors, and Vega's warnings ("WARN Infinite extent ..."): a chart drawn from nothing
    page.on("console", lambda m: console.append(m.text) if m.type == "error" or (
        m.type == "warning" and m.text.startswith("WARN")) else None)
    page.on("pageerror", lambda e: console.append(str(e)))
    try:
        # a workspace of its own per lesson, reset: only this notebook is open; its stored
        # outputs cleared, so what is checked below was produced by this run
        open_lesson(page, jupyterlab, lesson)
        run_all(page, timeout_ms=RUN_TIMEOUT_MS)
        want = expected_outputs(lesson)
        # widgets and charts draw asynchronously after their cell finished
        with contextlib.suppress(Exception):  # the assertions below say what is missing
            page.wait_for_function(
                f"() => ({PAGE_STATE})().chartsDrawn >= {want['charts']} && "
                f"({PAGE_STATE})().widgetsDrawn >= {want['widgets']}",
                timeout=60_000, polling=500)
        state = page.evaluate(PAGE_STATE)
        layout = page.evaluate(LAYOUT)
        page.locator(f"{NB} .jp-Cell").last.scroll_into_view_if_needed()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"lesson_{lesson}.png"))
        shown = page.locator(f"{NB} .vega-embed, {NB} .jp-OutputArea-output:has([class^='itc-'])")
        if shown.count():
            shown.first.scroll_into_view_if_needed()
            shown.first.screenshot(path=str(ARTIFACTS / f"lesson_{lesson}_first_picture.png"))
    finally:
        context.close()
        shut_down_kernels(jupyterlab)
    assert state["stderr"] == [], f"{lesson}: a cell wrote to stderr or raised"
    assert state["widgetProblems"] == [], f"{lesson}: a widget did not load"
    assert state["charts"] == want["charts"], f"{lesson}: {state}"
    assert state["chartsDrawn"] == want["charts"], f"{lesson}: a chart did not draw: {state}"
    assert state["widgets"] == want["widgets"], f"{lesson}: {state}"
    assert state["widgetsDrawn"] == want["widgets"], f"{lesson}: a widget is empty: {state}"
    assert state["svg"] == want["svg"], f"{lesson}: {state}"
    assert state["images"] == want["images"], f"{lesson}: an image did not draw: {state}"
    assert console == [], f"{lesson}: browser console errors"
    assert not layout, f"{lesson}: charts a learner cannot read:\n" + "\n".join(layout)


def test_every_lesson_is_covered() -> None:
    """The browser test finds the lessons by pattern; make sure none is left out."""
    on_disk = {p.stem for p in lessons_dir().glob("*.ipynb")}
    assert set(LESSONS) == on_disk
    assert len(LESSONS) >= 6


LEGIBILITY = """() => {
  // Every text a stored lesson's outputs show (views' snapshots, tables, printed text), against
  // what is behind it: WCAG AA asks for 4.5:1. Charts and trees are images on their own white.
  CONTRAST_HELPERS
  const out = [];
  for (const el of document.querySelectorAll('NB .jp-OutputArea-output *')) {
    if (el.closest('svg, .vega-embed')) continue;
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.getClientRects().length === 0) continue;
    const style = getComputedStyle(el);
    if (Number(style.opacity) < 1) continue;  // dimmed on purpose (e.g. pruned nodes)
    const bg = background(el);
    const fg = mix(rgb(style.color), bg);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    if (ratio < 4.5)
      out.push(`"${el.textContent.trim().slice(0, 40)}" (${el.tagName.toLowerCase()}`
               + `.${String(el.className).split(' ')[0]}): ${ratio.toFixed(2)}:1`);
  }
  return {poor: out, outputs: document.querySelectorAll('NB .jp-OutputArea-output').length};
}""".replace("NB", NB).replace("  CONTRAST_HELPERS\n", CONTRAST_HELPERS)


@pytest.fixture(scope="module", params=["light", "dark"])
def themed_lab(request: pytest.FixtureRequest,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """JupyterLab on a copy of the lessons, in its light and in its dark theme."""
    try:
        with jupyterlab_server(tmp_path_factory.mktemp(f"lab-{request.param}"), LESSONS,
                               theme=request.param) as base:
            yield base
    except JupyterLabError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.mark.parametrize("lesson", LESSONS)
def test_stored_lesson_text_is_legible_in_both_themes(browser: Any, themed_lab: str,
                                                       lesson: str) -> None:
    """A stored lesson as it opens, unrun, in each theme: every text in its outputs keeps
    4.5:1 contrast with its background (the views take their colours from the theme)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        open_lesson(page, themed_lab, lesson)
        page.wait_for_timeout(1_500)  # outputs render after the cells
        state = page.evaluate(LEGIBILITY)
    finally:
        context.close()
        shut_down_kernels(themed_lab)
    assert state["outputs"] > 0, f"{lesson}: the stored lesson shows no outputs"
    assert not state["poor"], (f"{lesson}: text a learner can hardly read:\n"
                               + "\n".join(state["poor"][:20]))
