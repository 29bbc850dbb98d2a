"""``EmbeddedBackend``: the bundled model on a llama.cpp server this object starts and owns."""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import subprocess
import threading
import time
import warnings
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

import httpx

from ...errors import BackendError
from ...types import Alternative, Completion, Request, Timing, Token
from ..base import (
    CancelScope,
    LiveBackend,
    OnResult,
    Probe,
    RequestDeadline,
    ambient_watch,
    call_cancelled,
    current_probe,
    cuttable_client,
    emit_engine,
    fan_out,
    request_deadline,
)
from .process import (
    EngineProcess,
    EngineRestartedWarning,
    default_threads,
    describe_exit,
    find_model_file,
    find_server_binary,
)
from .slots import SlotPool, consecutive_groups

__all__ = [
    "DEFAULT_MODEL",
    "EmbeddedBackend",
]

DEFAULT_MODEL = "SmolLM2-135M-Instruct-Q4_1"

"""Name under which the bundled model is recorded (Ollama's ``smollm2:135m`` is the same family,
a different quantisation, so its answers differ)."""

_ALL_SERVERS: weakref.WeakSet[EmbeddedBackend] = weakref.WeakSet()

@atexit.register
def _stop_all() -> None:
    for backend in list(_ALL_SERVERS):
        backend.close()

