"""Routing compute by difficulty: probe samples, difficulty estimates, routers, the fixed-budget
baseline they must beat, and how to judge both. Introduced in lesson 07."""

from __future__ import annotations

import itertools
import math
import statistics
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._checks import finite, probability, quantile, whole
from ..tables import frame, summary_html
from .scaling import pareto_indices
from .voting import majority_vote

if TYPE_CHECKING:
    from ..techniques.base import TechniqueResult

__all__ = [
    "COST_FIELDS",
    "ESTIMATORS",
    "Decision",
    "Estimator",
    "Pool",
    "PoolSample",
    "Router",
    "RouterReport",
    "accuracy_at_compute",
    "answer_length",
    "cost_field",
    "disagreement",
    "entropy",
    "estimator_scores",
    "evaluate_router",
    "fixed_budget_curve",
    "gain_over_fixed",
    "harder_half",
    "low_confidence",
    "mid_ranks",
    "pools_from_records",
    "pools_from_results",
    "rank_correlation",
    "samples_to_match",
    "tune_router",
]

Estimator = Callable[[Sequence["PoolSample"]], float]

"""``estimator(probe_samples) -> difficulty``: a number, higher means harder."""

COST_FIELDS = ("mean_samples", "mean_tokens")

"""The compute measures a router can be compared on: samples or generated tokens per problem."""

_MAX_SETTINGS = 100_000




# -- pools --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PoolSample:
    """One sample already drawn for a problem."""

    answer: str | None
    """The extracted answer in canonical form; ``None`` when none could be parsed."""
    correct: bool
    """Whether ``answer`` is the problem's gold answer (always False for ``None``)."""
    tokens: int
    """Generated tokens of this sample, thinking included (tokens)."""
    mean_logprob: float | None = None
    """Mean token logprob of the sample (nats per token, <= 0); ``None`` without logprobs."""

    def __post_init__(self) -> None:
        if self.answer is not None and not isinstance(self.answer, str):
            msg = (f"PoolSample answer must be a string or None, not {self.answer!r}: extract "
                   "the answer from the completion first.")
            raise ValueError(msg)
        if not isinstance(self.correct, bool):
            msg = f"PoolSample correct must be True or False, not {self.correct!r}."
            raise ValueError(msg)
        if self.answer is None and self.correct:
            msg = "A sample without a parsed answer (answer=None) cannot be correct."
            raise ValueError(msg)
        whole("PoolSample tokens", self.tokens, 0)
        if self.mean_logprob is not None:
            finite("PoolSample mean_logprob", self.mean_logprob)

    def to_dict(self) -> dict[str, Any]:
        return {"answer": self.answer, "correct": self.correct, "tokens": self.tokens,
                "mean_logprob": self.mean_logprob}

@dataclass(frozen=True)
class Pool:
    """The samples drawn for one problem, in the order they were drawn."""

    problem_id: str
    gold: str | None
    """The gold answer (canonical form), when known; correctness itself comes from the samples."""
    samples: tuple[PoolSample, ...]

    def __post_init__(self) -> None:
        items = tuple(self.samples)
        if not items:
            msg = f"Pool {self.problem_id!r} has no samples: draw at least one per problem."
            raise ValueError(msg)
        for i, s in enumerate(items):
            if not isinstance(s, PoolSample):
                msg = (f"Pool {self.problem_id!r}: samples[{i}] is a {type(s).__name__}, not a "
                       "PoolSample.")
                raise ValueError(msg)
        verdict: dict[str, bool] = {}
        for s in items:
            if s.answer is None:
                continue
            if verdict.setdefault(s.answer, s.correct) != s.correct:
                msg = (f"Pool {self.problem_id!r}: answer {s.answer!r} is marked both correct "
                       "and wrong; grade every sample against the same gold answer.")
                raise ValueError(msg)
        object.__setattr__(self, "samples", items)

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def answers(self) -> list[str | None]:
        return [s.answer for s in self.samples]

    def is_correct(self, answer: str | None) -> bool:
        """Whether ``answer`` is right, as graded on the samples that carry it."""
        return any(s.correct for s in self.samples if s.answer == answer and answer is not None)

    def __repr__(self) -> str:
        right = sum(s.correct for s in self.samples)
        return (f"Pool({self.problem_id!r}: {len(self.samples)} samples, {right} right, "
                f"{len(set(self.answers))} distinct answers, gold {self.gold!r})")

    def to_pandas(self) -> Any:
        """One row per sample: ``sample``, ``answer``, ``correct``, ``tokens``,
        ``mean_logprob``."""
        return frame(({"sample": i, **s.to_dict()} for i, s in enumerate(self.samples)),
                     ["sample", "answer", "correct", "tokens", "mean_logprob"])

    def to_dict(self) -> dict[str, Any]:
        return {"problem_id": self.problem_id, "gold": self.gold,
                "samples": [s.to_dict() for s in self.samples]}

