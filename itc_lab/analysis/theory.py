"""Exact maj@k and pass@k of a model with known answer probabilities. Introduced in lesson 06."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from .._checks import finite, probability, whole

if TYPE_CHECKING:
    from ..backends.simulated import SimulatedProblem

__all__ = [
    "CURVE_KINDS",
    "MAX_STEPS",
    "VOTING_OUTCOMES",
    "larger_p",
    "larger_problem",
    "outcome_of_voting",
    "theory_maj_at_k",
    "theory_maj_limit",
    "theory_pass_at_k",
]


MAX_STEPS = 5_000_000

CURVE_KINDS = ("maj", "pass")

_TIE_TOL = 1e-9

def _wrong_list(wrong_probs: Sequence[float] | Mapping[str, float], p: float,
                p_unparsed: float) -> list[float]:
    """The absolute probability of each wrong answer, ``(1 - p - u) * q_j``, zeros dropped."""
    if isinstance(wrong_probs, Mapping):
        values = list(wrong_probs.values())
    elif isinstance(wrong_probs, str):
        msg = "wrong_probs must be numbers (one per wrong answer), not a string."
        raise ValueError(msg)
    else:
        values = list(wrong_probs)
    qs = [finite(f"wrong_probs[{i}]", v) for i, v in enumerate(values)]
    if any(q < 0 for q in qs):
        msg = f"wrong_probs must all be >= 0, not {values!r}."
        raise ValueError(msg)
    if p + p_unparsed > 1.0 + 1e-12:
        msg = (f"p + p_unparsed is {p + p_unparsed:g}, more than 1: they are the shares of "
               "correct and of unparsed samples, so lower one of them.")
        raise ValueError(msg)
    mass = max(0.0, 1.0 - p - p_unparsed)
    total = math.fsum(qs)
    if mass <= 1e-12:
        return []
    if total <= 0:
        msg = (f"With p={p:g} and p_unparsed={p_unparsed:g}, {mass:g} of the samples are wrong, "
               "so wrong_probs needs at least one positive number (the wrong answers' shares).")
        raise ValueError(msg)
    return [mass * q / total for q in qs if q > 0]

def theory_pass_at_k(p: float, k: int) -> float:
    """The chance that at least one of ``k`` independent samples is correct: ``1 - (1-p)^k``.

    Introduced in lesson 06.
    """
    p = probability("p", p)
    k = whole("k", k, 1)
    return -math.expm1(k * math.log1p(-p)) if p < 1 else 1.0

def _maj_steps(n_wrong: int, k: int) -> int:
    """An upper bound on the inner steps :func:`theory_maj_at_k` takes (states x choices)."""
    steps = 0
    for g in range(1, k + 1):
        r = k - g
        choices = min(g, r) + 1
        for j in range(n_wrong):  # states before wrong answer j: slots used x ties so far
            steps += (min(j * g, r) + 1) * (min(j, r // g) + 1) * choices
    return steps

def theory_maj_at_k(p: float, wrong_probs: Sequence[float] | Mapping[str, float], k: int,
                    p_unparsed: float = 0.0, *, max_steps: int = MAX_STEPS) -> float:
    """The exact probability that a plurality vote over ``k`` independent samples picks the gold.

    Each sample is correct with probability ``p``, has no final answer with probability
    ``p_unparsed`` and is wrong answer ``j`` with probability ``(1 - p - p_unparsed) * q_j``,
    where ``wrong_probs`` gives the ``q_j`` (shares of the wrong answers; they are normalised,
    so weights work too). The rule is ``itc_lab.analysis.majority_vote``'s: unparsed samples
    never win, and a tie among the top answers goes to the one that appeared first. For
    independent samples every order of a given set of counts is equally likely, so that rule
    picks each of ``m`` tied answers with probability ``1/m``, the same as a fair coin.

    The sum runs over every count vector (gold count, each wrong answer's count, unparsed count)
    with its multinomial probability, grouped by the gold count and the number of wrong answers
    tied with it, so it is exact. It takes about ``n_wrong * k**3`` steps; above ``max_steps``
    it raises rather than run for minutes. Introduced in lesson 06.
    """
    p = probability("p", p)
    u = probability("p_unparsed", p_unparsed)
    k = whole("k", k, 1)
    wrong = _wrong_list(wrong_probs, p, u)
    if p == 0.0:
        return 0.0
    steps = _maj_steps(len(wrong), k)
    if steps > max_steps:
        msg = (f"theory_maj_at_k with {len(wrong)} wrong answers and k={k} takes {steps:,} steps, "
               f"more than max_steps={max_steps:,}. Use a smaller k (theory_maj_limit gives the "
               "k → infinity value), raise max_steps, or merge the rarest wrong answers into one "
               "(merging can only lower the result, so it gives a lower bound).")
        raise ValueError(msg)
    log_fact = [math.lgamma(n + 1) for n in range(k + 1)]
    # ways[j][n][x] = C(n, x) * a_j**x: x of n free slots go to wrong answer j (a probability
    # weight, so nothing overflows; only truly negligible terms underflow to 0)
    ways = [[[math.exp(log_fact[n] - log_fact[x] - log_fact[n - x] + x * math.log(a))
              for x in range(n + 1)] for n in range(k)] for a in wrong]
    log_p = math.log(p)
    total = 0.0
    for g in range(1, k + 1):
        r = k - g
        # states[t][s]: weight of the wrong answers seen so far taking s of the r other slots,
        # t of them tied with gold (count == g); none may exceed g.
        states = [[1.0] + [0.0] * r]
        for table in ways:
            grown = [[0.0] * (r + 1) for _ in range(min(len(states) + 1, r // g + 1))]
            for t, row in enumerate(states):
                below = grown[t]
                for s, w in enumerate(row):
                    if w == 0.0:
                        continue
                    free = r - s
                    choose = table[free]
                    for x in range(min(g - 1, free) + 1):
                        below[s + x] += w * choose[x]
                    if g <= free:
                        grown[t + 1][s + g] += w * choose[g]
            states = grown
        # the slots left over are unparsed samples (u ** 0 == 1 when there are none)
        share = math.fsum(w * u ** (r - s) / (t + 1)
                          for t, row in enumerate(states) for s, w in enumerate(row) if w)
        total += math.exp(log_fact[k] - log_fact[g] - log_fact[r] + g * log_p) * share
    return min(1.0, max(0.0, total))

def theory_maj_limit(p: float, wrong_probs: Sequence[float] | Mapping[str, float],
                     p_unparsed: float = 0.0) -> float:
    """Majority-vote accuracy as the number of samples k grows without bound.

    1 when the gold is more likely than every wrong answer, 0 when some wrong answer is more
    likely, and ``1/m`` when the gold ties with ``m - 1`` wrong answers for the top (probabilities
    within a relative ``1e-9`` count as tied). Introduced in lesson 06.
    """
    p = probability("p", p)
    u = probability("p_unparsed", p_unparsed)
    wrong = _wrong_list(wrong_probs, p, u)
    if p == 0.0:
        return 0.0
    tied = sum(1 for a in wrong if math.isclose(a, p, rel_tol=_TIE_TOL))
    if any(a > p and not math.isclose(a, p, rel_tol=_TIE_TOL) for a in wrong):
        return 0.0
    return 1.0 / (1 + tied)

# -- what voting does in the limit, and a simulated larger model (lesson 06) -------------------
VOTING_OUTCOMES = ("right answer is the most common", "right answer tied for most common",
                   "a wrong answer is more common", "right answer never sampled")
"""What an ever larger majority vote does on a problem, as :func:`outcome_of_voting` names it."""

def _check_simulated(problem: object, who: str) -> None:
    from ..backends.simulated import SimulatedProblem  # here: that module imports this one

    if not isinstance(problem, SimulatedProblem):
        msg = (f"{who} takes a SimulatedProblem (e.g. one of SimulatedModel(...).problems), not "
               f"a {type(problem).__name__}.")
        raise ValueError(msg)

def outcome_of_voting(problem: SimulatedProblem) -> str:
    """Which of :data:`VOTING_OUTCOMES` holds for ``problem`` as the number of votes grows.

    From :func:`theory_maj_limit`: the vote is always right when the right answer is the most
    likely one, right in a share of the ties when it ties for first place, and always wrong when
    some wrong answer is more likely or the right answer has probability 0. Introduced in
    lesson 06.
    """
    _check_simulated(problem, "outcome_of_voting")
    if problem.p_correct == 0:
        return VOTING_OUTCOMES[3]
    limit = problem.maj_limit()
    if limit == 1:
        return VOTING_OUTCOMES[0]
    if limit > 0:
        return VOTING_OUTCOMES[1]
    return VOTING_OUTCOMES[2]

def larger_p(p_correct: float, odds_gain: float, samples: int) -> float:
    """A simulated larger model's chance of a right sample, from a smaller model's.

    The odds ``p / (1 - p)`` are multiplied by ``odds_gain``. A problem the smaller model never
    got right in ``samples`` samples counts as half a success (``p = 0.5 / samples``), so the
    larger model has some chance on it; a problem it always got right stays at 1. An assumption
    to state and vary, not a measurement. Introduced in lesson 06.
    """
    p = probability("p_correct", p_correct)
    gain = finite("odds_gain", odds_gain)
    if gain <= 0:
        msg = (f"odds_gain multiplies the odds of a right sample, so it must be > 0 (above 1: a "
               f"stronger model), not {odds_gain!r}.")
        raise ValueError(msg)
    n = whole("samples (the smaller model's samples per problem)", samples, 1)
    if p == 1:
        return 1.0
    small = max(p, 0.5 / n)  # half a success where none was seen
    odds = gain * small / (1 - small)
    return odds / (1 + odds)

def larger_problem(problem: SimulatedProblem, odds_gain: float,
                   samples: int) -> SimulatedProblem:
    """``problem`` as a simulated larger model sees it: ``p_correct`` raised by :func:`larger_p`,
    the same wrong answers in the same proportions, the same share of unparsed samples among
    the samples that are not right, and the same length. Introduced in lesson 06.
    """
    _check_simulated(problem, "larger_problem")
    big = larger_p(problem.p_correct, odds_gain, samples)
    p_correct, p_unparsed = problem.p_correct, problem.p_unparsed
    share_unparsed = p_unparsed / (1 - p_correct) if p_correct < 1 else 0.0
    return replace(problem, p_correct=big, p_unparsed=(1 - big) * share_unparsed)
