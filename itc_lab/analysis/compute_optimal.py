"""Compute-optimal allocation by difficulty (Snell et al. 2024). Introduced in lesson 06."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .._checks import finite, row_field, row_number, truth_value
from ..tables import frame, summary_html

__all__ = [
    "ALLOCATIONS",
    "OPTIMAL_LABEL",
    "BinChoice",
    "ComputeOptimalReport",
    "PolicyPoint",
    "Strategy",
    "compute_optimal",
    "difficulty_bins",
]


ALLOCATIONS = ("mean", "per_bin")

_MAX_POLICIES = 200_000

OPTIMAL_LABEL = "compute-optimal"

def difficulty_bins(pass_rates: Mapping[str, float], n_bins: int = 5) -> dict[str, int]:
    """Quantile bins of difficulty from the model's own pass rates (Snell et al. 2024).

    Bin 1 holds the easiest problems (highest pass rate), bin ``n_bins`` the hardest. Without
    ties the bins differ in size by at most one. Problems with the same pass rate always share a
    bin: the one their middle rank falls in, so a large tie can leave a neighbouring bin empty.
    Pass the rates of a *separate* estimate (other samples, a cheaper probe) to avoid grading
    difficulty with the very samples being scored. Introduced in lesson 06.
    """
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
        msg = f"n_bins must be a whole number >= 1, not {n_bins!r}."
        raise ValueError(msg)
    rates = {pid: finite(f"pass_rates[{pid!r}]", r) for pid, r in pass_rates.items()}
    if not rates:
        msg = "difficulty_bins needs at least one problem's pass rate."
        raise ValueError(msg)
    out_of_range = [pid for pid, r in rates.items() if not 0 <= r <= 1]
    if out_of_range:
        msg = (f"Pass rates are from 0 to 1; problem {out_of_range[0]!r} has "
               f"{rates[out_of_range[0]]!r}.")
        raise ValueError(msg)
    order = sorted(rates, key=lambda pid: (-rates[pid], str(pid)))
    n = len(order)
    bins: dict[str, int] = {}
    first = 0
    while first < n:
        last = first
        while last + 1 < n and rates[order[last + 1]] == rates[order[first]]:
            last += 1
        mid = (first + last) / 2
        b = min(n_bins, math.floor(mid * n_bins / n) + 1)
        for pid in order[first:last + 1]:
            bins[pid] = b
        first = last + 1
    return bins

@dataclass(frozen=True)
class Strategy:
    """One technique at one budget, measured on every problem. Introduced in lesson 06."""

    technique: str
    budget: Any
    """The budget as given in the rows (e.g. samples k)."""
    accuracy: float
    """Mean correctness over all problems (0 to 1)."""
    mean_cost: float
    """Mean cost per problem (cost units, e.g. tokens)."""
    by_bin: Mapping[int, tuple[float, float]] = field(hash=False)
    """Bin → (accuracy, mean cost per problem) within that bin."""

    @property
    def label(self) -> str:
        return f"{self.technique}@{self.budget}"

@dataclass(frozen=True)
class BinChoice:
    """What the compute-optimal policy does in one difficulty bin. Introduced in lesson 06."""

    bin: int
    strategy: str
    """``"technique@budget"``."""
    accuracy: float
    """Mean correctness in this bin (0 to 1)."""
    mean_cost: float
    """Mean cost per problem in this bin (cost units)."""
    n_problems: int

@dataclass(frozen=True)
class PolicyPoint:
    """The compute-optimal policy and the baseline at one compute level. Introduced in lesson 06.
    """

    level: float
    """The compute level (cost units per problem; see ``ComputeOptimalReport.allocation``)."""
    accuracy: float
    """Accuracy of the compute-optimal policy over all problems (0 to 1)."""
    mean_cost: float
    """Its mean cost per problem (cost units; at most ``level``)."""
    choices: tuple[BinChoice, ...]
    """One choice per bin, easiest bin first."""
    baseline: str | None
    """The baseline's best ``technique@budget`` whose mean cost is at most ``level``."""
    baseline_accuracy: float | None
    baseline_cost: float | None
    """Its mean cost per problem (cost units)."""

    @property
    def choice(self) -> str:
        """The choices in one line: ``"bin 1: A@2 · bin 2: B@8"``."""
        return " · ".join(f"bin {c.bin}: {c.strategy}" for c in self.choices)

