"""A deterministic fake model and a small sweep, shared by tests/test_sweep.py and run as a worker
process by its kill-and-resume test: ``python tests/sweep_worker.py PATH`` runs the sweep into PATH.
"""

from __future__ import annotations

import hashlib
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from itc_lab.backends.base import LiveBackend
from itc_lab.datasets import Problem
from itc_lab.experiments.sweep import Arm, Sweep
from itc_lab.types import Completion, Request, Token

FAIL_MARK = "[fail]"
"""A question containing this makes DetBackend raise."""


class DetBackend(LiveBackend):
    """Answers 6, 7 or 8, chosen by a hash of (model, prompt, seed); the same request always gets
    the same text, tokens, logprobs and latency (latency is made up, not measured)."""

    def __init__(self, model: str = "det-model", *, delay: float = 0.0, concurrency: int = 2,
                 name: str = "det", fail: bool = True) -> None:
        self.name = name
        self.model = model
        self.delay = delay
        self.concurrency = concurrency
        self.fail = fail
        self.calls: Counter[str] = Counter()
        """How often each request (seed included) was sent, by ``Request.key()``."""
        self._lock = threading.Lock()

    def _sample(self, request: Request) -> Completion:
        prompt = "\n".join(m.content for m in request.chat())
        if self.fail and FAIL_MARK in request.chat()[-1].content:
            msg = "scripted failure"
            raise RuntimeError(msg)
        with self._lock:
            self.calls[request.key()] += 1
        if self.delay:
            time.sleep(self.delay)
        digest = hashlib.sha256(f"{request.model}|{prompt}|{request.seed}".encode()).digest()
        answer = 6 + digest[0] % 3
        n_tokens = 3 + digest[1] % 5
        tokens = tuple(Token(f"t{i}", -(1 + digest[2 + i] % 9) / 10) for i in range(n_tokens))
        return Completion(text=f"Some steps. The answer is {answer}.",
                          model=request.model or self.model, backend=self.name,
                          seed=request.seed, tokens=tokens, prompt_tokens=len(prompt.split()),
                          completion_tokens=n_tokens, latency_s=n_tokens * 0.0125)


def make_problems(n: int) -> list[Problem]:
    return [Problem(id=f"q{i}", question=f"Question {i}: what is {i} + 7 - {i}?", answer="7")
            for i in range(n)]


ARMS = (Arm("greedy", "direct"), Arm("sc", "self_consistency", "k", temperature=0.7))
BUDGETS = {"sc": [1, 2, 4]}
N_PROBLEMS = 8
N_CELLS = N_PROBLEMS * (1 + len(BUDGETS["sc"]))


def build_sweep(path: str | Path, *, delay: float = 0.0, concurrency: int = 1) -> Sweep:
    return Sweep(path, ARMS, make_problems(N_PROBLEMS), DetBackend(delay=delay), BUDGETS,
                 concurrency=concurrency)


if __name__ == "__main__":
    build_sweep(sys.argv[1], delay=0.02, concurrency=2).run(progress=False)
