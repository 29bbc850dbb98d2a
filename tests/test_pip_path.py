"""The learner's pip path (README, "With pip instead of ./run"), and what it relies on.

The fast tests check the pieces: the lessons copied where a learner can edit them, the doctor
asking for what a learner needs. The ``embedded`` test walks the whole path in a fresh virtual
environment: build the wheel, install it with the engine and lab extras, ``itc-lab get-model``,
``itc-lab lessons``, ``itc-lab doctor`` (exit 0), then lesson 00 against the live engine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from itc_lab.cli import copy_lessons, main
from itc_lab.connect import lessons_dir
from itc_lab.doctor import Check, _model_path

ROOT = Path(__file__).resolve().parent.parent


def test_lessons_are_copied_with_recordings_and_exercises(tmp_path, capsys):
    written = copy_lessons(tmp_path)
    names = {p.relative_to(tmp_path).as_posix() for p in written}
    for nb in sorted(lessons_dir().glob("[0-9][0-9]_*.ipynb")):
        assert f"lessons/{nb.name}" in names
        assert f"lessons/recordings/{nb.stem}.jsonl" in names
    assert any(n.startswith("lessons/exercises/") and n.endswith(".toml") for n in names)
    mine = tmp_path / "lessons" / "00_meet_your_model.ipynb"
    mine.write_text("my edits", encoding="utf-8")
    with pytest.raises(SystemExit, match="nothing was copied"):
        copy_lessons(tmp_path)
    assert mine.read_text(encoding="utf-8") == "my edits"  # a learner's work is never lost
    assert main(["lessons", str(tmp_path), "--force"]) == 0
    assert json.loads(mine.read_text(encoding="utf-8"))["cells"]


def test_the_doctor_needs_one_way_to_run_the_lessons():
    def checks(ollama: bool, engine: bool, recordings: bool) -> list[Check]:
        return [Check("Ollama", ollama, "", required=False), Check("Embedded engine", engine, ""),
                Check("Recordings", recordings, "")]

    for ways in [(False, False, True), (True, False, False), (False, True, False)]:
        results = checks(*ways)
        [summary] = _model_path(results)
        assert summary.ok and summary.required
        assert not any(c.required for c in results)  # each way alone is optional
    [none] = _model_path(checks(False, False, False))
    assert not none.ok and "itc-lab get-model" in none.fix and "==" in none.fix


def test_the_wheel_ships_every_subpackage_and_the_lessons():
    import tomllib

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(meta["tool"]["setuptools"]["packages"])
    on_disk = {".".join(p.relative_to(ROOT).parent.parts)
               for p in (ROOT / "itc_lab").rglob("__init__.py")}
    assert on_disk <= listed, sorted(on_disk - listed)
    assert "itc_lab._lessons" in listed


@pytest.mark.embedded
def test_a_fresh_venv_follows_the_readme(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(ROOT), "-w",
                    str(wheels)], check=True, timeout=600)
    [wheel] = wheels.glob("itc_lab-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    py = bindir / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", f"{wheel}[embedded,lab]"], check=True,
                   timeout=1200)
    home = tmp_path / "learner"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ITC_LAB_", "VIRTUAL_ENV"))}
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(bindir / "itc-lab"), *args], cwd=home, env=env, text=True,
                              capture_output=True, timeout=900)

    assert run("get-model").returncode == 0
    assert run("lessons", ".").returncode == 0
    doctor = run("doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "Embedded engine" in doctor.stdout and "All required parts work." in doctor.stdout
    code = ("import nbformat, nbclient\n"
            "nb = nbformat.read('lessons/00_meet_your_model.ipynb', as_version=4)\n"
            "nbclient.NotebookClient(nb, timeout=900, resources={'metadata': {'path': 'lessons'}})"
            ".execute()\n"
            "print('lesson 00 ran')\n")
    live = dict(env, ITC_LAB_MODE="live", ITC_LAB_BACKEND="embedded")
    out = subprocess.run([str(py), "-c", code], cwd=home, env=live, text=True,
                         capture_output=True, timeout=1800)
    assert out.returncode == 0 and "lesson 00 ran" in out.stdout, out.stderr[-3000:]
