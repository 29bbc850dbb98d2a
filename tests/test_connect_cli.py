"""connect()'s choice, and the itc-lab command (doctor, record, lab)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import nbformat
import pytest
from pytest_httpserver import HTTPServer

import itc_lab
from itc_lab import BackendUnavailable, RecordingBackend, RecordingStore, Request
from itc_lab.cli import main

REPO = Path(__file__).resolve().parents[1]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def clean_env(monkeypatch):
    for var in ("ITC_LAB_BACKEND", "ITC_LAB_MODEL", "ITC_LAB_MODE", "ITC_LAB_LLAMA_SERVER",
                "ITC_LAB_GGUF", "ITC_LAB_LESSONS", "ITC_LAB_BASE_URL", "ITC_LAB_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{closed_port()}")
    return monkeypatch


def fake_ollama(server: HTTPServer, models: list[str]) -> None:
    server.expect_request("/api/version").respond_with_json({"version": "0.13.0"})
    server.expect_request("/api/tags").respond_with_json(
        {"models": [{"name": m, "model": m} for m in models]})


def test_replay_never_starts_a_model_and_says_so(clean_env, capsys):
    clean_env.setenv("ITC_LAB_LLAMA_SERVER", "/nonexistent/llama-server")
    backend = itc_lab.connect(lesson="00_meet_your_model", mode="replay")
    assert isinstance(backend, RecordingBackend) and backend.live is None
    assert backend.model == "SmolLM2-135M-Instruct-Q4_1"
    assert "recordings (replay)" in capsys.readouterr().out


def test_ollama_is_chosen_when_it_answers_with_the_model(clean_env, httpserver, capsys):
    fake_ollama(httpserver, ["smollm2:135m"])
    clean_env.setenv("OLLAMA_HOST", httpserver.url_for("/").rstrip("/"))
    backend = itc_lab.connect()
    assert backend.name == "ollama" and backend.model == "smollm2:135m"
    assert "Ollama answered" in capsys.readouterr().out


def test_ollama_without_the_model_falls_through_and_says_why(clean_env, httpserver, capsys):
    fake_ollama(httpserver, ["llama3:8b"])
    clean_env.setenv("OLLAMA_HOST", httpserver.url_for("/").rstrip("/"))
    clean_env.setenv("ITC_LAB_LLAMA_SERVER", "/nonexistent/llama-server")
    with pytest.raises(BackendUnavailable, match="has no model 'smollm2:135m'"):
        itc_lab.connect()


def test_without_any_model_a_lesson_still_replays(clean_env, capsys):
    clean_env.setenv("ITC_LAB_LLAMA_SERVER", "/nonexistent/llama-server")
    backend = itc_lab.connect(lesson="00_meet_your_model")  # mode auto
    out = backend.generate(Request(prompt="Write one short sentence about a cat.",
                                   temperature=1.0, max_tokens=40, seed=1))
    assert out[0].cached
    with pytest.raises(itc_lab.RecordingMissing, match="itc-lab record 00_meet_your_model"):
        backend.generate(Request(prompt="never recorded"))


def test_environment_picks_backend_and_bad_values_are_explained(clean_env):
    clean_env.setenv("ITC_LAB_BACKEND", "gpt-9000")
    with pytest.raises(ValueError, match="choose one of embedded, ollama, openai, recordings"):
        itc_lab.connect()
    clean_env.setenv("ITC_LAB_BACKEND", "ollama")
    clean_env.setenv("ITC_LAB_MODEL", "qwen3:0.6b")
    backend = itc_lab.connect(quiet=True)
    assert backend.name == "ollama" and backend.model == "qwen3:0.6b"
    with pytest.raises(ValueError, match="Unknown mode"):
        itc_lab.connect(lesson="00_meet_your_model", mode="sometimes")


def test_doctor_names_the_fix_for_each_missing_part(clean_env, capsys):
    clean_env.setenv("ITC_LAB_LLAMA_SERVER", "/nonexistent/llama-server")
    clean_env.setenv("PATH", "/nonexistent")  # no dot
    code = main(["doctor", "--quick"])
    out = capsys.readouterr().out
    assert code == 1
    assert "optional  Ollama" in out and "ollama serve" in out
    assert "ITC_LAB_LLAMA_SERVER points at" in out
    assert "apt-get install graphviz" in out
    assert "MISSING  Graphviz dot" in out
    assert "optional  OpenAI-compatible server" in out and "When one machine" in out


def test_doctor_lists_the_models_of_a_configured_openai_server(clean_env, capsys, httpserver):
    httpserver.expect_request("/v1/models").respond_with_json(
        {"object": "list", "data": [{"id": "smollm2-1.7b", "object": "model"}]})
    clean_env.setenv("ITC_LAB_BASE_URL", httpserver.url_for("/v1"))
    main(["doctor", "--quick"])
    out = capsys.readouterr().out
    assert "ok  OpenAI-compatible server" in out and "smollm2-1.7b" in out


@pytest.mark.embedded
def test_doctor_passes_where_everything_works(clean_env, capsys):
    if not Path("/usr/bin/dot").exists():
        pytest.fail("Graphviz is not installed: sudo apt-get install graphviz (./run test does)")
    code = main(["doctor"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "All required parts work." in out
    assert "answered" in out  # the embedded engine really generated


def _tiny_lesson(folder: Path, prompt: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import itc_lab\n"
        "b = itc_lab.connect(lesson='01_tiny')\n"
        f"print(b.generate(itc_lab.Request(prompt={prompt!r}, max_tokens=8, temperature=0))"
        "[0].completion_tokens > 0)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path = folder / "01_tiny.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.embedded
def test_record_rerecords_a_lesson_and_stores_replayed_outputs(clean_env, tmp_path, capsys):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    nb_path = _tiny_lesson(lessons, "Say hello.")
    clean_env.setenv("ITC_LAB_LESSONS", str(lessons))
    stale = lessons / "recordings" / "01_tiny.jsonl"
    stale.parent.mkdir()
    stale.write_text("")
    assert main(["record", "01", "--backend", "embedded"]) == 0
    store = RecordingStore(stale)
    assert len(store) == 1 and store.damaged() == []
    [(req, comp)] = list(store.items())
    assert req.prompt == "Say hello." and comp.backend == "embedded"
    nb = nbformat.read(nb_path, as_version=4)
    assert nb.cells[0].outputs[-1]["text"].strip().endswith("True")
    assert "1 recorded responses" in capsys.readouterr().out


@pytest.mark.embedded
def test_a_failed_recording_restores_the_previous_file(clean_env, tmp_path):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    nb_path = _tiny_lesson(lessons, "Say hello.")
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("raise RuntimeError('lesson bug')"))
    nbformat.write(nb, nb_path)
    clean_env.setenv("ITC_LAB_LESSONS", str(lessons))
    rec = lessons / "recordings" / "01_tiny.jsonl"
    rec.parent.mkdir()
    rec.write_text("previous contents\n")
    with pytest.raises(Exception, match="lesson bug"):
        main(["record", "01", "--backend", "embedded"])
    assert rec.read_text() == "previous contents\n"


def test_unknown_lesson_lists_the_lessons(clean_env):
    with pytest.raises(SystemExit, match="00_meet_your_model"):
        main(["record", "99"])


def test_lab_serves_lesson_00(tmp_path):
    port = closed_port()
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path), JUPYTER_CONFIG_DIR=str(tmp_path))
    cmd = [sys.executable, "-m", "itc_lab.cli", "lab", "--no-browser", f"--port={port}",
           "--IdentityProvider.token=itc-test"]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}/api/contents/lessons/00_meet_your_model.ipynb"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                r = httpx.get(url, params={"content": "0"},
                              headers={"Authorization": "token itc-test"}, timeout=2)
                if r.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not serve lesson 00 within 90 s")
        assert r.json()["name"] == "00_meet_your_model.ipynb"
        lab = httpx.get(f"http://127.0.0.1:{port}/lab", params={"token": "itc-test"}, timeout=5)
        assert lab.status_code == 200 and "JupyterLab" in lab.text
    finally:
        proc.terminate()
        proc.wait(30)


def test_every_public_name_is_listed():
    import types

    public = {n for n in dir(itc_lab) if not n.startswith("_")
              and not isinstance(getattr(itc_lab, n), types.ModuleType)}  # submodules once imported
    assert public - {"annotations"} <= set(itc_lab.__all__)
    assert all(hasattr(itc_lab, n) for n in itc_lab.__all__)
    json.dumps(itc_lab.__all__)


def test_outputs_only_replays_without_a_model(clean_env, tmp_path):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    nb_path = _tiny_lesson(lessons, "Say hello.")
    clean_env.setenv("ITC_LAB_LESSONS", str(lessons))
    clean_env.setenv("ITC_LAB_LLAMA_SERVER", "/nonexistent/llama-server")
    req = Request(prompt="Say hello.", max_tokens=8, temperature=0,
                  model="SmolLM2-135M-Instruct-Q4_1")
    store = RecordingStore(lessons / "recordings" / "01_tiny.jsonl")
    store.put(req, itc_lab.Completion(text="Hello!", model=req.model, backend="embedded",
                                      seed=0, completion_tokens=2))
    assert main(["record", "01", "--outputs-only"]) == 0
    nb = nbformat.read(nb_path, as_version=4)
    assert nb.cells[0].outputs[-1]["text"].strip().endswith("True")
    assert "widgets" not in nb.metadata  # widget state is rebuilt when the cell runs


def test_record_moves_a_lessons_saved_sweep_aside_and_restores_it_on_failure(tmp_path):
    from itc_lab.cli import _sweeps_aside

    lesson = tmp_path / "06_x.ipynb"
    lesson.write_text("{}")
    sweeps = tmp_path / "sweeps"
    sweeps.mkdir()
    saved = sweeps / "06_x.jsonl"
    saved.write_text("old\n")
    other = sweeps / "05_y.jsonl"
    other.write_text("keep\n")
    with pytest.raises(RuntimeError), _sweeps_aside(lesson):
        assert not saved.exists()  # the recording run cannot skip cells
        assert other.exists()
        raise RuntimeError("recording failed")
    assert saved.read_text() == "old\n"
    with _sweeps_aside(lesson):
        saved.write_text("new\n")  # what the new recording's run saved
    assert saved.read_text() == "new\n"
    assert sorted(p.name for p in sweeps.iterdir()) == ["05_y.jsonl", "06_x.jsonl"]
