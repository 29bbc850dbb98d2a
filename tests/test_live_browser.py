"""Live views in a real JupyterLab (headless Chromium), against the scripted model with delays.

What a learner sees while compute is spent: the vote bars change between the first and the last
sample; tokens appear in a trace before their sample ends; the Stop button ends a background run
with the samples so far kept; a slow call shows a waiting note within a second, which is gone
when the call ends; and the saved notebook holds each view's final picture as its snapshot.
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
NOTEBOOK = "live_views"

CELLS = [
    # 0: setup (the scripted model lives in the tests)
    f"""import sys
sys.path.insert(0, {str(REPO)!r})
from IPython.display import display
from itc_lab import live
from itc_lab.datasets.base import Problem
from itc_lab.techniques.self_consistency import self_consistency
from itc_lab.types import Request
from tests.fakes import ScriptedBackend
problem = Problem(id="p", question="What is 2 + 3?", answer="5")""",
    # 1: a vote in the background: 8 samples, 2 at a time, ~1.5 s each
    """says = lambda r: "so The answer is " + ("4" if r.seed in (1, 4) else "5") + "."
votes_model = ScriptedBackend(says, token_delay=lambda r: 0.2 + 0.07 * (r.seed % 2),
                              concurrency=2)
view = live.LiveVoteView(problem)
run = live.start(self_consistency, problem, view.watch(votes_model), k=8)
view""",
    # 2: tokens streaming into a trace while the cell runs
    """trace = live.LiveTraceView()
display(trace)
words = " ".join(f"w{i}" for i in range(16))
streamer = ScriptedBackend(words, token_delay=0.2, logprob=-0.4)
[completion] = trace.watch(streamer).generate(Request(prompt="go", top_logprobs=1))""",
    # 3: a long run, stopped with its Stop button
    """slow = ScriptedBackend(lambda r: "so The answer is 5." if r.seed < 2 else "more " * 400,
                      token_delay=0.05, concurrency=1)
stop_view = live.LiveVoteView(problem)
stop_run = live.start(self_consistency, problem, stop_view.watch(slow), k=6)
stop_view""",
    # 4: what the stopped run returned
    """kept = stop_run.result(timeout=30)
print("kept", len(kept.samples), "state", stop_view.meter["state"], "answer", kept.answer)""",
    # 5: an unwatched slow call: the waiting note
    """slow_call = ScriptedBackend("a b c d e f g h", token_delay=0.4, start_delay=1.0)
out = slow_call.generate(Request(prompt="go"), n=2)
print("samples", len(out))""",
    # 6: the background vote's result
    """votes = run.result(timeout=60)