def pools_from_results(results: Sequence[TechniqueResult]) -> list[Pool]:
    """One pool per technique result: its samples' answers, correctness, tokens and logprobs."""
    pools = []
    for r in results:
        samples = tuple(
            PoolSample(s.answer.value, bool(s.correct), s.completion.completion_tokens,
                       s.completion.mean_logprob)
            for s in r.samples)
        pools.append(Pool(r.problem.id, r.problem.answer, samples))
    return pools

_RECORD_KEYS = ("answers", "sample_correct", "sample_tokens")

def pools_from_records(rows: Sequence[Mapping[str, Any] | Any]) -> list[Pool]:
    """One pool per sweep record (a dict, or an object with ``to_dict()``).

    A record needs the per-sample lists ``answers``, ``sample_correct`` and ``sample_tokens``, and
    may have ``sample_mean_logprob``, ``problem_id`` (default: the row number) and ``gold``.
    """
    pools = []
    for i, row in enumerate(rows):
        d = row if isinstance(row, Mapping) else getattr(row, "to_dict", lambda: None)()
        if not isinstance(d, Mapping):
            msg = (f"rows[{i}] is a {type(row).__name__}; give sweep records as dicts (or "
                   "objects with to_dict()).")
            raise ValueError(msg)
        missing = [k for k in _RECORD_KEYS if k not in d]
        if missing:
            msg = (f"rows[{i}] has no {missing} field(s); a sweep record lists per-sample "
                   f"{', '.join(_RECORD_KEYS)} (and optionally sample_mean_logprob).")
            raise ValueError(msg)
        answers = list(d["answers"])
        logprobs = list(d.get("sample_mean_logprob") or [None] * len(answers))
        columns = [answers, list(d["sample_correct"]), list(d["sample_tokens"]), logprobs]
        if len({len(c) for c in columns}) != 1:
            msg = (f"rows[{i}]: answers, sample_correct, sample_tokens and sample_mean_logprob "
                   f"have different lengths {[len(c) for c in columns]}; give one value per "
                   "sample in each.")
            raise ValueError(msg)
        samples = tuple(PoolSample(a, c, t, lp) for a, c, t, lp in zip(*columns, strict=True))
        pools.append(Pool(str(d.get("problem_id", i)), d.get("gold"), samples))
    return pools

# -- difficulty estimators ----------------------------------------------------------------------
def _probe(probe: Sequence[PoolSample]) -> list[PoolSample]:
    items = list(probe)
    if not items:
        msg = "A difficulty estimate needs at least one probe sample."
        raise ValueError(msg)
    return items

def _answer_counts(items: list[PoolSample]) -> list[int]:
    """Sizes of the answer groups; every unparsed sample is a group of its own."""
    counts = Counter(s.answer for s in items if s.answer is not None)
    return [*counts.values(), *([1] * sum(s.answer is None for s in items))]

def disagreement(probe: Sequence[PoolSample]) -> float:
    """1 - the modal answer's share of the probe: 0 when all agree, up to ``1 - 1/n``.

    An unparsed sample agrees with nothing: it counts as an answer of its own, so a probe of
    ``n`` unparsed samples scores the maximum ``1 - 1/n``.
    """
    items = _probe(probe)
    return 1.0 - max(_answer_counts(items)) / len(items)