class EmbeddedBackend(LiveBackend):
    """SmolLM2-135M-Instruct on a llama.cpp server that this object starts on first use.

    ``slots`` parallel sequences are decoded in one batch (8 by default: on 2 CPU cores the
    aggregate rate tops out near 8 concurrent streams). Each slot holds ``ctx_per_slot`` tokens.
    With ``shared_prefix`` (the default), up to ``slots`` samples with consecutive seeds are one
    server request (``n_cmpl``): the prompt is evaluated once, not once per sample, and each sample
    is exactly what a request with its own seed returns. The answer is streamed: each sample is
    handed over as soon as it ends, and its ``latency_s`` runs from the request to its own end.
    With ``pack_slots`` (the default) each request names the slot it runs on, so the samples in
    flight sit side by side; ``pack_slots=False`` leaves the choice to the server (for comparison:
    ``benchmarks/bench.py``).

    ``request_timeout`` is the most seconds the server may stay silent while it answers (every
    answer is streamed, token by token). A server that goes silent that long is suspect: the next
    call asks its ``/health`` (``health_timeout`` seconds) and starts a new server if it does not
    answer. Each request also has an overall deadline: ``deadline_s`` if given, else
    ``10 × request_timeout + max_tokens × seconds_per_token`` per sample in it (generous: on a
    busy machine a short answer can take minutes; silence is what ``request_timeout`` catches).
    """

    name = "embedded"

    def __init__(self, slots: int = 8, ctx_per_slot: int = 2048, threads: int | None = None,
                 startup_timeout: float = 120.0, request_timeout: float = 60.0, *,
                 shared_prefix: bool = True, pack_slots: bool = True,
                 health_timeout: float = 5.0, deadline_s: float | None = None,
                 seconds_per_token: float = 1.0) -> None:
        if slots < 1:
            msg = f"slots must be >= 1, not {slots}."
            raise ValueError(msg)
        for knob, value in (("startup_timeout", startup_timeout),
                            ("request_timeout", request_timeout),
                            ("health_timeout", health_timeout), ("deadline_s", deadline_s),
                            ("seconds_per_token", seconds_per_token)):
            if value is not None and not (isinstance(value, int | float) and value > 0):
                msg = f"{knob} must be a number of seconds > 0, not {value!r}."
                raise ValueError(msg)
        self.model = DEFAULT_MODEL
        self.slots = slots
        self.concurrency = slots
        self.shared_prefix = shared_prefix
        self.pack_slots = pack_slots
        self.ctx_per_slot = ctx_per_slot
        self.threads = threads or default_threads()
        self.startup_timeout = startup_timeout
        self.request_timeout = float(request_timeout)
        """Most seconds the server may stay silent while answering."""
        self.health_timeout = float(health_timeout)
        """Most seconds a suspect server has to answer ``/health`` before it is replaced."""
        self.deadline_s = deadline_s
        self.deadline_base_s = 10 * self.request_timeout
        self.seconds_per_token = float(seconds_per_token)
        self.restarts = 0
        self._suspect = False
        self._server: EngineProcess | None = None
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()
        self._template_cache: dict[tuple[tuple[str, str], ...], str] = {}
        self._pool = SlotPool(slots)
        _ALL_SERVERS.add(self)

    # -- process management --------------------------------------------------------------------
    def describe(self) -> str:
        return f"embedded llama.cpp server · model {self.model}"

    @property
    def url(self) -> str | None:
        return self._server.url if self._server else None

    @property
    def pid(self) -> int | None:
        return self._server.proc.pid if self._server and self._server.alive() else None

    def start(self) -> None:
        """Start the server now (otherwise it starts on the first call)."""
        self._ensure_server()

    def _ensure_server(self) -> str:
        with self._lock:
            server = self._server
            if server is not None and server.alive():
                if not self._suspect or server.healthy(self.health_timeout):
                    self._suspect = False
                    return server.url
                why = (f"stopped answering (a request got nothing for {self.request_timeout:g} s, "
                       f"then /health got no answer within {self.health_timeout:g} s)")
                server.kill()
            elif server is not None:
                why = f"had stopped ({describe_exit(server.proc.returncode)})"
                server.stop()
            if server is not None:
                self._server = None
                self._suspect = False
                self.restarts += 1
                warnings.warn(f"The embedded model server {why}; starting a new one.",
                              EngineRestartedWarning, stacklevel=4)
            binary, model_file = find_server_binary(), find_model_file()
            emit_engine("starting", f"starting the model engine ({self.model})")
            started = time.perf_counter()
            server = EngineProcess(binary, model_file, self.slots, self.ctx_per_slot, self.threads)
            try:
                server.wait_ready(self.startup_timeout)
            except BaseException:
                server.stop()
                raise
            emit_engine("ready", f"engine ready in {time.perf_counter() - started:.1f} s")
            self._server = server
            self._pool.reset()
            if self._client is None:
                limits = httpx.Limits(max_connections=self.slots * 2,
                                      max_keepalive_connections=self.slots * 2)
                # loopback only: no proxy from the environment
                self._client = cuttable_client(timeout=self.request_timeout, limits=limits,
                                               trust_env=False)
            return server.url

    def close(self) -> None:
        """Stop the server (it also stops when Python exits)."""
        with self._lock:
            if self._server is not None:
                self._server.stop()
                self._server = None
            if self._client is not None:
                self._client.close()
                self._client = None

    def __enter__(self) -> EmbeddedBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sampling ------------------------------------------------------------------------------
    def _before_batch(self, n: int) -> None:
        self._ensure_server()

    def resolve(self, request: Request) -> Request:
        if request.model and request.model != self.model:
            msg = (f"The embedded engine serves only {self.model!r}, not {request.model!r}. "
                   "Leave model unset, or use an Ollama backend for other models.")
            raise ValueError(msg)
        return super().resolve(request)

    def _dead(self, server: EngineProcess) -> BackendError:
        msg = (f"The embedded model server stopped while answering "
               f"({describe_exit(server.proc.returncode)}). Run the cell again: "
               "a new server starts automatically.")
        return BackendError(msg)

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        server, client = self._connection()
        try:
            resp = client.post(server.url + path, json=body, timeout=self.request_timeout)
        except httpx.TimeoutException:
            raise self._silent(path) from None
        except httpx.HTTPError as e:
            raise self._transport_error(server, e) from None
        if resp.status_code != 200:
            raise self._refused(resp)
        data = resp.json()
        if not isinstance(data, dict):
            msg = f"The embedded model server answered {path} with {type(data).__name__}, not JSON."
            raise BackendError(msg)
        return data

    def _connection(self) -> tuple[EngineProcess, httpx.Client]:
        server, client = self._server, self._client
        if server is None or client is None:
            self._ensure_server()
            server, client = self._server, self._client
            assert server is not None and client is not None
        if not server.alive():
            raise self._dead(server)
        return server, client

    def _silent(self, what: str) -> BackendError:
        """A request that got nothing for ``request_timeout`` s: the server is suspect."""
        self._suspect = True
        msg = (f"The embedded model server sent nothing for {self.request_timeout:g} s "
               f"(request_timeout) while answering {what}: it may be stuck. The next call "
               "checks it and starts a new one if it does not answer. If the machine is only "
               "busy, create the backend with a larger request_timeout, e.g. "
               f"EmbeddedBackend(request_timeout={2 * self.request_timeout:g}).")
        return BackendError(msg)

    def _too_slow(self, request: Request, n: int) -> BackendError:
        """A request still running at its deadline: the server answers, too slowly."""
        self._suspect = True
        samples = f"{n} samples" if n > 1 else "one sample"
        msg = (f"The embedded model server was still answering ({samples} of at most "
               f"{request.max_tokens} tokens) at the deadline of "
               f"{self.deadline_text(request, n)}: the answer was coming too slowly. Ask for "
               "fewer max_tokens or samples, or create the backend with a larger "
               "seconds_per_token= (or a fixed deadline_s=).")
        return BackendError(msg)

    def _transport_error(self, server: EngineProcess, e: httpx.HTTPError) -> BackendError:
        # a dropped connection is often the first sign of a dying server: give the
        # process a moment to be reaped before deciding which error this is (unless this
        # call's requests were cut on purpose)
        if not call_cancelled():
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.proc.wait(timeout=1.0)
        if not server.alive():
            return self._dead(server)
        msg = f"The embedded model server did not answer ({type(e).__name__}: {e})."
        return BackendError(msg)

    def _refused(self, resp: httpx.Response) -> BackendError:
        try:
            detail = resp.json().get("error", {}).get("message", resp.text)
        except ValueError:
            detail = resp.text
        msg = f"The embedded model server refused the request (HTTP {resp.status_code}): {detail}"
        if "context size" in str(detail):
            msg += (f". Each slot holds {self.ctx_per_slot} tokens of prompt and answer: shorten "
                    "the prompt or max_tokens, or create the backend with a larger ctx_per_slot, "
                    f"e.g. EmbeddedBackend(ctx_per_slot={2 * self.ctx_per_slot}).")
        return BackendError(msg)

    def render_prompt(self, request: Request) -> str:
        """The prompt text as the model sees it, after its chat template."""
        turns = tuple((m.role, m.content) for m in request.chat())
        cached = self._template_cache.get(turns)
        if cached is None:
            body = {"messages": [{"role": r, "content": c} for r, c in turns]}
            cached = str(self._post("/apply-template", body)["prompt"])
            self._template_cache[turns] = cached
        return cached

    def _body(self, request: Request) -> dict[str, Any]:
        return {
            "prompt": self.render_prompt(request),
            "n_predict": request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "top_k": request.top_k,
            "min_p": 0.0,
            "stop": list(request.stop),
            "seed": request.seed,
            # logprobs only when asked: each one costs a pass over the 49k-token vocabulary
            "n_probs": request.top_logprobs,
            "cache_prompt": True,
            "stream": False,
        }

    def _completion(self, data: dict[str, Any], request: Request, seed: int,
                    latency: float) -> Completion:
        tokens = tuple(
            Token(
                text=str(p.get("token", "")),
                logprob=float(p["logprob"]),
                top=tuple(Alternative(str(a.get("token", "")), float(a["logprob"]))
                          for a in p.get("top_logprobs", [])[: request.top_logprobs]),
            )
            for p in data.get("completion_probabilities", [])
        )
        timings = data.get("timings", {})
        return Completion(
            text=str(data.get("content", "")),
            model=request.model or self.model,
            backend=self.name,
            seed=seed,
            tokens=tokens,
            prompt_tokens=int(data.get("tokens_evaluated", timings.get("prompt_n", 0))),
            completion_tokens=int(data.get("tokens_predicted", len(tokens))),
            latency_s=latency,
            finish_reason="length" if data.get("stop_type") == "limit" else "stop",
            options=request.sampling_options(),
        )

    @contextlib.contextmanager
    def _slots(self, n: int, prompt: str, steps: int) -> Iterator[dict[str, int]]:
        """Hold the slots of one request of n samples of up to ``steps`` tokens; yields the
        fields that name its slot."""
        if not self.pack_slots:
            yield {}
            return
        with self._pool.hold(n, prompt, steps) as slot:
            yield {"id_slot": slot}

    def _sample(self, request: Request) -> Completion:
        # streamed like a group, so a server that goes silent is noticed within request_timeout
        # however long the answer
        return self._sample_group(request, 1)[0]

    def _events(self, resp: httpx.Response) -> Iterator[dict[str, Any]]:
        """The events of a streamed answer (server-sent ``data:`` lines), errors raised."""
        if resp.status_code != 200:
            resp.read()
            raise self._refused(resp)
        for line in resp.iter_lines():
            if not line.startswith("data: "):
                continue  # blank lines between events, keep-alive pings
            try:
                event = json.loads(line[len("data: "):])
            except ValueError:
                msg = f"The embedded model server sent a damaged event: {line[:200]!r}"
                raise BackendError(msg) from None
            if "error" in event:
                error = event["error"]
                detail = error.get("message", error) if isinstance(error, dict) else error
                msg = f"The embedded model server failed while answering: {detail}"
                raise BackendError(msg)
            yield event

    def _sample_group(self, request: Request, n: int,
                      on_result: OnResult | None = None) -> list[Completion]:
        """n samples with seeds ``request.seed … request.seed + n - 1`` in one request: the
        server evaluates the prompt once and shares it with the other slots (``n_cmpl``).

        The answer is streamed, so each sample reaches ``on_result`` as soon as it ends, with
        its own latency, and the samples finished before a failure are never lost.
        """
        body = self._body(request) | {"stream": True}
        if n > 1:
            body["n_cmpl"] = n
        texts: dict[int, list[str]] = {}
        probs: dict[int, list[Any]] = {}
        probe = current_probe()
        arrived: dict[int, list[int]] = {}  # ms after sending, per non-empty piece of text
        done: dict[int, Completion] = {}
        deadline = RequestDeadline(None)
        with self._slots(n, body["prompt"], request.max_tokens) as named:
            server, client = self._connection()
            t0 = time.perf_counter()
            sent_ms = int(time.time() * 1000)
            try:
                # the server closes a streamed answer's connection after it: do not reuse it
                with request_deadline(self.deadline_for(request, n)) as deadline, client.stream(
                        "POST", server.url + "/completion", json=body | named,
                        headers={"Connection": "close"}, timeout=self.request_timeout) as resp:
                    for event in self._events(resp):
                        i = int(event.get("index", 0))
                        if probe is not None:
                            _report(probe, request.seed + i, event, request.top_logprobs)
                        piece = str(event.get("content", ""))
                        if piece:
                            texts.setdefault(i, []).append(piece)
                            arrived.setdefault(i, []).append(
                                int((time.perf_counter() - t0) * 1000))
                        probs.setdefault(i, []).extend(event.get("completion_probabilities", []))
                        if not event.get("stop") or not 0 <= i < n or i in done:
                            continue
                        text = "".join(texts.get(i, ()))
                        final = event | {"content": text, "completion_probabilities": _within(
                            probs.get(i, []), text, event.get("stop_type"))}
                        timing = Timing(sent_ms, tuple(arrived.get(i, ())),
                                        tuple(len(p) for p in texts.get(i, ())))
                        done[i] = c = replace(
                            self._completion(final, request, request.seed + i,
                                             time.perf_counter() - t0), timing=timing)
                        if on_result:
                            on_result(c)
            except httpx.TimeoutException:
                if deadline.passed:
                    raise self._too_slow(request, n) from None
                raise self._silent("/completion") from None
            except httpx.HTTPError as e:
                raise self._transport_error(server, e) from None
        if len(done) != n:
            msg = (f"The embedded model server ended its answer after {len(done)} of {n} samples. "
                   "Run the cell again; if it keeps happening, create the backend with "
                   "shared_prefix=False to send one request per sample.")
            raise BackendError(msg)
        return [done[i] for i in range(n)]

    def generate_seeds(self, request: Request, seeds: Sequence[int], *,
                       on_result: OnResult | None = None) -> list[Completion]:
        watched = ambient_watch(self)
        if watched is not None:
            out_: list[Completion] = watched.generate_seeds(request, seeds, on_result=on_result)
            return out_
        seeds = list(seeds)
        groups = consecutive_groups(seeds, self.slots)
        if not self.shared_prefix or all(len(g) == 1 for g in groups):
            return super().generate_seeds(request, seeds, on_result=on_result)
        request = self.resolve(request)
        for s in seeds:  # every seed is checked before anything is sent
            request.with_seed(s)
        self._before_batch(len(seeds))
        out: list[Completion | None] = [None] * len(seeds)
        lock = threading.Lock()
        scope = CancelScope()

        def run(group: list[int]) -> None:
            first = request.with_seed(seeds[group[0]])

            def deliver(c: Completion) -> None:
                with lock:
                    out[group[c.seed - first.seed]] = c
                    if on_result and not scope.cancelled:
                        on_result(c)

            self._sample_group(first, len(group), on_result=deliver)

        # two groups in flight: the second waits in the slot pool and goes out the moment the
        # first one's answer is back. An interrupt cuts both and returns at once.
        jobs = [functools.partial(run, g) for g in groups]
        fan_out(jobs, min(2, len(groups)), "itc-embedded", scope)
        return [c for c in out if c is not None]

    def prompt_tokens_evaluated(self) -> int:
        """Prompt tokens the server has evaluated since it started (its ``/metrics`` counter):
        tokens served from a slot's cache or shared between samples are not counted."""
        server, client = self._server, self._client
        if server is None or client is None or not server.alive():
            return 0
        text = client.get(server.url + "/metrics").text
        for line in text.splitlines():
            if line.startswith("llamacpp:prompt_tokens_total "):
                return int(float(line.split()[1]))
        return 0

def _report(probe: Probe, seed: int, event: dict[str, Any], top: int) -> None:
    """Hand one streamed event's tokens to a watcher (with logprobs when they were asked for)."""
    entries = event.get("completion_probabilities") or ()
    if not entries:
        text = str(event.get("content", ""))
        if text:
            probe.token(seed, Token(text))
        return
    for p in entries:
        try:
            token = Token(text=str(p.get("token", "")), logprob=float(p["logprob"]),
                          top=tuple(Alternative(str(a.get("token", "")), float(a["logprob"]))
                                    for a in p.get("top_logprobs", [])[:top]))
        except (KeyError, TypeError, ValueError, AttributeError):
            token = Token(str(p.get("token", "")) if isinstance(p, dict) else "")
        probe.token(seed, token)


def _within(probs: list[Any], text: str, stop_type: object) -> list[Any]:
    """The streamed tokens of an answer. When a stop string ended it, its tokens were streamed
    too (with empty text): they are left out, and the tokens kept spell ``text`` exactly."""
    if stop_type != "word":
        return probs
    kept: list[Any] = []
    length = 0
    for p in probs:
        if length >= len(text):
            break
        length += len(str(p.get("token", "")))
        kept.append(p)
    return kept
