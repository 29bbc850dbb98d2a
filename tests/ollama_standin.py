"""A stand-in Ollama server with a fixed latency per request, for concurrency tests and benchmarks.

It answers ``/api/generate`` and ``/api/chat`` in Ollama's JSON (streamed NDJSON or one plain
body, logprobs when asked), plus ``/api/version`` and ``/api/tags``. Each request takes
``latency`` seconds; the server records when every request started and finished and the most
requests it had in flight at once. It is a ``ThreadingHTTPServer``: one thread per connection, so
requests really overlap.

A request counts as finished just before its last bytes are written: the client cannot send its
next request before reading those bytes, so "finished" always comes before the next "started" and
the in-flight counts are exact, however busy the machine is.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["MODEL", "OllamaStandIn", "Visit", "answer_tokens", "waves"]

MODEL = "smollm2:135m"
CREATED = "2025-11-20T10:15:30.123456789Z"


def answer_tokens(seed: int) -> list[tuple[str, float, list[tuple[str, float]]]]:
    """The scripted answer ``Seed <seed>.``: (token, logprob, alternatives most likely first)."""
    return [
        ("Seed", -0.25, [("Seed", -0.25), ("The", -1.75), ("A", -2.5)]),
        (f" {seed}", -1.5, [(f" {seed}", -1.5), (" 0", -1.6), (" 1", -2.0)]),
        (".", -0.125, [(".", -0.125), ("!", -2.25), ("\n", -3.5)]),
    ]


@dataclass
class Visit:
    """One request as the server saw it (times from ``time.monotonic``, in seconds)."""

    path: str
    body: dict[str, Any]
    started: float
    finished: float = math.inf

    @property
    def seed(self) -> int:
        return int(self.body.get("options", {}).get("seed", 0))


def waves(visits: Sequence[Visit]) -> int:
    """How many rounds of requests there were, from start and finish times alone.

    A request belongs to round 1 if no request had finished when it started, otherwise to one
    more than the latest round among the requests that had finished by then. n requests sent c
    at a time over equal latencies make ``ceil(n / c)`` rounds.
    """
    ordered = sorted(visits, key=lambda v: v.started)
    rounds: list[int] = []
    for i, v in enumerate(ordered):
        before = [rounds[j] for j in range(i) if ordered[j].finished <= v.started]
        rounds.append(1 + max(before, default=0))
    return max(rounds, default=0)


@dataclass
class _State:
    latency: float
    fail_seeds: frozenset[int]
    lock: threading.Lock = field(default_factory=threading.Lock)
    visits: list[Visit] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0


class EngineProcess(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64  # the default 5 could refuse a burst of concurrent connections
    state: _State


class _Handler(BaseHTTPRequestHandler):
    server: EngineProcess

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    # -- helpers -------------------------------------------------------------------------------
    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _finish(self, visit: Visit) -> None:
        state = self.server.state
        with state.lock:
            if visit.finished == math.inf:  # once, even when the client went away mid-answer
                visit.finished = time.monotonic()
                state.in_flight -= 1

    # -- routes --------------------------------------------------------------------------------
    def do_GET(self) -> None:
        if self.path == "/api/version":
            self._send(200, {"version": "0.13.0"})
        elif self.path == "/api/tags":
            self._send(200, {"models": [{"name": MODEL, "model": MODEL, "modified_at": CREATED,
                                         "size": 270898672, "digest": "9077fe9d2ae1" + "0" * 52,
                                         "details": {"format": "gguf", "family": "llama"}}]})
        else:
            self._send(404, {"error": "404 page not found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body: dict[str, Any] = json.loads(self.rfile.read(length) or b"{}")
        if self.path not in ("/api/generate", "/api/chat"):
            self._send(404, {"error": "404 page not found"})
            return
        state = self.server.state
        visit = Visit(self.path, body, time.monotonic())
        with state.lock:
            state.visits.append(visit)
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            self._answer(visit, body)
        finally:
            # a client that cut the request (an interrupt, a deadline) leaves the writes failing
            self._finish(visit)

    def _answer(self, visit: Visit, body: dict[str, Any]) -> None:
        state = self.server.state
        if body.get("model") != MODEL:
            self._finish(visit)
            self._send(404, {"error": f"model '{body.get('model')}' not found"})
            return
        if visit.seed in state.fail_seeds:
            self._finish(visit)
            self._send(500, {"error": f"scripted failure on seed {visit.seed}"})
            return
        chunks = _chunks(body, chat=self.path == "/api/chat")
        if not body.get("stream", True):
            time.sleep(state.latency)
            self._finish(visit)
            self._send(200, _merge(chunks, chat=self.path == "/api/chat"))
            return
        # streamed: half the latency before the first token, the rest spread over the tokens
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        time.sleep(state.latency / 2)
        step = state.latency / 2 / max(1, len(chunks) - 1)
        for chunk in chunks[:-1]:
            self.wfile.write((json.dumps(chunk) + "\n").encode())
            self.wfile.flush()
            time.sleep(step)
        self._finish(visit)
        self.wfile.write((json.dumps(chunks[-1]) + "\n").encode())


def _chunks(body: dict[str, Any], *, chat: bool) -> list[dict[str, Any]]:
    """The NDJSON objects Ollama streams for the scripted answer, the final one last."""
    seed = int(body.get("options", {}).get("seed", 0))
    k = int(body.get("top_logprobs", 0))

    def piece(text: str) -> dict[str, Any]:
        out: dict[str, Any] = {"model": MODEL, "created_at": CREATED}
        if chat:
            out["message"] = {"role": "assistant", "content": text}
        else:
            out["response"] = text
        out["done"] = False
        return out

    out = []
    for text, lp, top in answer_tokens(seed):
        chunk = piece(text)
        if body.get("logprobs"):
            entry: dict[str, Any] = {"token": text, "logprob": lp, "bytes": list(text.encode())}
            if k > 0:
                entry["top_logprobs"] = [{"token": t, "logprob": v, "bytes": list(t.encode())}
                                         for t, v in top[:k]]
            chunk["logprobs"] = [entry]
        out.append(chunk)
    final = piece("")
    final.update({"done": True, "done_reason": "stop", "total_duration": 812_345_678,
                  "load_duration": 40_123_456, "prompt_eval_count": 31,
                  "prompt_eval_duration": 21_000_000, "eval_count": 3,
                  "eval_duration": 61_000_000})
    if not chat:
        final["context"] = [1, 9690, 198, 2]
    out.append(final)
    return out


def _merge(chunks: list[dict[str, Any]], *, chat: bool) -> dict[str, Any]:
    """The single body Ollama sends with ``"stream": false``."""
    whole = dict(chunks[-1])
    text = "".join(c["message"]["content"] if chat else c["response"] for c in chunks)
    if chat:
        whole["message"] = {"role": "assistant", "content": text}
    else:
        whole["response"] = text
    logprobs = [lp for c in chunks for lp in c.get("logprobs", [])]
    if logprobs:
        whole["logprobs"] = logprobs
    return whole


class OllamaStandIn:
    """A stand-in Ollama on a free loopback port; ``latency`` seconds per request.

    Use as a context manager; ``host`` is what ``OllamaBackend(host=...)`` takes. Requests for
    a seed in ``fail_seeds`` fail at once with HTTP 500.
    """

    def __init__(self, latency: float = 0.3, fail_seeds: Sequence[int] = ()) -> None:
        self._server = EngineProcess(("127.0.0.1", 0), _Handler)
        self._server.state = _State(latency=latency, fail_seeds=frozenset(fail_seeds))
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def latency(self) -> float:
        return self._server.state.latency

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    @property
    def visits(self) -> list[Visit]:
        with self._server.state.lock:
            return list(self._server.state.visits)

    @property
    def max_in_flight(self) -> int:
        return self._server.state.max_in_flight

    @property
    def in_flight(self) -> int:
        return self._server.state.in_flight

    def waves(self) -> int:
        return waves(self.visits)

    def reset(self) -> None:
        """Forget the requests seen so far (between measurements)."""
        state = self._server.state
        with state.lock:
            state.visits.clear()
            state.max_in_flight = state.in_flight

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no request is in flight; False if that did not happen within ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.in_flight == 0:
                return True
            time.sleep(0.01)
        return False

    def start(self) -> OllamaStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> OllamaStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

