"""Backends by name. Built-ins register through the same table an extension would use.

An installed package can add a backend through the entry point group ``itc_lab.backends``
(``name = "package.module:factory"``); the factory takes ``model=`` and returns a backend.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from .base import Backend

__all__ = [
    "BACKENDS",
    "Factory",
    "create_backend",
    "register_backend",
]

Factory = Callable[..., Backend]


def _ollama(model: str | None = None, **kw: Any) -> Backend:
    from .ollama import OllamaBackend

    return OllamaBackend(model=model or "smollm2:135m", **kw)


def _embedded(model: str | None = None, **kw: Any) -> Backend:
    from .embedded import EmbeddedBackend

    backend = EmbeddedBackend(**kw)
    if model and model != backend.model:
        msg = f"The embedded engine serves only {backend.model!r}, not {model!r}."
        raise ValueError(msg)
    return backend


def _openai(model: str | None = None, **kw: Any) -> Backend:
    from .openai_compat import OpenAICompatBackend

    return OpenAICompatBackend(model=model, **kw)


def _recordings_only(model: str | None = None, **kw: Any) -> Backend:
    msg = "The recordings backend is made by connect(lesson=...) or RecordingBackend(path)."
    raise ValueError(msg)


BACKENDS: dict[str, Factory] = {}


def register_backend(name: str, factory: Factory, *, replace: bool = False) -> None:
    """Make ``connect(backend=name)`` and ``ITC_LAB_BACKEND=name`` build a backend."""
    if name in BACKENDS and not replace:
        msg = f"A backend named {name!r} is already registered (pass replace=True to override)."
        raise ValueError(msg)
    BACKENDS[name] = factory


for _name, _factory in (("ollama", _ollama), ("embedded", _embedded), ("openai", _openai),
                        ("recordings", _recordings_only)):
    register_backend(_name, _factory)

for _ep in entry_points(group="itc_lab.backends"):
    if _ep.name not in BACKENDS:
        register_backend(_ep.name, _ep.load())


def create_backend(name: str, model: str | None = None, **kw: Any) -> Backend:
    """Build the backend registered under ``name``."""
    try:
        factory = BACKENDS[name]
    except KeyError:
        msg = f"Unknown backend {name!r}; choose one of {', '.join(sorted(BACKENDS))}."
        raise ValueError(msg) from None
    return factory(model=model, **kw)
