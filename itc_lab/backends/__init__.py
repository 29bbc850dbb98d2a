"""Model backends: one file each, one batch-first protocol (see ``base.Backend``).

``ollama``, ``embedded`` (a package: process, slots, backend), ``openai_compat``, ``recordings``,
``simulated`` (a model with known answer probabilities), and the wrappers ``budgeted`` (token and
call budgets) and ``caching``. ``registry`` names them for ``connect()``. The embedded engine is
imported only when it is used.
"""

from .base import Backend, LiveBackend, generate_async
from .budgeted import BudgetedBackend, BudgetExceeded
from .caching import CacheStats, CachingBackend, cache_report
from .openai_compat import OpenAICompatBackend
from .recordings import MODES, RecordingBackend, RecordingStore
from .registry import BACKENDS, create_backend, register_backend
from .simulated import SimulatedModel, SimulatedProblem

__all__ = [
    "BACKENDS",
    "MODES",
    "Backend",
    "BudgetExceeded",
    "BudgetedBackend",
    "CacheStats",
    "CachingBackend",
    "LiveBackend",
    "OpenAICompatBackend",
    "RecordingBackend",
    "RecordingStore",
    "SimulatedModel",
    "SimulatedProblem",
    "cache_report",
    "create_backend",
    "generate_async",
    "register_backend",
]
