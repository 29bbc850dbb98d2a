"""Replay at recorded speed: does a replay take the time the recording took?

Records a small session (a few prompts, several samples each, as a lesson cell asks them) from
the embedded engine into a fresh recording, timing the whole session; then replays the same calls
from the recording at the recorded speed (``speed=1``), four times faster (``speed=4``) and at once
(``speed=0``, the default), timing each. Prints the recorded wall time, each replay's wall time and
its ratio to the recorded one (at speed 1 it should be within 0.8-1.2; at speed 4 near 0.25), and
the instant replay's milliseconds.

Without the embedded engine (or with ``--stand-in``) the session is recorded from a stand-in model
that streams its answer at a set rate, so the replay's pacing is still measured.

    .venv/bin/python -m benchmarks.replay_bench [--prompts 3] [--n 4] [--max-tokens 24]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from itc_lab import RecordingBackend, Request
from itc_lab.backends.base import Backend, LiveBackend
from itc_lab.live import Event, TokenArrived, watch
from itc_lab.types import Completion, Timing

PROMPTS = [
    "Write one short sentence about the sea.",
    "Name three fruits.",
    "What is 12 + 30? Answer briefly.",
    "Describe a cat in a few words.",
    "Give a tip for learning to cook.",
]


class StandIn(LiveBackend):
    """A model that streams words at ``seconds_per_piece`` each, after ``first_s``, and keeps the
    timing the embedded engine keeps."""

    name = "stand-in"
    model = "stand-in"

    def __init__(self, seconds_per_piece: float = 0.03, first_s: float = 0.15,
                 concurrency: int = 4) -> None:
        self.seconds_per_piece, self.first_s, self.concurrency = (
            seconds_per_piece, first_s, concurrency)

    def _sample(self, request: Request) -> Completion:
        rng = random.Random(request.seed)
        words = [" " + rng.choice(["sea", "wave", "salt", "blue", "tide", "wind"])
                 for _ in range(rng.randint(4, request.max_tokens))]
        sent_ms = int(time.time() * 1000)
        t0 = time.perf_counter()
        time.sleep(self.first_s)
        arrived = []
        for _ in words:
            time.sleep(self.seconds_per_piece)
            arrived.append(int((time.perf_counter() - t0) * 1000))
        return Completion(text="".join(words), model=self.model, backend=self.name,
                          seed=request.seed, completion_tokens=len(words),
                          latency_s=time.perf_counter() - t0,
                          timing=Timing(sent_ms, tuple(arrived), tuple(len(w) for w in words)))


def session(backend: Backend, requests: list[Request], n: int) -> float:
    """Seconds to ask every request for n samples, one call after another."""
    start = time.perf_counter()
    for r in requests:
        backend.generate(r, n)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=3)
    parser.add_argument("--n", type=int, default=4, help="samples per prompt")
    parser.add_argument("--max-tokens", type=int, default=24)
    parser.add_argument("--stand-in", action="store_true",
                        help="record from a stand-in model instead of the embedded engine")
    args = parser.parse_args()

    live: Backend
    engine = None
    if not args.stand_in:
        try:
            from itc_lab.backends.embedded import EmbeddedBackend

            engine = EmbeddedBackend(slots=max(4, args.n))
            engine.start()
            live = engine
        except Exception as e:  # any reason the engine cannot start
            print(f"embedded engine unavailable ({e}); recording from the stand-in")
            engine = None
    if engine is None:
        live = StandIn()
    requests = [Request(prompt=p, temperature=0.8, max_tokens=args.max_tokens, seed=100 * i)
                for i, p in enumerate(PROMPTS[: args.prompts])]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "session.jsonl"
            recorded = session(RecordingBackend(path, live, mode="record"), requests, args.n)
            print(f"recorded from {live.describe()}: {len(requests)} prompts × {args.n} samples, "
                  f"up to {args.max_tokens} tokens each")
            print(f"{'run':<28} {'wall s':>8} {'/ recorded':>11}")
            print(f"{'recording (live model)':<28} {recorded:8.2f} {1.0:11.2f}")
            pieces = [0]

            def count(event: Event) -> None:
                if isinstance(event, TokenArrived):
                    pieces[0] += 1

            for speed in (1.0, 4.0):
                # watched, as a live view watches it: every piece of text is streamed
                replay = watch(RecordingBackend(path, None, mode="replay", speed=speed), count)
                wall = session(replay, requests, args.n)
                print(f"{f'replay at speed {speed:g}':<28} {wall:8.2f} {wall / recorded:11.2f}")
            instant = RecordingBackend(path, None, mode="replay")
            wall = session(instant, requests, args.n)
            print(f"{'replay at once (speed 0)':<28} {wall:8.3f} {wall / recorded:11.4f}"
                  f"   ({wall * 1000:.1f} ms)")
            print(f"pieces of text streamed by the two paced replays: {pieces[0]}")
    finally:
        if engine is not None:
            engine.close()


if __name__ == "__main__":
    main()
