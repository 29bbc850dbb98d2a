"""Model backends: one file each, one batch-first protocol (see ``base.Backend``)."""

from .base import Backend, LiveBackend, generate_async
from .openai_compat import OpenAICompatBackend
from .recordings import MODES, RecordingBackend, RecordingStore
from .registry import BACKENDS, create_backend, register_backend

__all__ = [
    "BACKENDS",
    "MODES",
    "Backend",
    "LiveBackend",
    "OpenAICompatBackend",
    "RecordingBackend",
    "RecordingStore",
    "create_backend",
    "generate_async",
    "register_backend",
]
