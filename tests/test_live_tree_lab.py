"""A search tree and a refinement that grow in a real JupyterLab (headless Chromium), against the
scripted model with delays.

What a learner sees: the tree's node count grows while a background search runs, and its output
is the final tree when it ends; the refinement view gains rounds while its cell runs; the Stop
button ends a search with the tree so far; the saved notebook holds each view's final picture.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser_support import ARTIFACTS, browser  # noqa: F401 - the fixture
from tests.jupyterlab_support import (
    NB,
    JupyterLabError,
    code_cell,
    notebook_lab,
    open_lesson,
    run_cell,
    shut_down_kernels,
)

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = "live_growth"

CELLS = [
    # 0: setup (the scripted model lives in the tests)
    f"""import sys
sys.path.insert(0, {str(REPO)!r})
from IPython.display import display
from itc_lab import datasets, live
from itc_lab.live.growing import LiveRefineView, LiveTreeView
from itc_lab.techniques import game24_search, self_refine
from tests.fakes import ScriptedBackend""",
    # 1: a search in the background: each expansion asks the model, ~1 s a call
    """tree_model = ScriptedBackend("4 + 6 = 10 (left: 8 2 10)", token_delay=0.15)
view = LiveTreeView(title="BFS on 4 6 8 2, model prior")
run = live.start(game24_search, [4, 6, 8, 2], view.watch(tree_model), beam_width=3,
                 samples=2, on_progress=view.grow)
view""",
    # 2: its result
    """found = run.result(timeout=120)
print("nodes", len(found.tree.nodes), "stopped", found.tree.stopped)""",
    # 3: a refinement in the cell: a draft and two revisions, ~1.5 s each
    """task = datasets.load("constrained-writing", n=1, seed=0)[0]
w1, w2 = task.meta["required"]
drafts = ["a slow first try here", f"{w1} comes next here", f"{w1} {w2}."]
refine_model = ScriptedBackend(drafts, by="call", token_delay=0.3)
rounds = LiveRefineView(title="checker feedback")
display(rounds)
refined = self_refine(task, rounds.watch(refine_model), rounds=3, critic="checker",
                      on_round=rounds.add_round)
print("drafts", len(refined.drafts), "stopped", refined.stopped)""",
    # 4: a long search, stopped with its Stop button
    """slow = ScriptedBackend("4 + 6 = 10 (left: 8 2 10)", token_delay=0.4)
stop_view = LiveTreeView(title="stopped early")
stop_run = live.start(game24_search, [1, 1, 1, 1], stop_view.watch(slow), beam_width=5,
                      samples=2, on_progress=stop_view.grow)
stop_view""",
    # 5: what the stopped search returned
    """kept = stop_run.result(timeout=60)
