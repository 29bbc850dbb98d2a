"""OllamaBackend against a local HTTP server that speaks Ollama's JSON (and, opt-in, a real one)."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request as WRequest
from werkzeug import Response

from itc_lab.backends.ollama import OllamaBackend, normalise_host
from itc_lab.errors import BackendError, BackendUnavailable, ModelNotFound
from itc_lab.types import Message, Request

MODEL = "smollm2:135m"
CREATED = "2025-11-20T10:15:30.123456789Z"
KILLED = {"error": "llama runner process has terminated: signal: killed"}


class FakeOllama:
    """Answers /api/generate and /api/chat the way Ollama does, from a scripted answer.

    The answer is ``Seed <seed>.`` split into tokens (so every sample's text names its seed),
    optionally preceded by a thinking trace. Every request body is kept in ``bodies``. A stream
    can be cut after ``error_after`` lines and end with ``error_line`` (``None``: it just stops);
    ``mangle`` rewrites each object sent (for malformed replies).
    """

    def __init__(self, server: HTTPServer, *, logprobs: bool = True, version: str = "0.13.0",
                 done_reason: str = "stop", thinking: tuple[str, ...] = (),
                 error_after: int | None = None, barrier: threading.Barrier | None = None,
                 error_line: Any = KILLED,
                 mangle: Callable[[dict[str, Any], bool], Any] | None = None) -> None:
        self.server = server
        self.logprobs = logprobs
        self.version = version
        self.done_reason = done_reason
        self.thinking = thinking
        self.error_after = error_after
        self.error_line = error_line
        self.mangle = mangle
        self.barrier = barrier
        self.bodies: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        for path in ("/api/generate", "/api/chat"):
            server.expect_request(path, method="POST").respond_with_handler(self.handle)
        server.expect_request("/api/version", method="GET").respond_with_json(
            {"version": version})
        server.expect_request("/api/tags", method="GET").respond_with_json({"models": [
            {"name": MODEL, "model": MODEL, "modified_at": CREATED, "size": 270898672,
             "digest": "9077fe9d2ae1" + "0" * 52,
             "details": {"format": "gguf", "family": "llama", "parameter_size": "134.52M",
                         "quantization_level": "F16"}},
            {"name": "qwen3:0.6b", "model": "qwen3:0.6b", "modified_at": CREATED,
             "size": 522653767, "digest": "7df6b6e09427" + "0" * 52, "details": {}},
            {"name": "phi3:latest", "model": "phi3:latest", "modified_at": CREATED,
             "size": 2176178913, "digest": "4f2222927938" + "0" * 52, "details": {}},
        ]})

    # -- the scripted answer -----------------------------------------------------------------
    @staticmethod
    def tokens(seed: int) -> list[tuple[str, float, list[tuple[str, float]]]]:
        """(token, logprob, top alternatives most likely first) for each generated token."""
        return [
            ("Seed", -0.25, [("Seed", -0.25), ("The", -1.75), ("A", -2.5), ("It", -3.0)]),
            (f" {seed}", -1.5, [(f" {seed}", -1.5), (" 0", -1.6), (" 1", -2.0), (" 2", -2.2)]),
            (".", -0.125, [(".", -0.125), ("!", -2.25), ("\n", -3.5), (",", -4.0)]),
        ]

    def _logprobs(self, token: tuple[str, float, list[tuple[str, float]]], k: int
                  ) -> dict[str, Any]:
        text, lp, top = token
        entry: dict[str, Any] = {"token": text, "logprob": lp, "bytes": list(text.encode())}
        if k > 0:
            entry["top_logprobs"] = [{"token": t, "logprob": v, "bytes": list(t.encode())}
                                     for t, v in top[:k]]
        return entry

    def _piece(self, chat: bool, content: str, thinking: str | None = None) -> dict[str, Any]:
        chunk: dict[str, Any] = {"model": MODEL, "created_at": CREATED}
        if chat:
            message = {"role": "assistant", "content": content}
            if thinking is not None:
                message["thinking"] = thinking
            chunk["message"] = message
        else:
            chunk["response"] = content
            if thinking is not None:
                chunk["thinking"] = thinking
        return chunk

    def chunks(self, body: dict[str, Any], chat: bool) -> list[dict[str, Any]]:
        seed = int(body.get("options", {}).get("seed", 0))
        want_logprobs = bool(body.get("logprobs")) and self.logprobs
        k = int(body.get("top_logprobs", 0))
        out = [self._piece(chat, "", t) for t in self.thinking if body.get("think")]
        for token in self.tokens(seed):
            chunk = self._piece(chat, token[0])
            chunk["done"] = False
            if want_logprobs:
                chunk["logprobs"] = [self._logprobs(token, k)]
            out.append(chunk)
        for c in out:
            c["done"] = False
        final = self._piece(chat, "")
        final.update({
            "done": True, "done_reason": self.done_reason, "total_duration": 812_345_678,
            "load_duration": 40_123_456, "prompt_eval_count": 31,
            "prompt_eval_duration": 21_000_000,
            "eval_count": len(self.thinking) * bool(body.get("think")) + 3,
            "eval_duration": 61_000_000,
        })
        if not chat:
            final["context"] = [1, 9690, 198, 2]
        out.append(final)
        return out

    @staticmethod
    def merge(chunks: list[dict[str, Any]], chat: bool) -> dict[str, Any]:
        """One plain (stream: false) response: Ollama joins the pieces into the final object."""
        whole = dict(chunks[-1])
        text = "".join((c["message"]["content"] if chat else c["response"]) for c in chunks)
        thought = "".join((c["message"] if chat else c).get("thinking", "") for c in chunks)
        if chat:
            whole["message"] = {"role": "assistant", "content": text}
            if thought:
                whole["message"]["thinking"] = thought
        else:
            whole["response"] = text
            if thought:
                whole["thinking"] = thought
        logprobs = [lp for c in chunks for lp in c.get("logprobs", [])]
        if logprobs:
            whole["logprobs"] = logprobs
        return whole

    # -- the HTTP side -----------------------------------------------------------------------
    def handle(self, request: WRequest) -> Response:
        body = json.loads(request.get_data())
        chat = request.path == "/api/chat"
        with self.lock:
            self.bodies.append(body)
            self.paths.append(request.path)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.barrier is not None:
                self.barrier.wait()
            if body["model"] != MODEL:
                return Response(json.dumps({"error": f"model '{body['model']}' not found"}),
                                status=404, content_type="application/json; charset=utf-8")
            chunks = self.chunks(body, chat)
            mangle = self.mangle or (lambda obj, final: obj)
            if not body.get("stream", True):
                return Response(json.dumps(mangle(self.merge(chunks, chat), True)),
                                content_type="application/json; charset=utf-8")
            lines = [json.dumps(mangle(c, i == len(chunks) - 1)) + "\n"
                     for i, c in enumerate(chunks)]
            if self.error_after is not None:
                lines = lines[: self.error_after]
                if self.error_line is not None:
                    lines.append(json.dumps(self.error_line) + "\n")

            def body_iter() -> Iterator[str]:
                yield from lines

            return Response(body_iter(), content_type="application/x-ndjson")
        finally:
            with self.lock:
                self.in_flight -= 1


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeOllama:
    return FakeOllama(httpserver)


def backend_for(server: HTTPServer, **kw: Any) -> OllamaBackend:
    return OllamaBackend(host=f"127.0.0.1:{server.port}", **kw)


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


# -- generate, streamed and plain ----------------------------------------------------------------

def test_streamed_and_plain_generate_give_the_same_completion(
        httpserver: HTTPServer, fake: FakeOllama) -> None:
    request = Request(prompt="Say your seed.", seed=7, top_logprobs=2)
    streamed = backend_for(httpserver).generate(request)[0]
    plain = backend_for(httpserver, stream=False).generate(request)[0]

    assert [b["stream"] for b in fake.bodies] == [True, False]
    assert fake.paths == ["/api/generate", "/api/generate"]
    assert streamed.text == "Seed 7."
    assert streamed.backend == "ollama"
    assert streamed.model == MODEL
    assert streamed.seed == 7
    assert streamed.prompt_tokens == 31
    assert streamed.completion_tokens == 3
    assert streamed.finish_reason == "stop"
    assert streamed.thinking is None
    assert len(streamed.tokens) == 3
    assert dataclasses.replace(streamed, latency_s=0.0) == dataclasses.replace(plain, latency_s=0.0)


def test_the_json_sent_for_three_samples(httpserver: HTTPServer, fake: FakeOllama) -> None:
    request = Request(prompt="Name a colour.", temperature=0.5, top_p=0.9, top_k=5, max_tokens=7,
                      stop=("\n\n", "END"), seed=10, top_logprobs=3, think=True)
    out = backend_for(httpserver, concurrency=1).generate(request, n=3)

    assert [c.seed for c in out] == [10, 11, 12]
    assert [c.text for c in out] == ["Seed 10.", "Seed 11.", "Seed 12."]
    for seed, body in zip((10, 11, 12), fake.bodies, strict=True):
        assert body["model"] == MODEL
        assert body["prompt"] == "Name a colour."
        assert body["stream"] is True
        assert body["think"] is True
        assert body["logprobs"] is True
        assert body["top_logprobs"] == 3
        assert body["options"] == {"seed": seed, "temperature": 0.5, "top_p": 0.9, "top_k": 5,
                                   "num_predict": 7, "stop": ["\n\n", "END"]}
        assert "messages" not in body
    assert out[0].options == {"temperature": 0.5, "top_p": 0.9, "top_k": 5, "max_tokens": 7,
                              "stop": ["\n\n", "END"], "top_logprobs": 3, "think": True}


def test_defaults_leave_out_logprobs_think_and_stop(httpserver: HTTPServer,
                                                   fake: FakeOllama) -> None:
    c = backend_for(httpserver).generate(Request(prompt="Hi"))[0]

    body = fake.bodies[0]
    for key in ("logprobs", "top_logprobs", "think"):
        assert key not in body
    # top_k is always sent, so both backends sample alike
    assert body["options"] == {"seed": 0, "temperature": 0.8, "top_p": 1.0, "top_k": 40,
                               "num_predict": 256}
    assert c.tokens == ()
    assert c.text == "Seed 0."


def test_request_model_overrides_the_backend_model(httpserver: HTTPServer,
                                                   fake: FakeOllama) -> None:
    backend = backend_for(httpserver, model="other:1b")
    c = backend.generate(Request(prompt="Hi", model=MODEL))[0]
    assert fake.bodies[0]["model"] == MODEL
    assert c.model == MODEL


# -- chat ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("stream", [True, False])
def test_chat_with_messages(httpserver: HTTPServer, fake: FakeOllama, stream: bool) -> None:
    request = Request(messages=(Message("system", "Answer briefly."), Message("user", "Hello?"),
                                Message("assistant", "Hi."), Message("user", "Your seed?")),
                      seed=3)
    c = backend_for(httpserver, stream=stream).generate(request)[0]

    assert fake.paths == ["/api/chat"]
    body = fake.bodies[0]
    assert body["messages"] == [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "Hello?"},
        {"role": "assistant", "content": "Hi."},
        {"role": "user", "content": "Your seed?"},
    ]
    assert "prompt" not in body
    assert body["stream"] is stream
    assert body["options"]["seed"] == 3
    assert c.text == "Seed 3."
    assert (c.prompt_tokens, c.completion_tokens) == (31, 3)


# -- logprobs ------------------------------------------------------------------------------------

@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("prompt", [True, False])
def test_logprobs_become_tokens_with_alternatives(httpserver: HTTPServer, fake: FakeOllama,
                                                  stream: bool, prompt: bool) -> None:
    kw: dict[str, Any] = ({"prompt": "x"} if prompt
                          else {"messages": (Message("user", "x"),)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = backend_for(httpserver, stream=stream).generate(Request(**kw, seed=4,
                                                                    top_logprobs=3))[0]

    assert [t.text for t in c.tokens] == ["Seed", " 4", "."]
    assert "".join(t.text for t in c.tokens) == c.text
    assert [t.logprob for t in c.tokens] == [-0.25, -1.5, -0.125]
    assert c.has_logprobs
    second = c.tokens[1]
    assert [(a.text, a.logprob) for a in second.top] == [(" 4", -1.5), (" 0", -1.6), (" 1", -2.0)]
    assert c.mean_logprob == pytest.approx((-0.25 - 1.5 - 0.125) / 3)


def test_old_server_without_logprobs_warns_once(httpserver: HTTPServer) -> None:
    fake = FakeOllama(httpserver, logprobs=False, version="0.12.10")
    backend = backend_for(httpserver, concurrency=1)
    request = Request(prompt="x", top_logprobs=5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = backend.generate(request, n=3)
        second = backend.generate(request.with_seed(20), n=2)

    assert len(fake.bodies) == 5
    assert all(b["logprobs"] is True and b["top_logprobs"] == 5 for b in fake.bodies)
    assert [c.tokens for c in first + second] == [()] * 5
    assert [c.text for c in first + second] == [f"Seed {s}." for s in (0, 1, 2, 20, 21)]
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "0.12.10" in message
    assert "upgrade Ollama to 0.12.11 or newer" in message

    # another backend instance warns again (once)
    with warnings.catch_warnings(record=True) as again:
        warnings.simplefilter("always")
        backend_for(httpserver).generate(request, n=2)
    assert len(again) == 1


# -- thinking ------------------------------------------------------------------------------------

@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("prompt", [True, False])
def test_thinking_is_kept_apart_from_the_answer(httpserver: HTTPServer, stream: bool,
                                                prompt: bool) -> None:
    fake = FakeOllama(httpserver, thinking=("The user ", "wants ", "a seed."))
    kw: dict[str, Any] = ({"prompt": "x"} if prompt
                          else {"messages": (Message("user", "x"),)})
    c = backend_for(httpserver, stream=stream).generate(Request(**kw, think=True, seed=2))[0]

    assert fake.bodies[0]["think"] is True
    assert c.thinking == "The user wants a seed."
    assert c.text == "Seed 2."
    assert c.completion_tokens == 6


# -- finish reason -------------------------------------------------------------------------------

@pytest.mark.parametrize("stream", [True, False])
def test_done_reason_length_means_finish_reason_length(httpserver: HTTPServer,
                                                       stream: bool) -> None:
    FakeOllama(httpserver, done_reason="length")
    c = backend_for(httpserver, stream=stream).generate(Request(prompt="x", max_tokens=3))[0]
    assert c.finish_reason == "length"


# -- errors --------------------------------------------------------------------------------------

@pytest.mark.parametrize("stream", [True, False])
def test_unknown_model_says_ollama_pull(httpserver: HTTPServer, fake: FakeOllama,
                                        stream: bool) -> None:
    backend = backend_for(httpserver, model="llama9:70b", stream=stream)
    with pytest.raises(ModelNotFound) as info:
        backend.generate(Request(prompt="x"))
    assert "ollama pull llama9:70b" in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


@pytest.mark.parametrize("stream", [True, False])
def test_connection_refused_names_the_host(stream: bool) -> None:
    port = closed_port()
    backend = OllamaBackend(host=f"127.0.0.1:{port}", stream=stream)
    with pytest.raises(BackendUnavailable) as info:
        backend.generate(Request(prompt="x"), n=2)
    message = str(info.value)
    assert f"http://127.0.0.1:{port}" in message
    assert "ollama serve" in message
    assert "OLLAMA_HOST" in message
    assert info.value.__suppress_context__
    assert backend.ping() is False
    assert backend.version() is None
    with pytest.raises(BackendUnavailable):
        backend.list_models()


def test_error_line_mid_stream(httpserver: HTTPServer) -> None:
    FakeOllama(httpserver, error_after=2)
    with pytest.raises(BackendError) as info:
        backend_for(httpserver).generate(Request(prompt="x"))
    assert type(info.value) is BackendError
    message = str(info.value)
    assert "mid-answer" in message
    assert "llama runner process has terminated" in message
    assert "again" in message


# -- an answer that stops early is an error, never a completion ----------------------------------

@pytest.mark.parametrize("error_line", [
    {"error": "llama runner process has terminated: signal: killed"},
    {"error": ""},
    {"error": {"message": "CUDA error: out of memory"}},
    {"model": MODEL, "created_at": CREATED, "done": True, "error": "context canceled"},
    None,  # no error line: the stream just stops before its final line
], ids=["error", "empty error", "error object", "error with done", "no final line"])
@pytest.mark.parametrize("chat", [False, True])
def test_a_stream_that_stops_after_some_text_is_an_error(
        httpserver: HTTPServer, error_line: Any, chat: bool) -> None:
    # the first two lines carry "Seed 3" (chat: "Seed" and " 3"), then the answer stops
    FakeOllama(httpserver, error_after=2, error_line=error_line)
    request = (Request(messages=(Message("user", "x"),), seed=3) if chat
               else Request(prompt="x", seed=3))
    delivered: list[Any] = []
    with pytest.raises(BackendError) as info:
        backend_for(httpserver).generate(request, on_result=delivered.append)
    assert type(info.value) is BackendError
    message = str(info.value)
    assert f"127.0.0.1:{httpserver.port}" in message
    assert "again" in message
    assert delivered == []  # never handed over as an answer
    assert info.value.__suppress_context__ or info.value.__cause__ is None


def _lp(chunk: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The chunk with its first logprob entry changed."""
    if not chunk.get("logprobs"):
        return chunk
    return {**chunk, "logprobs": [{**chunk["logprobs"][0], **changes}, *chunk["logprobs"][1:]]}


def _top(chunk: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The chunk with the first alternative of its first logprob entry changed."""
    if not chunk.get("logprobs"):
        return chunk
    first = chunk["logprobs"][0]
    return _lp(chunk, top_logprobs=[{**first["top_logprobs"][0], **changes},
                                    *first["top_logprobs"][1:]])


def _without(chunk: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in chunk.items() if k != key}


Mangle = Callable[[dict[str, Any], bool], Any]

MALFORMED: list[tuple[str, bool, Mangle, str]] = [
    ("no message", True, lambda c, final: _without(c, "message"), "`message` is missing"),
    ("message is a list", True, lambda c, final: {**c, "message": [c["message"]]},
     "`message` is a list, not an object"),
    ("content is a number", True,
     lambda c, final: {**c, "message": {**c["message"], "content": 4}},
     "`message.content` is the number 4, not a string"),
    ("response is a number", False, lambda c, final: {**c, "response": 7},
     "`response` is the number 7, not a string"),
    ("logprobs is a string", False, lambda c, final: {**c, "logprobs": "high"},
     "`logprobs` is the string 'high', not a list"),
    ("a logprob is 'high'", False, lambda c, final: _lp(c, logprob="high"),
     "`logprobs[0].logprob` is the string 'high', not a number"),
    ("a token is a number", False, lambda c, final: _lp(c, token=5),
     "`logprobs[0].token` is the number 5, not a string"),
    ("an alternative's logprob is null", False, lambda c, final: _top(c, logprob=None),
     "`logprobs[0].top_logprobs[0].logprob` is null, not a number"),
    ("a logprob entry is a list", False,
     lambda c, final: {**c, "logprobs": [[1, 2]]} if c.get("logprobs") else c,
     "`logprobs[0]` is a list, not an object"),
    ("eval_count is a string", False,
     lambda c, final: {**c, "eval_count": "3"} if final else c,
     "`eval_count` is the string '3', not a whole number >= 0"),
    ("prompt_eval_count is negative", True,
     lambda c, final: {**c, "prompt_eval_count": -31} if final else c,
     "`prompt_eval_count` is the number -31, not a whole number >= 0"),
    ("done is a string", False, lambda c, final: {**c, "done": "yes"} if final else c,
     "`done` is the string 'yes', not true or false"),
    ("a line is a list", False, lambda c, final: [c], "is a list, not an object"),
    ("a line is a string", True, lambda c, final: "Seed", "is the string 'Seed', not an object"),
]


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize(("case", "chat", "mangle", "field"), MALFORMED,
                         ids=[m[0] for m in MALFORMED])
def test_a_malformed_reply_is_one_backend_error_naming_the_field(
        httpserver: HTTPServer, case: str, chat: bool, mangle: Mangle, field: str,
        stream: bool) -> None:
    # these used to surface as pydantic's ValidationError, AttributeError or TypeError, or to be
    # taken as they were
    FakeOllama(httpserver, mangle=mangle)
    request = (Request(messages=(Message("user", "x"),), top_logprobs=2) if chat
               else Request(prompt="x", top_logprobs=2))
    with pytest.raises(BackendError) as info:
        backend_for(httpserver, stream=stream).generate(request)
    assert type(info.value) is BackendError
    message = str(info.value)
    assert f"Ollama at http://127.0.0.1:{httpserver.port}" in message
    assert field in message
    assert "OLLAMA_HOST" in message and "Update Ollama" in message
    assert info.value.__suppress_context__


# -- an overall deadline per request ------------------------------------------------------------

@pytest.mark.parametrize("stream", [True, False])
def test_a_server_that_trickles_is_cut_at_the_deadline(threaded_server: HTTPServer,
                                                       stream: bool) -> None:
    def trickle(request: WRequest) -> Response:
        def body() -> Iterator[str]:
            yield json.dumps({"model": MODEL, "created_at": CREATED})[:-1] + ', "response": "'
            for _ in range(60):  # one byte a second: never silent for timeout=3 s
                time.sleep(1.0)
                yield "a"

        return Response(body(), content_type="application/x-ndjson")

    threaded_server.expect_request("/api/generate").respond_with_handler(trickle)
    backend = backend_for(threaded_server, timeout=3, seconds_per_token=0.02, stream=stream)
    assert backend.deadline_for(Request(prompt="x", max_tokens=50)) == pytest.approx(4.0)
    t0 = time.monotonic()
    with pytest.raises(BackendError) as info:
        backend.generate(Request(prompt="x", max_tokens=50))
    elapsed = time.monotonic() - t0
    assert elapsed < 15  # the deadline is 4 s; without one the call took the whole minute
    message = str(info.value)
    assert "still answering" in message
    assert "deadline of 4 s (3 s + 50 tokens × 0.02 s)" in message
    assert "seconds_per_token=" in message
    assert info.value.__suppress_context__


def test_the_deadline_is_sized_to_the_request() -> None:
    backend = OllamaBackend(timeout=300)
    assert backend.deadline_for(Request(prompt="x", max_tokens=256)) == 300 + 256
    fixed = OllamaBackend(deadline_s=90)
    assert fixed.deadline_for(Request(prompt="x", max_tokens=4000)) == 90
    for bad in ({"deadline_s": 0}, {"seconds_per_token": -1}, {"timeout": "soon"}):
        with pytest.raises(ValueError, match="must be a number of seconds > 0"):
            OllamaBackend(**bad)


def test_server_error_status_is_reported(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/generate").respond_with_json(
        {"error": "unable to allocate CUDA0 buffer"}, status=500)
    with pytest.raises(BackendError) as info:
        backend_for(httpserver, stream=False).generate(Request(prompt="x"))
    assert type(info.value) is BackendError
    assert "500" in str(info.value)
    assert "unable to allocate CUDA0 buffer" in str(info.value)


# -- concurrency ---------------------------------------------------------------------------------

@pytest.fixture
def threaded_server() -> Iterator[HTTPServer]:
    server = HTTPServer(threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


def test_four_samples_two_at_a_time_come_back_in_seed_order(threaded_server: HTTPServer) -> None:
    # every request waits until a second one is in flight: passes only with 2 at once
    fake = FakeOllama(threaded_server, barrier=threading.Barrier(2, timeout=10))
    seen: list[int] = []
    out = backend_for(threaded_server, concurrency=2).generate(
        Request(prompt="x", seed=100), n=4, on_result=lambda c: seen.append(c.seed))

    assert [c.seed for c in out] == [100, 101, 102, 103]
    assert [c.text for c in out] == [f"Seed {s}." for s in (100, 101, 102, 103)]
    assert sorted(seen) == [100, 101, 102, 103]
    assert sorted(b["options"]["seed"] for b in fake.bodies) == [100, 101, 102, 103]
    assert fake.max_in_flight == 2


# -- configuration and small calls ---------------------------------------------------------------

@pytest.mark.parametrize(("given", "expected"), [
    (None, "http://127.0.0.1:11434"),
    ("", "http://127.0.0.1:11434"),
    ("127.0.0.1:5000", "http://127.0.0.1:5000"),
    ("example.com", "http://example.com:11434"),
    ("example.com:8080/ollama/", "http://example.com:8080/ollama"),
    ("https://example.com", "https://example.com:443"),
    ("http://localhost:11434/", "http://localhost:11434"),
    ("0.0.0.0", "http://127.0.0.1:11434"),
    ("[::1]:9000", "http://[::1]:9000"),
])
def test_host_normalisation(given: str | None, expected: str) -> None:
    assert normalise_host(given) == expected


def test_defaults_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "192.168.1.20:11500")
    monkeypatch.setenv("OLLAMA_NUM_PARALLEL", "3")
    b = OllamaBackend()
    assert b.host == "http://192.168.1.20:11500"
    assert b.concurrency == 3
    assert b.model == "smollm2:135m"
    assert b.describe() == "ollama at http://192.168.1.20:11500 · model smollm2:135m"
    assert OllamaBackend(host="h:1", concurrency=7).host == "http://h:1"
    assert OllamaBackend(concurrency=7).concurrency == 7
    for bad in ("", "zero", "0", "-2"):
        monkeypatch.setenv("OLLAMA_NUM_PARALLEL", bad)
        assert OllamaBackend().concurrency == 4
    monkeypatch.delenv("OLLAMA_HOST")
    monkeypatch.delenv("OLLAMA_NUM_PARALLEL")
    b = OllamaBackend()
    assert (b.host, b.concurrency) == ("http://127.0.0.1:11434", 4)
    with pytest.raises(ValueError, match="concurrency"):
        OllamaBackend(concurrency=0)


def test_version_models_and_ping(httpserver: HTTPServer, fake: FakeOllama) -> None:
    backend = backend_for(httpserver)
    assert backend.ping() is True
    assert backend.version() == "0.13.0"
    assert backend.list_models() == [MODEL, "qwen3:0.6b", "phi3:latest"]
    assert backend.has_model()
    assert backend.has_model("qwen3:0.6b")
    assert backend.has_model("phi3")
    assert not backend.has_model("qwen3")
    assert not backend.has_model("llama3.2:1b")


def test_ping_is_false_for_a_server_that_is_not_ollama(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/version").respond_with_data("<html>hello</html>",
                                                                content_type="text/html")
    assert backend_for(httpserver).ping() is False


# -- a real Ollama (opt-in) ----------------------------------------------------------------------

@pytest.mark.ollama_live
def test_live_ollama_two_seeds() -> None:
    backend = OllamaBackend(host=os.environ.get("OLLAMA_HOST"))
    if not backend.ping(timeout=2.0):
        pytest.skip(f"no Ollama answered at {backend.host}")
    models = backend.list_models()
    assert models, f"Ollama at {backend.host} has no models: run  ollama pull smollm2:135m"
    model = MODEL if MODEL in models else models[0]
    out = backend.generate(Request(prompt="Name one fruit.", model=model, max_tokens=16,
                                   temperature=0.8, seed=1), n=2)
    assert [c.seed for c in out] == [1, 2]
    for c in out:
        assert c.backend == "ollama"
        assert c.model == model
        assert c.prompt_tokens > 0
        assert c.completion_tokens > 0