def entropy(probe: Sequence[PoolSample]) -> float:
    """Entropy of the probe's answer distribution (nats): 0 when all agree, up to ``ln n``.

    Unparsed samples each count as an answer of their own, as in :func:`disagreement`.
    """
    items = _probe(probe)
    n = len(items)
    return max(0.0, -math.fsum(c / n * math.log(c / n) for c in _answer_counts(items)))

def low_confidence(probe: Sequence[PoolSample]) -> float:
    """Minus the mean token logprob, averaged over probe samples (nats per token, 0 to inf).

    0 means the model was certain of every token. Needs logprobs on every probe sample.
    """
    items = _probe(probe)
    if any(s.mean_logprob is None for s in items):
        msg = ("low_confidence needs token logprobs, and some probe samples have none: sample "
               "with Request(top_logprobs=1) (or more) on a backend that reports logprobs, or "
               "use the 'disagreement' estimator.")
        raise ValueError(msg)
    return -math.fsum(s.mean_logprob or 0.0 for s in items) / len(items)

def answer_length(probe: Sequence[PoolSample]) -> float:
    """Mean generated tokens per probe sample (tokens, 0 to inf): long answers, hard problem."""
    items = _probe(probe)
    return math.fsum(s.tokens for s in items) / len(items)

ESTIMATORS: dict[str, Estimator] = {
    "disagreement": disagreement,
    "entropy": entropy,
    "low_confidence": low_confidence,
    "answer_length": answer_length,
}

"""Difficulty estimators by name; each maps the probe samples to a number, higher = harder."""

def _estimator(estimator: str | Estimator) -> tuple[str, Estimator]:
    if isinstance(estimator, str):
        if estimator not in ESTIMATORS:
            msg = (f"Unknown difficulty estimator {estimator!r}; choose one of "
                   f"{', '.join(ESTIMATORS)}, or pass a function probe_samples -> float.")
            raise ValueError(msg)
        return estimator, ESTIMATORS[estimator]
    if not callable(estimator):
        msg = f"estimator must be a name or a function probe_samples -> float, not {estimator!r}."
        raise ValueError(msg)
    return getattr(estimator, "__name__", "custom"), estimator

# -- routers ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Decision:
    """What a router did with one problem."""

    problem_id: str
    difficulty: float
    """The estimator's value on the probe samples (its own unit; higher = harder)."""
    tier: int
    """How many thresholds the difficulty exceeded (0 = easiest tier)."""
    samples: int
    """Samples used in total, probe included (samples)."""
    answer: str | None
    """Plurality vote over the samples used (ties: the answer seen first)."""
    correct: bool
    tokens: int
    """Generated tokens of the samples used (tokens)."""

    def to_dict(self) -> dict[str, Any]:
        return {"problem_id": self.problem_id, "difficulty": self.difficulty, "tier": self.tier,
                "samples": self.samples, "answer": self.answer, "correct": self.correct,
                "tokens": self.tokens}

def _label(estimator: str, thresholds: Sequence[float], budgets: Sequence[int]) -> str:
    spend = "/".join(map(str, budgets))
    if not thresholds:
        return f"{estimator} (one tier): {spend}"
    return f"{estimator}>{','.join(f'{t:.3g}' for t in thresholds)}: {spend}"

