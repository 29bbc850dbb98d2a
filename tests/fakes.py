"""The one scripted fake model of the test suite: no server, deterministic, records every call.

``ScriptedBackend(reply)`` answers each request with text chosen by ``reply``:

- ``None`` (default): ``"<last message> #<seed>"``, so every sample is distinct and traceable;
- a string: always that text;
- a list of strings: by seed (``script[seed % len(script)]``, the default ``by="seed"``) or in
  call order (``by="call"``, the last reply repeating);
- a function ``reply(request) -> str``.

The token and timing fields are constants or functions of the request, so a test states what
it relies on. ``fail_seeds`` makes chosen samples raise; ``requests`` lists every request
received and ``calls`` counts them by ``Request.key()``.

Streaming like a real engine: with ``token_delay`` (seconds, or a function of the request) each
sample's text is sent in word pieces (``" word"``), each after that delay, reported to a watcher
(``itc_lab.live``) as it is produced; the completion's tokens are those pieces and its
``latency_s`` the measured time. ``start_delay`` makes the first call start an "engine" for that
long. A watcher's stop cuts a streaming sample within ``token_delay`` (it fails as a cut
connection does).
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Union

from itc_lab.backends.base import LiveBackend, call_cancelled, emit_engine, emit_token
from itc_lab.errors import BackendError
from itc_lab.types import Completion, Request, Token

Reply = Union[None, str, Sequence[str], Callable[[Request], str]]  # noqa: UP007
Number = Union[int, float, Callable[[Request], float]]  # noqa: UP007


def _value(x: Number, request: Request) -> float:
    return x(request) if callable(x) else x


class ScriptedBackend(LiveBackend):
    """A fake model answering from a script (see the module docstring)."""

    def __init__(self, reply: Reply = None, *, by: str = "seed", name: str = "fake",
                 model: str = "fake-model", concurrency: int = 4,
                 logprob: float | Sequence[float] | None = -0.5,
                 first_token: Token | None = None,
                 prompt_tokens: Number = 5,
                 completion_tokens: Number | str = 1,
                 latency: Number = 0.01,
                 fail_seeds: Sequence[int] = (),
                 token_delay: Number | None = None,
                 start_delay: float = 0.0) -> None:
        if by not in ("seed", "call"):
            msg = f"by must be 'seed' or 'call', not {by!r}."
            raise ValueError(msg)
        self.reply, self.by = reply, by
        self.name, self.model, self.concurrency = name, model, concurrency
        self.logprob, self.first_token = logprob, first_token
        self.prompt_tokens, self.completion_tokens, self.latency = (
            prompt_tokens, completion_tokens, latency)
        self.fail_seeds = set(fail_seeds)
        self.token_delay, self.start_delay = token_delay, start_delay
        self.started = False
        self.requests: list[Request] = []
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def _text(self, request: Request, n_before: int) -> str:
        reply = self.reply
        if reply is None:
            return f"{request.chat()[-1].content} #{request.seed}"
        if isinstance(reply, str):
            return reply
        if callable(reply):
            return reply(request)
        i = request.seed % len(reply) if self.by == "seed" else min(n_before, len(reply) - 1)
        return reply[i]

    def _sample(self, request: Request) -> Completion:
        with self._lock:
            n_before = len(self.requests)
            self.requests.append(request)
            self.calls[request.key()] += 1
        if call_cancelled():  # a cut call sends nothing more, as with a real server
            msg = "the scripted call was cut before this sample"
            raise BackendError(msg)
        if request.seed in self.fail_seeds:
            msg = f"scripted failure on seed {request.seed}"
            raise RuntimeError(msg)
        text = self._text(request, n_before)
        if self.token_delay is not None:
            return self._streamed(request, text)
        if self.first_token is not None:
            tokens: tuple[Token, ...] = (self.first_token,)
        elif self.logprob is None:
            tokens = ()
        else:
            lp = (self.logprob if isinstance(self.logprob, int | float)
                  else self.logprob[request.seed % len(self.logprob)])
            tokens = (Token(text, lp),)
        completion = (len(text.split()) if self.completion_tokens == "words"
                      else int(_value(self.completion_tokens, request)))  # type: ignore[arg-type]
        return Completion(text=text, model=request.model or self.model, backend=self.name,
                          seed=request.seed, tokens=tokens,
                          prompt_tokens=int(_value(self.prompt_tokens, request)),
                          completion_tokens=completion,
                          latency_s=float(_value(self.latency, request)))

    def _before_batch(self, n: int) -> None:
        with self._lock:
            starting, self.started = not self.started, True
        if starting and self.start_delay > 0:
            emit_engine("starting", "starting the scripted engine")
            time.sleep(self.start_delay)
            emit_engine("ready", f"engine ready in {self.start_delay:.1f} s")

    def _streamed(self, request: Request, text: str) -> Completion:
        """The text in word pieces, each after ``token_delay``, reported as it comes."""
        assert self.token_delay is not None
        delay = _value(self.token_delay, request)
        lp = self.logprob if isinstance(self.logprob, int | float) else None
        t0 = time.perf_counter()
        tokens = []
        for piece in _PIECES.findall(text):
            until = time.perf_counter() + delay
            while True:
                if call_cancelled():
                    msg = "the scripted connection was cut mid-answer"
                    raise BackendError(msg)
                left = until - time.perf_counter()
                if left <= 0:
                    break
                time.sleep(min(left, 0.01))
            token = Token(piece, lp)
            tokens.append(token)
            emit_token(request.seed, token)
        return Completion(text=text, model=request.model or self.model, backend=self.name,
                          seed=request.seed, tokens=tuple(tokens),
                          prompt_tokens=int(_value(self.prompt_tokens, request)),
                          completion_tokens=len(tokens), latency_s=time.perf_counter() - t0)


_PIECES = re.compile(r"\s*\S+|\s+")
