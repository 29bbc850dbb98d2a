"""Aggregate decode throughput of the embedded engine at n = 1, 2, 4, 8 concurrent samples.

Prints, from one run on this machine: itc-lab's aggregate tokens/s at each n (all samples of one
request through ``EmbeddedBackend.generate``), llama.cpp's own ``llama-batched-bench`` on the same
model and thread count for reference, and the ratios. Run with ``./run bench``.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import time

from itc_lab import Request
from itc_lab.backends.embedded import EmbeddedBackend, find_model_file, find_server_binary

PROMPT = ("Write a long, detailed story about a lighthouse keeper who finds a message in a bottle. "
          "Describe the sea, the weather and every person in the village.")


def itc_lab_rate(backend: EmbeddedBackend, n: int, tokens: int, rounds: int,
                 top_logprobs: int = 5) -> float:
    best = 0.0
    for r in range(rounds):
        req = Request(prompt=PROMPT, temperature=1.0, max_tokens=tokens, seed=1000 * r,
                      top_logprobs=top_logprobs)
        t0 = time.perf_counter()
        out = backend.generate(req, n=n)
        wall = time.perf_counter() - t0
        best = max(best, sum(c.completion_tokens for c in out) / wall)
    return best


def batched_bench(ns: list[int], tokens: int, threads: int) -> dict[int, float]:
    """llama.cpp's llama-batched-bench: decode tokens/s (S_TG) per parallel sequence count."""
    binary = find_server_binary().with_name("llama-batched-bench")
    cmd = [str(binary), "-m", str(find_model_file()), "-c", str(max(ns) * (tokens + 160)),
           "-npp", "32", "-ntg", str(tokens), "-npl", ",".join(map(str, ns)), "-t", str(threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rates: dict[int, float] = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 8 and re.fullmatch(r"\d+", cells[2] or ""):
            rates[int(cells[2])] = float(cells[7])  # B column, S_TG t/s column
    return rates


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tokens", type=int, default=96, help="tokens per sample")
    ap.add_argument("--rounds", type=int, default=3, help="best of this many rounds")
    ap.add_argument("--ns", default="1,2,4,8")
    args = ap.parse_args()
    ns = [int(x) for x in args.ns.split(",")]
    with EmbeddedBackend(slots=max(ns)) as backend:
        backend.start()
        itc_lab_rate(backend, 1, 16, 1)  # warm up
        ours = {n: itc_lab_rate(backend, n, args.tokens, args.rounds) for n in ns}
        plain = {n: itc_lab_rate(backend, n, args.tokens, args.rounds, top_logprobs=0)
                 for n in (1, max(ns))}
        chosen = {n: itc_lab_rate(backend, n, args.tokens, args.rounds, top_logprobs=1)
                  for n in (1, max(ns))}
        threads = backend.threads
    ref = batched_bench(ns, args.tokens, threads)
    print(f"{'n':>3} {'itc-lab tok/s':>14} {'batched-bench tok/s':>20} {'itc-lab/bench':>14}")
    for n in ns:
        r = ref.get(n, float("nan"))
        print(f"{n:>3} {ours[n]:>14.1f} {r:>20.1f} {ours[n] / r:>14.2f}")
    top = max(ns)
    ref_ratio = ref.get(top, float("nan")) / ref.get(1, float("nan"))
    print(f"itc-lab n={top} / n=1 aggregate: {ours[top] / ours[1]:.2f}x  "
          f"(batched-bench B={top} / B=1: {ref_ratio:.2f}x)")
    print(f"without logprobs: n={top} {plain[top]:.1f} tok/s, n=1 {plain[1]:.1f} tok/s, "
          f"ratio {plain[top] / plain[1]:.2f}x")
    print(f"chosen token's logprob only: n={top} {chosen[top]:.1f} tok/s, n=1 {chosen[1]:.1f} "
          f"tok/s, ratio {chosen[top] / chosen[1]:.2f}x")
    print(f"n={top} throughput with top-5 logprobs / without: {ours[top] / plain[top]:.2f}; "
          f"with the chosen token's only / without: {chosen[top] / plain[top]:.2f}")


if __name__ == "__main__":
    main()
