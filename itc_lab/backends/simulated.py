""""""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from .._checks import finite, known_fields, probability, whole
from ..analysis.theory import (
    CURVE_KINDS,
    MAX_STEPS,
    theory_maj_at_k,
    theory_maj_limit,
    theory_pass_at_k,
)
from ..answers import KINDS, extract_answer, normalize_number, normalize_text
from ..types import Alternative, Completion, Request, Token
from .base import OnResult, seeds_of

if TYPE_CHECKING:
    from ..datasets.base import Problem

__all__ = [
    "BACKEND_NAME",
    "SimulatedModel",
    "SimulatedProblem",
]

BACKEND_NAME = "simulated"

"""The backend name every simulated completion carries."""

"""Most inner steps :func:`theory_maj_at_k` takes before it refuses (about two seconds)."""

_PREFIX = "simulated:"

"""Relative tolerance under which two probabilities count as tied in :func:`theory_maj_limit`."""

_BASE_NLL = 0.3

"""Mean negative logprob of a token of a correct sample (nats per token)."""

_OPENERS = (
    "Let me think step by step.",
    "Let's work through this carefully.",
    "I will solve this in small steps.",
    "First, I read the question again.",
)

_MIDDLES = (
    "I note what the question gives.",
    "I go through it in order.",
    "I combine the pieces.",
    "I double-check my work.",
    "I keep track of each change.",
)

_GIVE_UP = "Hmm, I am not sure how to finish this"

_OPPOSITES = {"yes": "no", "no": "yes", "true": "false", "false": "true", "heads": "tails",
              "tails": "heads", "pass": "fail", "fail": "pass"}




def _canonical(answer: str, kind: str) -> str | None:
    return normalize_number(answer) if kind == "number" else normalize_text(answer)

def _reads_back(answer: str, kind: str) -> bool:
    """Whether "The answer is X." gives back exactly X, so graded samples mean what we drew."""
    return extract_answer(f"So far so good. The answer is {answer}.", kind).value == answer

def _key(text: str) -> str:
    return " ".join(text.split()).casefold()

