"""The simulated model and its exact theory curves, checked against brute force and sampling."""

from __future__ import annotations

import itertools
import math
import statistics
from collections import Counter
from fractions import Fraction

import pytest

from itc_lab import datasets
from itc_lab.analysis import maj_at_k, majority_vote, pass_at_k
from itc_lab.analysis.theory import (
    VOTING_OUTCOMES,
    larger_p,
    larger_problem,
    outcome_of_voting,
    theory_maj_at_k,
    theory_maj_limit,
    theory_pass_at_k,
)
from itc_lab.answers import extract_answer, normalize_number
from itc_lab.backends.base import Backend
from itc_lab.backends.simulated import BACKEND_NAME, SimulatedModel, SimulatedProblem
from itc_lab.techniques import self_consistency
from itc_lab.types import Message, Request


# -- oracles ----------------------------------------------------------------------------------
def outcomes_of(p: float, q: list[float], u: float) -> list[tuple[str | None, Fraction]]:
    """Exact outcome probabilities (as fractions of the float inputs)."""
    fp, fu = Fraction(p), Fraction(u)
    total = sum(Fraction(v) for v in q)
    wrong = [(f"w{j}", (1 - fp - fu) * Fraction(v) / total) for j, v in enumerate(q)]
    return [("gold", fp), *wrong, (None, fu)]


def brute_force_maj(p: float, q: list[float], k: int, u: float, *,
                    first_seen: bool) -> Fraction:
    """Sum over every sequence of k answers. ``first_seen``: majority_vote's own tie rule (the
    tied answer seen first wins); otherwise a tie among m answers counts 1/m."""
    total = Fraction(0)
    for seq in itertools.product(outcomes_of(p, q, u), repeat=k):
        prob = math.prod((pr for _, pr in seq), start=Fraction(1))
        answers = [a for a, _ in seq]
        if first_seen:
            winner, _ = majority_vote(answers)
            total += prob * (winner == "gold")
        else:
            counts = Counter(a for a in answers if a is not None)
            g = counts.get("gold", 0)
            if g and g == max(counts.values()):
                total += prob * Fraction(1, sum(1 for v in counts.values() if v == g))
    return total


def dataset(name: str = "arith", n: int = 30) -> datasets.Dataset:
    return datasets.load(name, n=n, seed=3)


# -- exact theory -------------------------------------------------------------------------------
@pytest.mark.parametrize(("p", "k"), [(0.0, 3), (0.3, 1), (0.3, 5), (0.9, 12), (1.0, 4)])
def test_pass_at_k_is_one_minus_all_wrong(p: float, k: int) -> None:
    # brute force: enumerate the 2**k right/wrong sequences
    hit = sum(math.prod(p if r else 1 - p for r in seq)
              for seq in itertools.product((True, False), repeat=k) if any(seq))
    assert theory_pass_at_k(p, k) == pytest.approx(hit, abs=1e-12)


CASES = [
    (0.4, [0.5, 0.3, 0.2], 5, 0.1),
    (0.3, [1.0, 1.0], 6, 0.0),  # two equally likely wrong answers: many ties
    (0.25, [0.6, 0.4], 4, 0.2),
    (0.5, [1.0], 7, 0.0),
    (0.2, [0.7, 0.2, 0.1], 3, 0.5),
    (0.6, [], 4, 0.4),  # nothing wrong, only unparsed samples
    (0.35, [3.0, 1.0], 6, 0.05),  # weights, normalised
]


@pytest.mark.parametrize(("p", "q", "k", "u"), CASES)
def test_maj_at_k_matches_brute_force_with_majority_votes_rule(
        p: float, q: list[float], k: int, u: float) -> None:
    exact = theory_maj_at_k(p, q, k, u)
    assert exact == pytest.approx(float(brute_force_maj(p, q, k, u, first_seen=True)), abs=1e-12)
    # and majority_vote's first-seen rule equals a fair coin among the tied answers
    assert exact == pytest.approx(float(brute_force_maj(p, q, k, u, first_seen=False)),
                                  abs=1e-12)


