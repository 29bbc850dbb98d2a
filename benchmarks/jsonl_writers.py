"""Several processes appending to one recording file at once: time, and records readable after.

Each writer process puts ``--records`` completions into one ``RecordingStore`` file, one at a time
(each put is locked, appended and fsynced, as ``RecordingBackend`` does). The writers start
together, once each has imported itc_lab and built its records; the time is from the first one's
start to the last one's end. Afterwards a fresh store reads the file: every record must be there,
and no line damaged. Each configuration also runs with a tenth of the records, and the ratio of the
two times (and of the writers' CPU times, which the disk's fsync latency does not blur) says how
the cost grows per 10x input: 10 is linear. The store before the shared log re-read the whole file
whenever another process had written: on a 2-core machine 2 writers x 50 records took 2.1 s and x
500 took 168 s (79x per 10x), 4 writers x 500 took 512 s.

    .venv/bin/python benchmarks/jsonl_writers.py                 # 2 and 4 writers, 5,000 each
    .venv/bin/python benchmarks/jsonl_writers.py --records 1000 --writers 2
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import tempfile
import time
from pathlib import Path
from typing import Any

from itc_lab import Completion, Request, Token
from itc_lab.backends.recordings import RecordingStore


def item(writer: int, i: int) -> tuple[Request, Completion]:
    """A realistic small record: a prompt, a 24-token answer with logprobs."""
    req = Request(prompt=f"Writer {writer}, question {i}: what is {i % 97} + {i % 89}?",
                  temperature=0.8, seed=i % 16, top_logprobs=2, model="bench-model")
    tokens = tuple(Token(f" t{j}", -0.1 * (j % 7)) for j in range(24))
    comp = Completion(text=f"Adding the two numbers gives {i % 97 + i % 89}. " * 3,
                      model="bench-model", backend="bench", seed=i % 16, tokens=tokens,
                      prompt_tokens=30, completion_tokens=24, latency_s=0.2)
    return req, comp


def write(path: str, writer: int, count: int, start: Any, spans: Any) -> None:
    store = RecordingStore(path)
    items = [item(writer, i) for i in range(count)]
    start.wait()  # every writer ready: go
    t0, cpu0 = time.time(), time.process_time()
    for req, comp in items:
        store.put(req, comp)
    spans.put((t0, time.time(), time.process_time() - cpu0))


def run(writers: int, records: int) -> tuple[float, float, int, int]:
    """(seconds, CPU seconds of the writers, records readable afterwards, damaged lines) for
    ``writers`` processes."""
    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "rec.jsonl")
        start, spans = ctx.Barrier(writers), ctx.Queue()
        procs = [ctx.Process(target=write, args=(path, w, records, start, spans))
                 for w in range(writers)]
        for p in procs:
            p.start()
        done = [spans.get() for _ in procs]  # (start, end, CPU time) of each writer's puts
        for p in procs:
            p.join()
        seconds = max(end for _, end, _ in done) - min(start for start, _, _ in done)
        cpu = sum(c for _, _, c in done)
        if any(p.exitcode != 0 for p in procs):
            msg = f"a writer failed: exit codes {[p.exitcode for p in procs]}"
            raise RuntimeError(msg)
        store = RecordingStore(path)
        expected = {item(w, i)[0].key() for w in range(writers) for i in range(records)}
        readable = sum(1 for req, _ in store.items() if req.key() in expected)
        return seconds, cpu, readable, len(store.damaged())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=5000, help="records per writer")
    parser.add_argument("--writers", type=int, nargs="+", default=[2, 4])
    args = parser.parse_args()
    small = max(1, args.records // 10)
    print(f"{'writers':>7} {'records':>8} {'seconds':>8} {'per s':>7} {'CPU s':>7} "
          f"{'readable':>13} {'damaged':>7} {'x time (x CPU) per 10x':>23}")
    for writers in args.writers:
        times: dict[int, tuple[float, float]] = {}
        for n in (small, args.records):
            seconds, cpu, readable, damaged = run(writers, n)
            times[n] = seconds, cpu
            total = writers * n
            ratio = (f"{seconds / times[small][0]:.1f} ({cpu / times[small][1]:.1f})"
                     if n != small else "")
            print(f"{writers:>7} {total:>8,} {seconds:>8.1f} {total / seconds:>7.0f} {cpu:>7.1f} "
                  f"{readable:>6,}/{total:<6,} {damaged:>7} {ratio:>23}", flush=True)
            if readable != total or damaged:
                msg = f"{total - readable} record(s) missing, {damaged} damaged line(s)"
                raise SystemExit(msg)


if __name__ == "__main__":
    main()