@dataclass(frozen=True)
class SimulatedProblem:
    """One problem as the simulated model sees it: how often it is right, and how it is wrong.

    Introduced in lesson 06.
    """

    problem_id: str
    """The problem's id (``Problem.id``); part of every sample's random seed."""
    gold: str
    """The correct answer, in canonical form (``"12"``, ``"5/2"``, ``"yes"``)."""
    p_correct: float
    """Probability that one sample is correct (0 to 1)."""
    wrong: Mapping[str, float] = field(hash=False)
    """Each wrong answer's probability *given* that a sample is wrong and has an answer;
    normalised to sum to 1. Empty only when ``p_correct + p_unparsed == 1``."""
    tokens: int = 60
    """Mean completion length (tokens); each sample varies around it."""
    p_unparsed: float = 0.0
    """Probability that one sample has no final answer (0 to 1)."""
    question: str = ""
    """The question text; a request is about this problem when its last user message contains
    it. Problems without a question work in the theory functions, not as a backend."""
    kind: str = "number"
    """``"number"`` or ``"text"``: how the answers are written and read back."""

    def __post_init__(self) -> None:
        if not (isinstance(self.problem_id, str) and self.problem_id.strip()):
            msg = f"problem_id must be a non-empty string, not {self.problem_id!r}."
            raise ValueError(msg)
        if self.kind not in KINDS:
            msg = f"Problem {self.problem_id}: kind must be one of {KINDS}, not {self.kind!r}."
            raise ValueError(msg)
        p = probability(f"Problem {self.problem_id}: p_correct", self.p_correct)
        u = probability(f"Problem {self.problem_id}: p_unparsed", self.p_unparsed)
        if p + u > 1.0 + 1e-12:
            msg = (f"Problem {self.problem_id}: p_correct + p_unparsed is {p + u:g}, more than 1; "
                   "lower one of them.")
            raise ValueError(msg)
        whole(f"Problem {self.problem_id}: tokens", self.tokens, 1)
        if not isinstance(self.question, str):
            msg = f"Problem {self.problem_id}: question must be a string, not {self.question!r}."
            raise ValueError(msg)
        if not isinstance(self.wrong, Mapping):
            msg = (f"Problem {self.problem_id}: wrong must map each wrong answer to its "
                   f"probability, e.g. {{'13': 0.7, '11': 0.3}}, not {self.wrong!r}.")
            raise ValueError(msg)
        wrong = dict(self.wrong)
        for answer in (self.gold, *wrong):
            self._check_answer(answer)
        if self.gold in wrong:
            msg = (f"Problem {self.problem_id}: the gold answer {self.gold!r} is also a key of "
                   "wrong; wrong holds only the wrong answers.")
            raise ValueError(msg)
        values = {a: finite(f"Problem {self.problem_id}: wrong[{a!r}]", v)
                  for a, v in wrong.items()}
        if any(v < 0 for v in values.values()):
            msg = f"Problem {self.problem_id}: wrong-answer probabilities must be >= 0: {wrong!r}."
            raise ValueError(msg)
        total = math.fsum(values.values())
        if total <= 0 and p + u < 1.0 - 1e-12:
            msg = (f"Problem {self.problem_id}: {1 - p - u:g} of its samples are wrong, so "
                   "wrong needs at least one answer with a positive probability, e.g. "
                   "{'13': 0.7, '11': 0.3}.")
            raise ValueError(msg)
        normalised = {a: v / total for a, v in values.items()} if total > 0 else {}
        object.__setattr__(self, "p_correct", p)
        object.__setattr__(self, "p_unparsed", u)
        object.__setattr__(self, "wrong", normalised)

    def _check_answer(self, answer: object) -> None:
        if not isinstance(answer, str):
            msg = f"Problem {self.problem_id}: answers must be strings, not {answer!r}."
            raise ValueError(msg)
        canonical = _canonical(answer, self.kind)
        if canonical != answer:
            msg = (f"Problem {self.problem_id}: write the answer {answer!r} in canonical form "
                   f"({canonical!r}), as normalize_{self.kind}() gives it.")
            raise ValueError(msg)
        if not _reads_back(answer, self.kind):
            msg = (f"Problem {self.problem_id}: the answer {answer!r} does not read back from "
                   f"'The answer is {answer}.'; choose a simpler answer.")
            raise ValueError(msg)

    @property
    def p_wrong(self) -> float:
        """Probability that one sample has a wrong answer (0 to 1)."""
        return max(0.0, 1.0 - self.p_correct - self.p_unparsed)

    def to_dict(self) -> dict[str, Any]:
        return {"problem_id": self.problem_id, "gold": self.gold, "p_correct": self.p_correct,
                "wrong": dict(self.wrong), "tokens": self.tokens, "p_unparsed": self.p_unparsed,
                "question": self.question, "kind": self.kind}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SimulatedProblem:
        return cls(**known_fields(cls, d))

    def outcomes(self) -> list[tuple[str | None, float]]:
        """Every outcome of one sample with its probability: gold, each wrong answer, then
        ``None`` (no final answer)."""
        out: list[tuple[str | None, float]] = [(self.gold, self.p_correct)]
        out += [(a, self.p_wrong * q) for a, q in self.wrong.items()]
        out.append((None, self.p_unparsed))
        return out

    def pass_at_k(self, k: int) -> float:
        """:func:`theory_pass_at_k` of this problem."""
        return theory_pass_at_k(self.p_correct, k)

    def maj_at_k(self, k: int, *, max_steps: int = MAX_STEPS) -> float:
        """:func:`theory_maj_at_k` of this problem."""
        return theory_maj_at_k(self.p_correct, self.wrong, k, self.p_unparsed,
                               max_steps=max_steps)

    def maj_limit(self) -> float:
        """:func:`theory_maj_limit` of this problem."""
        return theory_maj_limit(self.p_correct, self.wrong, self.p_unparsed)

