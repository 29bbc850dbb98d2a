"""itc-lab: learn and see inference-time compute.

Start with ``backend = itc_lab.connect()`` (lesson 00), then
``backend.generate(Request(...), n=k)``.
"""

from .backends import (
    BACKENDS,
    MODES,
    Backend,
    RecordingBackend,
    RecordingStore,
    create_backend,
    generate_async,
    register_backend,
)
from .connect import connect, lessons_dir, recording_path
from .errors import (
    BackendError,
    BackendUnavailable,
    ModelNotFound,
    RecordingDamaged,
    RecordingMissing,
)
from .exercises import check, hint
from .types import Alternative, Completion, CostModel, Message, Request, Token, Usage
from .widgets import TokenView, TraceList, TraceView, UsageView, show

__version__ = "0.1.0"

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
    "recording_path",
    "register_backend",
    "show",
]