print("votes", len(votes.samples), votes.answer)""",
]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    try:
        with notebook_lab(tmp_path_factory.mktemp("live_lab"), NOTEBOOK, CELLS) as lab:
            yield lab
    except JupyterLabError as exc:
        pytest.fail(str(exc), pytrace=False)




def _wait_done(page: Any, i: int, timeout_ms: int = 60_000) -> None:
    page.wait_for_function(
        """([nb, i]) => {
          const cell = document.querySelectorAll(nb + ' .jp-CodeCell')[i];
          const p = cell && cell.querySelector('.jp-InputArea-prompt');
          return p && /\\[\\d+\\]/.test(p.textContent);
        }""", arg=[NB, i], timeout=timeout_ms, polling=100)


def _until(page: Any, what: str, script: str, timeout_ms: int = 60_000,
           polling: int = 50) -> None:
    """Wait for ``script(NB)`` to be true; a timeout says what was awaited."""
    try:
        page.wait_for_function(script, arg=NB, timeout=timeout_ms, polling=polling)
    except Exception as exc:
        msg = f"timed out waiting for {what}"
        raise AssertionError(msg) from exc


def _until_text(page: Any, what: str, i: int, selector: str, pattern: str,
                timeout_ms: int = 60_000, polling: int = 50) -> None:
    """Wait until the text of ``selector`` in code cell ``i`` matches ``pattern`` (a JS regex)."""
    script = (f"(nb) => new RegExp({json.dumps(pattern)}).test(document.querySelectorAll("
              f"nb + ' .jp-CodeCell')[{i}]?.querySelector({json.dumps(selector)})?.textContent"
              " || '')")
    _until(page, what, script, timeout_ms, polling)


def _text(page: Any, i: int, selector: str) -> str:
    loc = code_cell(page, i).locator(selector)
    return str(loc.first.text_content()) if loc.count() else ""


def test_live_views_in_jupyterlab(browser: Any, lab: tuple[str, Path]) -> None:  # noqa: F811
    base, saved = lab
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console.append(str(e)))
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        open_lesson(page, base, NOTEBOOK)
        run_cell(page, 0)
        _wait_done(page, 0)

        # -- the vote bars rise while the background run goes --------------------------------
        run_cell(page, 1)
        _wait_done(page, 1)  # start() returns at once: the cell is done, the run goes on
        _until_text(page, "an intermediate vote", 1, ".itc-live-verdict", "after [1-7] samples",
                    30_000, 20)
        first = {"verdict": _text(page, 1, ".itc-live-verdict"),
                 "counts": code_cell(page, 1).locator(".itc-live-vote-count").all_text_contents()}
        code_cell(page, 1).screenshot(path=str(ARTIFACTS / "live_vote_first_sample.png"))
        _until_text(page, "the last vote", 1, ".itc-live-verdict", "after 8 samples", 60_000)
        page.wait_for_timeout(500)  # the bars' width transition
        last = {"verdict": _text(page, 1, ".itc-live-verdict"),
                "counts": code_cell(page, 1).locator(".itc-live-vote-count").all_text_contents(),
                "meter": _text(page, 1, ".itc-live-meter-text")}
        code_cell(page, 1).screenshot(path=str(ARTIFACTS / "live_vote_last_sample.png"))

        # -- tokens stream into the trace before the sample ends -----------------------------
        run_cell(page, 2)
        _until(page, "three streamed tokens",
            """(nb) => {
              const cell = document.querySelectorAll(nb + ' .jp-CodeCell')[2];
              return cell.querySelectorAll('.itc-live-sample-text .itc-tv-tok').length >= 3;
            }""", timeout_ms=30_000, polling=50)
        streaming = {
            "tokens": code_cell(page, 2).locator(".itc-live-sample-text .itc-tv-tok").count(),
            "head": _text(page, 2, ".itc-live-sample-head"),
            "done": _text(page, 2, ".itc-live-sample-text[data-done='yes']"),
            "running": "[*]" in _text(page, 2, ".jp-InputArea-prompt"),
            # a cell that runs cannot hear a button: no Stop button then
            "stop_button": code_cell(page, 2).locator("button.itc-live-stop").is_visible(),
        }
        code_cell(page, 2).screenshot(path=str(ARTIFACTS / "live_trace_streaming.png"))
        _wait_done(page, 2)
        page.wait_for_timeout(400)
        final_tokens = code_cell(page, 2).locator(".itc-live-sample-text .itc-tv-tok").count()
        final_head = _text(page, 2, ".itc-live-sample-head")

        # -- the Stop button ends a run, keeping the samples so far --------------------------
        run_cell(page, 3)
        _wait_done(page, 3)
        _until_text(page, "two samples before Stop", 3, ".itc-live-verdict", "after 2 samples")
        stop_button = code_cell(page, 3).locator("button.itc-live-stop")
        stop_visible = stop_button.is_visible() and stop_button.is_enabled()
        stop_button.click()
        _until_text(page, "the stopped state", 3, ".itc-live-meter-text", "^stopped", 15_000)
        stopped_meter = _text(page, 3, ".itc-live-meter-text")
        code_cell(page, 3).screenshot(path=str(ARTIFACTS / "live_vote_stopped.png"))
        run_cell(page, 4)
        _wait_done(page, 4)
        kept = _text(page, 4, ".jp-OutputArea-output")

        # -- the waiting note: within a second, gone at the end ------------------------------
        sent = run_cell(page, 5)
        _until_text(page, "the waiting note", 5, ".itc-live-note", ".", 10_000, 20)
        note_after = time.monotonic() - sent
        first_note = _text(page, 5, ".itc-live-note")
        _until_text(page, "the Sampling note", 5, ".itc-live-note", "Sampling", 15_000)
        later_note = _text(page, 5, ".itc-live-note")
        code_cell(page, 5).screenshot(path=str(ARTIFACTS / "live_waiting_note.png"))
        _wait_done(page, 5)
        page.wait_for_timeout(300)
        note_left = code_cell(page, 5).locator(".itc-live-note").count()
        note_output = _text(page, 5, ".jp-OutputArea")

        run_cell(page, 6)
        _wait_done(page, 6)
        votes_out = _text(page, 6, ".jp-OutputArea-output")

        # -- saved, the notebook holds the final pictures ------------------------------------
        before = saved.stat().st_mtime
        page.keyboard.press("Control+s")
        deadline = time.monotonic() + 20
        while saved.stat().st_mtime == before and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        with contextlib.suppress(Exception):
            page.screenshot(path=str(ARTIFACTS / "live_views_page.png"), full_page=True)
        context.close()
        shut_down_kernels(base)

    assert first["verdict"].startswith("Majority after "), first
    assert not first["verdict"].startswith("Majority after 8"), first
    assert first["counts"] != last["counts"], (first, last)
    assert last["verdict"] == "Majority after 8 samples: 5 (6 votes) — right.", last
    assert sorted(last["counts"]) == ["2", "6 ✓ gold"], last
    assert last["meter"].startswith("done · 8 of 8 samples"), last

    assert streaming["running"] and streaming["done"] == "", streaming
    assert "(writing…)" in streaming["head"] and not streaming["stop_button"], streaming
    assert 3 <= streaming["tokens"] < 16 == final_tokens, (streaming, final_tokens)
    assert "(writing" not in final_head

    assert stop_visible
    assert stopped_meter.startswith("stopped (Stop button) · 2 of 6 samples"), stopped_meter
    assert "kept 2 state stopped answer 5" in kept, kept

    assert note_after < 1.0, f"first feedback after {note_after:.2f} s"
    assert first_note.startswith("Starting the model engine"), first_note
    assert "Sampling: " in later_note, later_note
    assert note_left == 0 and "samples 2" in note_output, note_output
    assert "votes 8 5" in votes_out, votes_out
    assert console == [], console

    nb = json.loads(saved.read_text())
    html = ["".join(o.get("data", {}).get("text/html", "")) for c in nb["cells"]
            for o in c.get("outputs", [])]
    assert any("Majority after 8 samples: 5 (6 votes)" in h for h in html), \
        ("the saved vote view should hold its final picture", [h[-900:] for h in html])
    assert any("stopped (Stop button)" in h for h in html)
