"""Shared fixtures: the scripted fake model (tests/fakes.py) and the browser."""

from __future__ import annotations

import pytest

from .fakes import ScriptedBackend

FakeBackend = ScriptedBackend
"""The default scripted model: answers ``"<prompt> #<seed>"`` (see ``tests/fakes.py``)."""


@pytest.fixture
def fake() -> FakeBackend:
    return FakeBackend()


from .browser_support import browser  # noqa: E402, F401  (the shared Chromium fixture)
