"""Core data types: a generation request, its completions, usage totals and a cost model.

Every type is a frozen dataclass that round-trips through JSON (``to_dict`` / ``from_dict``), so a
result can be saved, loaded, compared and drawn without a model. Introduced in lesson 00.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal

from ._checks import known_fields
from .tables import cut, frame, summary_html

__all__ = [
    "MAX_SEED",
    "MAX_TOKENS",
    "Alternative",
    "Completion",
    "CostModel",
    "Message",
    "Request",
    "Role",
    "Timing",
    "Token",
    "Usage",
]

Role = Literal["system", "user", "assistant"]
_ROLES = ("system", "user", "assistant")

MAX_SEED = 2**32 - 1
"""The largest seed: llama.cpp (the embedded engine, Ollama, llama-server) keeps 32 bits of a seed,
so seed 2**32 + i would silently give seed i's text."""
MAX_TOKENS = 1_000_000
"""The largest ``max_tokens`` a request may ask for (servers cap it lower: the embedded engine
holds 2048 tokens of prompt and answer per slot)."""


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)

@dataclass(frozen=True)
class Message:
    """One chat turn."""

    role: str
    """``"system"``, ``"user"`` or ``"assistant"``."""
    content: str

    def __post_init__(self) -> None:
        if self.role not in _ROLES:
            msg = f"Message role must be one of {_ROLES}, not {self.role!r}."
            raise ValueError(msg)
        if not isinstance(self.content, str):
            msg = f"Message content must be a string, not {type(self.content).__name__}."
            raise ValueError(msg)