def _cost_to_reach(points: Sequence[tuple[float, float]], target: float) -> float | None:
    """Cost at which the upper envelope of (cost, accuracy) points reaches ``target``, with
    linear interpolation between measured points; ``None`` when it never does. An accuracy below
    the target by rounding error only (the same mean summed in another order) reaches it."""
    ordered = sorted(points)
    lowest = target - 1e-9 * max(1.0, abs(target))
    best = -math.inf
    prev: tuple[float, float] | None = None
    for cost, acc in ordered:
        if acc >= lowest and acc > best:
            if prev is None or prev[1] >= target:
                return cost
            c0, a0 = prev
            return c0 + min(1.0, (target - a0) / (acc - a0)) * (cost - c0)
        if acc > best:
            best = acc
        prev = (cost, best)
    return None

@dataclass(frozen=True)
class ComputeOptimalReport:
    """Compute-optimal accuracy against a baseline, level by level. Introduced in lesson 06."""

    baseline: str
    """The baseline technique (all of its budgets)."""
    allocation: str
    """``"mean"`` or ``"per_bin"`` (see :data:`ALLOCATIONS`)."""
    cost_key: str
    """What cost means (the rows' field, e.g. ``"tokens"``)."""
    bin_sizes: Mapping[int, int] = field(hash=False)
    """Problems per difficulty bin."""
    strategies: tuple[Strategy, ...]
    points: tuple[PolicyPoint, ...]
    """One per compute level the policy can afford, cheapest first."""

    def __repr__(self) -> str:
        bins = "/".join(str(n) for _, n in sorted(self.bin_sizes.items()))
        best = max(self.points, key=lambda p: (p.accuracy, -p.mean_cost), default=None)
        top = ("" if best is None else f"; best {best.accuracy:.1%} at {best.mean_cost:.4g} "
                                       f"{self.cost_key} ({best.choice})")
        return (f"ComputeOptimalReport(against {self.baseline!r}, {len(self.bin_sizes)} bins "
                f"({bins} problems), {len(self.strategies)} strategies, {len(self.points)} "
                f"levels{top})")

    def _repr_html_(self) -> str:
        best = max(self.points, key=lambda p: (p.accuracy, -p.mean_cost), default=None)
        return summary_html("ComputeOptimalReport", [
            ("baseline", self.baseline), ("allocation", self.allocation),
            ("problems per bin", " · ".join(f"bin {b}: {n}"
                                            for b, n in sorted(self.bin_sizes.items()))),
            ("strategies", len(self.strategies)), ("levels", len(self.points)),
            ("best", "–" if best is None else f"{best.accuracy:.1%} at {best.mean_cost:.4g} "
                                              f"{self.cost_key}: {best.choice}")],
            "report.to_pandas() lists each level (rows() the same as dicts).")

    def to_pandas(self) -> Any:
        """The rows of :meth:`rows` as a DataFrame: per level, the compute-optimal policy and
        the baseline."""
        return frame(self.rows(), ["level", "strategy", "accuracy", "mean_cost", "choice"])

    def rows(self) -> list[dict[str, Any]]:
        """Plain rows for a chart: per level, one for the compute-optimal policy and one for the
        baseline (when it can afford that level), with ``level``, ``strategy``, ``accuracy``,
        ``mean_cost`` and ``choice`` (what was run)."""
        out: list[dict[str, Any]] = []
        for p in self.points:
            out.append({"level": p.level, "strategy": OPTIMAL_LABEL, "accuracy": p.accuracy,
                        "mean_cost": p.mean_cost, "choice": p.choice})
            if p.baseline is not None:
                out.append({"level": p.level, "strategy": self.baseline,
                            "accuracy": p.baseline_accuracy, "mean_cost": p.baseline_cost,
                            "choice": p.baseline})
        return out

    def efficiency(self, target_accuracy: float) -> float | None:
        """How many times more compute the baseline needs than the compute-optimal policy to
        reach ``target_accuracy``.

        Each side's compute is read off its measured (mean cost, accuracy) points with linear
        interpolation between neighbours (the baseline: its budgets; the policy: its levels).
        ``inf`` when only the policy reaches the target, ``None`` when the policy does not.
        """
        target = finite("target_accuracy", target_accuracy)
        mine = _cost_to_reach([(p.mean_cost, p.accuracy) for p in self.points], target)
        if mine is None:
            return None
        theirs = _cost_to_reach([(s.mean_cost, s.accuracy) for s in self.strategies
                                 if s.technique == self.baseline], target)
        if theirs is None:
            return math.inf
        if mine == 0:
            return 1.0 if theirs == 0 else math.inf
        return theirs / mine

    def to_dict(self) -> dict[str, Any]:
        return {"baseline": self.baseline, "allocation": self.allocation,
                "cost_key": self.cost_key,
                "bin_sizes": {str(b): n for b, n in self.bin_sizes.items()},
                "strategies": [{"technique": s.technique, "budget": s.budget,
                                "accuracy": s.accuracy, "mean_cost": s.mean_cost,
                                "by_bin": {str(b): list(v) for b, v in s.by_bin.items()}}
                               for s in self.strategies],
                "points": [{"level": p.level, "accuracy": p.accuracy, "mean_cost": p.mean_cost,
                            "choices": [asdict(c) for c in p.choices], "baseline": p.baseline,
                            "baseline_accuracy": p.baseline_accuracy,
                            "baseline_cost": p.baseline_cost} for p in self.points]}