def _number_distractors(gold: str, n: int) -> list[str]:
    g = Fraction(gold)
    integral = g.denominator == 1
    candidates = [g + 1, g - 1, 2 * g, g + 2, g - 2, g + 10, g - 10, g / 2, 10 * g, g + 3, g - 3,
                  g + 5, g - 5, g + 4, g - 4, -g]
    i = 6
    while len(candidates) < n + 40:
        candidates += [g + i, g - i]
        i += 1
    out: list[str] = []
    for c in candidates:
        if c == g or (integral and c.denominator != 1) or (g >= 0 > c):
            continue
        text = str(c)
        if text not in out:
            out.append(text)
        if len(out) == n:
            break
    return out

def _text_distractors(gold: str, n: int) -> list[str]:
    raw: list[str] = []
    if gold in _OPPOSITES:
        raw.append(_OPPOSITES[gold])
    chars = list(gold)
    raw.append(gold[::-1])
    if len(gold) > 1:
        raw += [gold[:-1], gold[1:]]
        swapped = chars[:]
        swapped[0], swapped[1] = swapped[1], swapped[0]
        raw.append("".join(swapped))
    raw.append(gold + gold[-1])
    for i in (len(chars) - 1, 0, *range(1, len(chars) - 1)):
        for shift in (1, 2, 3):
            c = chars[i]
            if "a" <= c <= "z":
                changed = chars[:]
                changed[i] = chr((ord(c) - ord("a") + shift) % 26 + ord("a"))
                raw.append("".join(changed))
    out: list[str] = []
    for r in raw:
        value = normalize_text(r)
        if value is None or value == gold or value in out or not _reads_back(value, "text"):
            continue
        out.append(value)
        if len(out) == n:
            break
    return out

def _distractors(problem: Problem, n: int) -> list[str]:
    found = (_number_distractors(problem.answer, n) if problem.kind == "number"
             else _text_distractors(problem.answer, n))
    found = [a for a in found if _reads_back(a, problem.kind)]
    if not found:
        msg = (f"Problem {problem.id}: no plausible wrong answers can be made from the gold "
               f"{problem.answer!r}; build its SimulatedProblem yourself with wrong={{...}}.")
        raise ValueError(msg)
    return found