class Router:
    """Probe, estimate difficulty, then spend the budget of the difficulty's tier.

    ``Router("disagreement", probe=4, thresholds=[0.0], budgets=[4, 16])`` draws 4 samples; if
    they all agree (disagreement 0, not above the threshold 0.0) it stops at 4, otherwise it draws
    up to 16 in total. The tier is the number of ``thresholds`` the difficulty exceeds (strictly),
    so ``budgets`` has one more entry than ``thresholds``; budgets count samples in total, probe
    included, so each is at least ``probe``.
    """

    def __init__(self, estimator: str | Estimator, probe: int, thresholds: Sequence[float],
                 budgets: Sequence[int]) -> None:
        self.estimator_name, self.estimator = _estimator(estimator)
        self.probe = whole("probe (samples drawn before deciding)", probe, 1)
        self.thresholds = tuple(finite(f"thresholds[{i}]", t) for i, t in enumerate(thresholds))
        self.budgets = tuple(whole(f"budgets[{i}]", b, 1) for i, b in enumerate(budgets))
        if len(self.budgets) != len(self.thresholds) + 1:
            msg = (f"A router with {len(self.thresholds)} threshold(s) has "
                   f"{len(self.thresholds) + 1} tiers, so it needs {len(self.thresholds) + 1} "
                   f"budgets, not {len(self.budgets)}.")
            raise ValueError(msg)
        if any(b < a for a, b in itertools.pairwise(self.thresholds)):
            msg = f"thresholds must be in increasing order (easy to hard), not {self.thresholds}."
            raise ValueError(msg)
        if any(b < a for a, b in itertools.pairwise(self.budgets)):
            msg = (f"budgets must not decrease from tier to tier (harder problems get at least "
                   f"as many samples), not {self.budgets}.")
            raise ValueError(msg)
        if self.budgets[0] < self.probe:
            msg = (f"budgets count samples in total, probe included, so each must be >= probe="
                   f"{self.probe}; the smallest is {self.budgets[0]}.")
            raise ValueError(msg)

    def __repr__(self) -> str:
        return (f"Router({self.estimator_name!r}, probe={self.probe}, "
                f"thresholds={list(self.thresholds)}, budgets={list(self.budgets)})")

    @property
    def label(self) -> str:
        """A short name for charts, e.g. ``"disagreement>0.25: 4/16"``."""
        return _label(self.estimator_name, self.thresholds, self.budgets)

    def difficulty(self, pool: Pool) -> float:
        """The estimator's value on the pool's first ``probe`` samples."""
        self._check_pool(pool)
        value = self.estimator(pool.samples[: self.probe])
        return finite(f"The difficulty of problem {pool.problem_id!r}", value)

    def tier(self, difficulty: float) -> int:
        """How many thresholds ``difficulty`` exceeds."""
        return sum(difficulty > t for t in self.thresholds)

    def route(self, pool: Pool) -> Decision:
        """Route one problem, replaying its pool as the samples a live router would draw."""
        return self._decide(pool, self.difficulty(pool))

    def _check_pool(self, pool: Pool) -> None:
        if not isinstance(pool, Pool):
            msg = (f"route() takes a Pool, not a {type(pool).__name__}: build pools with "
                   "pools_from_results() or pools_from_records().")
            raise ValueError(msg)
        if len(pool) < self.budgets[-1]:
            msg = (f"Problem {pool.problem_id!r} has {len(pool)} samples, but the largest budget "
                   f"is {self.budgets[-1]}: draw at least that many samples per problem.")
            raise ValueError(msg)

    def _decide(self, pool: Pool, difficulty: float) -> Decision:
        tier = self.tier(difficulty)
        used = self.budgets[tier]
        winner, _ = majority_vote(pool.answers[:used])
        return Decision(pool.problem_id, difficulty, tier, used, winner, pool.is_correct(winner),
                        sum(s.tokens for s in pool.samples[:used]))