def test_maj_at_k_small_closed_forms() -> None:
    # k = 1: the vote is the sample; k = 2: gold wins on two golds or gold + unparsed, and half
    # of gold + wrong, so P = p^2 + 2pu + p(1-p-u) = p(1 + u)
    for p, u in [(0.3, 0.1), (0.55, 0.0), (0.1, 0.6)]:
        assert theory_maj_at_k(p, [2.0, 1.0], 1, u) == pytest.approx(p, abs=1e-14)
        assert theory_maj_at_k(p, [2.0, 1.0], 2, u) == pytest.approx(p * (1 + u), abs=1e-14)


def test_maj_at_k_accepts_a_mapping_and_ignores_zero_shares() -> None:
    as_list = theory_maj_at_k(0.4, [0.7, 0.3], 9, 0.1)
    assert theory_maj_at_k(0.4, {"7": 0.7, "9": 0.3, "11": 0.0}, 9, 0.1) == pytest.approx(
        as_list, abs=1e-14)


def test_maj_limit_cases_and_large_k_approach() -> None:
    assert theory_maj_limit(0.4, [0.6, 0.4], 0.0) == 1.0  # wrong answers 0.36, 0.24 < 0.4
    assert theory_maj_limit(0.2, [0.9, 0.1], 0.0) == 0.0  # 0.72 > 0.2
    assert theory_maj_limit(0.4, [1.0], 0.2) == pytest.approx(0.5)  # 0.4 vs 0.4: a tie
    assert theory_maj_limit(0.3, [1.0, 1.0], 0.1) == pytest.approx(1 / 3)  # 0.3, 0.3, 0.3
    assert theory_maj_limit(0.0, [1.0], 0.0) == 0.0
    assert theory_maj_limit(1.0, [], 0.0) == 1.0
    for p, q, u in [(0.5, [0.6, 0.4], 0.0), (0.2, [0.9, 0.1], 0.0), (0.4, [1.0], 0.2)]:
        far = theory_maj_at_k(p, q, 151, u)
        assert far == pytest.approx(theory_maj_limit(p, q, u), abs=0.02)


def test_maj_at_k_refuses_huge_state_spaces_with_advice() -> None:
    with pytest.raises(ValueError, match="max_steps") as err:
        theory_maj_at_k(0.4, [1.0] * 4, 40, max_steps=1000)
    assert "theory_maj_limit" in str(err.value)
    with pytest.raises(ValueError, match="max_steps"):
        theory_maj_at_k(0.4, [1.0] * 20, 400)


@pytest.mark.parametrize(("args", "fragment"), [
    ((1.2, [1.0], 3), "probability"),
    ((-0.1, [1.0], 3), "probability"),
    ((math.nan, [1.0], 3), "finite"),
    ((0.5, [1.0], 0), "k must be"),
    ((0.5, [1.0], True), "k must be"),
    ((0.5, [-1.0, 2.0], 3), ">= 0"),
    ((0.5, [], 3), "positive"),
    ((0.5, "12", 3), "not a string"),
    ((0.7, [1.0], 3, 0.5), "more than 1"),
])
def test_theory_rejects_bad_input(args: tuple[object, ...], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        theory_maj_at_k(*args)  # type: ignore[arg-type]


def test_pass_at_k_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="probability"):
        theory_pass_at_k(2.0, 3)
    with pytest.raises(ValueError, match="k must be"):
        theory_pass_at_k(0.5, 0)