print("kept", len(kept.tree.nodes), "stopped", kept.tree.stopped)""",
]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    try:
        with notebook_lab(tmp_path_factory.mktemp("live_growth_lab"), NOTEBOOK, CELLS) as lab:
            yield lab
    except JupyterLabError as exc:
        pytest.fail(str(exc), pytrace=False)




def _done(page: Any, i: int) -> bool:
    return bool(page.evaluate(
        """([nb, i]) => {
          const p = document.querySelectorAll(nb + ' .jp-CodeCell')[i]
            .querySelector('.jp-InputArea-prompt');
          return !!p && /\\[\\d+\\]/.test(p.textContent);
        }""", [NB, i]))


def _wait_done(page: Any, i: int, timeout_ms: int = 120_000) -> None:
    page.wait_for_function(
        """([nb, i]) => {
          const p = document.querySelectorAll(nb + ' .jp-CodeCell')[i]
            .querySelector('.jp-InputArea-prompt');
          return !!p && /\\[\\d+\\]/.test(p.textContent);
        }""", arg=[NB, i], timeout=timeout_ms, polling=100)


def _read(page: Any, i: int, script: str) -> Any:
    return page.evaluate(f"([nb, i]) => {{ const cell = document.querySelectorAll(nb + "
                         f"' .jp-CodeCell')[i]; {script} }}", [NB, i])


NODE_COUNT = """const h = cell.querySelector('.itc-live-tree .itc-tr-header');
return h ? Number(h.dataset.count) : -1;"""
SEARCHING = "return !!cell.querySelector('.itc-live-tree .itc-tr-live');"
ROUNDS = """const r = cell.querySelector('.itc-live-refine .itc-dv');
return r ? Number(r.dataset.rounds) : -1;"""


def _wait_for(page: Any, i: int, script: str, test: str, timeout_ms: int = 60_000) -> None:
    """Wait until ``test`` (JavaScript over ``value``) holds for ``value`` = ``script``'s result
    in code cell ``i``."""
    page.wait_for_function(
        f"([nb, i]) => {{ const cell = document.querySelectorAll(nb + ' .jp-CodeCell')[i]; "
        f"const value = (() => {{ {script} }})(); return {test}; }}",
        arg=[NB, i], timeout=timeout_ms, polling=50)


def _text(page: Any, i: int, selector: str) -> str:
    loc = code_cell(page, i).locator(selector)
    return str(loc.first.text_content()) if loc.count() else ""


def test_a_tree_and_a_refinement_grow_while_they_run(browser: Any,  # noqa: F811
                                                     lab: tuple[str, Path]) -> None:
    base, saved = lab
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console.append(str(e)))
    ARTIFACTS.mkdir(exist_ok=True)
    counts: list[tuple[int, bool]] = []
    rounds_seen: list[tuple[int, bool]] = []
    try:
        open_lesson(page, base, NOTEBOOK)
        run_cell(page, 0)
        _wait_done(page, 0)

        # -- the tree grows while the background search runs ---------------------------------
        run_cell(page, 1)
        _wait_for(page, 1, NODE_COUNT, "value > 0")
        shot = False
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            n, growing = _read(page, 1, NODE_COUNT), _read(page, 1, SEARCHING)
            if not counts or counts[-1] != (n, growing):
                counts.append((n, growing))
            if growing and not shot and n >= 4:
                code_cell(page, 1).screenshot(path=str(ARTIFACTS / "live_tree_lab_growing.png"))
                shot = True
            if not growing and counts and len(counts) > 1:
                break
            time.sleep(0.05)
        page.wait_for_timeout(400)
        code_cell(page, 1).screenshot(path=str(ARTIFACTS / "live_tree_lab_final.png"))
        final_header = _text(page, 1, ".itc-tr-header")
        final_meter = _text(page, 1, ".itc-live-meter-text")
        run_cell(page, 2)
        _wait_done(page, 2)
        found = _text(page, 2, ".jp-OutputArea-output")

        # -- the refinement gains rounds while its cell runs ---------------------------------
        run_cell(page, 3)
        _wait_for(page, 3, ROUNDS, "value >= 0")
        deadline = time.monotonic() + 120
        shot = False
        while time.monotonic() < deadline:
            running = not _done(page, 3)
            r = _read(page, 3, ROUNDS)
            if not rounds_seen or rounds_seen[-1] != (r, running):
                rounds_seen.append((r, running))
            if running and r == 1 and not shot:
                code_cell(page, 3).screenshot(path=str(ARTIFACTS / "live_refine_lab_round1.png"))
                shot = True
            if not running:
                break
            time.sleep(0.05)
        page.wait_for_timeout(400)
        code_cell(page, 3).screenshot(path=str(ARTIFACTS / "live_refine_lab_final.png"))
        refine_out = _text(page, 3, ".jp-OutputArea-output:not(:has(.itc-live-refine))")
        refine_head = _text(page, 3, ".itc-dv-head")

        # -- the Stop button ends a search with the tree so far ------------------------------
        run_cell(page, 4)
        _wait_done(page, 4)
        _wait_for(page, 4, NODE_COUNT, "value >= 4")
        code_cell(page, 4).locator("button.itc-live-stop").click()
        page.wait_for_function(
            """(nb) => document.querySelectorAll(nb + ' .jp-CodeCell')[4]
                .querySelector('.itc-live-meter')?.dataset.state === 'stopped'""",
            arg=NB, timeout=30_000, polling=50)
        run_cell(page, 5)
        _wait_done(page, 5)
        page.wait_for_timeout(400)
        stopped_header = _text(page, 4, ".itc-tr-header")
        code_cell(page, 4).screenshot(path=str(ARTIFACTS / "live_tree_lab_stopped.png"))
        kept = _text(page, 5, ".jp-OutputArea-output")

        before = saved.stat().st_mtime
        page.keyboard.press("Control+s")
        end = time.monotonic() + 20
        while saved.stat().st_mtime == before and time.monotonic() < end:
            time.sleep(0.2)
    finally:
        with contextlib.suppress(Exception):
            page.screenshot(path=str(ARTIFACTS / "live_growth_page.png"), full_page=True)
        context.close()
        shut_down_kernels(base)

    # the tree: several node counts seen while searching, growing, then the final tree
    during = [n for n, growing in counts if growing]
    assert len(set(during)) >= 3, counts
    assert during == sorted(during), counts
    final = counts[-1]
    assert not final[1] and final[0] >= max(during), counts
    assert f"{final[0]} nodes" in final_header and "stopped:" in final_header, final_header
    assert final_meter.startswith("done"), final_meter
    assert f"nodes {final[0]} stopped" in found, found

    # the refinement: the rounds appeared one by one while the cell ran
    while_running = [r for r, running in rounds_seen if running]
    assert {0, 1} <= set(while_running), rounds_seen
    assert while_running == sorted(while_running), rounds_seen
    assert rounds_seen[-1] == (2, False), rounds_seen
    assert "drafts 3 stopped met" in refine_out, refine_out
    assert "stopped: met" in refine_head, refine_head

    # the stop button: the search ended with what it had
    assert "stopped: stopped" in stopped_header, stopped_header
    assert "stopped stopped" in kept, kept
    assert console == [], console

    nb = json.loads(saved.read_text())
    html = {i: "".join("".join(o.get("data", {}).get("text/html", ""))
                       for o in c.get("outputs", []))
            for i, c in enumerate(nb["cells"])}
    assert f"{final[0]} nodes" in html[1] and "searching" not in html[1], html[1][-800:]
    assert "The search is running" not in html[1]
    assert "stopped: met" in html[3] and "refining" not in html[3], html[3][-800:]
