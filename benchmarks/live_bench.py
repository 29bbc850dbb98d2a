"""Live mode on the embedded engine: how soon a learner sees something, and what watching costs.

1. Feedback: a fresh engine (cold start included), one call of n = 8 samples watched by the
   waiting note and a live trace view. Prints the seconds from the call to the first feedback
   (the note's first line, the view's first meter update), to the engine being ready and to the
   first streamed token; then the same for a second call on the warm engine.
2. Cost of watching: first, what one streamed token costs with a live vote view attached
   (microseconds, measured without the engine, so load matters little); then aggregate generated
   tokens/s at n = 8, plain against the same calls through a ``LiveVoteView`` (every token
   reported, the view's traits updated as samples land), interleaved round by round with the
   same seeds (so both generate the same tokens). Prints both rates (best of ``--rounds``) and
   their ratio (target: at least 0.95).

Outside a notebook nothing is drawn: the note keeps its lines and the views their traits, which
is the work the generation loop pays for; sending them to a browser happens on the kernel's
I/O thread.

    .venv/bin/python -m benchmarks.live_bench [--rounds 3] [--max-tokens 96]
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from itc_lab.backends.embedded import EmbeddedBackend
from itc_lab.datasets.base import Problem
from itc_lab.live import (
    EngineEvent,
    Event,
    LiveTraceView,
    LiveVoteView,
    TokenArrived,
    WaitingNote,
    watch,
)
from itc_lab.types import Request

PROMPT = "Write a short story about a lighthouse keeper and a storm."


class Clock:
    """A listener noting when the first event of each kind arrived."""

    def __init__(self, t0: float) -> None:
        self.t0 = t0
        self.first: dict[str, float] = {}

    def __call__(self, event: Event) -> None:
        key = type(event).__name__
        if isinstance(event, EngineEvent):
            key = f"engine {event.state}"
        if isinstance(event, TokenArrived):
            key = "token"
        self.first.setdefault(key, time.perf_counter() - self.t0)


class TimedNote(WaitingNote):
    def __init__(self, t0: float) -> None:
        super().__init__()
        self.t0 = t0
        self.shown_at: float | None = None

    def show(self, line: str) -> None:
        if self.shown_at is None:
            self.shown_at = time.perf_counter() - self.t0
        super().show(line)


def feedback(backend: EmbeddedBackend, request: Request, label: str) -> None:
    t0 = time.perf_counter()
    clock, note = Clock(t0), TimedNote(t0)
    view = LiveTraceView()
    first_meter: list[float] = []
    view.observe(lambda _: first_meter.append(time.perf_counter() - t0) if not first_meter
                 else None, names="meter")
    out = watch(view.watch(backend), clock, note).generate(request, n=8)
    total = time.perf_counter() - t0
    f = clock.first

    def s(x: float | None) -> str:
        return "  -  " if x is None else f"{x:5.2f}"

    seen = first_meter[0] if first_meter else None
    print(f"{label:<22} note {s(note.shown_at)} s · view {s(seen)}"
          f" s · engine ready {s(f.get('engine ready'))} s · first token {s(f.get('token'))} s"
          f" · all {len(out)} samples {total:5.2f} s")


def rates(backend: EmbeddedBackend, rounds: int, max_tokens: int) -> None:
    problem = Problem(id="bench", question=PROMPT, answer="0")
    best: dict[str, float] = {"plain": 0.0, "vote view": 0.0}
    for r in range(rounds):
        request = Request(prompt=PROMPT, max_tokens=max_tokens, seed=1000 * (r + 1),
                          temperature=0.9)
        order = ["plain", "vote view"] if r % 2 == 0 else ["vote view", "plain"]
        for variant in order:
            target: Any = backend if variant == "plain" else LiveVoteView(problem).watch(backend)
            t0 = time.perf_counter()
            out = target.generate(request, n=8)
            wall = time.perf_counter() - t0
            tokens = sum(c.completion_tokens for c in out)
            rate = tokens / wall
            best[variant] = max(best[variant], rate)
            print(f"  round {r + 1} {variant:<9} {tokens:5d} tokens {wall:6.2f} s "
                  f"{rate:6.1f} tokens/s")
    ratio = best["vote view"] / best["plain"]
    print(f"n = 8, best of {rounds}: plain {best['plain']:.1f} tokens/s · with a live vote view "
          f"{best['vote view']:.1f} tokens/s · ratio {ratio:.3f} (target >= 0.95)")


def per_token_cost(tokens: int = 50_000) -> float:
    """Microseconds a streamed token costs with a live vote view attached: the watch's probe
    turning it into an event, the view's meter counting it and scheduling a trait update (no
    engine, so the machine's load barely matters)."""
    from itc_lab.backends.base import current_probe
    from itc_lab.types import Token

    problem = Problem(id="bench", question=PROMPT, answer="0")
    view = LiveVoteView(problem)
    w = view.watch(backend_stub())
    costs: list[float] = []

    def inside(request: Request, seeds: list[int], on_result: Any = None) -> list[Any]:
        probe = current_probe()
        assert probe is not None
        token = Token(" word", -0.5)
        t0 = time.perf_counter()
        for i in range(tokens):
            probe.token(seeds[i % len(seeds)], token)
        costs.append((time.perf_counter() - t0) / tokens * 1e6)
        return []

    w.backend.generate_seeds = inside  # type: ignore[attr-defined]
    w.generate(Request(prompt="x"), n=8)
    return costs[0]


def backend_stub() -> Any:
    class Stub:
        name, model = "stub", "stub"

        def describe(self) -> str:
            return "stub"

        def generate_seeds(self, *a: Any, **k: Any) -> list[Any]:
            return []

    return Stub()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=96)
    args = parser.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average (1 min) at start: {load:.2f} on {os.cpu_count()} CPUs")
    us = per_token_cost()
    print(f"a streamed token through a live vote view: {us:.1f} µs (the engine spends about "
          f"{1e6 / 185:.0f} µs per token at its quiet-machine 185 tokens/s at n = 8: "
          f"{us / (1e6 / 185):.1%})")
    backend = EmbeddedBackend()
    try:
        request = Request(prompt=PROMPT, max_tokens=32, top_logprobs=1, seed=7)
        feedback(backend, request, "cold (engine starts)")
        feedback(backend, request.with_seed(70), "warm")
        rates(backend, args.rounds, args.max_tokens)
    finally:
        backend.close()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average (1 min) at end: {load:.2f}")


if __name__ == "__main__":
    main()