# -- simulated problems -------------------------------------------------------------------------
def test_problem_normalises_wrong_shares() -> None:
    sp = SimulatedProblem("p1", "12", 0.5, {"13": 3.0, "11": 1.0}, p_unparsed=0.1)
    assert sp.wrong == {"13": 0.75, "11": 0.25}
    assert math.fsum(prob for _, prob in sp.outcomes()) == pytest.approx(1.0)
    assert dict(sp.outcomes())["13"] == pytest.approx(0.4 * 0.75)
    assert SimulatedProblem.from_dict(sp.to_dict()) == sp
    # all mass on correct or unparsed: no wrong answers needed
    assert SimulatedProblem("p2", "3", 0.9, {}, p_unparsed=0.1).wrong == {}


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"wrong": {"12": 1.0}}, "also a key of wrong"),
    ({"wrong": {"13.0": 1.0}}, "canonical form"),
    ({"gold": "12.50"}, "canonical form"),
    ({"wrong": {"13": -1.0, "11": 2.0}}, ">= 0"),
    ({"wrong": {}}, "at least one answer"),
    ({"wrong": [("13", 1.0)]}, "must map"),
    ({"p_correct": 1.5}, "probability"),
    ({"p_unparsed": 0.6}, "more than 1"),
    ({"kind": "letters"}, "kind must be"),
    ({"tokens": 0}, "tokens must be"),
    ({"problem_id": " "}, "problem_id"),
])
def test_problem_rejects_bad_input(kwargs: dict[str, object], fragment: str) -> None:
    base: dict[str, object] = {"problem_id": "p1", "gold": "12", "p_correct": 0.5,
                               "wrong": {"13": 1.0}}
    base.update(kwargs)
    with pytest.raises(ValueError, match=fragment):
        SimulatedProblem(**base)  # type: ignore[arg-type]


# -- the model as a backend ---------------------------------------------------------------------
def test_it_is_always_labelled_simulated() -> None:
    ds = dataset(n=5)
    sim = SimulatedModel.from_problems(ds, "big")
    assert isinstance(sim, Backend)
    assert sim.name == BACKEND_NAME == "simulated"
    assert sim.model == "simulated:big"
    assert "simulated" in sim.describe()
    assert SimulatedModel.from_problems(ds, "simulated:big").model == "simulated:big"
    for c in sim.generate(Request(prompt=ds[0].question), n=3):
        assert c.backend == "simulated"
        assert c.model.startswith("simulated:")


def test_samples_are_deterministic_in_name_problem_and_seed() -> None:
    ds = dataset(n=6)
    one = SimulatedModel.from_problems(ds, "m", seed=1)
    two = SimulatedModel.from_problems(ds, "m", seed=1)
    request = Request(prompt=ds[2].question, seed=5)
    texts = [c.text for c in one.generate(request, n=12)]
    assert texts == [c.text for c in two.generate(request, n=12)]
    assert texts == [c.text for c in one.generate_seeds(request, list(range(5, 17)))]
    assert [c.seed for c in one.generate(request, n=3)] == [5, 6, 7]
    assert len(set(texts)) > 1  # different seeds, different samples
    # asking for logprobs does not change what is sampled
    with_lp = one.generate(Request(prompt=ds[2].question, seed=5, top_logprobs=3), n=12)
    assert [c.text for c in with_lp] == texts
    # another model name is another model
    other = SimulatedModel.from_problems(ds, "n", seed=1)
    assert [c.text for c in other.generate(request, n=12)] != texts


def test_completion_fields() -> None:
    ds = dataset(n=4)
    sim = SimulatedModel.from_problems(ds, "m", tokens=50, tokens_per_second=25.0,
                                       prompt_tokens=33)
    got: list[str] = []
    out = sim.generate(Request(prompt=ds[0].question, top_logprobs=4), n=20,
                       on_result=lambda c: got.append(c.text))
    assert got == [c.text for c in out]
    for c in out:
        assert c.prompt_tokens == 33
        assert c.latency_s == pytest.approx(c.completion_tokens / 25.0)
        assert 20 <= c.completion_tokens <= 120
        assert c.finish_reason == "stop"
        assert "".join(t.text for t in c.tokens) == c.text
        for t in c.tokens:
            assert t.logprob is not None and t.logprob <= 0
            assert 1 <= len(t.top) <= 4
            assert t.top[0].logprob >= t.top[-1].logprob
            assert math.fsum(a.prob for a in t.top) <= 1 + 1e-9
        assert c.options["top_logprobs"] == 4
    assert statistics.fmean(c.completion_tokens for c in out) == pytest.approx(50, rel=0.2)
    assert all(c.tokens == () for c in sim.generate(Request(prompt=ds[0].question), n=3))


