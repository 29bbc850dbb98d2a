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
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from itc_lab.connect import lessons_dir

from .browser_support import ARTIFACTS

pytestmark = pytest.mark.browser

LESSONS = sorted(p.stem for p in lessons_dir().glob("[0-9][0-9]_*.ipynb"))
TOKEN = "itc-lab-browser-test"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
RUN_TIMEOUT_MS = 300_000
NB = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook"
"""The notebook in view."""


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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A JupyterLab server on a copy of the lessons; yields its base URL."""
    work = tmp_path_factory.mktemp("jupyterlab")
    root = work / "lessons"
    root.mkdir()
    for lesson in LESSONS:
        shutil.copy(lessons_dir() / f"{lesson}.ipynb", root)
    settings = work / "settings"
    # Render every cell (no virtual scrolling), so every output is in the page to be checked;
    # and no news pop-up over the screenshots.
    for plugin, values in {
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false"},
    }.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    port = free_port()
    env = dict(os.environ, ITC_LAB_MODE="replay", ITC_LAB_LESSONS=str(lessons_dir()),
               JUPYTERLAB_SETTINGS_DIR=str(settings), JUPYTER_RUNTIME_DIR=str(work / "runtime"),
               JUPYTERLAB_WORKSPACES_DIR=str(work / "workspaces"))
    log = (work / "jupyterlab.log").open("w")
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
           f"--port={port}", f"--ServerApp.token={TOKEN}", f"--ServerApp.root_dir={root}",
           "--LabApp.news_url=", "--allow-root"]
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited ({proc.returncode}):\n"
                            f"{(work / 'jupyterlab.log').read_text()[-3000:]}", pytrace=False)
            try:
                if httpx.get(f"{base}/api/status", params={"token": TOKEN}).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("JupyterLab did not answer within 120 s", pytrace=False)
            time.sleep(0.25)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


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

NO_OUTPUTS = """() =>
  document.querySelectorAll('NB .jp-OutputArea-output').length === 0
""".replace("NB", NB)

ALL_RUN = """() => {
  const prompts = [...document.querySelectorAll('NB .jp-CodeCell .jp-InputArea-prompt')];
  return prompts.length > 0 && prompts.every((p) => /\\[\\d+\\]/.test(p.textContent));
}""".replace("NB", NB)


def _menu(page: Any, menu: str, item: str) -> None:
    page.click(f"li.lm-MenuBar-item:has-text('{menu}')")
    page.click(f".lm-Menu-itemLabel:text-is('{item}')")


def _accept_kernel_dialog(page: Any) -> None:
    """JupyterLab may ask which kernel to start (e.g. while the kernel is slow to come up)."""
    try:
        page.wait_for_selector(".jp-Dialog", timeout=5_000)
    except Exception:
        return
    page.click(".jp-Dialog button.jp-mod-accept")


def _shut_down_kernels(base: str) -> None:
    """One lesson's kernel at a time: the machine may have only two cores."""
    params = {"token": TOKEN}
    for session in httpx.get(f"{base}/api/sessions", params=params).json():
        httpx.delete(f"{base}/api/sessions/{session['id']}", params=params)


@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_runs_in_jupyterlab(browser: Any, jupyterlab: str, lesson: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console.append(str(e)))
    try:
        # a workspace of its own per lesson, reset: only this notebook is open
        page.goto(f"{jupyterlab}/lab/workspaces/{lesson}/tree/{lesson}.ipynb?reset&token={TOKEN}")
        page.wait_for_selector(f"{NB} .jp-Cell", timeout=120_000)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']",
                               timeout=120_000, state="attached")
        _accept_kernel_dialog(page)
        # the stored outputs came with the notebook: clear them, so what is checked below was
        # produced by this run
        _menu(page, "Edit", "Clear Outputs of All Cells")
        page.wait_for_function(NO_OUTPUTS, timeout=30_000)
        _menu(page, "Run", "Run All Cells")
        _accept_kernel_dialog(page)
        page.wait_for_function(ALL_RUN, timeout=RUN_TIMEOUT_MS, polling=500)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']",
                               timeout=RUN_TIMEOUT_MS, state="attached")
        want = expected_outputs(lesson)
        # widgets and charts draw asynchronously after their cell finished
        with contextlib.suppress(Exception):  # the assertions below say what is missing
            page.wait_for_function(
                f"() => ({PAGE_STATE})().chartsDrawn >= {want['charts']} && "
                f"({PAGE_STATE})().widgetsDrawn >= {want['widgets']}",
                timeout=60_000, polling=500)
        state = page.evaluate(PAGE_STATE)
        page.locator(f"{NB} .jp-Cell").last.scroll_into_view_if_needed()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"lesson_{lesson}.png"))
        shown = page.locator(f"{NB} .vega-embed, {NB} .jp-OutputArea-output:has([class^='itc-'])")
        if shown.count():
            shown.first.scroll_into_view_if_needed()
            shown.first.screenshot(path=str(ARTIFACTS / f"lesson_{lesson}_first_picture.png"))
    finally:
        context.close()
        _shut_down_kernels(jupyterlab)
    assert state["stderr"] == [], f"{lesson}: a cell wrote to stderr or raised"
    assert state["widgetProblems"] == [], f"{lesson}: a widget did not load"
    assert state["charts"] == want["charts"], f"{lesson}: {state}"
    assert state["chartsDrawn"] == want["charts"], f"{lesson}: a chart did not draw: {state}"
    assert state["widgets"] == want["widgets"], f"{lesson}: {state}"
    assert state["widgetsDrawn"] == want["widgets"], f"{lesson}: a widget is empty: {state}"
    assert state["svg"] == want["svg"], f"{lesson}: {state}"
    assert state["images"] == want["images"], f"{lesson}: an image did not draw: {state}"
    assert console == [], f"{lesson}: browser console errors"


def test_every_lesson_is_covered() -> None:
    """The browser test finds the lessons by pattern; make sure none is left out."""
    on_disk = {p.stem for p in lessons_dir().glob("*.ipynb")}
    assert set(LESSONS) == on_disk
    assert len(LESSONS) >= 6