@dataclass(frozen=True)
class Request:
    """What to ask a model, and how to sample.

    Give either ``prompt`` (a single user turn; the model's chat template is applied, as Ollama's
    ``/api/generate`` does) or ``messages`` (a whole chat).
    """

    prompt: str | None = None
    """The user's text, sent as one user turn."""
    messages: tuple[Message, ...] | None = None
    """A chat, oldest turn first (alternative to ``prompt``)."""
    model: str | None = None
    """Model name; ``None`` means the backend's default model."""
    temperature: float = 0.8
    """Sampling temperature; 0 means greedy decoding."""
    top_p: float = 1.0
    """Nucleus sampling mass, in (0, 1]."""
    top_k: int = 40
    """Sample among the k most likely tokens; 0 means no limit (40 is Ollama's default too)."""
    max_tokens: int = 256
    """Most tokens to generate (tokens), from 1 to ``MAX_TOKENS`` (1,000,000)."""
    stop: tuple[str, ...] = ()
    """Strings that end generation (non-empty); they are not part of the returned text."""
    seed: int = 0
    """Seed of sample 0, from 0 to ``MAX_SEED`` (2**32 - 1); sample i of ``generate(request, n)``
    uses ``seed + i``, so ``seed + n - 1`` must not pass ``MAX_SEED`` either."""
    top_logprobs: int = 0
    """Alternatives to return per position with their logprobs (0-20). 0: no logprobs at all;
    1: the chosen token's logprob only; 5: the chosen token and the 4 runners-up."""
    think: bool | None = None
    """For reasoning models: ask for a separate thinking trace (``None``: the model's default)."""

    def __post_init__(self) -> None:
        if (self.prompt is None) == (self.messages is None):
            msg = "A Request needs exactly one of prompt='...' or messages=[...]."
            raise ValueError(msg)
        if self.messages is not None:
            turns = tuple(
                m if isinstance(m, Message) else Message(**dict(m)) for m in self.messages
            )
            if not turns:
                msg = "messages is empty: give at least one {'role': 'user', 'content': ...}."
                raise ValueError(msg)
            object.__setattr__(self, "messages", turns)
        if self.prompt is not None and not isinstance(self.prompt, str):
            msg = f"prompt must be a string, not {type(self.prompt).__name__}."
            raise ValueError(msg)
        object.__setattr__(self, "stop", _stop_strings(self.stop))
        if not (_number(self.temperature) and 0 <= self.temperature <= 5):
            msg = f"temperature must be a number from 0 to 5, not {self.temperature!r}."
            raise ValueError(msg)
        if not (_number(self.top_p) and 0 < self.top_p <= 1):
            msg = f"top_p must be a number in (0, 1], not {self.top_p!r}."
            raise ValueError(msg)
        if not (_whole(self.top_k) and self.top_k >= 0):
            msg = f"top_k must be a whole number >= 0 (0 = no limit), not {self.top_k!r}."
            raise ValueError(msg)
        if not (_whole(self.max_tokens) and 1 <= self.max_tokens <= MAX_TOKENS):
            msg = (f"max_tokens must be a whole number from 1 to {MAX_TOKENS:,} (the most tokens "
                   f"to generate), not {self.max_tokens!r}.")
            raise ValueError(msg)
        if not (_whole(self.seed) and 0 <= self.seed <= MAX_SEED):
            msg = (f"seed must be a whole number from 0 to {MAX_SEED:,} (2**32 - 1), not "
                   f"{self.seed!r}: the engines keep 32 bits of a seed, so a larger one would "
                   "silently give a smaller seed's text.")
            raise ValueError(msg)
        if not (_whole(self.top_logprobs) and 0 <= self.top_logprobs <= 20):
            msg = f"top_logprobs must be a whole number from 0 to 20, not {self.top_logprobs!r}."
            raise ValueError(msg)

    def sampling_options(self) -> dict[str, Any]:
        """The sampling options under the backend-neutral names every backend records in
        ``Completion.options`` (each backend sends them under its server's own names)."""
        return {"temperature": self.temperature, "top_p": self.top_p, "top_k": self.top_k,
                "max_tokens": self.max_tokens, "stop": list(self.stop),
                "top_logprobs": self.top_logprobs}

    def chat(self) -> tuple[Message, ...]:
        """The request as chat turns (a prompt becomes one user turn)."""
        if self.messages is not None:
            return self.messages
        return (Message("user", self.prompt or ""),)

    def with_seed(self, seed: int) -> Request:
        return replace(self, seed=seed)

    def with_model(self, model: str) -> Request:
        return replace(self, model=model)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["stop"] = list(self.stop)
        if self.messages is not None:
            d["messages"] = [asdict(m) for m in self.messages]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Request:
        d = dict(d)
        if d.get("messages") is not None:
            d["messages"] = tuple(Message(**m) for m in d["messages"])
        d["stop"] = tuple(d.get("stop", ()))
        return cls(**known_fields(cls, d))

    def key(self) -> str:
        """A stable hash of everything that determines the answer (hex, 64 characters).

        Backend-independent: the same model, text, options and seed give the same key on Ollama,
        the embedded engine or a recording.
        """
        canonical = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False,
                               separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def summary(self, width: int = 60) -> str:
        text = self.prompt if self.prompt is not None else self.chat()[-1].content
        text = " ".join(text.split())
        if len(text) > width:
            text = text[: width - 1] + "…"
        return (f"model={self.model!r} prompt={text!r} temperature={self.temperature} "
                f"seed={self.seed} max_tokens={self.max_tokens}")


def _stop_strings(stop: object) -> tuple[str, ...]:
    """``stop`` as a tuple of non-empty strings (one string, or any sequence of them)."""
    if stop is None:
        return ()
    items = (stop,) if isinstance(stop, str) else stop
    if not isinstance(items, Iterable) or isinstance(items, Mapping | bytes):
        msg = f"stop must be a string or a list of strings, not {type(stop).__name__}."
        raise ValueError(msg)
    out = tuple(items)
    for i, s in enumerate(out):
        if not isinstance(s, str):
            msg = f"stop strings must be strings; stop[{i}] is {s!r} ({type(s).__name__})."
            raise ValueError(msg)
        if not s:
            msg = (f"stop[{i}] is the empty string, which would end every sample before its first "
                   "token: leave it out.")
            raise ValueError(msg)
    return out


