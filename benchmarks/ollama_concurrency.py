"""Wall time of n = 8 samples through OllamaBackend at concurrency 1, 2, 4 and 8.

Against a stand-in Ollama server (``tests/ollama_standin.py``) that takes a fixed latency per
request and decodes any number at once, so the only thing measured is itc-lab's fan-out: n
samples at concurrency c should take about ceil(n / c) request latencies (n = 8 at concurrency 4:
about two, not eight). Prints wall time as a multiple of one request latency, the rounds and the
most requests in flight as the server saw them, for ``generate`` and ``agenerate`` side by side.
A real Ollama decodes at most ``OLLAMA_NUM_PARALLEL`` requests at once: set ``concurrency`` to
match it. Run from the project folder with ``python -m benchmarks.ollama_concurrency``.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import time

from itc_lab.backends.ollama import OllamaBackend
from itc_lab.types import Request
from tests.ollama_standin import OllamaStandIn


def measure(server: OllamaStandIn, n: int, concurrency: int, use_async: bool
            ) -> tuple[float, int, int]:
    """(wall seconds, rounds, most in flight) for one batch of n samples."""
    backend = OllamaBackend(host=server.host, concurrency=concurrency)
    request = Request(prompt="Your seed?", seed=0)
    server.reset()
    t0 = time.perf_counter()
    if use_async:
        out = asyncio.run(backend.agenerate(request, n=n))
    else:
        out = backend.generate(request, n=n)
    wall = time.perf_counter() - t0
    assert len(out) == n
    return wall, server.waves(), server.max_in_flight


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=8, help="samples per batch")
    ap.add_argument("--latency", type=float, default=0.2, help="seconds per request")
    ap.add_argument("--concurrency", default="1,2,4,8")
    args = ap.parse_args()
    levels = [int(x) for x in args.concurrency.split(",")]
    with OllamaStandIn(latency=args.latency) as server:
        measure(server, 1, 1, False)  # warm up: first connection, imports
        print(f"n = {args.n} samples, {args.latency:g} s per request (stand-in Ollama server)")
        print(f"{'concurrency':>11}  {'expected':>8}  {'generate':>9}  {'agenerate':>9}  "
              f"{'rounds':>6}  {'in flight':>9}")
        for c in levels:
            wall, rounds, peak = measure(server, args.n, c, False)
            awall, arounds, apeak = measure(server, args.n, c, True)
            expected = math.ceil(args.n / c)
            print(f"{c:>11}  {expected:>7}×  {wall / args.latency:>8.2f}×  "
                  f"{awall / args.latency:>8.2f}×  {rounds:>3}/{arounds:<2}  {peak:>4}/{apeak:<4}")
        print("× = multiples of one request latency; rounds and in flight: generate/agenerate")


if __name__ == "__main__":
    main()
