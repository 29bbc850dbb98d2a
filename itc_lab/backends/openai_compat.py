"""The OpenAI-compatible backend: vLLM, SGLang, llama.cpp's llama-server or Ollama's ``/v1``.

For classes sharing one GPU server and for sweeps over thousands of problems. Requests go to
``{base_url}/chat/completions`` (the server applies the model's chat template, as the other
backends do); with ``mode="completions"`` a ``prompt`` is sent raw to ``{base_url}/completions``.
Plain HTTP through ``httpx``: no OpenAI SDK needed.

Each sample is one request with its own seed (``seed + i``), sent concurrently, at most
``concurrency`` at a time, so samples reproduce across backends. ``use_n=True`` instead sends one
request with ``n`` choices: cheaper for the server (the prompt is processed once), but choice i
does not use seed ``seed + i``, so its samples differ from the per-seed ones.

Units: token counts in tokens (from the server's ``usage``), ``latency_s`` in seconds of wall
clock measured here, logprobs in nats. Introduced in the README section "When one machine is not
enough"; lessons reach it through ``connect(backend="openai")``.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from ..errors import BackendError, BackendUnavailable, ModelNotFound
from ..types import Alternative, Completion, Request, Token
from .base import (
    MISSING,
    CancelScope,
    LiveBackend,
    MalformedReply,
    OnResult,
    RequestDeadline,
    ambient_watch,
    check_concurrency,
    cuttable_client,
    reply_count,
    reply_list,
    reply_number,
    reply_object,
    reply_text,
    request_deadline,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "MODES",
    "OpenAICompatBackend",
    "normalise_base_url",
]

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"
"""Where ``vllm serve`` listens by default."""
MODES = ("chat", "completions")
"""``chat``: every request to ``/chat/completions``; ``completions``: a ``prompt`` goes raw to
``/completions`` (no chat template), a ``messages`` request still to ``/chat/completions``."""

_MODEL_MISSING_RE = re.compile(r"model\b.*\b(not found|does not exist|not exist)",
                               re.IGNORECASE | re.DOTALL)
_START_HINT = (
    "Start one (e.g. `vllm serve MODEL --port 8000`, `llama-server -m MODEL.gguf --port 8080`, "
    "or Ollama, whose OpenAI endpoint is http://127.0.0.1:11434/v1), or point at it with "
    "ITC_LAB_BASE_URL or base_url=, e.g. http://gpu-host:8000/v1."
)


def normalise_base_url(url: str | None) -> str:
    """``scheme://host[:port]/path`` without a trailing slash.

    ``None`` or ``""`` gives ``http://127.0.0.1:8000/v1``; ``host:port/v1`` gets ``http://``; a
    pasted endpoint (``.../v1/chat/completions``) is cut back to ``.../v1``.
    """
    text = (url or "").strip().rstrip("/")
    if not text:
        return DEFAULT_BASE_URL
    if "://" not in text:
        text = f"http://{text}"
    scheme = text.split("://", 1)[0].lower()
    if scheme not in ("http", "https"):
        msg = (f"base_url {url!r} must start with http:// or https://, "
               "e.g. http://gpu-host:8000/v1.")
        raise ValueError(msg)
    for endpoint in ("/chat/completions", "/completions"):
        if text.endswith(endpoint):
            text = text[: -len(endpoint)]
    return text


def _detail(resp: httpx.Response) -> str:
    """The server's own error message: ``error.message``, ``error``, ``message`` or ``detail``."""
    try:
        data = resp.json()
    except ValueError:
        return resp.text.strip()[:500] or resp.reason_phrase
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str) and error:
            return error
        for key in ("message", "detail"):
            if data.get(key):
                return str(data[key])
    return resp.text.strip()[:500]