@dataclass(frozen=True)
class Alternative:
    """A token the model could have produced at a position."""

    text: str
    logprob: float
    """Natural-log probability (nats; <= 0)."""

    @property
    def prob(self) -> float:
        """Probability, from 0 to 1."""
        return math.exp(self.logprob)


@dataclass(frozen=True)
class Token:
    """One generated token."""

    text: str
    logprob: float | None = None
    """Natural-log probability of this token (nats; <= 0); ``None`` when the backend gave none."""
    top: tuple[Alternative, ...] = ()
    """The most likely tokens at this position, most likely first."""

    @property
    def prob(self) -> float | None:
        """Probability, from 0 to 1 (``None`` without logprobs)."""
        return None if self.logprob is None else math.exp(self.logprob)

    def __repr__(self) -> str:
        p = "" if self.prob is None else f", p={self.prob:.3f}"
        alts = f", {len(self.top)} alternatives" if self.top else ""
        return f"Token({cut(self.text, 40)!r}{p}{alts})"

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "logprob": self.logprob,
                "top": [[a.text, a.logprob] for a in self.top]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Token:
        return cls(text=d["text"], logprob=d.get("logprob"),
                   top=tuple(Alternative(t, float(lp)) for t, lp in d.get("top", ())))


@dataclass(frozen=True)
class Timing:
    """When one sample was sent and when the pieces of its streamed answer arrived.

    Kept by backends that stream (the embedded engine), stored in recordings, and used to replay
    a recording at the speed it was recorded (``RecordingBackend(speed=1)``). Times are whole
    milliseconds, so a completion round-trips exactly through JSON; in JSON the arrivals are
    written as gaps and the pieces as lengths, which keeps a recording small.
    """

    sent_ms: int = 0
    """When the request was sent: Unix time in milliseconds (0: unknown)."""
    piece_ms: tuple[int, ...] = ()
    """When each piece of text arrived, in milliseconds after the request was sent (the first
    one is the time to first token), never decreasing."""
    piece_chars: tuple[int, ...] = ()
    """How many characters of ``Completion.text`` each piece holds; they add up to the text."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "piece_ms", tuple(self.piece_ms))
        object.__setattr__(self, "piece_chars", tuple(self.piece_chars))
        if len(self.piece_ms) != len(self.piece_chars):
            msg = (f"Timing needs one arrival time per piece: {len(self.piece_ms)} time(s) for "
                   f"{len(self.piece_chars)} piece(s).")
            raise ValueError(msg)
        if not (_whole(self.sent_ms) and self.sent_ms >= 0):
            msg = f"sent_ms must be a whole number of milliseconds >= 0, not {self.sent_ms!r}."
            raise ValueError(msg)
        last = 0
        for ms, chars in zip(self.piece_ms, self.piece_chars, strict=True):
            if not (_whole(ms) and ms >= last):
                msg = (f"piece_ms must be whole milliseconds >= 0 that never decrease, not "
                       f"{list(self.piece_ms)[:8]!r}…")
                raise ValueError(msg)
            if not (_whole(chars) and chars >= 0):
                msg = f"piece_chars must be whole numbers >= 0, not {chars!r}."
                raise ValueError(msg)
            last = ms

    def pieces(self, text: str) -> list[tuple[float, str]]:
        """(seconds after sending, piece of ``text``) for each piece, in order. A text shorter
        than the pieces say (an edited record) ends the list early; a longer one's rest comes
        with the last piece."""
        out: list[tuple[float, str]] = []
        start = 0
        for ms, chars in zip(self.piece_ms, self.piece_chars, strict=True):
            if start >= len(text):
                break
            out.append((ms / 1000, text[start:start + chars]))
            start += chars
        if out and start < len(text):
            out[-1] = (out[-1][0], out[-1][1] + text[start:])
        return out

    def to_dict(self) -> dict[str, Any]:
        gaps = [b - a for a, b in zip((0, *self.piece_ms), self.piece_ms, strict=False)]
        return {"sent_ms": self.sent_ms, "gaps_ms": gaps, "chars": list(self.piece_chars)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Timing:
        unknown = set(d) - {"sent_ms", "gaps_ms", "chars"}
        if unknown:
            msg = f"Timing has no field(s) {sorted(unknown)}; known: sent_ms, gaps_ms, chars."
            raise ValueError(msg)
        at, times = 0, []
        for gap in d.get("gaps_ms", ()):
            at += gap
            times.append(at)
        return cls(sent_ms=d.get("sent_ms", 0), piece_ms=tuple(times),
                   piece_chars=tuple(d.get("chars", ())))


@dataclass(frozen=True)
class Completion:
    """One sampled answer to a request, with everything needed to account for it."""

    text: str
    """The generated text (thinking excluded)."""
    model: str
    backend: str
    """Which backend produced it: ``"ollama"``, ``"embedded"`` …"""
    seed: int
    """The seed this sample used."""
    tokens: tuple[Token, ...] = ()
    """Generated tokens with logprobs, when the backend reports them."""
    prompt_tokens: int = 0
    """Tokens in the prompt as the model saw it (tokens)."""
    completion_tokens: int = 0
    """Tokens generated, thinking included (tokens)."""
    latency_s: float = 0.0
    """Wall-clock time from sending the request to the last token (seconds)."""
    finish_reason: str = "stop"
    """``"stop"`` (end of text or a stop string) or ``"length"`` (hit ``max_tokens``)."""
    cached: bool = False
    """True when served from a recording instead of a model."""
    thinking: str | None = None
    """The separate thinking trace of a reasoning model, if any."""
    options: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=True)
    """The sampling options sent (temperature, top_p, top_k, max_tokens, stop, top_logprobs)."""
    timing: Timing | None = None
    """When it was sent and when each piece of its text arrived, from backends that stream (the
    embedded engine); ``None`` when unknown (other backends, and recordings made before 0.2)."""

    @property
    def has_logprobs(self) -> bool:
        return bool(self.tokens) and all(t.logprob is not None for t in self.tokens)

    @property
    def mean_logprob(self) -> float | None:
        """Mean token logprob (nats per token), or ``None`` without logprobs."""
        if not self.has_logprobs:
            return None
        return sum(t.logprob or 0.0 for t in self.tokens) / len(self.tokens)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "tokens":
                value = [t.to_dict() for t in value]
            elif f.name == "options":
                value = dict(value)
            elif f.name == "timing":
                if value is None:
                    continue  # a record without timing reads as it always did
                value = value.to_dict()
            d[f.name] = value
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Completion:
        d = dict(d)
        d["tokens"] = tuple(Token.from_dict(t) for t in d.get("tokens", ()))
        d["options"] = dict(d.get("options", {}))
        if d.get("timing") is not None:
            d["timing"] = Timing.from_dict(d["timing"])
        return cls(**known_fields(cls, d))

    def as_cached(self) -> Completion:
        return replace(self, cached=True)

    def _key_numbers(self) -> list[tuple[str, object]]:
        mean = self.mean_logprob
        return [("model", f"{self.model} ({self.backend}{', recorded' if self.cached else ''})"),
                ("seed", self.seed),
                ("tokens", f"{self.prompt_tokens} prompt + {self.completion_tokens} generated"),
                ("finish", self.finish_reason),
                ("latency", f"{self.latency_s:.2f} s"),
                ("mean logprob", "–" if mean is None else f"{mean:.3f} nats/token")]

    def __repr__(self) -> str:
        thinking = f", thinking {len(self.thinking)} chars" if self.thinking else ""
        return (f"Completion({cut(self.text)!r}, {self.completion_tokens} tokens, "
                f"finish={self.finish_reason!r}, seed={self.seed}, model={cut(self.model, 40)!r}"
                f"{thinking})")

    def _repr_html_(self) -> str:
        fields: list[tuple[str, object]] = [("text", cut(self.text, 300))]
        if self.thinking:
            fields.append(("thinking", cut(self.thinking, 300)))
        return summary_html("Completion", fields + self._key_numbers(),
                            "show(completion) colours its tokens by probability.")

    def to_pandas(self) -> Any:
        """One row per generated token: ``position``, ``text``, ``logprob`` (nats) and
        ``prob`` (0 to 1; ``None`` without logprobs)."""
        return frame(({"position": i, "text": t.text, "logprob": t.logprob, "prob": t.prob}
                      for i, t in enumerate(self.tokens)),
                     ["position", "text", "logprob", "prob"])


@dataclass(frozen=True)
class CostModel:
    """Turns tokens into money. Prices are per million tokens, in ``currency``.

    The defaults are illustrative prices of a small hosted model, not any vendor's price list: set
    your own to compare with what you pay.
    """

    prompt_price: float = 0.10
    """Price per 1,000,000 prompt (input) tokens."""
    completion_price: float = 0.40
    """Price per 1,000,000 completion (output) tokens."""
    currency: str = "USD"

    def __post_init__(self) -> None:
        if self.prompt_price < 0 or self.completion_price < 0:
            msg = "Prices must be >= 0 (they are per million tokens)."
            raise ValueError(msg)

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.prompt_price + completion_tokens * self.completion_price) / 1e6

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CostModel:
        return cls(**known_fields(cls, d))


@dataclass(frozen=True)
class Usage:
    """Totals over a set of completions."""

    calls: int = 0
    """Number of completions."""
    prompt_tokens: int = 0
    """Sum of prompt tokens (tokens)."""
    completion_tokens: int = 0
    """Sum of generated tokens (tokens)."""
    latency_s: float = 0.0
    """Sum of per-completion latencies (seconds); concurrent calls overlap, so wall time is less."""
    max_latency_s: float = 0.0
    """The slowest single completion (seconds)."""
    cached_calls: int = 0
    """How many completions came from a recording."""
    cost: float = 0.0
    """Money under ``cost_model``."""
    cost_model: CostModel = field(default_factory=CostModel)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def tokens_per_second(self) -> float:
        """Generated tokens per second of summed latency (tokens/s)."""
        return self.completion_tokens / self.latency_s if self.latency_s > 0 else 0.0

    @classmethod
    def of(cls, completions: Iterable[Completion],
           cost_model: CostModel | None = None) -> Usage:
        cm = cost_model or CostModel()
        items: Sequence[Completion] = list(completions)
        prompt = sum(c.prompt_tokens for c in items)
        gen = sum(c.completion_tokens for c in items)
        return cls(
            calls=len(items),
            prompt_tokens=prompt,
            completion_tokens=gen,
            latency_s=sum(c.latency_s for c in items),
            max_latency_s=max((c.latency_s for c in items), default=0.0),
            cached_calls=sum(1 for c in items if c.cached),
            cost=cm.cost(prompt, gen),
            cost_model=cm,
        )

    def __add__(self, other: Usage) -> Usage:
        if not isinstance(other, Usage):
            return NotImplemented
        cm = self.cost_model
        return Usage(
            calls=self.calls + other.calls,
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            latency_s=self.latency_s + other.latency_s,
            max_latency_s=max(self.max_latency_s, other.max_latency_s),
            cached_calls=self.cached_calls + other.cached_calls,
            cost=cm.cost(self.prompt_tokens + other.prompt_tokens,
                         self.completion_tokens + other.completion_tokens),
            cost_model=cm,
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["cost_model"] = self.cost_model.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Usage:
        d = dict(d)
        d["cost_model"] = CostModel.from_dict(d.get("cost_model", {}))
        return cls(**known_fields(cls, d))

    def summary(self) -> str:
        """One line: calls, tokens, latency and cost."""
        money = f"{self.cost:.6f} {self.cost_model.currency}"
        return (f"{self.calls} call(s) · {self.prompt_tokens} prompt + {self.completion_tokens} "
                f"completion tokens · {self.latency_s:.2f} s summed latency · {money}")


