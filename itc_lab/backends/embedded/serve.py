"""The engine's child process: llama.cpp's HTTP server from the prebuilt ``xllamacpp`` wheel.

Run as ``python -m itc_lab.backends.embedded.serve --model PATH --port N [--parallel 8]
[--ctx-size 4096] [--threads T]`` (the flags of llama.cpp's own ``llama-server``, so either can
be the engine). It serves on ``127.0.0.1:PORT`` until it gets SIGTERM or SIGINT, or its parent
process dies (Linux: ``PR_SET_PDEATHSIG``, which fires when the *thread* that started this process
ends, so ``process`` starts every engine from one thread that lives as long as Python; everywhere:
a check of the parent process every second). A crash here never takes the learner's kernel with
it: the kernel only talks to it over HTTP.

llama.cpp's shutdown waits for a request in flight (about a minute) while holding the GIL, so the
exit is guarded by a watchdog that ends the process after ``--grace`` seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import faulthandler
import os
import signal
import sys
import threading
from collections.abc import Sequence

__all__ = ["main", "parse_args"]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m itc_lab.backends.embedded.serve",
                                 description="Serve a GGUF model with llama.cpp (xllamacpp).")
    ap.add_argument("--model", required=True, help="path of the GGUF file")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--parallel", type=int, default=8, help="parallel slots")
    ap.add_argument("--ctx-size", type=int, default=4096, help="KV cells over all slots")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--verbosity", type=int, default=1, help="llama.cpp log level (stderr)")
    ap.add_argument("--grace", type=float, default=2.0, help="seconds allowed for shutdown")
    # llama-server flags that mean nothing here, accepted so one command line fits both engines
    for flag in ("--no-webui", "--no-warmup", "--metrics"):
        ap.add_argument(flag, action="store_true", help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:  # pragma: no cover - runs in the child
    args = parse_args(argv)
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

    try:
        import xllamacpp
    except ImportError:
        print("The embedded engine needs the xllamacpp package: pip install 'itc-lab[embedded]'",
              file=sys.stderr)
        return 2
    params = xllamacpp.CommonParams()
    params.model.path = args.model
    params.hostnames = [args.host]
    params.port = args.port
    params.n_parallel = args.parallel
    params.n_ctx = args.ctx_size
    params.cont_batching = True
    params.endpoint_metrics = True
    params.endpoint_slots = True
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.verbosity = args.verbosity
    try:
        server = xllamacpp.Server(params)  # returns once the model is loaded
    except RuntimeError as e:
        print(f"The engine did not start: {e}", file=sys.stderr)
        return 1
    print(f"listening at {server.listening_address}", flush=True)
    while not stop.wait(1.0):
        if os.getppid() != parent:
            break
    with open(os.devnull, "w") as devnull:
        faulthandler.dump_traceback_later(args.grace, exit=True, file=devnull)
        del server
    os._exit(0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