def _alternatives(top: Any, k: int, where: str) -> tuple[Alternative, ...]:
    """``[{token, logprob}, ...]`` (chat) or ``{token: logprob}`` (legacy completions), most
    likely first, at most k."""
    alts: list[Alternative] = []
    if isinstance(top, Mapping):
        for t, lp in top.items():
            value = reply_number(lp, f"{where}[{t!r}]")
            alts.append(Alternative(str(t), value if value is not None else 0.0))
    else:
        for j, a in enumerate(reply_list(top, where, optional=True)):
            alt = reply_object(a, f"{where}[{j}]")
            value = reply_number(alt.get("logprob"), f"{where}[{j}].logprob", optional=True)
            if value is not None:
                alts.append(Alternative(reply_text(alt.get("token"), f"{where}[{j}].token"),
                                        value))
    alts.sort(key=lambda a: -a.logprob)
    return tuple(alts[:k])


def _tokens(raw: Any, k: int, where: str) -> tuple[Token, ...]:
    """Tokens from a choice's ``logprobs``, in either shape the servers use."""
    if raw is None or k < 1:
        return ()
    logprobs = reply_object(raw, where)
    if logprobs.get("content") is not None:  # chat shape (llama-server uses it for both)
        tokens = []
        for i, e in enumerate(reply_list(logprobs["content"], f"{where}.content")):
            entry = reply_object(e, f"{where}.content[{i}]")
            tokens.append(Token(
                text=reply_text(entry.get("token"), f"{where}.content[{i}].token"),
                logprob=reply_number(entry.get("logprob"), f"{where}.content[{i}].logprob",
                                     optional=True),
                top=_alternatives(entry.get("top_logprobs"), k,
                                  f"{where}.content[{i}].top_logprobs")))
        return tuple(tokens)
    texts = reply_list(logprobs.get("tokens"), f"{where}.tokens", optional=True)
    lps = reply_list(logprobs.get("token_logprobs"), f"{where}.token_logprobs", optional=True)
    tops = reply_list(logprobs.get("top_logprobs"), f"{where}.top_logprobs", optional=True)
    return tuple(
        Token(text=reply_text(t, f"{where}.tokens[{i}]"),
              logprob=reply_number(lps[i] if i < len(lps) else None,
                                   f"{where}.token_logprobs[{i}]", optional=True),
              top=_alternatives(tops[i], k, f"{where}.top_logprobs[{i}]")
              if i < len(tops) and tops[i] else ())
        for i, t in enumerate(texts))


def _split(total: int, weights: Sequence[int]) -> list[int]:
    """``total`` shared out in proportion to ``weights`` (largest remainder; sums to total)."""
    if not weights:
        return []
    if sum(weights) == 0:
        weights = [1] * len(weights)
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    shares = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: shares[i] - exact[i])
    for i in order[: total - sum(shares)]:
        shares[i] += 1
    return shares


