"""A headless JupyterLab on a copy of the lessons, and the steps a learner takes in it (open a
lesson, clear its outputs, run all cells): shared by the lesson browser tests and by
``python -m tests.screenshots``."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx

from itc_lab.connect import lessons_dir

TOKEN = "itc-lab-browser-test"
NB = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook"
"""The notebook in view."""
THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}

NO_OUTPUTS = """() =>
  document.querySelectorAll('NB .jp-OutputArea-output').length === 0
""".replace("NB", NB)

ALL_RUN = """() => {
  const prompts = [...document.querySelectorAll('NB .jp-CodeCell .jp-InputArea-prompt')];
  return prompts.length > 0 && prompts.every((p) => /\\[\\d+\\]/.test(p.textContent));
}""".replace("NB", NB)


class JupyterLabError(RuntimeError):
    """JupyterLab did not start."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def jupyterlab_server(work: Path, lessons: Iterable[str], *, theme: str = "light",
                      timeout_s: float = 120) -> Iterator[str]:
    """JupyterLab in replay mode (recorded model responses) on copies of ``lessons`` (notebook
    stems) in ``work``; yields its base URL."""
    root = work / "lessons"
    root.mkdir(parents=True, exist_ok=True)
    for lesson in lessons:
        shutil.copy(lessons_dir() / f"{lesson}.ipynb", root)
    settings = work / "settings"
    # Render every cell (no virtual scrolling), so every output is in the page to be checked;
    # no news pop-up over the screenshots; the theme asked for.
    for plugin, values in {
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false"},
        "@jupyterlab/apputils-extension/themes": {"theme": THEMES[theme]},
    }.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    port = free_port()
    env = dict(os.environ, ITC_LAB_MODE="replay", ITC_LAB_LESSONS=str(lessons_dir()),
               JUPYTERLAB_SETTINGS_DIR=str(settings), JUPYTER_RUNTIME_DIR=str(work / "runtime"),
               JUPYTERLAB_WORKSPACES_DIR=str(work / "workspaces"))
    log_path = work / "jupyterlab.log"
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
           f"--port={port}", f"--ServerApp.token={TOKEN}", f"--ServerApp.root_dir={root}",
           "--LabApp.news_url=", "--allow-root"]
    with log_path.open("w") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                if proc.poll() is not None:
                    msg = (f"JupyterLab exited ({proc.returncode}):\n"
                           f"{log_path.read_text()[-3000:]}")
                    raise JupyterLabError(msg)
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{base}/api/status",
                                 params={"token": TOKEN}).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    msg = f"JupyterLab did not answer within {timeout_s:.0f} s"
                    raise JupyterLabError(msg)
                time.sleep(0.25)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def menu(page: Any, name: str, item: str) -> None:
    page.click(f"li.lm-MenuBar-item:has-text('{name}')")
    page.click(f".lm-Menu-itemLabel:text-is('{item}')")


def accept_kernel_dialog(page: Any) -> None:
    """JupyterLab may ask which kernel to start (e.g. while the kernel is slow to come up)."""
    try:
        page.wait_for_selector(".jp-Dialog", timeout=5_000)
    except Exception:
        return
    page.click(".jp-Dialog button.jp-mod-accept")


def shut_down_kernels(base: str) -> None:
    """One lesson's kernel at a time: the machine may have only two cores."""
    params = {"token": TOKEN}
    for session in httpx.get(f"{base}/api/sessions", params=params).json():
        httpx.delete(f"{base}/api/sessions/{session['id']}", params=params)


def open_lesson(page: Any, base: str, lesson: str, *, timeout_ms: int = 120_000) -> None:
    """Open ``lesson`` alone in a fresh workspace and wait for its kernel."""
    page.goto(f"{base}/lab/workspaces/{lesson}/tree/{lesson}.ipynb?reset&token={TOKEN}")
    page.wait_for_selector(f"{NB} .jp-Cell", timeout=timeout_ms)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']",
                           timeout=timeout_ms, state="attached")
    accept_kernel_dialog(page)


def run_all(page: Any, *, timeout_ms: int = 300_000) -> None:
    """Clear the stored outputs (so what is seen next was produced by this run), then Run All
    Cells and wait until every code cell has run and the kernel is idle."""
    menu(page, "Edit", "Clear Outputs of All Cells")
    page.wait_for_function(NO_OUTPUTS, timeout=30_000)
    menu(page, "Run", "Run All Cells")
    accept_kernel_dialog(page)
    page.wait_for_function(ALL_RUN, timeout=timeout_ms, polling=500)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']",
                           timeout=timeout_ms, state="attached")


def write_notebook(path: Path, cells: Iterable[str]) -> None:
    """A notebook of code cells with these sources, unrun."""
    sources = list(cells)
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "id": f"c{i}",
                     "metadata": {}, "outputs": [], "source": src}
                    for i, src in enumerate(sources)],
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                      "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb, indent=1))


@contextlib.contextmanager
def notebook_lab(work: Path, name: str, cells: Iterable[str]) -> Iterator[tuple[str, Path]]:
    """JupyterLab (replay mode) on one scratch notebook ``name`` of ``cells``; yields its base
    URL and the notebook's path."""
    with jupyterlab_server(work, []) as base:
        path = work / "lessons" / f"{name}.ipynb"
        write_notebook(path, cells)
        yield base, path


def code_cell(page: Any, i: int) -> Any:
    return page.locator(f"{NB} .jp-CodeCell").nth(i)


def run_cell(page: Any, i: int) -> float:
    """Select code cell ``i`` and run it (Shift+Enter); returns when it was sent."""
    cell = code_cell(page, i)
    cell.scroll_into_view_if_needed()
    cell.locator(".jp-InputPrompt").click()
    page.keyboard.press("Shift+Enter")
    return time.monotonic()
