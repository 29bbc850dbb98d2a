"""``connect()``: choose the model a lesson runs on, and say what was chosen.

Order: an explicit argument → the environment (``ITC_LAB_BACKEND``, ``ITC_LAB_MODEL``,
``OLLAMA_HOST``; for ``openai`` also ``ITC_LAB_BASE_URL``, ``ITC_LAB_API_KEY``) → Ollama, if it
answers and has the model → the embedded engine, if installed → the lesson's recordings alone.
``base_url=`` without ``backend=`` means the OpenAI-compatible backend. With a ``lesson`` name,
the chosen backend is wrapped in that lesson's recordings (mode from ``ITC_LAB_MODE``, default
``auto``). Introduced in lesson 00.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from .backends.base import Backend
from .backends.recordings import MODES, RecordingBackend, RecordingStore
from .backends.registry import BACKENDS, create_backend
from .errors import BackendUnavailable

__all__ = [
    "DEFAULT_OLLAMA_MODEL",
    "Choice",
    "connect",
    "lessons_dir",
    "recording_path",
    "shipped_lessons_dir",
]

DEFAULT_OLLAMA_MODEL = "smollm2:135m"


def lessons_dir() -> Path:
    """The lessons folder: ``ITC_LAB_LESSONS``, else ``./lessons`` or the current folder when they
    hold lessons, else the source checkout's ``lessons/``, else the copy shipped in the installed
    package (read-only for a learner: ``itc-lab lessons DIR`` copies it somewhere editable)."""
    env = os.environ.get("ITC_LAB_LESSONS")
    if env:
        return Path(env)
    here = Path.cwd()
    for candidate in (here / "lessons", here):
        if any(candidate.glob("[0-9][0-9]_*.ipynb")):
            return candidate
    checkout = Path(__file__).resolve().parents[1] / "lessons"
    if any(checkout.glob("[0-9][0-9]_*.ipynb")):
        return checkout
    return shipped_lessons_dir() or checkout


def shipped_lessons_dir() -> Path | None:
    """The lessons inside the installed wheel (package ``itc_lab._lessons``), if any."""
    try:
        spec = importlib.util.find_spec("itc_lab._lessons")
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or ()) if spec is not None else ():
        if any(Path(folder).glob("[0-9][0-9]_*.ipynb")):
            return Path(folder)
    return None


def recording_path(lesson: str) -> Path:
    """Where a lesson's recorded responses live: ``lessons/recordings/<lesson>.jsonl``."""
    name = Path(lesson).stem
    return lessons_dir() / "recordings" / f"{name}.jsonl"


@dataclass(frozen=True)
class Choice:
    """What connect() chose and why (printed by lessons and ``itc-lab doctor``)."""

    backend: str
    model: str
    reason: str


def _choose_live(backend: str | None, model: str | None, base_url: str | None = None,
                 api_key: str | None = None) -> tuple[Backend | None, Choice]:
    if backend is None and base_url is not None:
        backend = "openai"
    backend = backend or os.environ.get("ITC_LAB_BACKEND") or None
    model = model or os.environ.get("ITC_LAB_MODEL") or None
    server = {k: v for k, v in (("base_url", base_url), ("api_key", api_key)) if v is not None}
    if server and backend != "openai":
        msg = (f"base_url= and api_key= are for backend='openai', not {backend!r}. For Ollama "
               "elsewhere, set OLLAMA_HOST instead.")
        raise ValueError(msg)
    if backend:
        if backend not in BACKENDS:
            msg = (f"Unknown backend {backend!r}; choose one of {', '.join(sorted(BACKENDS))} "
                   "(argument backend= or ITC_LAB_BACKEND).")
            raise ValueError(msg)
        if backend == "recordings":
            return None, Choice("recordings", model or "", "asked for recordings only")
        # base_url and api_key default to ITC_LAB_BASE_URL and ITC_LAB_API_KEY in the backend
        live = create_backend(backend, model=model, **server)
        return live, Choice(backend, live.model, "asked for explicitly")
    # automatic: Ollama if it answers and has the model, else embedded, else recordings
    from .backends.ollama import OllamaBackend

    ollama = OllamaBackend(model=model or DEFAULT_OLLAMA_MODEL)
    why_not_ollama = f"no Ollama answered at {ollama.host}"
    if ollama.ping():
        if ollama.has_model(ollama.model):
            return ollama, Choice("ollama", ollama.model, f"Ollama answered at {ollama.host}")
        why_not_ollama = f"Ollama at {ollama.host} has no model {ollama.model!r}"
    try:
        from .backends.embedded import EmbeddedBackend, find_model_file, find_server_binary

        find_server_binary()
        find_model_file()
    except BackendUnavailable as e:
        return None, Choice("recordings", model or "", f"{why_not_ollama}; {e}")
    embedded = EmbeddedBackend()
    return embedded, Choice("embedded", embedded.model, why_not_ollama)


