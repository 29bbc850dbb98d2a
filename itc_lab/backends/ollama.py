"""The Ollama backend: a local (or remote) Ollama server through the official ``ollama`` client.

A request with ``prompt`` goes to ``/api/generate``, one with ``messages`` to ``/api/chat``. Each
sample is one HTTP call with its own seed; :class:`~itc_lab.backends.base.LiveBackend` sends the n
samples of a batch concurrently (at most ``concurrency`` at a time, which should match the
server's ``OLLAMA_NUM_PARALLEL``); ``await backend.agenerate(request, n)`` does the same from async
code such as a Jupyter cell. Streaming (the default) and plain responses give the same
:class:`~itc_lab.types.Completion`. The answers are read here, field by field: a reply that is not
Ollama's JSON, or a stream that ends in an error line or before its final line, is a
:class:`~itc_lab.errors.BackendError` naming the server and the field, never a half answer.

Units: token counts are in tokens, ``latency_s`` in seconds of wall clock measured here, Ollama's
own ``*_duration`` fields in nanoseconds. Logprobs are natural logs (nats) and need Ollama 0.12.11
or newer. Introduced in lesson 00.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import urllib.parse
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import ollama

from ..errors import BackendError, BackendUnavailable, ModelNotFound
from ..types import Alternative, Completion, Request, Token
from .base import (
    MISSING,
    LiveBackend,
    MalformedReply,
    Probe,
    RequestDeadline,
    check_concurrency,
    current_probe,
    cuttable_client,
    reply_count,
    reply_list,
    reply_number,
    reply_object,
    reply_text,
    request_deadline,
)

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_HOST",
    "DEFAULT_MODEL",
    "DEFAULT_PORT",
    "LOGPROBS_MIN_VERSION",
    "OllamaBackend",
    "normalise_host",
]

DEFAULT_MODEL = "smollm2:135m"
DEFAULT_HOST = "http://127.0.0.1:11434"
DEFAULT_PORT = 11434
DEFAULT_CONCURRENCY = 4
LOGPROBS_MIN_VERSION = "0.12.11"
"""The first Ollama release that returns token logprobs."""

_NOT_FOUND_RE = re.compile(r"model\b.*\bnot found", re.IGNORECASE | re.DOTALL)


def normalise_host(host: str | None) -> str:
    """``scheme://host:port[/path]`` from what people write in ``OLLAMA_HOST``.

    ``None`` or ``""`` gives ``http://127.0.0.1:11434``; a bare ``host`` or ``host:port`` gets
    ``http://`` (and port 11434 when none is given); an explicit ``http://`` / ``https://`` without
    a port gets 80 / 443. ``0.0.0.0`` (a listen address, not one to connect to) becomes
    ``127.0.0.1``.
    """
    text = (host or "").strip()
    if not text:
        return DEFAULT_HOST
    if "://" in text:
        scheme, rest = text.split("://", 1)
        scheme = scheme.lower() or "http"
        default_port = {"http": 80, "https": 443}.get(scheme, DEFAULT_PORT)
    else:
        scheme, rest, default_port = "http", text, DEFAULT_PORT
    parts = urllib.parse.urlsplit(f"{scheme}://{rest}")
    name = parts.hostname or "127.0.0.1"
    if name in ("0.0.0.0", "::"):
        name = "127.0.0.1"
    if ":" in name:  # IPv6 literal: urlsplit drops the brackets
        name = f"[{name}]"
    try:
        port = parts.port or default_port
    except ValueError:
        msg = f"OLLAMA_HOST={host!r} has an invalid port; write it like 127.0.0.1:11434."
        raise ValueError(msg) from None
    path = parts.path.strip("/")
    return f"{scheme}://{name}:{port}" + (f"/{path}" if path else "")


def _env_concurrency() -> int:
    raw = os.environ.get("OLLAMA_NUM_PARALLEL", "").strip()
    try:
        value = int(raw)
    except ValueError:
        return DEFAULT_CONCURRENCY
    return value if value >= 1 else DEFAULT_CONCURRENCY


class _StreamError(Exception):
    """An ``{"error": ...}`` object where an answer (or its next line) belongs."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class _Answer:
    """One response assembled from its stream chunks (or from a single plain response), every
    field checked: a field of the wrong kind raises MalformedReply naming it."""

    chat: bool
    top_k: int
    text: list[str] = field(default_factory=list)
    thinking: list[str] = field(default_factory=list)
    tokens: list[Token] = field(default_factory=list)
    saw_logprobs: bool = False
    """True when any chunk carried a ``logprobs`` field (a server that supports them)."""
    done: bool = False
    """True once the final chunk (``done: true``) arrived."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    done_reason: str = ""

    def add(self, raw: object, where: str) -> None:
        chunk = reply_object(raw, where)
        if chunk.get("error") is not None:
            error = chunk["error"]
            if isinstance(error, Mapping):
                error = error.get("message", error)
            raise _StreamError(str(error) or "(no message)")
        if self.done:
            raise MalformedReply(where, chunk, "nothing (the answer had already ended)")
        if self.chat:
            message = reply_object(chunk.get("message", MISSING), "message")
            self.text.append(reply_text(message.get("content"), "message.content"))
            self.thinking.append(reply_text(message.get("thinking"), "message.thinking"))
        else:
            self.text.append(reply_text(chunk.get("response"), "response"))
            self.thinking.append(reply_text(chunk.get("thinking"), "thinking"))
        if chunk.get("logprobs") is not None:
            self.saw_logprobs = True
            for i, lp in enumerate(reply_list(chunk["logprobs"], "logprobs")):
                self.tokens.append(_token(lp, self.top_k, f"logprobs[{i}]"))
        done = chunk.get("done", False)
        if not isinstance(done, bool):
            raise MalformedReply("done", done, "true or false")
        if done:
            self.done = True
            self.prompt_tokens = reply_count(chunk.get("prompt_eval_count"), "prompt_eval_count")
            self.completion_tokens = reply_count(chunk.get("eval_count"), "eval_count")
            self.done_reason = reply_text(chunk.get("done_reason"), "done_reason")


def _token(raw: object, top_k: int, where: str) -> Token:
    lp = reply_object(raw, where)
    alternatives = []
    for j, a in enumerate(reply_list(lp.get("top_logprobs"), f"{where}.top_logprobs",
                                     optional=True)):
        alt = reply_object(a, f"{where}.top_logprobs[{j}]")
        alternatives.append(Alternative(
            reply_text(alt.get("token", MISSING), f"{where}.top_logprobs[{j}].token",
                       optional=False),
            reply_number(alt.get("logprob", MISSING), f"{where}.top_logprobs[{j}].logprob")
            or 0.0))
    alternatives.sort(key=lambda a: -a.logprob)
    return Token(text=reply_text(lp.get("token", MISSING), f"{where}.token", optional=False),
                 logprob=reply_number(lp.get("logprob", MISSING), f"{where}.logprob"),
                 top=tuple(alternatives[:top_k]))


def _report(probe: Probe, seed: int, answer: _Answer, seen: tuple[int, int]) -> None:
    """Hand the tokens of the chunk just added to a watcher: its logprob entries when it has
    them, else its text as one token."""
    texts, tokens = seen
    if len(answer.tokens) > tokens:
        for token in answer.tokens[tokens:]:
            probe.token(seed, token)
        return
    text = "".join(answer.text[texts:])
    if text:
        probe.token(seed, Token(text))


class OllamaBackend(LiveBackend):
    """Samples from a model served by Ollama.

    ``model`` is used when a request names none. ``host`` defaults to ``$OLLAMA_HOST`` or
    ``http://127.0.0.1:11434``; ``concurrency`` (requests in flight at once) to
    ``$OLLAMA_NUM_PARALLEL`` or 4: n samples take about ``ceil(n / concurrency)`` request
    latencies when the server decodes that many at once. ``stream=True`` reads the answer as
    NDJSON chunks, ``False`` as one JSON body; both give the same completions. ``timeout`` is the
    most seconds to wait for the server to send the next bytes (a cold model load counts). Each
    request must also end by its deadline: ``deadline_s`` seconds if given, else ``timeout +
    max_tokens × seconds_per_token``, so a server that trickles bytes cannot hold a call forever.
    Introduced in lesson 00.
    """

    name = "ollama"

    def __init__(self, model: str = DEFAULT_MODEL, host: str | None = None,
                 concurrency: int | None = None, stream: bool = True,
                 timeout: float = 300.0, *, deadline_s: float | None = None,
                 seconds_per_token: float = 1.0) -> None:
        if not model:
            msg = "model must be a model name such as 'smollm2:135m'."
            raise ValueError(msg)
        concurrency = check_concurrency(_env_concurrency() if concurrency is None else concurrency)
        for knob, value in (("timeout", timeout), ("deadline_s", deadline_s),
                            ("seconds_per_token", seconds_per_token)):
            if value is not None and not (isinstance(value, int | float) and value > 0):
                msg = f"{knob} must be a number of seconds > 0, not {value!r}."
                raise ValueError(msg)
        self.model = model
        self.host = normalise_host(host if host is not None else os.environ.get("OLLAMA_HOST"))
        """Where the server is: ``scheme://host:port``."""
        self.concurrency = concurrency
        self.stream = stream
        self.timeout = float(timeout)
        """Seconds to wait for the next bytes from the server."""
        self.deadline_s = deadline_s
        self.deadline_base_s = self.timeout
        self.seconds_per_token = float(seconds_per_token)
        # Refused connections fail at once; an unreachable address should not hang for minutes.
        self._timeout = httpx.Timeout(self.timeout, connect=min(10.0, self.timeout))
        self.client = ollama.Client(host=self.host, timeout=self._timeout)
        """The official client, for calls beyond sampling (pull, show, ...)."""
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "User-Agent": "itc-lab"}
        if os.environ.get("OLLAMA_API_KEY"):
            headers["Authorization"] = f"Bearer {os.environ['OLLAMA_API_KEY']}"
        # samples go through this client: its requests can be cut (deadline, interrupt)
        self._http = cuttable_client(timeout=self._timeout, headers=headers,
                                     follow_redirects=True)
        self._warn_lock = threading.Lock()
        self._warned_logprobs = False

    # -- small calls ---------------------------------------------------------------------------
    def describe(self) -> str:
        return f"ollama at {self.host} · model {self.model}"

    def __repr__(self) -> str:
        return f"OllamaBackend(model={self.model!r}, host={self.host!r})"

    def _get(self, path: str, timeout: float) -> Any:
        try:
            resp = httpx.get(f"{self.host}{path}", timeout=timeout)
        except (httpx.ConnectError, httpx.ConnectTimeout, ConnectionError):
            raise self._unavailable() from None
        except httpx.HTTPError as e:
            msg = f"Ollama at {self.host} did not answer {path} ({type(e).__name__}: {e})."
            raise BackendError(msg) from None
        if resp.status_code != 200:
            msg = f"Ollama at {self.host} answered {path} with HTTP {resp.status_code}: {resp.text}"
            raise BackendError(msg)
        try:
            return resp.json()
        except ValueError:
            msg = (f"{self.host}{path} did not answer JSON: is Ollama the server running there? "
                   "Set OLLAMA_HOST to the right address.")
            raise BackendError(msg) from None

    def version(self, timeout: float = 5.0) -> str | None:
        """The server's version (``GET /api/version``), e.g. ``"0.12.11"``; ``None`` if unknown."""
        try:
            data = self._get("/api/version", timeout)
        except BackendError:
            return None
        value = data.get("version") if isinstance(data, dict) else None
        return str(value) if value else None

    def list_models(self, timeout: float = 10.0) -> list[str]:
        """Names of the models the server has (``GET /api/tags``), e.g. ``["smollm2:135m"]``."""
        data = self._get("/api/tags", timeout)
        models = data.get("models", []) if isinstance(data, dict) else []
        return [str(m.get("name") or m.get("model")) for m in models
                if isinstance(m, dict) and (m.get("name") or m.get("model"))]

    def has_model(self, name: str | None = None) -> bool:
        """Whether the server has ``name`` (default: this backend's model); ``x`` matches
        ``x:latest``."""
        wanted = name or self.model
        have = set(self.list_models())
        if wanted in have:
            return True
        if ":" not in wanted.rsplit("/", 1)[-1]:
            return f"{wanted}:latest" in have
        if wanted.endswith(":latest"):
            return wanted[: -len(":latest")] in have
        return False

    def ping(self, timeout: float = 1.0) -> bool:
        """True when an Ollama server answers at ``host`` within ``timeout`` seconds; never
        raises."""
        try:
            resp = httpx.get(f"{self.host}/api/version", timeout=timeout)
            return resp.status_code == 200 and "version" in resp.json()
        except Exception:
            return False

    # -- sampling ------------------------------------------------------------------------------
    def _unavailable(self) -> BackendUnavailable:
        return BackendUnavailable(
            f"No Ollama server answered at {self.host}. Start it with `ollama serve` (or open the "
            "Ollama app), or, if it runs elsewhere, set OLLAMA_HOST to its address, e.g. "
            "OLLAMA_HOST=192.168.1.20:11434. To run without Ollama, use "
            "connect(backend='embedded')."
        )

    def _options(self, request: Request) -> dict[str, Any]:
        """The ``options`` object sent to Ollama (Ollama's own names)."""
        options: dict[str, Any] = {
            "seed": request.seed,
            "temperature": request.temperature,
            "top_p": request.top_p,
            # sent even when 0: Ollama's default is 40, and 0 means "no limit" to it as here
            "top_k": request.top_k,
            "num_predict": request.max_tokens,
        }
        if request.stop:
            # only when given: an explicit list replaces the stop strings of the model's Modelfile
            options["stop"] = list(request.stop)
        return options

    def _body(self, request: Request, model: str) -> tuple[str, dict[str, Any]]:
        """The path and JSON body of one request, as the official client sends them."""
        body: dict[str, Any] = {"model": model}
        if request.messages is not None:
            path = "/api/chat"
            body["messages"] = [{"role": m.role, "content": m.content} for m in request.messages]
        else:
            path = "/api/generate"
            body["prompt"] = request.prompt or ""
        body["stream"] = self.stream
        if request.think is not None:
            body["think"] = request.think
        if request.top_logprobs > 0:
            body["logprobs"] = True
            body["top_logprobs"] = request.top_logprobs
        body["options"] = self._options(request)
        return path, body

    def _sample(self, request: Request) -> Completion:
        model = request.model or self.model
        path, body = self._body(request, model)
        k = request.top_logprobs
        answer = _Answer(chat=request.messages is not None, top_k=k)
        deadline = RequestDeadline(None)
        t0 = time.perf_counter()
        try:
            with request_deadline(self.deadline_for(request)) as deadline, self._http.stream(
                    "POST", f"{self.host}{path}", json=body) as resp:
                if resp.status_code != 200:
                    resp.read()
                    raise self._status_error(resp, model) from None
                if self.stream:
                    probe = current_probe()
                    for number, line in enumerate(resp.iter_lines(), 1):
                        if line.strip():
                            seen = (len(answer.text), len(answer.tokens))
                            answer.add(json.loads(line), f"line {number} of the answer")
                            if probe is not None:
                                _report(probe, request.seed, answer, seen)
                else:
                    resp.read()
                    answer.add(json.loads(resp.text), "the answer")
        except _StreamError as e:
            raise self._response_error(-1, e.message, model) from None
        except MalformedReply as e:
            raise self._malformed(e, model) from None
        except (httpx.ConnectError, httpx.ConnectTimeout):
            raise self._unavailable() from None
        except httpx.TimeoutException:
            if deadline.passed:
                msg = (f"Ollama at {self.host} was still answering with {model!r} at the deadline "
                       f"of {self.deadline_text(request)}: it sends, but too slowly. Ask for "
                       "fewer max_tokens, or make the backend with a larger seconds_per_token= "
                       "(or a fixed deadline_s=).")
            else:
                msg = (f"Ollama at {self.host} sent nothing for {self.timeout:g} s while "
                       f"answering with {model!r}. The machine may be busy or the model too "
                       "large; run the cell again, or make the backend with a larger timeout=.")
            raise BackendError(msg) from None
        except httpx.HTTPError as e:
            msg = (f"The connection to Ollama at {self.host} broke mid-answer "
                   f"({type(e).__name__}: {e}). Running the cell again retries.")
            raise BackendError(msg) from None
        except ValueError:  # json.loads: not JSON at all
            msg = (f"{self.host} answered with something that is not Ollama's JSON. Is Ollama the "
                   "server running there? Set OLLAMA_HOST to the right address.")
            raise BackendError(msg) from None
        if not answer.done:
            msg = (f"Ollama at {self.host} ended its answer with {model!r} before the final line "
                   f"(\"done\": true), after {len(''.join(answer.text))} characters: the answer is "
                   "incomplete, so it is not used. Running the cell again retries.")
            raise BackendError(msg)
        latency = time.perf_counter() - t0
        if k > 0 and not answer.saw_logprobs and "".join(answer.text):
            self._warn_old_server()
        thinking = "".join(answer.thinking)
        # What was sent, under the backend-neutral names every backend records (the embedded
        # engine uses the same keys), so completions compare across backends; Ollama's own names
        # are in _options(): num_predict = max_tokens, the seed is Completion.seed.
        sent: dict[str, Any] = {
            "temperature": request.temperature,
            "top_p": request.top_p,
            "top_k": request.top_k,
            "max_tokens": request.max_tokens,
            "stop": list(request.stop),
            "top_logprobs": k,
        }
        if request.think is not None:
            sent["think"] = request.think
        return Completion(
            text="".join(answer.text),
            model=model,
            backend=self.name,
            seed=request.seed,
            tokens=tuple(answer.tokens),
            prompt_tokens=answer.prompt_tokens,
            completion_tokens=answer.completion_tokens,
            latency_s=latency,
            finish_reason="length" if answer.done_reason == "length" else "stop",
            thinking=thinking or None,
            options=sent,
        )

    def _malformed(self, e: MalformedReply, model: str) -> BackendError:
        return BackendError(
            f"Ollama at {self.host} sent an answer with {model!r} that cannot be read: {e}. "
            "Is the server there Ollama, and a recent one? Update Ollama (token logprobs need "
            f"{LOGPROBS_MIN_VERSION} or newer) or set OLLAMA_HOST to the right server; running "
            "the cell again retries.")

    def _status_error(self, resp: httpx.Response, model: str) -> BackendError:
        """The error of a non-200 answer, with the server's own message (``{"error": ...}``)."""
        message = resp.text
        try:
            data = resp.json()
        except ValueError:
            data = None
        if isinstance(data, Mapping) and data.get("error") is not None:
            message = str(data["error"])
        return self._response_error(resp.status_code, message, model)

    def _response_error(self, status: int, message: str, model: str) -> BackendError:
        if status == 404 or _NOT_FOUND_RE.search(message):
            return ModelNotFound(
                f"Ollama at {self.host} does not have the model {model!r} ({message}). "
                f"Download it with:  ollama pull {model}"
            )
        if status == -1:  # an {"error": ...} line inside a 200 stream
            return BackendError(
                f"Ollama at {self.host} stopped mid-answer: {message}. "
                "Running the cell again retries."
            )
        return BackendError(f"Ollama at {self.host} refused the request (HTTP {status}): {message}")

    def _warn_old_server(self) -> None:
        with self._warn_lock:
            if self._warned_logprobs:
                return
            self._warned_logprobs = True
        version = self.version(timeout=2.0)
        which = f"Ollama {version}" if version else "This Ollama server"
        warnings.warn(
            f"{which} at {self.host} returns no token logprobs (top_logprobs was requested); "
            f"upgrade Ollama to {LOGPROBS_MIN_VERSION} or newer. Completions carry no tokens "
            "until then.",
            stacklevel=3,
        )
