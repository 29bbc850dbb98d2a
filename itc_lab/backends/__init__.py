"""Model backends: one file each, one batch-first protocol (see ``base.Backend``)."""

from .base import Backend, LiveBackend
from .recordings import MODES, RecordingBackend, RecordingStore
from .registry import BACKENDS, create_backend, register_backend

__all__ = [
    "BACKENDS",
    "MODES",
    "Backend",
    "LiveBackend",
    "RecordingBackend",
    "RecordingStore",
    "create_backend",
    "register_backend",
]