def _budget_order(budget: Any) -> tuple[int, float, str]:
    if isinstance(budget, int | float) and not isinstance(budget, bool):
        return (0, float(budget), "")
    return (1, 0.0, str(budget))

def _measure(rows: Sequence[Mapping[str, Any]], bins: Mapping[Any, int], keys: dict[str, str],
             technique_keys: list[str]) -> tuple[list[Strategy], dict[int, int]]:
    budget_key = keys["budget"]
    problem_key, cost_key, correct_key = keys["problem"], keys["cost"], keys["correct"]
    per: dict[tuple[str, Any], dict[Any, list[tuple[float, float]]]] = {}
    for i, r in enumerate(rows):
        technique = " / ".join(str(row_field(r, k, i)) for k in technique_keys)
        budget = row_field(r, budget_key, i)
        pid = row_field(r, problem_key, i)
        hit = truth_value(row_field(r, correct_key, i), f"rows[{i}][{correct_key!r}]")
        cost = row_number(r, cost_key, i)
        if cost < 0:
            msg = f"rows[{i}][{cost_key!r}] is {cost!r}; a cost must be >= 0."
            raise ValueError(msg)
        if pid not in bins:
            msg = (f"Problem {pid!r} (rows[{i}]) has no difficulty bin; give bins for every "
                   "problem, e.g. bins=difficulty_bins(pass_rates).")
            raise ValueError(msg)
        per.setdefault((technique, budget), {}).setdefault(pid, []).append((hit, cost))
    if not per:
        msg = "compute_optimal needs rows: one per technique, budget and problem."
        raise ValueError(msg)
    problems = {pid for by_problem in per.values() for pid in by_problem}
    for (technique, budget), by_problem in per.items():
        missing = problems - set(by_problem)
        if missing:
            msg = (f"{technique}@{budget} has no rows for {len(missing)} problem(s), e.g. "
                   f"{sorted(map(str, missing))[0]!r}: run every technique and budget on the "
                   "same problems, so their accuracies compare.")
            raise ValueError(msg)
    bin_of: dict[Any, int] = {}
    for pid in problems:
        b = bins[pid]
        if isinstance(b, bool) or not isinstance(b, int):
            msg = f"bins[{pid!r}] must be a whole number (the bin), not {b!r}."
            raise ValueError(msg)
        bin_of[pid] = b
    sizes: dict[int, int] = {}
    for b in bin_of.values():
        sizes[b] = sizes.get(b, 0) + 1
    sizes = dict(sorted(sizes.items()))
    n = len(problems)
    strategies = []
    for (technique, budget), by_problem in per.items():
        sums: dict[int, list[float]] = {b: [0.0, 0.0] for b in sizes}
        for pid, records in by_problem.items():
            b = bin_of[pid]
            sums[b][0] += math.fsum(h for h, _ in records) / len(records)
            sums[b][1] += math.fsum(c for _, c in records) / len(records)
        by_bin = {b: (sums[b][0] / sizes[b], sums[b][1] / sizes[b]) for b in sizes}
        acc = 0.0
        cost = 0.0
        for b in sizes:  # the same order of summation as the policy search below
            acc += sizes[b] / n * by_bin[b][0]
            cost += sizes[b] / n * by_bin[b][1]
        strategies.append(Strategy(technique, budget, acc, cost, by_bin))
    strategies.sort(key=lambda s: (s.technique, _budget_order(s.budget)))
    return strategies, sizes

