"""Errors that tell the learner what happened and what to do next."""

from __future__ import annotations

__all__ = [
    "BackendError",
    "BackendUnavailable",
    "ModelNotFound",
    "RecordingDamaged",
    "RecordingMissing",
]


class BackendError(RuntimeError):
    """A model backend failed; the message says how to fix it."""


class BackendUnavailable(BackendError):
    """The backend cannot be reached or started."""


class ModelNotFound(BackendError):
    """The backend runs but does not have the requested model."""


class RecordingMissing(BackendError):
    """Replay mode was asked for a response that was never recorded."""


class RecordingDamaged(BackendError):
    """A recorded response failed its integrity check; it is never used."""