@dataclass(frozen=True)
class RouterReport:
    """How a router did over a set of problems."""

    estimator: str
    probe: int
    """Probe samples drawn before deciding (samples)."""
    thresholds: tuple[float, ...]
    budgets: tuple[int, ...]
    """Samples in total per tier, probe included (samples)."""
    accuracy: float
    """Share of problems whose voted answer is correct (0 to 1)."""
    mean_samples: float
    """Samples used per problem, on average (samples)."""
    mean_tokens: float
    """Generated tokens per problem, on average (tokens)."""
    tier_counts: tuple[int, ...]
    """Problems routed to each tier."""
    tier_accuracy: tuple[float | None, ...]
    """Accuracy within each tier (``None`` for an empty tier)."""
    decisions: tuple[Decision, ...] = field(repr=False)

    @property
    def label(self) -> str:
        return _label(self.estimator, self.thresholds, self.budgets)

    def __repr__(self) -> str:
        tiers = " · ".join(f"{n} to {b}" for n, b in zip(self.tier_counts, self.budgets,
                                                         strict=True))
        return (f"RouterReport({self.label!r}: accuracy {self.accuracy:.1%} on "
                f"{len(self.decisions)} problems at {self.mean_samples:.2f} samples "
                f"({self.mean_tokens:.0f} tokens) per problem; {tiers} samples)")

    def _repr_html_(self) -> str:
        return summary_html(f"RouterReport · {self.label}", [
            ("problems", len(self.decisions)), ("accuracy", f"{self.accuracy:.1%}"),
            ("mean samples per problem", f"{self.mean_samples:.2f}"),
            ("mean tokens per problem", f"{self.mean_tokens:.0f}"),
            ("problems per tier", " · ".join(
                f"{n} to {b} samples" for n, b in zip(self.tier_counts, self.budgets,
                                                      strict=True)))],
            "report.to_pandas() lists the decision on each problem.")

    def to_pandas(self) -> Any:
        """One row per problem routed (the fields of :class:`Decision`)."""
        return frame((d.to_dict() for d in self.decisions),
                     ["problem_id", "difficulty", "tier", "samples", "answer", "correct",
                      "tokens"])

    def to_row(self) -> dict[str, Any]:
        """The summary as a flat dict (no decisions), e.g. for a chart or a table."""
        return {"policy": "router", "router": self.label, "estimator": self.estimator,
                "probe": self.probe, "thresholds": list(self.thresholds),
                "budgets": list(self.budgets), "accuracy": self.accuracy,
                "mean_samples": self.mean_samples, "mean_tokens": self.mean_tokens,
                "tier_counts": list(self.tier_counts),
                "n_problems": len(self.decisions)}

    def to_dict(self) -> dict[str, Any]:
        return {"estimator": self.estimator, "probe": self.probe,
                "thresholds": list(self.thresholds), "budgets": list(self.budgets),
                "accuracy": self.accuracy, "mean_samples": self.mean_samples,
                "mean_tokens": self.mean_tokens, "tier_counts": list(self.tier_counts),
                "tier_accuracy": list(self.tier_accuracy),
                "decisions": [d.to_dict() for d in self.decisions]}

def _pools(pools: Sequence[Pool]) -> list[Pool]:
    items = list(pools)
    if not items:
        msg = "Give at least one pool (the samples of one problem)."
        raise ValueError(msg)
    for i, p in enumerate(items):
        if not isinstance(p, Pool):
            msg = (f"pools[{i}] is a {type(p).__name__}, not a Pool: build pools with "
                   "pools_from_results() or pools_from_records().")
            raise ValueError(msg)
    return items

def _report(router: Router, decisions: list[Decision]) -> RouterReport:
    n = len(decisions)
    tiers = len(router.budgets)
    counts = [0] * tiers
    right = [0] * tiers
    for d in decisions:
        counts[d.tier] += 1
        right[d.tier] += d.correct
    return RouterReport(
        estimator=router.estimator_name, probe=router.probe, thresholds=router.thresholds,
        budgets=router.budgets, accuracy=sum(right) / n,
        mean_samples=math.fsum(d.samples for d in decisions) / n,
        mean_tokens=math.fsum(d.tokens for d in decisions) / n,
        tier_counts=tuple(counts),
        tier_accuracy=tuple(r / c if c else None for r, c in zip(right, counts, strict=True)),
        decisions=tuple(decisions))

def evaluate_router(router: Router, pools: Sequence[Pool]) -> RouterReport:
    """Route every pool and summarise: accuracy, mean samples and tokens, per-tier results."""
    return _report(router, [router.route(p) for p in _pools(pools)])