def test_sampled_answers_follow_the_problem_distribution() -> None:
    sp = SimulatedProblem("p1", "12", 0.5, {"13": 3.0, "24": 1.0}, p_unparsed=0.2,
                          question="What is twelve?")
    sim = SimulatedModel("one", [sp])
    n = 4000
    answers = [extract_answer(c.text).value
               for c in sim.generate(Request(prompt="What is twelve?"), n=n)]
    counts = Counter(answers)
    for answer, prob in sp.outcomes():
        se = math.sqrt(prob * (1 - prob) / n)
        assert counts[answer] / n == pytest.approx(prob, abs=4 * se + 1e-9)


def test_unparsed_samples_have_no_final_answer_for_numbers_and_text() -> None:
    for kind, gold, wrong in [("number", "12", {"13": 1.0}), ("text", "ae", {"ea": 1.0})]:
        sp = SimulatedProblem("p", gold, 0.0, wrong, p_unparsed=1.0, question="Q?", kind=kind)
        for c in SimulatedModel("u", [sp]).generate(Request(prompt="Q?"), n=5):
            assert extract_answer(c.text, kind).value is None


def test_theory_matches_sampling_through_analysis() -> None:
    ds = dataset(n=30)
    sim = SimulatedModel.from_problems(ds, "mc", accuracy=0.55, unparsed=0.1, seed=2)
    pool_size = 48
    pools = []
    for problem in ds:
        out = sim.generate(Request(prompt=problem.question, seed=1000), n=pool_size)
        pools.append([extract_answer(c.text).value for c in out])
    golds = [p.answer for p in ds]
    ks = [1, 3, 8]
    maj_theory = sim.theory_curve(ks, "maj")
    pass_theory = sim.theory_curve(ks, "pass")
    for k, want_maj, want_pass in zip(ks, maj_theory, pass_theory, strict=True):
        # each per-problem estimate is a U-statistic of order k over the pool, whose variance
        # is at most (k / pool_size) * 1/4; averaged over independent problems
        se = math.sqrt(k / pool_size * 0.25 / len(ds))
        measured_maj = statistics.fmean(maj_at_k(pool, g, k)
                                        for pool, g in zip(pools, golds, strict=True))
        measured_pass = statistics.fmean(pass_at_k(pool_size, pool.count(g), k)
                                         for pool, g in zip(pools, golds, strict=True))
        assert measured_maj == pytest.approx(want_maj, abs=4 * se)
        assert measured_pass == pytest.approx(want_pass, abs=4 * se)
    assert maj_theory[0] == pytest.approx(statistics.fmean(p.p_correct for p in sim.problems))


def test_text_problems_sample_at_their_rate() -> None:
    ds = dataset("last-letters", n=20)
    sim = SimulatedModel.from_problems(ds, "letters", accuracy=0.5)
    n = 40
    hits = 0
    for problem in ds:
        for c in sim.generate(Request(prompt=problem.question), n=n):
            hits += extract_answer(c.text, "text").value == problem.answer
    want = sim.theory_curve([1], "pass")[0]
    se = math.sqrt(0.25 / (n * len(ds)))
    assert hits / (n * len(ds)) == pytest.approx(want, abs=4 * se)


@pytest.mark.parametrize("few_shot", [False, True])
def test_self_consistency_runs_on_it_at_the_expected_rate(few_shot: bool) -> None:
    ds = dataset(n=60)
    sim = SimulatedModel.from_problems(ds, "sc", accuracy=0.5, seed=4)
    results = [self_consistency(p, sim, k=8, dataset=ds if few_shot else None) for p in ds]
    expected = [sim.problem(p.id).maj_at_k(8) for p in ds]
    se = math.sqrt(sum(m * (1 - m) for m in expected)) / len(ds)
    rate = sum(r.correct for r in results) / len(ds)
    assert rate == pytest.approx(statistics.fmean(expected), abs=4 * se + 1e-9)
    assert all(s.completion.backend == "simulated" for r in results for s in r.samples)