def _close_below(value: float, level: float) -> bool:
    return value <= level + 1e-9 * max(1.0, abs(level))

_Policy = tuple[float, float, tuple[int, ...]]

def _policy_frontier(strategies: list[Strategy], sizes: dict[int, int]) -> list[_Policy]:
    """Every per-bin assignment not beaten on both mean cost and accuracy, cheapest first."""
    n = sum(sizes.values())
    frontier: list[_Policy] = [(0.0, 0.0, ())]
    for b, size in sizes.items():
        w = size / n
        options = sorted(((w * s.by_bin[b][1], w * s.by_bin[b][0], i)
                          for i, s in enumerate(strategies)), key=lambda t: (t[0], -t[1], t[2]))
        useful = []
        best = -math.inf
        for cost, acc, i in options:
            if acc > best:
                useful.append((cost, acc, i))
                best = acc
        if len(frontier) * len(useful) > _MAX_POLICIES:
            msg = (f"Too many combinations to search ({len(frontier) * len(useful):,}); use fewer "
                   "bins or budgets, or allocation='per_bin'.")
            raise ValueError(msg)
        grown = sorted(((c + oc, a + oa, (*picks, i)) for c, a, picks in frontier
                        for oc, oa, i in useful), key=lambda t: (t[0], -t[1], t[2]))
        frontier = []
        best = -math.inf
        for policy in grown:
            if policy[1] > best:
                frontier.append(policy)
                best = policy[1]
    return frontier

def _per_bin_choice(strategies: list[Strategy], sizes: dict[int, int],
                    level: float) -> _Policy | None:
    n = sum(sizes.values())
    picks = []
    cost = 0.0
    acc = 0.0
    for b, size in sizes.items():
        affordable = [(-s.by_bin[b][0], s.by_bin[b][1], i) for i, s in enumerate(strategies)
                      if _close_below(s.by_bin[b][1], level)]
        if not affordable:
            return None
        _, _, i = min(affordable)
        picks.append(i)
        cost += size / n * strategies[i].by_bin[b][1]
        acc += size / n * strategies[i].by_bin[b][0]
    return cost, acc, tuple(picks)

