"""itc-lab: learn and see inference-time compute.

Start with ``backend = itc_lab.connect()`` (lesson 00), then
``backend.generate(Request(...), n=k)``.
"""

from . import _compat, live
from .backends.base import Backend, generate_async
from .backends.recordings import MODES, RecordingBackend, RecordingStore
from .backends.registry import BACKENDS, create_backend, register_backend
from .connect import connect, lessons_dir, recording_path
from .errors import (
    BackendError,
    BackendUnavailable,
    ModelNotFound,
    RecordingDamaged,
    RecordingMissing,
)
from .exercises.packs import check, hint
from .tables import Table, table
from .types import Alternative, Completion, CostModel, Message, Request, Token, Usage
from .views.token_view import TokenView, show
from .views.trace_view import TraceList, TraceView
from .views.usage_view import UsageView

__version__ = "0.2.0"

_compat.install()

__all__ = [
    "BACKENDS",
    "MODES",
    "Alternative",
    "Backend",
    "BackendError",
    "BackendUnavailable",
    "Completion",
    "CostModel",
    "Message",
    "ModelNotFound",
    "RecordingBackend",
    "RecordingDamaged",
    "RecordingMissing",
    "RecordingStore",
    "Request",
    "Table",
    "Token",
    "TokenView",
    "TraceList",
    "TraceView",
    "Usage",
    "UsageView",
    "__version__",
    "check",
    "connect",
    "create_backend",
    "generate_async",
    "hint",
    "lessons_dir",
    "live",
    "recording_path",
    "register_backend",
    "show",
    "table",
]