def test_logprobs_carry_a_confidence_signal() -> None:
    ds = dataset(n=20)

    def gap(signal: float) -> float:
        sim = SimulatedModel.from_problems(ds, "lp", accuracy=0.5, confidence_signal=signal)
        right, wrong = [], []
        for p in ds:
            for c in sim.generate(Request(prompt=p.question, top_logprobs=1), n=20):
                ok = extract_answer(c.text).value == p.answer
                (right if ok else wrong).append(c.mean_logprob or 0.0)
        return statistics.fmean(right) - statistics.fmean(wrong)

    # mean token logprob is -0.3 nats for correct samples and -0.3 * (1 + signal) otherwise
    assert gap(1.0) == pytest.approx(0.3, abs=0.05)
    assert gap(0.0) == pytest.approx(0.0, abs=0.05)


def test_greedy_gives_the_most_likely_outcome_for_every_seed() -> None:
    sp = SimulatedProblem("p", "12", 0.3, {"13": 0.8, "11": 0.2}, question="Q?")
    sim = SimulatedModel("g", [sp])
    out = sim.generate(Request(prompt="Q?", temperature=0.0), n=5)
    assert len({c.text for c in out}) == 1
    assert extract_answer(out[0].text).value == "13"  # 0.7 * 0.8 = 0.56 > 0.3


def test_max_tokens_and_stop_strings_cut_samples_short() -> None:
    sp = SimulatedProblem("p", "12", 1.0, {}, tokens=60, question="Q?")
    sim = SimulatedModel("cut", [sp])
    for c in sim.generate(Request(prompt="Q?", max_tokens=10), n=5):
        assert c.finish_reason == "length"
        assert c.completion_tokens == 10
        assert extract_answer(c.text).value is None
    for c in sim.generate(Request(prompt="Q?", stop=("answer",)), n=5):
        assert "answer" not in c.text
        assert extract_answer(c.text).value is None


def test_requests_are_matched_by_the_last_user_message() -> None:
    short = SimulatedProblem("a", "1", 1.0, {}, question="How many apples?")
    longer = SimulatedProblem("b", "2", 1.0, {}, question="Ann has two. How many apples?")
    sim = SimulatedModel("match", [short, longer])
    chat = (Message("user", "How many apples?"), Message("assistant", "The answer is 1."),
            Message("user", "Ann  has two.\nHow many APPLES? Think first."))
    assert sim.problem_for(Request(messages=chat)).problem_id == "b"
    assert extract_answer(sim.generate(Request(messages=chat))[0].text).value == "2"
    assert sim.problem_for(Request(prompt="how many apples?")).problem_id == "a"


def test_unknown_requests_and_models_fail_clearly() -> None:
    sim = SimulatedModel.from_problems(dataset(n=3), "known")
    with pytest.raises(ValueError, match="knows no problem") as err:
        sim.generate(Request(prompt="What is the capital of France?"))
    assert "capital of France" in str(err.value)
    with pytest.raises(ValueError, match="simulated:known"):
        sim.generate(Request(prompt=dataset(n=3)[0].question, model="smollm2:135m"))
    with pytest.raises(ValueError, match="n must be"):
        sim.generate(Request(prompt=dataset(n=3)[0].question), n=0)
    with pytest.raises(ValueError, match="no problem 'nope'"):
        sim.problem("nope")