class OpenAICompatBackend(LiveBackend):
    """Samples from a server that speaks the OpenAI HTTP API.

    ``base_url`` ends in ``/v1`` (default ``$ITC_LAB_BASE_URL`` or ``http://127.0.0.1:8000/v1``).
    ``model`` is the name the server knows the model by; ``None`` takes the first model the
    server lists (``GET /models``: a vLLM or SGLang server serves one). ``api_key`` defaults to
    ``$ITC_LAB_API_KEY``, then ``$OPENAI_API_KEY``; it is sent as ``Authorization: Bearer``.
    ``concurrency`` is the most requests in flight at once, ``timeout`` the most seconds to wait
    for the server to send the next bytes.

    ``use_n=True`` asks for all the samples of a batch in one request (``n`` choices, seed of the
    first sample): the server processes the prompt once, but the samples are not the per-seed
    ones (``None`` or ``False``: one request per seed). ``send_top_k`` sends ``top_k`` (0, no
    limit, is sent as -1) and ``min_p: 0``, which vLLM, SGLang and llama-server take and the
    OpenAI service refuses. ``extra_body`` is merged into every request body (e.g.
    ``{"repetition_penalty": 1.1}``). Each request must end by its deadline: ``deadline_s``
    seconds if given, else ``timeout + max_tokens × seconds_per_token`` (× ``n`` with
    ``use_n``), so a server that trickles bytes cannot hold a call forever. Introduced with the
    README section "When one machine is not enough".
    """

    name = "openai"

    def __init__(self, base_url: str | None = None, model: str | None = None, *,
                 api_key: str | None = None, concurrency: int = 8, timeout: float = 300.0,
                 use_n: bool | None = None, mode: str = "chat", send_top_k: bool = True,
                 extra_body: Mapping[str, Any] | None = None, deadline_s: float | None = None,
                 seconds_per_token: float = 1.0) -> None:
        if mode not in MODES:
            msg = f"mode must be one of {MODES}, not {mode!r}."
            raise ValueError(msg)
        for knob, value in (("timeout", timeout), ("deadline_s", deadline_s),
                            ("seconds_per_token", seconds_per_token)):
            if value is not None and not (isinstance(value, int | float) and value > 0):
                msg = f"{knob} must be a number of seconds > 0, not {value!r}."
                raise ValueError(msg)
        self.concurrency = check_concurrency(concurrency)
        self.base_url = normalise_base_url(
            base_url if base_url is not None else os.environ.get("ITC_LAB_BASE_URL"))
        """Where the API is, e.g. ``http://gpu-host:8000/v1``."""
        if api_key is None:
            api_key = (os.environ.get("ITC_LAB_API_KEY") or os.environ.get("OPENAI_API_KEY")
                       or None)
        self._api_key = api_key or None
        self.timeout = float(timeout)
        self.deadline_s = deadline_s
        self.deadline_base_s = self.timeout
        self.seconds_per_token = float(seconds_per_token)
        self.use_n = bool(use_n)
        self.mode = mode
        self.send_top_k = send_top_k
        self.extra_body = dict(extra_body or {})
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        limits = httpx.Limits(max_connections=2 * self.concurrency,
                              max_keepalive_connections=2 * self.concurrency)
        # its requests can be cut short (deadline, interrupt)
        self._client = cuttable_client(
            headers=headers, limits=limits,
            # a refused connection fails at once; an unreachable address should not hang
            timeout=httpx.Timeout(self.timeout, connect=min(10.0, self.timeout)))
        if model is None:
            served = self.models()
            if not served:
                msg = (f"The server at {self.base_url} lists no models; pass model= "
                       "(or set ITC_LAB_MODEL).")
                raise ModelNotFound(msg)
            model = served[0]
        if not model:
            msg = "model must be the name the server serves, e.g. 'Qwen/Qwen3-0.6B'."
            raise ValueError(msg)
        self.model = model

    # -- small calls ---------------------------------------------------------------------------
    def describe(self) -> str:
        how = " · n choices per request" if self.use_n else ""
        return f"OpenAI-compatible server at {self.base_url} · model {self.model}{how}"

    def __repr__(self) -> str:
        return f"OpenAICompatBackend(base_url={self.base_url!r}, model={self.model!r})"

    def close(self) -> None:
        """Close the HTTP connections (the server keeps running)."""
        self._client.close()

    def __enter__(self) -> OpenAICompatBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def models(self, timeout: float = 10.0) -> list[str]:
        """The model names the server serves (``GET /models``)."""
        url = f"{self.base_url}/models"
        try:
            resp = self._client.get(url, timeout=timeout)
        except (httpx.ConnectError, httpx.ConnectTimeout):
            raise self._unavailable() from None
        except httpx.HTTPError as e:
            msg = f"The server at {self.base_url} did not answer /models ({type(e).__name__}: {e})."
            raise BackendError(msg) from None
        if resp.status_code != 200:
            raise self._http_error(resp, "/models", None)
        try:
            data = resp.json()["data"]
            return [str(m["id"]) for m in data]
        except (ValueError, KeyError, TypeError):
            msg = (f"{url} did not answer an OpenAI model list: is base_url right? It usually "
                   "ends in /v1.")
            raise BackendError(msg) from None

    def ping(self, timeout: float = 1.0) -> bool:
        """True when the server lists its models within ``timeout`` seconds; never raises."""
        try:
            return bool(self.models(timeout=timeout))
        except Exception:
            return False

    def _try_models(self) -> list[str] | None:
        try:
            return self.models(timeout=5.0)
        except BackendError:
            return None

    # -- errors --------------------------------------------------------------------------------
    def _unavailable(self) -> BackendUnavailable:
        return BackendUnavailable(
            f"No OpenAI-compatible server answered at {self.base_url}. {_START_HINT}")

    def _http_error(self, resp: httpx.Response, path: str, model: str | None) -> BackendError:
        status, detail = resp.status_code, _detail(resp)
        where = f"The server at {self.base_url}"
        if status in (401, 403):
            if self._api_key:
                fix = ("The API key sent was not accepted: set ITC_LAB_API_KEY (or pass "
                       "api_key=) to the key the server was started with (vllm serve ... "
                       "--api-key KEY).")
            else:
                fix = ("No API key was sent: set ITC_LAB_API_KEY (or pass api_key=) to the key "
                       "the server was started with.")
            return BackendError(f"{where} refused the request (HTTP {status}: {detail}). {fix}")
        if status == 404 and model is not None:
            served = self._try_models()
            if served is not None and model not in served:
                return ModelNotFound(
                    f"{where} has no model {model!r} ({detail}). It serves: "
                    f"{', '.join(served) or 'nothing'}. Pass one of these as model= "
                    "(or ITC_LAB_MODEL).")
            if served is None and _MODEL_MISSING_RE.search(detail):
                return ModelNotFound(f"{where} has no model {model!r} ({detail}).")
        if status == 404:
            hint = ("Is base_url right? OpenAI-compatible servers answer under /v1, e.g. "
                    "http://gpu-host:8000/v1.")
            if path == "/completions":
                hint += " This server may have no /completions endpoint: use mode='chat'."
            return BackendError(f"{self.base_url}{path} was not found (HTTP 404: {detail}). "
                                f"{hint}")
        if status in (400, 422):
            fix = ""
            lowered = detail.lower()
            if "top_k" in lowered or "min_p" in lowered:
                fix = (" This server does not take top_k or min_p: make the backend with "
                       "send_top_k=False.")
            elif "logprob" in lowered:
                fix = (" Ask for fewer top_logprobs, or start vLLM with --max-logprobs 20.")
            return BackendError(f"{where} rejected the request (HTTP {status}): {detail}.{fix}")
        return BackendError(f"{where} answered HTTP {status}: {detail}")

    # -- one request ---------------------------------------------------------------------------
    def _raw(self, request: Request) -> bool:
        return self.mode == "completions" and request.prompt is not None

    def _body(self, request: Request, n: int = 1) -> tuple[str, dict[str, Any]]:
        """The endpoint and the JSON body for one request (``n`` choices)."""
        raw = self._raw(request)
        body: dict[str, Any] = {"model": request.model or self.model}
        if raw:
            body["prompt"] = request.prompt
        else:
            body["messages"] = [{"role": m.role, "content": m.content} for m in request.chat()]
        body.update({
            "temperature": request.temperature,
            "top_p": request.top_p,
            "max_tokens": request.max_tokens,
            "seed": request.seed,
            "stream": False,
        })
        if request.stop:
            body["stop"] = list(request.stop)
        k = request.top_logprobs
        if k >= 1:
            if raw:
                body["logprobs"] = k
            else:
                body["logprobs"] = True
                body["top_logprobs"] = k
        if self.send_top_k:
            # -1 means "no limit" to vLLM, SGLang and llama-server alike (0 is refused by some)
            body["top_k"] = request.top_k if request.top_k > 0 else -1
            body["min_p"] = 0.0  # llama-server's default is 0.05; the other backends use 0
        if request.think is not None and not raw:
            body["chat_template_kwargs"] = {"enable_thinking": request.think}
        if n > 1:
            body["n"] = n
        body.update(self.extra_body)
        return ("/completions" if raw else "/chat/completions"), body

    def _post(self, path: str, body: dict[str, Any], request: Request,
              n: int = 1) -> dict[str, Any]:
        model = str(body.get("model"))
        deadline = RequestDeadline(None)
        try:
            with request_deadline(self.deadline_for(request, n)) as deadline:
                resp = self._client.post(f"{self.base_url}{path}", json=body)
        except (httpx.ConnectError, httpx.ConnectTimeout):
            raise self._unavailable() from None
        except httpx.TimeoutException:
            if deadline.passed:
                msg = (f"The server at {self.base_url} was still answering with {model!r} at "
                       f"the deadline of {self.deadline_text(request, n)}: it sends, but too "
                       "slowly. Ask for fewer max_tokens, or make the backend with a larger "
                       "seconds_per_token= (or a fixed deadline_s=).")
            else:
                msg = (f"The server at {self.base_url} sent nothing for {self.timeout:g} s "
                       f"while answering with {model!r}. It may be busy; run the cell again, or "
                       "make the backend with a larger timeout=.")
            raise BackendError(msg) from None
        except httpx.HTTPError as e:
            msg = (f"The connection to {self.base_url} broke mid-answer ({type(e).__name__}: "
                   f"{e}). Running the cell again retries.")
            raise BackendError(msg) from None
        if resp.status_code != 200:
            raise self._http_error(resp, path, model)
        try:
            data = resp.json()
        except ValueError:
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
            if isinstance(data, dict) and data.get("error"):
                msg = f"The server at {self.base_url} answered with an error: {_detail(resp)}"
            else:
                msg = (f"{self.base_url}{path} did not answer an OpenAI completion: is base_url "
                       "right? It usually ends in /v1.")
            raise BackendError(msg)
        return data

    def _options(self, request: Request, n: int = 1) -> dict[str, Any]:
        """What was sent, under the backend-neutral names every backend records."""
        sent = request.sampling_options()
        if request.think is not None:
            sent["think"] = request.think
        if self._raw(request):
            sent["raw_prompt"] = True
        if n > 1:
            sent["n"] = n
            sent["n_seed"] = request.seed
        return sent

    def _request(self, request: Request, n: int) -> tuple[list[Mapping[str, Any]], dict[str, Any],
                                                         float]:
        """Send one request; its choices in index order, its usage, its latency (seconds)."""
        path, body = self._body(request, n)
        t0 = time.perf_counter()
        data = self._post(path, body, request, n)
        latency = time.perf_counter() - t0
        try:
            choices = [reply_object(c, f"choices[{i}]") for i, c in enumerate(data["choices"])]
            order = [reply_count(c.get("index"), f"choices[{i}].index")
                     for i, c in enumerate(choices)]
            usage = reply_object(data.get("usage") or {}, "usage")
            reply_count(usage.get("prompt_tokens"), "usage.prompt_tokens")
            reply_count(usage.get("completion_tokens"), "usage.completion_tokens")
        except MalformedReply as e:
            raise self._malformed(e, path) from None
        choices = [c for _, c in sorted(zip(order, choices, strict=True), key=lambda p: p[0])]
        if not choices:
            msg = (f"{self.base_url}{path} answered with no choices at all; run the cell again, "
                   "and if it persists, check the server's log.")
            raise BackendError(msg)
        if len(choices) < n:
            msg = (f"Asked {self.base_url} for {n} choices and got {len(choices)}: this server "
                   "ignores n (Ollama's /v1 does). Make the backend with use_n=False.")
            raise BackendError(msg)
        return choices[:n], dict(usage), latency

    def _malformed(self, e: MalformedReply, path: str) -> BackendError:
        return BackendError(
            f"The server at {self.base_url} sent an answer to {path} that cannot be read: {e}. "
            "Is base_url an OpenAI-compatible server (vLLM, SGLang, llama-server, Ollama's /v1)? "
            "Check the address, update the server, or try mode='chat'; running the cell again "
            "retries.")

    def _parse(self, choice: Mapping[str, Any], request: Request, i: int = 0
               ) -> tuple[str, str | None, tuple[Token, ...], str]:
        """Text, thinking, tokens and finish reason of one choice (choice ``i``)."""
        k = request.top_logprobs
        where = f"choices[{i}]"
        try:
            if self._raw(request):
                text = reply_text(choice.get("text"), f"{where}.text")
                thinking = ""
            else:
                message = reply_object(choice.get("message", MISSING), f"{where}.message")
                text = reply_text(message.get("content"), f"{where}.message.content")
                thinking = (reply_text(message.get("reasoning_content"),
                                       f"{where}.message.reasoning_content")
                            or reply_text(message.get("reasoning"),
                                          f"{where}.message.reasoning"))
            tokens = _tokens(choice.get("logprobs"), k, f"{where}.logprobs")
            reason = reply_text(choice.get("finish_reason"), f"{where}.finish_reason")
        except MalformedReply as e:
            path = "/completions" if self._raw(request) else "/chat/completions"
            raise self._malformed(e, path) from None
        finish = "length" if reason == "length" else "stop"
        return text, thinking or None, tokens, finish

    def _sample(self, request: Request) -> Completion:
        choices, usage, latency = self._request(request, 1)
        text, thinking, tokens, finish = self._parse(choices[0], request)
        return Completion(
            text=text,
            model=request.model or self.model,
            backend=self.name,
            seed=request.seed,
            tokens=tokens,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or len(tokens)),
            latency_s=latency,
            finish_reason=finish,
            thinking=thinking,
            options=self._options(request),
        )

    # -- the n path ----------------------------------------------------------------------------
    def _sample_n(self, request: Request, seeds: Sequence[int]) -> list[Completion]:
        """All ``len(seeds)`` samples from one request with ``n`` choices and seed ``seeds[0]``.

        Completion i is labelled ``seeds[i]`` (so recordings and votes tell samples apart) and
        records ``n`` and ``n_seed`` in its options. The server counts the prompt once: the
        first completion carries the prompt tokens, the others 0, so totals match its usage.
        Completion tokens come per choice from the logprobs when there are any, else the
        server's total is shared out by text length.
        """
        first = request.with_seed(seeds[0])
        n = len(seeds)
        choices, usage, latency = self._request(first, n)
        parsed = [self._parse(c, first, i) for i, c in enumerate(choices)]
        total = int(usage.get("completion_tokens") or 0)
        if all(p[2] for p in parsed):
            counts = [len(p[2]) for p in parsed]
        else:
            counts = _split(total, [len(p[0]) for p in parsed])
        prompt = int(usage.get("prompt_tokens") or 0)
        options = self._options(first, n)
        return [
            Completion(
                text=text, model=request.model or self.model, backend=self.name, seed=seed,
                tokens=tokens, prompt_tokens=prompt if i == 0 else 0, completion_tokens=count,
                latency_s=latency, finish_reason=finish, thinking=thinking, options=options)
            for i, (seed, (text, thinking, tokens, finish), count)
            in enumerate(zip(seeds, parsed, counts, strict=True))
        ]

    def generate_seeds(self, request: Request, seeds: Sequence[int], *,
                       on_result: OnResult | None = None) -> list[Completion]:
        watched = ambient_watch(self)
        if watched is not None:
            out_: list[Completion] = watched.generate_seeds(request, seeds, on_result=on_result)
            return out_
        seeds = list(seeds)
        if not self.use_n or len(seeds) <= 1:
            return super().generate_seeds(request, seeds, on_result=on_result)
        with CancelScope().bind():  # a watcher that stops the call cuts this request
            out = self._sample_n(self.resolve(request), seeds)
        if on_result:
            for c in out:
                on_result(c)
        return out

    async def agenerate_seeds(self, request: Request, seeds: Sequence[int], *,
                              on_result: OnResult | None = None) -> list[Completion]:
        watched = ambient_watch(self)
        if watched is not None:
            out: list[Completion] = await watched.agenerate_seeds(request, seeds,
                                                                  on_result=on_result)
            return out
        seeds = list(seeds)
        if not self.use_n or len(seeds) <= 1:
            return await self._agenerate_each(request, seeds, on_result)
        return await self._agenerate_batch(request, seeds, on_result)
