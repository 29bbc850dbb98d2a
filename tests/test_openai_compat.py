"""OpenAICompatBackend against a local server speaking the OpenAI JSON that vLLM, SGLang and
llama-server send, and, for real, against the embedded llama-server's ``/v1``."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request as WRequest
from werkzeug import Response

from itc_lab.backends.openai_compat import OpenAICompatBackend, _split, normalise_base_url
from itc_lab.backends.registry import create_backend
from itc_lab.errors import BackendError, BackendUnavailable, ModelNotFound
from itc_lab.types import Completion, Message, Request

MODEL = "HuggingFaceTB/SmolLM2-1.7B-Instruct"
OTHER = "Qwen/Qwen3-0.6B"


def _entry(token: str, lp: float) -> dict[str, Any]:
    return {"token": token, "logprob": lp, "bytes": list(token.encode())}


class FakeOpenAI:
    """Answers /v1/chat/completions and /v1/completions as vLLM does, from a scripted answer.

    Choice i of a request with seed s answers ``Seed s.`` (i = 0) or ``Seed s choice i.``, split
    into tokens with logprobs. Every body and Authorization header is kept. ``mangle`` rewrites
    each answer before it is sent (for malformed replies).
    """

    def __init__(self, server: HTTPServer, *, finish_reason: str = "stop",
                 reasoning: dict[str, str] | None = None, legacy_logprobs: bool = True,
                 honour_n: bool = True, latency: float = 0.0,
                 barrier: threading.Barrier | None = None, models: tuple[str, ...] = (MODEL,),
                 key: str | None = None,
                 mangle: Callable[[dict[str, Any]], Any] | None = None) -> None:
        self.mangle = mangle
        self.finish_reason = finish_reason
        self.reasoning = reasoning or {}
        self.legacy_logprobs = legacy_logprobs
        self.honour_n = honour_n
        self.latency = latency
        self.barrier = barrier
        self.models = models
        self.key = key
        self.bodies: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.auth: list[str | None] = []
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        for path in ("/v1/chat/completions", "/v1/completions"):
            server.expect_request(path, method="POST").respond_with_handler(self.handle)
        server.expect_request("/v1/models", method="GET").respond_with_handler(self.list_models)

    @staticmethod
    def tokens(seed: int, choice: int) -> list[tuple[str, float, list[tuple[str, float]]]]:
        out = [
            ("Seed", -0.25, [("Seed", -0.25), ("The", -1.75), ("A", -2.5), ("It", -3.0)]),
            (f" {seed}", -1.5, [(f" {seed}", -1.5), (" 0", -1.6), (" 1", -2.0), (" 2", -2.2)]),
        ]
        if choice:
            out += [(" choice", -0.5, [(" choice", -0.5), (" pick", -1.5)]),
                    (f" {choice}", -0.75, [(f" {choice}", -0.75), (" 9", -2.0)])]
        return [*out, (".", -0.125, [(".", -0.125), ("!", -2.25), ("\n", -3.5), (",", -4.0)])]

    def _unauthorised(self, request: WRequest) -> Response | None:
        if self.key is not None and request.headers.get("Authorization") != f"Bearer {self.key}":
            return Response(json.dumps({"error": "Unauthorized"}), status=401,
                            content_type="application/json")
        return None

    def list_models(self, request: WRequest) -> Response:
        denied = self._unauthorised(request)
        if denied:
            return denied
        data = [{"id": m, "object": "model", "created": 1732000000, "owned_by": "vllm",
                 "root": m, "parent": None, "max_model_len": 8192} for m in self.models]
        return Response(json.dumps({"object": "list", "data": data}),
                        content_type="application/json")

    def _chat_choice(self, i: int, seed: int, k: int | None) -> dict[str, Any]:
        toks = self.tokens(seed, i)
        message: dict[str, Any] = {"role": "assistant", "content": "".join(t for t, _, _ in toks),
                                   "tool_calls": []}
        message.update(self.reasoning)
        choice: dict[str, Any] = {"index": i, "message": message, "logprobs": None,
                                  "finish_reason": self.finish_reason, "stop_reason": None}
        if k is not None:
            choice["logprobs"] = {"content": [
                {**_entry(t, lp), "top_logprobs": [_entry(a, v) for a, v in top[:k]]}
                for t, lp, top in toks]}
        return choice

    def _text_choice(self, i: int, seed: int, k: int | None) -> dict[str, Any]:
        toks = self.tokens(seed, i)
        choice: dict[str, Any] = {"index": i, "text": "".join(t for t, _, _ in toks),
                                  "logprobs": None, "finish_reason": self.finish_reason,
                                  "stop_reason": None, "prompt_logprobs": None}
        if k is not None and self.legacy_logprobs:
            offsets, at = [], 0
            for t, _, _ in toks:
                offsets.append(at)
                at += len(t)
            # the alternatives as a mapping, least likely first: the client must sort them
            choice["logprobs"] = {
                "text_offset": offsets,
                "token_logprobs": [lp for _, lp, _ in toks],
                "tokens": [t for t, _, _ in toks],
                "top_logprobs": [dict(sorted(top[:k], key=lambda a: a[1])) for _, _, top in toks],
            }
        elif k is not None:  # llama-server answers /v1/completions in the chat shape
            choice["logprobs"] = {"content": [
                {**_entry(t, lp), "top_logprobs": [_entry(a, v) for a, v in top[:k]]}
                for t, lp, top in toks]}
        return choice

    def handle(self, request: WRequest) -> Response:
        body = json.loads(request.get_data())
        with self.lock:
            self.bodies.append(body)
            self.paths.append(request.path)
            self.auth.append(request.headers.get("Authorization"))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.barrier is not None:
                self.barrier.wait()
            if self.latency:
                time.sleep(self.latency)
            denied = self._unauthorised(request)
            if denied:
                return denied
            if body["model"] not in self.models:
                error = {"message": f"The model `{body['model']}` does not exist.",
                         "type": "NotFoundError", "param": "model", "code": 404}
                return Response(json.dumps({"error": error}), status=404,
                                content_type="application/json")
            chat = request.path.endswith("/chat/completions")
            n = int(body.get("n", 1)) if self.honour_n else 1
            seed = int(body.get("seed", 0))
            if chat:
                k = int(body.get("top_logprobs", 0)) if body.get("logprobs") else None
                choices = [self._chat_choice(i, seed, k) for i in range(n)]
            else:
                k = body.get("logprobs")
                choices = [self._text_choice(i, seed, k) for i in range(n)]
            completion = sum(len(self.tokens(seed, i)) for i in range(n))
            payload = {
                "id": "chatcmpl-8f2b" if chat else "cmpl-8f2b",
                "object": "chat.completion" if chat else "text_completion",
                "created": 1732000000, "model": body["model"], "choices": choices,
                "usage": {"prompt_tokens": 31, "total_tokens": 31 + completion,
                          "completion_tokens": completion, "prompt_tokens_details": None},
            }
            if self.mangle is not None:
                payload = self.mangle(payload)
            return Response(json.dumps(payload), content_type="application/json")
        finally:
            with self.lock:
                self.in_flight -= 1


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ITC_LAB_BASE_URL", "ITC_LAB_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeOpenAI:
    return FakeOpenAI(httpserver)


def backend_for(server: HTTPServer, **kw: Any) -> OpenAICompatBackend:
    kw.setdefault("model", MODEL)
    return OpenAICompatBackend(f"http://127.0.0.1:{server.port}/v1", **kw)


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def _no_latency(cs: list[Completion]) -> list[Completion]:
    return [dataclasses.replace(c, latency_s=0.0) for c in cs]


# -- the JSON sent -------------------------------------------------------------------------------

def test_the_chat_json_sent_for_three_samples(httpserver: HTTPServer, fake: FakeOpenAI) -> None:
    request = Request(prompt="Name a colour.", temperature=0.5, top_p=0.9, top_k=5, max_tokens=7,
                      stop=("\n\n", "END"), seed=10, top_logprobs=3)
    out = backend_for(httpserver, concurrency=1, api_key="sk-class").generate(request, n=3)

    assert fake.paths == ["/v1/chat/completions"] * 3
    assert fake.auth == ["Bearer sk-class"] * 3
    for seed, body in zip((10, 11, 12), fake.bodies, strict=True):
        assert body == {
            "model": MODEL,
            "messages": [{"role": "user", "content": "Name a colour."}],
            "temperature": 0.5, "top_p": 0.9, "max_tokens": 7, "seed": seed, "stream": False,
            "stop": ["\n\n", "END"], "logprobs": True, "top_logprobs": 3,
            "top_k": 5, "min_p": 0.0,
        }
    assert [c.seed for c in out] == [10, 11, 12]
    assert [c.text for c in out] == ["Seed 10.", "Seed 11.", "Seed 12."]
    assert out[0].options == {"temperature": 0.5, "top_p": 0.9, "top_k": 5, "max_tokens": 7,
                              "stop": ["\n\n", "END"], "top_logprobs": 3}


def test_defaults_leave_out_logprobs_stop_and_the_key(httpserver: HTTPServer,
                                                     fake: FakeOpenAI) -> None:
    c = backend_for(httpserver).generate(Request(prompt="Hi", top_k=0))[0]
    body = fake.bodies[0]
    for key in ("logprobs", "top_logprobs", "stop", "n", "chat_template_kwargs"):
        assert key not in body
    assert body["top_k"] == -1  # "no limit", as vLLM, SGLang and llama-server all read it
    assert fake.auth == [None]
    assert c.tokens == ()
    assert c.text == "Seed 0."


def test_send_top_k_false_and_extra_body(httpserver: HTTPServer, fake: FakeOpenAI) -> None:
    backend_for(httpserver, send_top_k=False,
                extra_body={"repetition_penalty": 1.1}).generate(Request(prompt="Hi"))
    body = fake.bodies[0]
    assert "top_k" not in body and "min_p" not in body
    assert body["repetition_penalty"] == 1.1


def test_messages_and_think_are_sent_as_given(httpserver: HTTPServer, fake: FakeOpenAI) -> None:
    request = Request(messages=(Message("system", "Answer briefly."), Message("user", "Hello?"),
                                Message("assistant", "Hi."), Message("user", "Your seed?")),
                      seed=3, think=False)
    c = backend_for(httpserver).generate(request)[0]
    body = fake.bodies[0]
    assert body["messages"] == [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "Hello?"},
        {"role": "assistant", "content": "Hi."},
        {"role": "user", "content": "Your seed?"},
    ]
    assert body["chat_template_kwargs"] == {"enable_thinking": False}
    assert c.options["think"] is False
    assert c.text == "Seed 3."


def test_request_model_overrides_the_backend_model(httpserver: HTTPServer) -> None:
    fake = FakeOpenAI(httpserver, models=(MODEL, OTHER))
    c = backend_for(httpserver).generate(Request(prompt="x", model=OTHER))[0]
    assert fake.bodies[0]["model"] == OTHER
    assert c.model == OTHER


# -- parsing -------------------------------------------------------------------------------------

def test_chat_response_becomes_a_completion(httpserver: HTTPServer, fake: FakeOpenAI) -> None:
    c = backend_for(httpserver).generate(Request(prompt="x", seed=4, top_logprobs=3))[0]

    assert c.text == "Seed 4."
    assert (c.backend, c.model, c.seed) == ("openai", MODEL, 4)
    assert [t.text for t in c.tokens] == ["Seed", " 4", "."]
    assert "".join(t.text for t in c.tokens) == c.text
    assert [t.logprob for t in c.tokens] == [-0.25, -1.5, -0.125]
    assert [(a.text, a.logprob) for a in c.tokens[1].top] == [(" 4", -1.5), (" 0", -1.6),
                                                              (" 1", -2.0)]
    assert (c.prompt_tokens, c.completion_tokens) == (31, 3)
    assert c.finish_reason == "stop"
    assert c.thinking is None
    assert c.mean_logprob == pytest.approx((-0.25 - 1.5 - 0.125) / 3)
    assert c.latency_s > 0


def test_top_logprobs_one_gives_the_chosen_token_only(httpserver: HTTPServer,
                                                      fake: FakeOpenAI) -> None:
    c = backend_for(httpserver).generate(Request(prompt="x", top_logprobs=1))[0]
    assert fake.bodies[0]["top_logprobs"] == 1
    assert [[a.text for a in t.top] for t in c.tokens] == [["Seed"], [" 0"], ["."]]


@pytest.mark.parametrize(("sent", "expected"), [("length", "length"), ("stop", "stop"),
                                                ("eos", "stop"), ("abort", "stop")])
def test_finish_reason(httpserver: HTTPServer, sent: str, expected: str) -> None:
    FakeOpenAI(httpserver, finish_reason=sent)
    assert backend_for(httpserver).generate(Request(prompt="x"))[0].finish_reason == expected


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_reasoning_becomes_thinking(httpserver: HTTPServer, field: str) -> None:
    FakeOpenAI(httpserver, reasoning={field: "The user wants a seed."})
    c = backend_for(httpserver).generate(Request(prompt="x", seed=2))[0]
    assert c.thinking == "The user wants a seed."
    assert c.text == "Seed 2."


@pytest.mark.parametrize("legacy", [True, False])
def test_completions_mode_sends_the_raw_prompt(httpserver: HTTPServer, legacy: bool) -> None:
    fake = FakeOpenAI(httpserver, legacy_logprobs=legacy, finish_reason="length")
    backend = backend_for(httpserver, mode="completions")
    c = backend.generate(Request(prompt="<|im_start|>user\nx<|im_end|>\n", seed=6,
                                 top_logprobs=2, stop=("\n",)))[0]

    assert fake.paths == ["/v1/completions"]
    body = fake.bodies[0]
    assert body["prompt"] == "<|im_start|>user\nx<|im_end|>\n"
    assert "messages" not in body
    assert body["logprobs"] == 2  # a number on this endpoint
    assert "top_logprobs" not in body
    assert body["stop"] == ["\n"]
    assert c.text == "Seed 6."
    assert [t.logprob for t in c.tokens] == [-0.25, -1.5, -0.125]
    assert [[a.text for a in t.top] for t in c.tokens] == [["Seed", "The"], [" 6", " 0"],
                                                           [".", "!"]]
    assert c.finish_reason == "length"
    assert c.options["raw_prompt"] is True
    # a chat request in completions mode still goes to the chat endpoint
    backend.generate(Request(messages=(Message("user", "x"),)))
    assert fake.paths[-1] == "/v1/chat/completions"


# -- n choices in one request --------------------------------------------------------------------

def test_use_n_sends_one_request_with_n(httpserver: HTTPServer, fake: FakeOpenAI) -> None:
    seen: list[int] = []
    out = backend_for(httpserver, use_n=True).generate(
        Request(prompt="x", seed=7, top_logprobs=2), n=3, on_result=lambda c: seen.append(c.seed))

    assert len(fake.bodies) == 1
    assert fake.bodies[0]["n"] == 3
    assert fake.bodies[0]["seed"] == 7
    assert [c.seed for c in out] == [7, 8, 9]  # labels; the server used seed 7 for all
    assert [c.text for c in out] == ["Seed 7.", "Seed 7 choice 1.", "Seed 7 choice 2."]
    assert seen == [7, 8, 9]
    assert all(c.options["n"] == 3 and c.options["n_seed"] == 7 for c in out)
    # the prompt is counted once; generated tokens per choice come from its logprobs
    assert [c.prompt_tokens for c in out] == [31, 0, 0]
    assert [c.completion_tokens for c in out] == [3, 5, 5]
    assert sum(c.completion_tokens for c in out) == 13  # the server's usage


def test_use_n_without_logprobs_shares_the_usage_out(httpserver: HTTPServer,
                                                     fake: FakeOpenAI) -> None:
    out = backend_for(httpserver, use_n=True).generate(Request(prompt="x", seed=7), n=3)
    counts = [c.completion_tokens for c in out]
    assert sum(counts) == 13  # the server's usage
    # in proportion to text length: 7, 16 and 16 characters of 39
    exact = [13 * 7 / 39, 13 * 16 / 39, 13 * 16 / 39]
    assert all(abs(a - b) < 1 for a, b in zip(counts, exact, strict=True))


@pytest.mark.parametrize(("total", "weights"), [(13, [7, 16, 16]), (10, [1, 1, 1]), (0, [3, 4]),
                                                (7, [0, 0]), (5, [5]), (100, [1, 2, 3, 4])])
def test_split_sums_to_the_total_and_is_within_one_of_exact(total: int,
                                                            weights: list[int]) -> None:
    shares = _split(total, weights)
    assert sum(shares) == total
    w = weights if sum(weights) else [1] * len(weights)
    for share, weight in zip(shares, w, strict=True):
        assert abs(share - total * weight / sum(w)) < 1


def test_use_n_default_is_one_request_per_seed(httpserver: HTTPServer, fake: FakeOpenAI) -> None:
    out = backend_for(httpserver, concurrency=1).generate(Request(prompt="x", seed=7), n=3)
    assert [b["seed"] for b in fake.bodies] == [7, 8, 9]
    assert all("n" not in b for b in fake.bodies)
    assert [c.text for c in out] == ["Seed 7.", "Seed 8.", "Seed 9."]


def test_a_server_that_ignores_n_is_reported(httpserver: HTTPServer) -> None:
    FakeOpenAI(httpserver, honour_n=False)
    with pytest.raises(BackendError, match="ignores n") as info:
        backend_for(httpserver, use_n=True).generate(Request(prompt="x"), n=4)
    assert "use_n=False" in str(info.value)


def test_use_n_async_matches_sync(httpserver: HTTPServer, fake: FakeOpenAI) -> None:
    backend = backend_for(httpserver, use_n=True)
    request = Request(prompt="x", seed=2, top_logprobs=1)
    sync = backend.generate(request, n=4)
    seen: list[int] = []
    out = asyncio.run(backend.agenerate(request, n=4, on_result=lambda c: seen.append(c.seed)))
    assert _no_latency(out) == _no_latency(sync)
    assert seen == [2, 3, 4, 5]
    assert len(fake.bodies) == 2


# -- errors --------------------------------------------------------------------------------------

def test_connection_refused_names_the_url_and_the_fix() -> None:
    port = closed_port()
    backend = OpenAICompatBackend(f"http://127.0.0.1:{port}/v1", model=MODEL)
    with pytest.raises(BackendUnavailable) as info:
        backend.generate(Request(prompt="x"), n=2)
    message = str(info.value)
    assert f"http://127.0.0.1:{port}/v1" in message
    assert "vllm serve" in message and "ITC_LAB_BASE_URL" in message
    assert info.value.__suppress_context__
    assert backend.ping() is False
    with pytest.raises(BackendUnavailable):
        backend.models()
    with pytest.raises(BackendUnavailable):  # model=None asks the server at once
        OpenAICompatBackend(f"http://127.0.0.1:{port}/v1")


def test_401_without_a_key_says_to_set_one(httpserver: HTTPServer) -> None:
    FakeOpenAI(httpserver, key="sk-class")
    with pytest.raises(BackendError) as info:
        backend_for(httpserver).generate(Request(prompt="x"))
    message = str(info.value)
    assert "HTTP 401" in message and "Unauthorized" in message
    assert "No API key was sent" in message and "ITC_LAB_API_KEY" in message


def test_401_with_a_wrong_key_says_it_was_not_accepted(httpserver: HTTPServer) -> None:
    FakeOpenAI(httpserver, key="sk-class")
    with pytest.raises(BackendError, match="key sent was not accepted") as info:
        backend_for(httpserver, api_key="sk-wrong").generate(Request(prompt="x"))
    assert "sk-wrong" not in str(info.value)  # never echo a secret
    c = backend_for(httpserver, api_key="sk-class").generate(Request(prompt="x"))[0]
    assert c.text == "Seed 0."


def test_unknown_model_lists_the_served_ones(httpserver: HTTPServer) -> None:
    FakeOpenAI(httpserver, models=(MODEL, OTHER))
    with pytest.raises(ModelNotFound) as info:
        backend_for(httpserver, model="llama9-70b").generate(Request(prompt="x"))
    message = str(info.value)
    assert "'llama9-70b'" in message
    assert f"It serves: {MODEL}, {OTHER}." in message
    assert "does not exist" in message
    assert info.value.__cause__ is None


def test_404_of_the_endpoint_says_to_check_base_url(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/chat/completions").respond_with_json(
        {"detail": "Not Found"}, status=404)
    httpserver.expect_request("/models").respond_with_json(
        {"object": "list", "data": [{"id": MODEL, "object": "model"}]})
    backend = OpenAICompatBackend(f"http://127.0.0.1:{httpserver.port}", model=MODEL)
    with pytest.raises(BackendError) as info:
        backend.generate(Request(prompt="x"))
    assert type(info.value) is BackendError
    assert "Not Found" in str(info.value) and "/v1" in str(info.value)


def test_older_vllm_error_shape_is_read(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/chat/completions").respond_with_json(
        {"object": "error", "message": "The model `x` does not exist.", "type": "NotFoundError",
         "param": None, "code": 404}, status=404)
    httpserver.expect_request("/v1/models").respond_with_data("no", status=500)
    with pytest.raises(ModelNotFound, match="The model `x` does not exist"):
        backend_for(httpserver, model="x").generate(Request(prompt="x"))


def test_server_error_carries_its_message(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/chat/completions").respond_with_json(
        {"error": {"message": "CUDA out of memory. Tried to allocate 2.00 GiB",
                   "type": "InternalServerError", "code": 500}}, status=500)
    with pytest.raises(BackendError) as info:
        backend_for(httpserver).generate(Request(prompt="x"))
    assert type(info.value) is BackendError
    assert "HTTP 500" in str(info.value)
    assert "CUDA out of memory. Tried to allocate 2.00 GiB" in str(info.value)


def test_a_server_refusing_top_k_gets_a_hint(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/chat/completions").respond_with_json(
        {"error": {"message": "Unrecognized request argument supplied: top_k",
                   "type": "invalid_request_error", "param": None, "code": None}}, status=400)
    with pytest.raises(BackendError, match="send_top_k=False"):
        backend_for(httpserver).generate(Request(prompt="x"))


def test_an_answer_that_is_not_a_completion(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/chat/completions").respond_with_data(
        "<html>login</html>", content_type="text/html")
    with pytest.raises(BackendError, match="did not answer an OpenAI completion"):
        backend_for(httpserver).generate(Request(prompt="x"))


# -- malformed replies: one BackendError naming the server and the field --------------------------

def _choice(payload: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**payload, "choices": [{**payload["choices"][0], **changes}]}


def _message(payload: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return _choice(payload, message={**payload["choices"][0]["message"], **changes})


def _entry0(payload: dict[str, Any], **changes: Any) -> dict[str, Any]:
    content = payload["choices"][0]["logprobs"]["content"]
    return _choice(payload, logprobs={"content": [{**content[0], **changes}, *content[1:]]})


OpenAIMangle = Callable[[dict[str, Any]], Any]

MALFORMED: list[tuple[str, str, OpenAIMangle, str]] = [
    ("a choice is a list", "chat", lambda p: {**p, "choices": [[p["choices"][0]]]},
     "`choices[0]` is a list, not an object"),
    ("no message", "chat", lambda p: _choice(p, message=None),
     "`choices[0].message` is null, not an object"),
    ("message is a string", "chat", lambda p: _choice(p, message="Seed 0."),
     "`choices[0].message` is the string 'Seed 0.', not an object"),
    ("content is a number", "chat", lambda p: _message(p, content=4),
     "`choices[0].message.content` is the number 4, not a string"),
    ("reasoning is a list", "chat", lambda p: _message(p, reasoning_content=["a"]),
     "`choices[0].message.reasoning_content` is a list, not a string"),
    ("a logprob is 'high'", "chat", lambda p: _entry0(p, logprob="high"),
     "`choices[0].logprobs.content[0].logprob` is the string 'high', not a number"),
    ("an alternative's logprob is 'high'", "chat",
     lambda p: _entry0(p, top_logprobs=[{"token": "Seed", "logprob": "high"}]),
     "`choices[0].logprobs.content[0].top_logprobs[0].logprob` is the string 'high'"),
    ("logprobs is a string", "chat", lambda p: _choice(p, logprobs="high"),
     "`choices[0].logprobs` is the string 'high', not an object"),
    ("the index is a string", "chat", lambda p: _choice(p, index="0"),
     "`choices[0].index` is the string '0', not a whole number >= 0"),
    ("token counts are strings", "chat",
     lambda p: {**p, "usage": {**p["usage"], "prompt_tokens": "31"}},
     "`usage.prompt_tokens` is the string '31', not a whole number >= 0"),
    ("usage is a list", "chat", lambda p: {**p, "usage": [31, 3]},
     "`usage` is a list, not an object"),
    ("finish_reason is a number", "chat", lambda p: _choice(p, finish_reason=1),
     "`choices[0].finish_reason` is the number 1, not a string"),
    ("the text is a number", "completions", lambda p: _choice(p, text=7),
     "`choices[0].text` is the number 7, not a string"),
    ("a legacy logprob is a string", "completions",
     lambda p: _choice(p, logprobs={**p["choices"][0]["logprobs"],
                                    "token_logprobs": ["x", -1.5, -0.125]}),
     "`choices[0].logprobs.token_logprobs[0]` is the string 'x', not a number"),
    ("a legacy alternative is 'high'", "completions",
     lambda p: _choice(p, logprobs={**p["choices"][0]["logprobs"],
                                    "top_logprobs": [{"Seed": "high"}, None, None]}),
     "`choices[0].logprobs.top_logprobs[0]['Seed']` is the string 'high', not a number"),
]


@pytest.mark.parametrize(("case", "mode", "mangle", "field"), MALFORMED,
                         ids=[m[0] for m in MALFORMED])
def test_a_malformed_reply_is_one_backend_error_naming_the_field(
        httpserver: HTTPServer, case: str, mode: str, mangle: OpenAIMangle, field: str) -> None:
    # these used to surface as ValueError, TypeError or AttributeError, or to be taken as they were
    FakeOpenAI(httpserver, mangle=mangle)
    backend = backend_for(httpserver, mode=mode)
    with pytest.raises(BackendError) as info:
        backend.generate(Request(prompt="x", top_logprobs=2))
    assert type(info.value) is BackendError
    message = str(info.value)
    assert f"The server at http://127.0.0.1:{httpserver.port}/v1" in message
    assert field in message
    assert "OpenAI-compatible" in message and "base_url" in message
    assert info.value.__suppress_context__


def test_a_malformed_choice_fails_the_use_n_batch_too(httpserver: HTTPServer) -> None:
    FakeOpenAI(httpserver, mangle=lambda p: {**p, "choices": [*p["choices"][:1], 3]})
    with pytest.raises(BackendError, match=r"`choices\[1\]` is the number 3, not an object"):
        backend_for(httpserver, use_n=True).generate(Request(prompt="x"), n=2)


# -- an overall deadline per request ------------------------------------------------------------

def test_a_server_that_trickles_is_cut_at_the_deadline(threaded_server: HTTPServer) -> None:
    def trickle(request: WRequest) -> Response:
        def body() -> Iterator[str]:
            yield '{"id": "chatcmpl-1", "choices": [{"index": 0, "message": {"content": "'
            for _ in range(60):  # one byte a second: never silent for timeout=3 s
                time.sleep(1.0)
                yield "a"

        return Response(body(), content_type="application/json")

    threaded_server.expect_request("/v1/chat/completions").respond_with_handler(trickle)
    backend = backend_for(threaded_server, timeout=3, seconds_per_token=0.02)
    t0 = time.monotonic()
    with pytest.raises(BackendError) as info:
        backend.generate(Request(prompt="x", max_tokens=50))
    assert time.monotonic() - t0 < 15  # the deadline is 4 s; without one, the whole minute
    message = str(info.value)
    assert "still answering" in message
    assert "deadline of 4 s (3 s + 50 tokens × 0.02 s)" in message
    assert info.value.__suppress_context__
    # use_n: the deadline grows with the samples in the one request
    many = backend_for(threaded_server, timeout=3, seconds_per_token=0.02, use_n=True)
    assert many.deadline_for(Request(prompt="x", max_tokens=50), 4) == pytest.approx(7.0)
    assert backend_for(threaded_server, deadline_s=9).deadline_for(Request(prompt="x")) == 9


# -- concurrency ---------------------------------------------------------------------------------

@pytest.fixture
def threaded_server() -> Iterator[HTTPServer]:
    server = HTTPServer(threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


def test_samples_go_out_two_at_a_time(threaded_server: HTTPServer) -> None:
    # every request waits until a second one is in flight: passes only with 2 at once
    fake = FakeOpenAI(threaded_server, barrier=threading.Barrier(2, timeout=10))
    out = backend_for(threaded_server, concurrency=2).generate(Request(prompt="x", seed=100),
                                                               n=4)
    assert [c.seed for c in out] == [100, 101, 102, 103]
    assert sorted(b["seed"] for b in fake.bodies) == [100, 101, 102, 103]
    assert fake.max_in_flight == 2


@pytest.mark.parametrize("concurrency", [1, 3])
def test_async_respects_the_bound(threaded_server: HTTPServer, concurrency: int) -> None:
    fake = FakeOpenAI(threaded_server, latency=0.1)
    backend = backend_for(threaded_server, concurrency=concurrency)
    out = asyncio.run(backend.agenerate(Request(prompt="x"), n=6))
    assert [c.text for c in out] == [f"Seed {s}." for s in range(6)]
    assert fake.max_in_flight == concurrency


# -- configuration -------------------------------------------------------------------------------

@pytest.mark.parametrize(("given", "expected"), [
    (None, "http://127.0.0.1:8000/v1"),
    ("", "http://127.0.0.1:8000/v1"),
    ("gpu-host:8000/v1", "http://gpu-host:8000/v1"),
    ("http://gpu-host:8000/v1/", "http://gpu-host:8000/v1"),
    ("https://llm.example.org/v1/chat/completions", "https://llm.example.org/v1"),
    ("http://127.0.0.1:11434/v1", "http://127.0.0.1:11434/v1"),
])
def test_base_url_normalisation(given: str | None, expected: str) -> None:
    assert normalise_base_url(given) == expected


def test_bad_settings_are_explained() -> None:
    with pytest.raises(ValueError, match="http:// or https://"):
        normalise_base_url("ftp://host/v1")
    with pytest.raises(ValueError, match="concurrency must be a whole number >= 1"):
        OpenAICompatBackend("http://h:1/v1", model=MODEL, concurrency=0)
    with pytest.raises(ValueError, match="mode must be one of"):
        OpenAICompatBackend("http://h:1/v1", model=MODEL, mode="stream")
    with pytest.raises(ValueError, match="timeout"):
        OpenAICompatBackend("http://h:1/v1", model=MODEL, timeout=0)


def test_environment_and_first_served_model(httpserver: HTTPServer,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeOpenAI(httpserver, models=(OTHER, MODEL), key="sk-env")
    monkeypatch.setenv("ITC_LAB_BASE_URL", f"127.0.0.1:{httpserver.port}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    backend = OpenAICompatBackend()  # model: the first one the server lists
    assert backend.base_url == f"http://127.0.0.1:{httpserver.port}/v1"
    assert backend.model == OTHER
    assert backend.models() == [OTHER, MODEL]
    assert backend.ping()
    backend.generate(Request(prompt="x"))
    assert fake.auth[-1] == "Bearer sk-env"
    monkeypatch.setenv("ITC_LAB_API_KEY", "sk-itc")  # ITC_LAB_API_KEY wins over OPENAI_API_KEY
    with pytest.raises(BackendError, match="not accepted"):
        OpenAICompatBackend(model=MODEL).generate(Request(prompt="x"))
    assert fake.auth[-1] == "Bearer sk-itc"
    text = repr(backend) + backend.describe()
    assert "sk-" not in text
    assert backend.describe() == (f"OpenAI-compatible server at http://127.0.0.1:"
                                  f"{httpserver.port}/v1 · model {OTHER}")


def test_registered_as_openai(httpserver: HTTPServer, fake: FakeOpenAI) -> None:
    backend = create_backend("openai", model=MODEL,
                             base_url=f"http://127.0.0.1:{httpserver.port}/v1", api_key="k")
    assert isinstance(backend, OpenAICompatBackend)
    assert backend.name == "openai"
    assert backend.generate(Request(prompt="x", seed=1))[0].text == "Seed 1."


# -- for real: the embedded llama-server's /v1 ---------------------------------------------------

@pytest.fixture(scope="module")
def engine() -> Iterator[Any]:
    from itc_lab.backends.embedded.backend import EmbeddedBackend

    with EmbeddedBackend(slots=4) as backend:
        backend.start()
        yield backend


@pytest.mark.embedded
def test_embedded_v1_greedy_chat_matches_the_embedded_backend(engine: Any) -> None:
    with OpenAICompatBackend(f"{engine.url}/v1", model=engine.model) as backend:
        request = Request(prompt="Count from 1 to 5.", temperature=0, max_tokens=12,
                          top_logprobs=3)
        c = backend.generate(request)[0]
        e = engine.generate(request)[0]

        assert c.text.strip()
        assert c.text == e.text
        assert c.has_logprobs and len(c.tokens) == c.completion_tokens
        assert "".join(t.text for t in c.tokens) == c.text
        for t in c.tokens:
            assert len(t.top) == 3
            lps = [a.logprob for a in t.top]
            assert lps == sorted(lps, reverse=True) and all(lp <= 0 for lp in lps)
            # greedy: the chosen token is the most likely one
            assert t.text == t.top[0].text
        assert c.prompt_tokens == e.prompt_tokens > 5
        assert c.completion_tokens == e.completion_tokens
        assert [t.logprob for t in c.tokens] == pytest.approx([t.logprob for t in e.tokens],
                                                              abs=1e-4)


@pytest.mark.embedded
def test_embedded_v1_sampling_matches_seed_for_seed(engine: Any) -> None:
    # llama-server's /v1 samples with min_p 0.05 unless told otherwise; the backend sends
    # min_p 0 (as the embedded backend does), so the same seed gives the same text
    request = Request(prompt="Write one short sentence about the sea.", temperature=1.0,
                      max_tokens=12, seed=1)
    with OpenAICompatBackend(f"{engine.url}/v1", model=engine.model, concurrency=3) as backend:
        ours = backend.generate(request, n=3)
    theirs = engine.generate(request, n=3)
    assert [c.text for c in ours] == [c.text for c in theirs]
    assert len({c.text for c in ours}) > 1


@pytest.mark.embedded
def test_embedded_v1_raw_completions_take_the_rendered_prompt(engine: Any) -> None:
    request = Request(prompt="Name a colour.", temperature=0, max_tokens=12, top_logprobs=2)
    raw = Request(prompt=engine.render_prompt(request), temperature=0, max_tokens=12,
                  top_logprobs=2)
    with OpenAICompatBackend(f"{engine.url}/v1", model=engine.model,
                             mode="completions") as backend:
        c = backend.generate(raw)[0]
    e = engine.generate(request)[0]
    assert c.text == e.text
    assert [t.text for t in c.tokens] == [t.text for t in e.tokens]
    assert all(len(t.top) == 2 for t in c.tokens)