def test_model_rejects_bad_construction() -> None:
    sp = SimulatedProblem("p", "12", 0.5, {"13": 1.0}, question="Q?")
    twin = SimulatedProblem("q", "12", 0.5, {"13": 1.0}, question="  q? ")
    with pytest.raises(ValueError, match="same question"):
        SimulatedModel("m", [sp, twin])
    with pytest.raises(ValueError, match="unique"):
        SimulatedModel("m", [sp, sp])
    with pytest.raises(ValueError, match="at least one"):
        SimulatedModel("m", [])
    with pytest.raises(TypeError, match="from_problems"):
        SimulatedModel("m", dataset(n=2))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="tokens_per_second"):
        SimulatedModel("m", [sp], tokens_per_second=0)
    with pytest.raises(ValueError, match="confidence_signal"):
        SimulatedModel("m", [sp], confidence_signal=-1)
    ds = dataset(n=3)
    for kwargs, fragment in [({"accuracy": 1.5}, "accuracy"), ({"concentration": 0}, "concentr"),
                             ({"n_wrong": 0}, "n_wrong"), ({"zipf": -1}, "zipf"),
                             ({"unparsed": 2}, "unparsed"),
                             ({"difficulty_of": lambda p: 2.0}, "difficulty_of")]:
        with pytest.raises(ValueError, match=fragment):
            SimulatedModel.from_problems(ds, "m", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one problem"):
        SimulatedModel.from_problems([], "m")
    with pytest.raises(ValueError, match="kind must be"):
        sim = SimulatedModel.from_problems(ds, "m")
        sim.theory_curve([1], "best")


def test_from_problems_draws_around_the_requested_accuracy() -> None:
    ds = dataset(n=400)
    sim = SimulatedModel.from_problems(ds, "beta", accuracy=0.7, concentration=2.0)
    ps = [p.p_correct for p in sim.problems]
    sd = math.sqrt(0.7 * 0.3 / (2.0 + 1))  # Beta with alpha + beta = 2
    assert statistics.fmean(ps) == pytest.approx(0.7, abs=4 * sd / math.sqrt(len(ps)))
    assert statistics.pstdev(ps) == pytest.approx(sd, rel=0.2)
    # a problem's draw does not depend on which other problems are in the set
    alone = SimulatedModel.from_problems(ds[5:6], "beta", accuracy=0.7, concentration=2.0)
    assert alone.problems[0] == sim.problems[5]


def test_difficulty_hook_mixes_easy_and_hard_problems() -> None:
    ds = dataset(n=20)
    sim = SimulatedModel.from_problems(
        ds, "mix", difficulty_of=lambda p: 1.0 if p.meta["steps"] <= 2 else 0.0, unparsed=0.0)
    for problem, sp in zip(ds, sim.problems, strict=True):
        assert sp.p_correct == (1.0 if problem.meta["steps"] <= 2 else 0.0)
    assert sim.theory_curve([1])[0] == pytest.approx(
        sum(p.meta["steps"] <= 2 for p in ds) / len(ds))


def test_number_distractors_are_plausible_with_zipf_weights() -> None:
    ds = dataset(n=25)
    sim = SimulatedModel.from_problems(ds, "d", n_wrong=5, zipf=1.0)
    want = sorted((1 / r for r in range(1, 6)), reverse=True)
    for problem, sp in zip(ds, sim.problems, strict=True):
        assert len(sp.wrong) == 5
        assert problem.answer not in sp.wrong
        gold = Fraction(problem.answer)
        for answer in sp.wrong:
            assert normalize_number(answer) == answer
            value = Fraction(answer)
            assert value.denominator == 1 and (value >= 0 or gold < 0)
        shares = sorted(sp.wrong.values(), reverse=True)
        assert shares == pytest.approx([w / sum(want) for w in want])


def test_text_distractors() -> None:
    sim = SimulatedModel.from_problems(dataset("coin-flip", n=10), "c", n_wrong=3)
    for sp in sim.problems:
        assert ("no" if sp.gold == "yes" else "yes") in sp.wrong
        assert sp.gold not in sp.wrong and len(sp.wrong) == 3


def test_theory_curve_is_the_mean_over_problems() -> None:
    sim = SimulatedModel.from_problems(dataset(n=12), "t")
    for kind in ("maj", "pass"):
        got = sim.theory_curve([1, 4], kind)
        for k, value in zip([1, 4], got, strict=True):
            per = [p.maj_at_k(k) if kind == "maj" else p.pass_at_k(k) for p in sim.problems]
            assert value == pytest.approx(statistics.fmean(per))
    assert sim.theory_curve([4], "pass")[0] >= sim.theory_curve([4], "maj")[0]
    with pytest.raises(ValueError, match="ks is empty"):
        sim.theory_curve([])


# -- what voting does in the limit, and a simulated larger model (lesson 06) ------------------
def _problem(p: float, wrong: dict[str, float], u: float = 0.0) -> SimulatedProblem:
    return SimulatedProblem(problem_id="q", gold="12", p_correct=p, wrong=wrong, p_unparsed=u,
                            tokens=40, question="What is 5 + 7?")


@pytest.mark.parametrize(("p", "wrong", "u", "outcome"), [
    (0.0, {"3": 1.0}, 0.0, "right answer never sampled"),
    (0.4, {"3": 0.5, "4": 0.5}, 0.0, "right answer is the most common"),  # 0.4 > 0.3, 0.3
    (0.4, {"3": 1.0}, 0.2, "right answer tied for most common"),  # 0.4 = 1 - 0.4 - 0.2
    (0.3, {"3": 0.6, "4": 0.4}, 0.0, "a wrong answer is more common"),  # 0.42 > 0.3
    (0.1, {}, 0.9, "right answer is the most common"),  # the rest never answers
])
def test_outcome_of_voting_by_hand(p: float, wrong: dict[str, float], u: float,
                                   outcome: str) -> None:
    assert outcome in VOTING_OUTCOMES
    assert outcome_of_voting(_problem(p, wrong, u)) == outcome


def test_outcome_of_voting_agrees_with_a_long_vote() -> None:
    # the vote over many samples settles where the outcome says it does
    for p, wrong in [(0.45, {"3": 1.0}), (0.35, {"3": 1.0}), (0.4, {"3": 0.5, "4": 0.5}),
                     (0.5, {"3": 1.0})]:
        problem = _problem(p, wrong)
        big_vote = problem.maj_at_k(301)
        outcome = outcome_of_voting(problem)
        assert (big_vote > 0.8) == (outcome == "right answer is the most common")
        assert (big_vote < 0.2) == (outcome == "a wrong answer is more common")
    with pytest.raises(ValueError, match="takes a SimulatedProblem"):
        outcome_of_voting({"p_correct": 0.5})  # type: ignore[arg-type]


def test_larger_p_multiplies_the_odds() -> None:
    assert larger_p(0.5, 8, 16) == pytest.approx(8 / 9)  # odds 1 -> 8
    assert larger_p(0.2, 8, 16) == pytest.approx(2 / 3)  # odds 1/4 -> 2
    assert larger_p(0.9, 1, 16) == pytest.approx(0.9)  # no gain, no change
    assert larger_p(0.3, 0.5, 16) == pytest.approx((0.5 * 3 / 7) / (1 + 0.5 * 3 / 7))
    assert larger_p(1.0, 8, 16) == 1.0
    # never right in 16 samples: half a success, p = 1/32, odds 1/31 -> 8/31
    assert larger_p(0.0, 8, 16) == pytest.approx(8 / 39)
    assert larger_p(0.0, 1, 4) == pytest.approx(1 / 8)
    assert larger_p(0.01, 8, 16) == larger_p(0.0, 8, 16)  # below the floor counts as the floor
    with pytest.raises(ValueError, match="odds_gain multiplies the odds"):
        larger_p(0.5, 0, 16)
    with pytest.raises(ValueError, match="samples"):
        larger_p(0.5, 8, 0)
    with pytest.raises(ValueError, match="probability from 0 to 1"):
        larger_p(1.5, 8, 16)


def test_larger_problem_keeps_the_wrong_answers_and_the_unparsed_share() -> None:
    small = _problem(0.25, {"3": 3.0, "4": 1.0}, u=0.25)
    large = larger_problem(small, 8, samples=16)
    # odds 1/3 -> 8/3, so p = 8/11; a third of the other samples stay unparsed: (3/11) / 3
    assert large.p_correct == pytest.approx(8 / 11)
    assert large.p_unparsed == pytest.approx(1 / 11)
    assert large.p_wrong == pytest.approx(2 / 11)
    assert large.wrong == pytest.approx({"3": 0.75, "4": 0.25})
    assert (large.problem_id, large.gold, large.tokens, large.question) == (
        small.problem_id, small.gold, small.tokens, small.question)
    # a model that sees every problem this way
    model = SimulatedModel("larger", [larger_problem(small, 8, samples=16)])
    assert model.problems[0].p_correct == pytest.approx(8 / 11)
    always = larger_problem(_problem(1.0, {}), 8, samples=16)
    assert (always.p_correct, always.p_unparsed) == (1.0, 0.0)
    with pytest.raises(ValueError, match="takes a SimulatedProblem"):
        larger_problem("q", 8, samples=16)  # type: ignore[arg-type]