# -- the fixed-budget baseline ------------------------------------------------------------------
def fixed_budget_curve(pools: Sequence[Pool], budgets: Sequence[int]) -> list[dict[str, Any]]:
    """Plain majority voting over the first ``b`` samples of every pool, for each budget ``b``.

    The same samples and the same vote (``majority_vote``) a router uses, so the two compare on
    equal terms. One row per budget, in increasing order::

        {"policy": "fixed", "budget": 4, "accuracy": 0.71, "mean_samples": 4.0,
         "mean_tokens": 212.5, "n_problems": 400}
    """
    items = _pools(pools)
    bs = sorted({whole(f"budgets[{i}]", b, 1) for i, b in enumerate(budgets)})
    if not bs:
        msg = "budgets is empty: give the fixed sample budgets to evaluate, e.g. [1, 2, 4, 8, 16]."
        raise ValueError(msg)
    shortest = min(items, key=len)
    if len(shortest) < bs[-1]:
        msg = (f"Problem {shortest.problem_id!r} has {len(shortest)} samples, fewer than the "
               f"budget {bs[-1]}: draw at least max(budgets) samples per problem.")
        raise ValueError(msg)
    rows = []
    for b in bs:
        right = sum(p.is_correct(majority_vote(p.answers[:b])[0]) for p in items)
        tokens = math.fsum(sum(s.tokens for s in p.samples[:b]) for p in items)
        rows.append({"policy": "fixed", "budget": b, "accuracy": right / len(items),
                     "mean_samples": float(b), "mean_tokens": tokens / len(items),
                     "n_problems": len(items)})
    return rows

def cost_field(x: str) -> str:
    if x not in COST_FIELDS:
        msg = f"x must be one of {COST_FIELDS} (samples or tokens per problem), not {x!r}."
        raise ValueError(msg)
    return x

def accuracy_at_compute(curve: Sequence[Mapping[str, Any]], compute: float,
                        x: str = "mean_samples") -> float:
    """Accuracy of a fixed-budget policy at ``compute`` per problem, by linear interpolation.

    Between the two budgets around ``compute`` (in ``x``: ``"mean_samples"`` or
    ``"mean_tokens"``), a policy that gives the larger budget to a random share
    ``(compute - low) / (high - low)`` of the problems and the smaller one to the rest spends
    ``compute`` on average, and its expected accuracy is the straight line between the two points.
    ``compute`` must lie within the curve's range.
    """
    x = cost_field(x)
    c = finite("compute", compute)
    points = sorted((finite(f"curve[{i}][{x!r}]", r[x]), finite(f"curve[{i}]['accuracy']",
                                                                     r["accuracy"]))
                    for i, r in enumerate(curve))
    if not points:
        msg = "The curve is empty: build it with fixed_budget_curve(pools, budgets)."
        raise ValueError(msg)
    lo_x, hi_x = points[0][0], points[-1][0]
    if not lo_x <= c <= hi_x:
        msg = (f"compute={c:g} is outside the curve's range {lo_x:g} … {hi_x:g} ({x}); add "
               "budgets to fixed_budget_curve so that it covers this compute level.")
        raise ValueError(msg)
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if x0 <= c <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (c - x0) / (x1 - x0)
    return points[0][1]  # a single-point curve, at exactly its compute

# -- tuning -------------------------------------------------------------------------------------

def _default_grid(difficulties: Sequence[float], steps: int) -> list[float]:
    ordered = sorted(difficulties)
    cuts = {quantile(ordered, i / steps) for i in range(steps + 1)}
    cuts.add(ordered[0] - 1.0)  # below every difficulty: everything to the top tier
    return sorted(cuts)

