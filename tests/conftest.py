"""Shared fixtures: a scripted fake model that needs no server."""

from __future__ import annotations

import threading

import pytest

from itc_lab.backends.base import LiveBackend
from itc_lab.types import Completion, Request, Token


class FakeBackend(LiveBackend):
    """Answers ``"<prompt> #<seed>"``; can be told to fail on given seeds."""

    name = "fake"

    def __init__(self, model: str = "fake-model", concurrency: int = 4,
                 fail_seeds: tuple[int, ...] = ()) -> None:
        self.model = model
        self.concurrency = concurrency
        self.fail_seeds = set(fail_seeds)
        self.calls: list[Request] = []
        self._lock = threading.Lock()

    def _sample(self, request: Request) -> Completion:
        with self._lock:
            self.calls.append(request)
        if request.seed in self.fail_seeds:
            raise RuntimeError(f"scripted failure on seed {request.seed}")
        text = f"{request.chat()[-1].content} #{request.seed}"
        return Completion(text=text, model=request.model or self.model, backend=self.name,
                          seed=request.seed, tokens=(Token(text, -0.5),), prompt_tokens=5,
                          completion_tokens=1, latency_s=0.01)


@pytest.fixture
def fake() -> FakeBackend:
    return FakeBackend()


from .browser_support import browser  # noqa: E402, F401  (the shared Chromium fixture)