def compute_optimal(rows: Sequence[Mapping[str, Any]], *, bins: Mapping[Any, int],
                    baseline: str = "majority", budget_key: str = "budget",
                    cost_key: str = "tokens",
                    technique_key: str | Sequence[str] = "technique",
                    problem_key: str = "problem_id", correct_key: str = "correct",
                    levels: Sequence[float] | None = None,
                    allocation: str = "mean") -> ComputeOptimalReport:
    """Pick the best technique and budget per difficulty bin at each compute level.

    ``rows`` hold one record per (technique, budget, problem) — repeats are averaged — with
    ``correct_key`` (True/False or 0 … 1) and ``cost_key`` (e.g. tokens). Every technique and
    budget must cover the same problems. ``bins`` maps each problem id to its difficulty bin;
    with :func:`difficulty_bins` of the very pass rates being scored this is Snell et al.'s
    *oracle* difficulty, with a separate estimate (a probe, another seed) it is the
    *predicted* difficulty a deployed system would have.

    At each compute ``level`` (cost per problem) the policy picks one technique@budget per bin:

    - ``allocation="mean"``: the assignment with the best overall accuracy whose mean cost over
      all problems is at most the level, found exactly (hard bins can spend what easy bins
      save). Any single technique@budget is one such assignment, so the policy is never worse
      than it at equal mean cost.
    - ``allocation="per_bin"``: in each bin, the best accuracy whose mean cost *in that bin* is
      at most the level (a per-question budget, as in Snell et al.).

    ``technique_key`` may name several fields, e.g. ``("model", "arm")`` for a sweep over two
    models; a strategy's name is then their values joined by ``" / "`` (``baseline`` too, e.g.
    ``"simulated:small / majority"``). The baseline at a level is the best budget of the
    ``baseline`` technique whose mean cost is at most the level. ``levels`` defaults to every
    cost at which either can change. Levels that the policy cannot afford in some bin are left
    out. Introduced in lesson 06.
    """
    if allocation not in ALLOCATIONS:
        msg = f"allocation must be one of {ALLOCATIONS}, not {allocation!r}."
        raise ValueError(msg)
    if not isinstance(bins, Mapping):
        msg = "bins must map each problem id to its bin, e.g. difficulty_bins(pass_rates)."
        raise ValueError(msg)
    technique_keys = [technique_key] if isinstance(technique_key, str) else list(technique_key)
    if not technique_keys:
        msg = "technique_key is empty: name the field(s) that tell strategies apart."
        raise ValueError(msg)
    keys = {"budget": budget_key, "problem": problem_key, "cost": cost_key,
            "correct": correct_key}
    strategies, sizes = _measure(rows, bins, keys, technique_keys)
    base = [s for s in strategies if s.technique == baseline]
    if not base:
        names = sorted({s.technique for s in strategies})
        msg = f"The baseline {baseline!r} is not in the rows; choose one of {names}."
        raise ValueError(msg)
    frontier = _policy_frontier(strategies, sizes) if allocation == "mean" else []
    if levels is None:
        found = {s.mean_cost for s in base}
        if allocation == "mean":
            found |= {c for c, _, _ in frontier}
        else:
            found |= {s.by_bin[b][1] for s in strategies for b in sizes}
        level_list = sorted(found)
    else:
        level_list = sorted(finite(f"levels[{i}]", v) for i, v in enumerate(levels))
        if not level_list:
            msg = "levels is empty: give compute levels (cost per problem), or None for all."
            raise ValueError(msg)
    points = []
    bin_list = list(sizes)
    for level in level_list:
        policy: _Policy | None
        if allocation == "mean":
            affordable = [p for p in frontier if _close_below(p[0], level)]
            policy = affordable[-1] if affordable else None  # the frontier rises with cost
        else:
            policy = _per_bin_choice(strategies, sizes, level)
        if policy is None:
            continue
        cost, acc, picks = policy
        choices = tuple(BinChoice(bin=b, strategy=strategies[i].label,
                                  accuracy=strategies[i].by_bin[b][0],
                                  mean_cost=strategies[i].by_bin[b][1], n_problems=sizes[b])
                        for b, i in zip(bin_list, picks, strict=True))
        fits = [s for s in base if _close_below(s.mean_cost, level)]
        chosen = max(fits, key=lambda s: (s.accuracy, -s.mean_cost)) if fits else None
        points.append(PolicyPoint(
            level=level, accuracy=acc, mean_cost=cost, choices=choices,
            baseline=chosen.label if chosen else None,
            baseline_accuracy=chosen.accuracy if chosen else None,
            baseline_cost=chosen.mean_cost if chosen else None))
    return ComputeOptimalReport(baseline=baseline, allocation=allocation, cost_key=cost_key,
                                bin_sizes=sizes, strategies=tuple(strategies),
                                points=tuple(points))