def tune_router(pools: Sequence[Pool], estimator: str | Estimator, probe: int,
                budgets: Sequence[int], *, grid: int | Sequence[float] = 10,
                x: str = "mean_samples") -> list[RouterReport]:
    """Try every threshold setting on a grid; return the Pareto-efficient ones, cheapest first.

    ``grid`` is either the candidate thresholds, or a number ``g`` of steps: then the candidates
    are the difficulty quantiles ``0, 1/g, …, 1`` over the pools' probes, plus one value below the
    smallest difficulty (which sends every problem to the top tier). Every non-decreasing choice of
    ``len(budgets) - 1`` candidates is evaluated; a setting is kept when no other one is at most as
    expensive (in ``x``, ``"mean_samples"`` or ``"mean_tokens"``) and more accurate. Among
    settings with the same cost and accuracy, the first one found is kept.
    """
    x = cost_field(x)
    items = _pools(pools)
    base = Router(estimator, probe, [0.0] * (len(budgets) - 1), budgets)
    difficulties = [base.difficulty(p) for p in items]
    if isinstance(grid, bool | int):
        cuts = _default_grid(difficulties, whole("grid (quantile steps)", grid, 1))
    else:
        cuts = sorted({finite(f"grid[{i}]", g) for i, g in enumerate(grid)})
        if not cuts:
            msg = "grid is empty: give candidate thresholds, or a number of quantile steps."
            raise ValueError(msg)
    slots = len(budgets) - 1
    settings = math.comb(len(cuts) + slots - 1, slots)
    if settings > _MAX_SETTINGS:
        msg = (f"{settings} threshold settings are too many to try; use a coarser grid "
               f"(fewer than {len(cuts)} candidates) or fewer tiers.")
        raise ValueError(msg)
    reports: list[RouterReport] = []
    seen: set[tuple[float, float]] = set()
    for thresholds in itertools.combinations_with_replacement(cuts, slots):
        router = Router(base.estimator, probe, thresholds, budgets)
        report = _report(router, [router._decide(p, d)
                                  for p, d in zip(items, difficulties, strict=True)])
        point = (getattr(report, x), report.accuracy)
        if point not in seen:
            seen.add(point)
            reports.append(report)
    front = pareto_indices([getattr(r, x) for r in reports], [r.accuracy for r in reports])
    return [reports[i] for i in front]

# -- judging estimators and routers (lesson 07) -------------------------------------------------
def mid_ranks(values: Sequence[float]) -> list[float]:
    """The 1-based rank of each value, smallest first; tied values share the mean of their ranks.

    ``mid_ranks([10, 30, 20, 30])`` is ``[1.0, 3.5, 2.0, 3.5]``. Introduced in lesson 07.
    """
    items = [finite(f"values[{i}]", v) for i, v in enumerate(values)]
    order = sorted(range(len(items)), key=lambda i: items[i])
    ranks = [0.0] * len(items)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and items[order[end + 1]] == items[order[start]]:
            end += 1
        for j in range(start, end + 1):
            ranks[order[j]] = (start + end) / 2 + 1
        start = end + 1
    return ranks

