"""The embedded engine: a llama.cpp server that itc-lab starts, owns and stops.

``process`` starts and watches the server, ``slots`` chooses the slot each request runs on, and
``backend`` is ``EmbeddedBackend``, the backend a lesson talks to. Introduced in lesson 00.
"""

from .backend import DEFAULT_MODEL, EmbeddedBackend
from .process import EngineRestartedWarning, find_model_file, find_server_binary

__all__ = ["DEFAULT_MODEL", "EmbeddedBackend", "EngineRestartedWarning", "find_model_file",
           "find_server_binary"]