class SimulatedModel:
    """A synthetic model over known problems: a backend whose behaviour is known exactly.

    ``SimulatedModel("big", problems)`` takes :class:`SimulatedProblem` s; most often build it
    with :meth:`from_problems` from a dataset. ``confidence_signal`` sets how much lower the
    token logprobs of wrong and unanswered samples are than those of correct ones (0: no
    difference; 1: twice the mean negative logprob), so confidence-based difficulty estimates
    have something to find. With ``top_logprobs >= 1`` a completion carries one Token per word
    (fewer than ``completion_tokens``); the answer's token lists the problem's other answers as
    alternatives. Latency is ``completion_tokens / tokens_per_second``. Introduced in lesson 06.
    """

    name = BACKEND_NAME
    """Backend name: always ``"simulated"``."""

    def __init__(self, name: str, problems: Sequence[SimulatedProblem], *,
                 tokens_per_second: float = 100.0, prompt_tokens: int = 80,
                 confidence_signal: float = 1.0) -> None:
        if not (isinstance(name, str) and name.strip()):
            msg = f"name must be a non-empty string naming the simulated model, not {name!r}."
            raise ValueError(msg)
        label = name.removeprefix(_PREFIX)
        self.model = _PREFIX + label
        """Model name, always ``"simulated:<name>"``."""
        self._label = label
        items = tuple(problems)
        if not items:
            msg = "A SimulatedModel needs at least one SimulatedProblem."
            raise ValueError(msg)
        for p in items:
            if not isinstance(p, SimulatedProblem):
                msg = (f"problems must be SimulatedProblem objects, not {type(p).__name__}; "
                       "for dataset problems use SimulatedModel.from_problems(problems).")
                raise TypeError(msg)
        self._by_id: dict[str, SimulatedProblem] = {}
        self._by_question: dict[str, SimulatedProblem] = {}
        for p in items:
            if p.problem_id in self._by_id:
                msg = f"Two simulated problems have the id {p.problem_id!r}; ids must be unique."
                raise ValueError(msg)
            self._by_id[p.problem_id] = p
            if p.question.strip():
                key = _key(p.question)
                if key in self._by_question:
                    other = self._by_question[key].problem_id
                    msg = (f"Problems {other!r} and {p.problem_id!r} have the same question, so a "
                           "request could not tell them apart; keep one of them.")
                    raise ValueError(msg)
                self._by_question[key] = p
        # longest first, so a question that contains another one wins
        self._questions = sorted(self._by_question.items(), key=lambda kv: -len(kv[0]))
        self.problems: tuple[SimulatedProblem, ...] = items
        """The problems, in the order given."""
        tps = finite("tokens_per_second", tokens_per_second)
        if tps <= 0:
            msg = f"tokens_per_second must be > 0, not {tokens_per_second!r}."
            raise ValueError(msg)
        self.tokens_per_second = tps
        """Simulated generation speed (tokens per second); latency is tokens / this."""
        self.prompt_tokens = whole("prompt_tokens", prompt_tokens, 0)
        """Prompt tokens every completion reports (tokens)."""
        signal = finite("confidence_signal", confidence_signal)
        if signal < 0:
            msg = f"confidence_signal must be >= 0 (0: no signal), not {confidence_signal!r}."
            raise ValueError(msg)
        self.confidence_signal = signal
        self._theory: dict[tuple[str, str, int], float] = {}

    # -- building ------------------------------------------------------------------------------
    @classmethod
    def from_problems(cls, problems: Sequence[Problem], name: str = "model", *,
                      accuracy: float = 0.6, concentration: float = 2.0,
                      difficulty_of: Callable[[Problem], float] | None = None,
                      n_wrong: int = 4, zipf: float = 1.0, unparsed: float = 0.05,
                      tokens: int = 60, seed: int = 0, tokens_per_second: float = 100.0,
                      prompt_tokens: int = 80, confidence_signal: float = 1.0) -> SimulatedModel:
        """A simulated model of ``problems`` (dataset problems) with drawn success rates.

        Each problem's ``p_correct`` is drawn from a Beta distribution with mean ``accuracy``
        (or ``difficulty_of(problem)``, to mix easy and hard problems) and ``alpha + beta =
        concentration``: small values spread the problems towards 0 and 1, large ones keep them
        near the mean. It gets ``n_wrong`` plausible wrong answers (numbers: gold ± 1, ± 2, × 2
        …; text: the opposite of yes/no, or small misspellings) with Zipf weights
        ``1 / rank**zipf``, and ``unparsed`` of its incorrect samples have no final answer. The
        draws use ``random.Random`` seeded by (name, problem id, ``seed``), so a problem gets the
        same numbers whatever other problems are in the set.
        """
        kappa = finite("concentration", concentration)
        if kappa <= 0:
            msg = f"concentration must be > 0 (alpha + beta of the Beta draw), not {kappa!r}."
            raise ValueError(msg)
        default_mean = probability("accuracy", accuracy)
        n_wrong = whole("n_wrong", n_wrong, 1)
        exponent = finite("zipf", zipf)
        if exponent < 0:
            msg = f"zipf must be >= 0 (0 makes all wrong answers equally likely), not {zipf!r}."
            raise ValueError(msg)
        share_unparsed = probability("unparsed", unparsed)
        whole("tokens", tokens, 1)
        whole("seed", seed, 0)
        label = name.removeprefix(_PREFIX) if isinstance(name, str) else name
        built = []
        for problem in problems:
            mean = default_mean
            if difficulty_of is not None:
                mean = probability(f"difficulty_of({problem.id})", difficulty_of(problem))
            rng = random.Random(f"{label}|{problem.id}|setup|{seed}")
            # a mean of exactly 0 or 1 is a sure outcome (the Beta draw needs alpha, beta > 0)
            sure = mean in (0.0, 1.0)
            p = mean if sure else rng.betavariate(mean * kappa, (1 - mean) * kappa)
            answers = _distractors(problem, n_wrong)
            rng.shuffle(answers)
            weights = {a: 1.0 / (rank + 1) ** exponent for rank, a in enumerate(answers)}
            built.append(SimulatedProblem(
                problem_id=problem.id, gold=problem.answer, p_correct=p, wrong=weights,
                tokens=tokens, p_unparsed=share_unparsed * (1.0 - p), question=problem.question,
                kind=problem.kind))
        if not built:
            msg = "from_problems needs at least one problem, e.g. datasets.load('arith', n=40)."
            raise ValueError(msg)
        return cls(name, built, tokens_per_second=tokens_per_second, prompt_tokens=prompt_tokens,
                   confidence_signal=confidence_signal)

    # -- looking problems up ---------------------------------------------------------------------
    def problem(self, problem_id: str) -> SimulatedProblem:
        """The simulated problem with this id."""
        try:
            return self._by_id[problem_id]
        except KeyError:
            msg = (f"The simulated model {self.model!r} has no problem {problem_id!r}; it knows "
                   f"{len(self._by_id)} problems, e.g. {next(iter(self._by_id))!r}.")
            raise ValueError(msg) from None

    def problem_for(self, request: Request) -> SimulatedProblem:
        """The problem whose question text occurs in the request's last user message."""
        users = [m.content for m in request.chat() if m.role == "user"]
        text = _key(users[-1]) if users else ""
        for key, problem in self._questions:
            if key in text:
                return problem
        msg = (f"The simulated model {self.model!r} knows no problem in the request "
               f"{request.summary()}: it answers only the {len(self._by_question)} questions it "
               "was built from, found in the last user message. Build it with "
               "SimulatedModel.from_problems(...) from the problems you ask about.")
        raise ValueError(msg)

    # -- the backend protocol ----------------------------------------------------------------
    def describe(self) -> str:
        mean = statistics.fmean(p.p_correct for p in self.problems)
        return (f"simulated · model {self.model} · {len(self.problems)} problems, mean "
                f"p_correct {mean:.2f} · a simulated model, not a real one")

    def generate(self, request: Request, n: int = 1, *,
                 on_result: OnResult | None = None) -> list[Completion]:
        """n completions of ``request``; sample i uses seed ``request.seed + i``."""
        return self.generate_seeds(request, seeds_of(request, n), on_result=on_result)

    def generate_seeds(self, request: Request, seeds: Sequence[int], *,
                       on_result: OnResult | None = None) -> list[Completion]:
        """One completion per seed, in the order of ``seeds``."""
        if request.model is not None and request.model != self.model:
            msg = (f"This simulated backend is the model {self.model!r}; the request asks for "
                   f"{request.model!r}. Leave Request.model unset or use {self.model!r}.")
            raise ValueError(msg)
        problem = self.problem_for(request)
        out = []
        for s in seeds:
            c = self._sample(problem, request, whole("seed", s, 0))
            if on_result is not None:
                on_result(c)
            out.append(c)
        return out

    # -- theory ------------------------------------------------------------------------------
    def theory_curve(self, ks: Sequence[int], kind: str = "maj") -> list[float]:
        """Expected accuracy for each k in ``ks``: the mean over problems of
        :func:`theory_maj_at_k` (``kind="maj"``) or :func:`theory_pass_at_k` (``"pass"``)."""
        if kind not in CURVE_KINDS:
            msg = f"kind must be one of {CURVE_KINDS}, not {kind!r}."
            raise ValueError(msg)
        k_list = [whole(f"ks[{i}]", k, 1) for i, k in enumerate(ks)]
        if not k_list:
            msg = "ks is empty: give the sample counts, e.g. ks=[1, 2, 4, 8]."
            raise ValueError(msg)
        out = []
        for k in k_list:
            values = []
            for p in self.problems:
                key = (kind, p.problem_id, k)
                if key not in self._theory:  # problems are frozen, so the values can be kept
                    self._theory[key] = p.pass_at_k(k) if kind == "pass" else p.maj_at_k(k)
                values.append(self._theory[key])
            out.append(math.fsum(values) / len(values))
        return out

    # -- one sample ----------------------------------------------------------------------------
    def _outcome(self, problem: SimulatedProblem, rng: random.Random,
                 greedy: bool) -> str | None:
        outcomes = problem.outcomes()
        if greedy:
            best = max(prob for _, prob in outcomes)
            return next(a for a, prob in outcomes if prob == best)
        r = rng.random()
        if r < problem.p_correct:
            return problem.gold
        if r < problem.p_correct + problem.p_unparsed or not problem.wrong:
            return None
        pick = rng.random()
        answers = list(problem.wrong.items())
        acc = 0.0
        for a, q in answers:
            acc += q
            if pick < acc:
                return a
        return answers[-1][0]

    def _sample(self, problem: SimulatedProblem, request: Request, seed: int) -> Completion:
        greedy = request.temperature == 0
        rng = random.Random(f"{self._label}|{problem.problem_id}|"
                            f"{'greedy' if greedy else seed}")
        answer = self._outcome(problem, rng, greedy)
        spread = rng.gauss(0.0, 0.15)
        n_tokens = max(1, round(problem.tokens * math.exp(spread)))
        sentences = [rng.choice(_OPENERS), *rng.sample(_MIDDLES, rng.randint(1, 3))]
        words = " ".join(sentences).split(" ")
        pieces = [words[0]] + [" " + w for w in words[1:]]
        answer_at = -1
        if answer is None:
            pieces += [" " + w for w in _GIVE_UP.split(" ")] + ["\n..."]
        else:
            pieces += [" The", " answer", " is"]
            answer_at = len(pieces)
            pieces += [" " + answer, "."]
        text = "".join(pieces)
        finish = "stop"
        cut = min((i for i in (text.find(s) for s in request.stop if s) if i >= 0),
                  default=-1)
        if cut >= 0:
            n_tokens = max(1, round(n_tokens * cut / len(text)))
            pieces = _cut_pieces(pieces, cut)
        if n_tokens > request.max_tokens:
            keep = len(pieces) * request.max_tokens // n_tokens
            pieces = pieces[:keep]
            n_tokens = request.max_tokens
            finish = "length"
        text = "".join(pieces)
        tokens: tuple[Token, ...] = ()
        if request.top_logprobs >= 1:
            tokens = self._tokens(problem, pieces, answer, answer_at, rng, request.top_logprobs)
        return Completion(
            text=text, model=self.model, backend=BACKEND_NAME, seed=seed, tokens=tokens,
            prompt_tokens=self.prompt_tokens, completion_tokens=n_tokens,
            latency_s=n_tokens / self.tokens_per_second, finish_reason=finish,
            options=request.sampling_options())

    def _tokens(self, problem: SimulatedProblem, pieces: list[str], answer: str | None,
                answer_at: int, rng: random.Random, top: int) -> tuple[Token, ...]:
        right = answer is not None and answer == problem.gold
        mean_nll = _BASE_NLL * (1.0 if right else 1.0 + self.confidence_signal)
        tokens = []
        for i, piece in enumerate(pieces):
            lp = -min(20.0, rng.expovariate(1.0 / mean_nll))
            alternatives: tuple[Alternative, ...] = (Alternative(piece, lp),)
            if i == answer_at and top >= 2:
                alternatives = _answer_alternatives(problem, piece, lp, top)
            tokens.append(Token(piece, lp, alternatives))
        return tuple(tokens)

def _cut_pieces(pieces: list[str], cut: int) -> list[str]:
    """The pieces covering the first ``cut`` characters of their concatenation."""
    out = []
    used = 0
    for piece in pieces:
        if used + len(piece) >= cut:
            if cut > used:
                out.append(piece[: cut - used])
            break
        out.append(piece)
        used += len(piece)
    return out

def _answer_alternatives(problem: SimulatedProblem, piece: str, lp: float,
                         top: int) -> tuple[Alternative, ...]:
    """The chosen answer token and the other answers, which share the rest of the probability
    in proportion to how often the problem gives them."""
    chosen = piece.strip()
    others = [(a, prob) for a, prob in problem.outcomes() if a is not None and a != chosen]
    rest = math.fsum(prob for _, prob in others)
    left = -math.expm1(lp)  # 1 - exp(lp)
    alternatives = [Alternative(piece, lp)]
    for a, prob in others:
        if prob > 0 and rest > 0 and left > 0:
            alternatives.append(Alternative(" " + a, math.log(left * prob / rest)))
    alternatives.sort(key=lambda alt: -alt.logprob)
    return tuple(alternatives[:top])