def connect(backend: str | None = None, model: str | None = None, *, lesson: str | None = None,
            mode: str | None = None, quiet: bool = False, base_url: str | None = None,
            api_key: str | None = None, replay_speed: float | None = None) -> Backend:
    """A ready backend for a lesson or your own notebook.

    Parameters
    ----------
    backend: ``"ollama"``, ``"embedded"``, ``"openai"`` or ``"recordings"``; default: chosen
        automatically (``"openai"`` when ``base_url`` is given).
    model: the model name (Ollama names such as ``"qwen3:0.6b"``; for ``openai`` the name the
        server serves, default: the first one it lists).
    lesson: the lesson's name, e.g. ``"00_meet_your_model"``; its recorded responses are used.
    mode: recordings mode ``live``, ``record``, ``replay`` or ``auto`` (default: ``ITC_LAB_MODE``
        or ``auto``). In ``replay`` no model is started at all.
    quiet: do not print what was chosen.
    base_url: for ``openai``: the server's API address ending in ``/v1`` (default:
        ``ITC_LAB_BASE_URL``).
    api_key: for ``openai``: the server's key (default: ``ITC_LAB_API_KEY``, then
        ``OPENAI_API_KEY``).
    replay_speed: with ``lesson``, how fast recorded answers play back: 0 at once, 1 at the
        speed they were recorded, 4 four times faster (default: ``ITC_LAB_REPLAY_SPEED``, else 0).
    """
    mode = mode or os.environ.get("ITC_LAB_MODE") or "auto"
    if mode not in MODES:
        msg = f"Unknown mode {mode!r} (argument mode= or ITC_LAB_MODE); choose one of {MODES}."
        raise ValueError(msg)
    if lesson is None:
        live, choice = _choose_live(backend, model, base_url, api_key)
        if live is None:
            msg = (f"No live model is available ({choice.reason}). Run `itc-lab doctor` to see "
                   "how to start Ollama or install the embedded engine.")
            raise BackendUnavailable(msg)
        if not quiet:
            print(f"Running on: {live.describe()}  ({choice.reason})")
        return live
    store = RecordingStore(recording_path(lesson))
    hint = (f"run `itc-lab record {Path(lesson).stem}` (or set ITC_LAB_MODE=auto) with a live "
            "model")
    if mode == "replay":
        # replay never starts a model: the recording is the whole answer
        rec = RecordingBackend(store, None, "replay", model=model, record_hint=hint,
                               speed=replay_speed)
    else:
        live, choice = _choose_live(backend, model, base_url, api_key)
        if live is None and mode in ("live", "record"):
            msg = (f"Mode {mode!r} needs a live model, and none is available ({choice.reason}). "
                   "Run `itc-lab doctor` for the fix, or use mode 'replay'.")
            raise BackendUnavailable(msg)
        rec = RecordingBackend(store, live, mode, model=model if live is None else None,
                               record_hint=hint, speed=replay_speed)
    if not quiet:
        print(f"Running on: {rec.describe()}")
    return rec