def rank_correlation(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Spearman's rank correlation: the Pearson correlation of the mid-ranks of ``xs`` and ``ys``.

    +1 when ``ys`` rises with ``xs`` in exactly the same order, -1 in exactly the reverse order,
    near 0 when the order of one says nothing about the other. Tied values share the mean of
    their ranks (:func:`mid_ranks`). ``None`` when either side has a single distinct value, where
    a correlation is undefined. Introduced in lesson 07.
    """
    rx, ry = mid_ranks(xs), mid_ranks(ys)
    if len(rx) != len(ry):
        msg = (f"xs has {len(rx)} values but ys has {len(ry)}: a rank correlation pairs each "
               "x with one y.")
        raise ValueError(msg)
    if len(rx) < 2:
        msg = f"A rank correlation needs at least 2 pairs of values, not {len(rx)}."
        raise ValueError(msg)
    if len(set(rx)) < 2 or len(set(ry)) < 2:
        return None
    return statistics.correlation(rx, ry)

def estimator_scores(pools: Sequence[Pool], probe: int, *, label: str = "",
                     estimators: Mapping[str, Estimator] | None = None) -> list[dict[str, Any]]:
    """How well each difficulty estimate, made from the first ``probe`` samples of every pool,
    predicts the failure rate of the samples after them.

    For every estimator (default :data:`ESTIMATORS`): the :func:`rank_correlation` between its
    value on each pool's probe and that pool's held-out failure rate, the share of wrong samples
    among ``samples[probe:]`` (never the probe itself, which would flatter the estimate). One row
    per estimator, in order: ``{"estimator": name, "pools": label, "rho": rho}``, ``rho`` from -1
    to +1 (higher: the estimate orders problems more nearly by failure rate), ``None`` when the
    estimates or the failure rates are all equal. Introduced in lesson 07.
    """
    items = _pools(pools)
    k = whole("probe (samples the estimate sees)", probe, 1)
    short = min(items, key=len)
    if len(short) <= k:
        msg = (f"Problem {short.problem_id!r} has {len(short)} samples, so none is left after "
               f"the {k} probe samples to measure its failure rate: draw more than probe samples "
               "per problem.")
        raise ValueError(msg)
    named = {name: _estimator(fn)[1]
             for name, fn in (ESTIMATORS if estimators is None else estimators).items()}
    if not named:
        msg = "estimators is empty: give {name: function probe_samples -> float, ...}."
        raise ValueError(msg)
    held_out_failure = [1 - sum(s.correct for s in p.samples[k:]) / (len(p) - k) for p in items]
    return [{"estimator": name, "pools": label,
             "rho": rank_correlation([estimate(p.samples[:k]) for p in items], held_out_failure)}
            for name, estimate in named.items()]

def harder_half(pools: Sequence[Pool], estimator: str | Estimator, *, probe: int,
                budgets: Sequence[int]) -> RouterReport:
    """A two-tier router whose rule is fixed before any answer is graded: the harder half of
    the problems, by the probe's difficulty, go on to ``budgets[1]`` samples; the rest stop at
    ``budgets[0]``.

    The threshold is the probe difficulty that sends as close to half of the problems up as ties
    allow (the lowest such value, when several are equally close). It is chosen from the probes
    alone, so unlike :func:`tune_router` it cannot fit the luck of the graded samples. Returns
    the router's :class:`RouterReport` on ``pools``. Introduced in lesson 07.
    """
    items = _pools(pools)
    if len(budgets) != 2:
        msg = (f"harder_half routes to two tiers, so it needs 2 budgets (easy half, hard half), "
               f"e.g. [4, 16], not {list(budgets)!r}.")
        raise ValueError(msg)
    probe_only = Router(estimator, probe, [0.0], budgets)
    values = [probe_only.difficulty(p) for p in items]
    cut = min(sorted(set(values)), key=lambda t: abs(sum(v > t for v in values) - len(values) / 2))
    return evaluate_router(Router(estimator, probe, [cut], budgets), items)

def gain_over_fixed(report: RouterReport, curve: Sequence[Mapping[str, Any]]) -> float:
    """A router's accuracy minus fixed allocation's at the same mean samples per problem
    (0 to 1 scale; positive: the router pays). ``curve`` is :func:`fixed_budget_curve` of the
    same pools, read with :func:`accuracy_at_compute`. Introduced in lesson 07.
    """
    if not isinstance(report, RouterReport):
        msg = (f"gain_over_fixed takes a RouterReport (from evaluate_router), not a "
               f"{type(report).__name__}.")
        raise ValueError(msg)
    return report.accuracy - accuracy_at_compute(curve, report.mean_samples)

def samples_to_match(curve: Sequence[Mapping[str, Any]], accuracy: float) -> float | None:
    """The fewest mean samples per problem at which fixed allocation reaches ``accuracy``.

    Reads the :func:`fixed_budget_curve` from its smallest budget up: the first budget whose
    accuracy is at least ``accuracy``, interpolated linearly from the budget before it (a random
    mix of the two budgets, as in :func:`accuracy_at_compute`); the smallest budget itself when it
    already reaches ``accuracy``. ``None`` when no budget on the curve does. Introduced in
    lesson 07.
    """
    target = probability("accuracy", accuracy)
    points = sorted((finite(f"curve[{i}]['mean_samples']", r["mean_samples"]),
                     finite(f"curve[{i}]['accuracy']", r["accuracy"]))
                    for i, r in enumerate(curve))
    if not points:
        msg = "The curve is empty: build it with fixed_budget_curve(pools, budgets)."
        raise ValueError(msg)
    low: tuple[float, float] | None = None
    for high in points:
        if high[1] >= target:
            if low is None:
                return high[0]
            share = (target - low[1]) / (high[1] - low[1])
            return low[0] + share * (high[0] - low[0])
        low = high
    return None
