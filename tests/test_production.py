"""Production costs: token budgets, caching, latency percentiles and thinking share."""

from __future__ import annotations

import math
import random
import statistics
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from itc_lab.analysis.latency import latency_percentiles, latency_table
from itc_lab.answers import extract_answer
from itc_lab.backends.base import OnResult
from itc_lab.backends.budgeted import BudgetedBackend, BudgetExceeded
from itc_lab.backends.caching import CachingBackend, cache_report
from itc_lab.backends.recordings import RecordingStore
from itc_lab.datasets import Dataset, Problem, load
from itc_lab.errors import BackendError
from itc_lab.techniques.thinking import (
    ANSWER_MARK,
    THINK_SYSTEM,
    split_thinking,
    think_request,
    thinking_share,
    thinking_status,
)
from itc_lab.types import Completion, CostModel, Message, Request

from .fakes import ScriptedBackend


def Scripted(tokens: int = 7, concurrency: int = 1,
             fail_seeds: Sequence[int] = ()) -> ScriptedBackend:
    """Generates ``min(tokens, max_tokens)`` tokens; latency and prompt size depend on the seed."""
    return ScriptedBackend(lambda r: f"answer {r.seed}", name="scripted", model="scripted-model",
                           concurrency=concurrency, fail_seeds=fail_seeds, logprob=None,
                           prompt_tokens=lambda r: 10 + r.seed,
                           completion_tokens=lambda r: min(tokens, r.max_tokens),
                           latency=lambda r: 0.1 * (r.seed + 1))


class Silent:
    """A backend that returns its completions but never calls on_result."""

    name = "silent"
    model = "silent-model"

    def generate(self, request: Request, n: int = 1, *,
                 on_result: OnResult | None = None) -> list[Completion]:
        return self.generate_seeds(request, [request.seed + i for i in range(n)])

    def generate_seeds(self, request: Request, seeds: Sequence[int], *,
                       on_result: OnResult | None = None) -> list[Completion]:
        return [Completion(text="x", model=self.model, backend=self.name, seed=s,
                           completion_tokens=3) for s in seeds]

    def describe(self) -> str:
        return "silent"


REQ = Request(prompt="What is 6*7?", max_tokens=10)


# -- budgets ------------------------------------------------------------------------------------
def test_per_request_budget_clamps_max_tokens() -> None:
    inner = Scripted(tokens=100)
    b = BudgetedBackend(inner, per_request_tokens=50)
    out = b.generate(Request(prompt="q", max_tokens=256), n=2)
    assert [r.max_tokens for r in inner.requests] == [50, 50]
    assert [c.completion_tokens for c in out] == [50, 50]
    b.generate(Request(prompt="q", max_tokens=20))
    assert inner.requests[-1].max_tokens == 20  # never raised
    assert b.spent == 120 and b.calls == 3 and b.remaining is None


def _sequential_oracle(budget: int, max_tokens: int, uses: int, wanted: int) -> list[int]:
    """Brute force, one sample at a time: each reserves min(max_tokens, left) and uses up to
    that; stop when less than 1 token is left."""
    left, sent = budget, []
    for _ in range(wanted):
        if left < 1:
            break
        cap = min(max_tokens, left)
        sent.append(cap)
        left -= min(uses, cap)
    return sent


def test_run_budget_reserves_releases_and_stops() -> None:
    inner = Scripted(tokens=7)
    b = BudgetedBackend(inner, per_run_tokens=100)
    first = b.generate(REQ, n=5)
    assert b.spent == 35 and b.remaining == 65 and b.calls == 5
    assert [c.seed for c in first] == [0, 1, 2, 3, 4]

    delivered: list[Completion] = []
    with pytest.raises(BudgetExceeded) as info:
        b.generate(REQ.with_seed(100), n=20, on_result=delivered.append)
    expected_caps = _sequential_oracle(65, 10, 7, 20)
    assert sorted(r.max_tokens for r in inner.requests[5:]) == sorted(expected_caps)
    assert len(delivered) == len(expected_caps) < 20
    assert sorted(c.seed for c in delivered) == list(range(100, 100 + len(expected_caps)))
    assert info.value.completions == tuple(delivered)
    assert b.spent == 35 + sum(c.completion_tokens for c in delivered) == 100
    assert b.remaining == 0
    assert isinstance(info.value, BackendError)
    assert info.value.spent == 100 and info.value.budget == 100
    assert "spent 100 of its 100" in str(info.value)
    assert "per_run_tokens=" in str(info.value)
    with pytest.raises(BudgetExceeded):
        b.generate(REQ)


def test_run_budget_is_exact_when_samples_use_less_than_reserved() -> None:
    inner = Scripted(tokens=3)
    b = BudgetedBackend(inner, per_run_tokens=40)
    delivered: list[Completion] = []
    with pytest.raises(BudgetExceeded):
        b.generate(REQ, n=50, on_result=delivered.append)
    assert len(delivered) == len(_sequential_oracle(40, 10, 3, 50))
    assert b.spent == sum(c.completion_tokens for c in delivered) <= 40


def test_budget_is_thread_safe_under_concurrent_callers() -> None:
    inner = Scripted(tokens=7, concurrency=4)
    b = BudgetedBackend(inner, per_run_tokens=500)
    delivered: list[Completion] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def collect(c: Completion) -> None:
        with lock:
            delivered.append(c)

    def worker(base: int) -> None:
        try:
            b.generate(REQ.with_seed(base), n=15, on_result=collect)
        except BudgetExceeded as e:
            with lock:
                errors.append(e)

    threads = [threading.Thread(target=worker, args=(1000 * i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors  # 8 x 15 samples of 7 tokens need 840 > 500
    assert b.spent == sum(c.completion_tokens for c in delivered) == 500
    assert b.calls == len(delivered) == len(inner.requests)
    assert b.remaining == 0


def test_failure_releases_reservations_and_keeps_finished_samples() -> None:
    inner = Scripted(tokens=7, concurrency=1, fail_seeds=(2,))
    b = BudgetedBackend(inner, per_run_tokens=100)
    delivered: list[Completion] = []
    with pytest.raises(RuntimeError, match="seed 2"):
        b.generate(REQ, n=4, on_result=delivered.append)
    assert [c.seed for c in delivered] == [0, 1]
    assert b.spent == 14 and b.remaining == 86


def test_budget_accounts_backends_that_skip_on_result() -> None:
    b = BudgetedBackend(Silent(), per_run_tokens=100)  # type: ignore[arg-type]
    seen: list[Completion] = []
    out = b.generate(REQ, n=4, on_result=seen.append)
    assert seen == out and b.spent == 12 and b.remaining == 88 and b.calls == 4


def test_budget_validation_and_protocol() -> None:
    with pytest.raises(ValueError, match="per_run_tokens"):
        BudgetedBackend(Scripted(), per_run_tokens=0)
    with pytest.raises(ValueError, match="per_request_tokens"):
        BudgetedBackend(Scripted(), per_request_tokens=2.5)  # type: ignore[arg-type]
    b = BudgetedBackend(Scripted(), per_run_tokens=10)
    assert (b.name, b.model) == ("scripted", "scripted-model")
    assert "0 of 10 run tokens" in b.describe()
    with pytest.raises(ValueError, match="n must be"):
        b.generate(REQ, n=0)


# -- caching ------------------------------------------------------------------------------------
def test_request_key_includes_the_seed() -> None:
    assert REQ.key() != REQ.with_seed(1).key()


def test_cache_serves_seen_requests_and_counts_savings() -> None:
    inner = Scripted()
    cm = CostModel(prompt_price=1.0, completion_price=2.0)
    cache = CachingBackend(inner, cost_model=cm)
    first = cache.generate(REQ, n=3)
    assert len(inner.requests) == 3 and not any(c.cached for c in first)
    again = cache.generate(REQ, n=5)
    assert sorted(r.seed for r in inner.requests[3:]) == [3, 4]  # only the new seeds
    assert [c.cached for c in again] == [True, True, True, False, False]
    assert [c.text for c in again[:3]] == [c.text for c in first]
    stats = cache.stats
    assert (stats.hits, stats.misses) == (3, 5)
    assert stats.hit_rate == pytest.approx(3 / 8)
    assert stats.latency_saved_s == pytest.approx(sum(c.latency_s for c in first))
    assert stats.tokens_saved == sum(c.prompt_tokens + c.completion_tokens for c in first)
    assert stats.cost_saved == pytest.approx(
        sum(c.prompt_tokens * 1.0 + c.completion_tokens * 2.0 for c in first) / 1e6)
    # identity is the whole request: another temperature is a miss; seed 1 alone is a hit
    cache.generate(REQ.with_seed(1))
    assert cache.stats.hits == 4
    cache.generate(Request(prompt=REQ.prompt, max_tokens=10, temperature=0.2))
    assert cache.stats.misses == 6
    cache.clear()
    assert cache.stats.hits == 0
    cache.generate(REQ)
    assert cache.stats.misses == 1


def test_cache_reads_a_recording_store_without_writing(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path / "rec.jsonl")
    inner = Scripted()
    recorded = inner.generate(REQ, n=2)
    store.put_many([(REQ.with_model(inner.model).with_seed(c.seed), c) for c in recorded])
    inner.requests.clear()
    cache = CachingBackend(inner, store)
    out = cache.generate(REQ, n=3)
    assert [r.seed for r in inner.requests] == [2]
    assert [c.cached for c in out] == [True, True, False]
    assert len(store) == 2
    assert cache.stats.latency_saved_s == pytest.approx(sum(c.latency_s for c in recorded))


def test_cache_report_matches_brute_force(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path / "rec.jsonl")
    inner = Scripted()
    base = REQ.with_model(inner.model)
    recorded = {s: inner.generate(base.with_seed(s))[0] for s in (0, 2, 5)}
    store.put_many([(base.with_seed(s), c) for s, c in recorded.items()])
    workload = [base.with_seed(s) for s in (0, 1, 2, 2, 3, 5, 9)]
    report = cache_report(store, workload)
    hits = [recorded[r.seed] for r in workload if r.seed in recorded]
    assert (report.hits, report.misses) == (len(hits), len(workload) - len(hits))
    assert report.hit_rate == pytest.approx(len(hits) / len(workload))
    assert report.latency_saved_s == pytest.approx(sum(c.latency_s for c in hits))
    cm = CostModel()
    assert report.cost_saved == pytest.approx(
        sum(cm.cost(c.prompt_tokens, c.completion_tokens) for c in hits))
    with pytest.raises(ValueError, match="names no model"):
        cache_report(store, [REQ])


# -- latency ------------------------------------------------------------------------------------
def test_latency_percentiles_hand_example() -> None:
    values = [4.0, 1.0, 3.0, 2.0]
    linear = latency_percentiles(values, ps=(0, 50, 90, 100))
    assert linear == pytest.approx({0: 1.0, 50: 2.5, 90: 3.7, 100: 4.0})
    nearest = latency_percentiles(values, ps=(0, 25, 50, 51, 90, 100), method="nearest")
    assert nearest == {0: 1.0, 25: 1.0, 50: 2.0, 51: 3.0, 90: 4.0, 100: 4.0}


@pytest.mark.parametrize("n", [1, 2, 7, 20, 101])
def test_latency_percentiles_against_brute_force(n: int) -> None:
    rng = random.Random(n)
    values = [round(rng.expovariate(2.0), 3) for _ in range(n)]
    ps = list(range(0, 101))
    ordered = sorted(values)
    nearest = latency_percentiles(values, ps, method="nearest")
    for p in ps:
        # the smallest measured value with at least p% of the values at or below it
        expected = next(v for v in ordered if 100 * sum(x <= v for x in values) >= p * n)
        assert nearest[p] == expected
    linear = latency_percentiles(values, ps)
    if n > 1:
        cuts = statistics.quantiles(values, n=100, method="inclusive")
        for p in range(1, 100):
            assert linear[p] == pytest.approx(cuts[p - 1])
    assert linear[0] == ordered[0] and linear[100] == ordered[-1]


def test_latency_percentiles_validation() -> None:
    with pytest.raises(ValueError, match="at least one"):
        latency_percentiles([])
    with pytest.raises(ValueError, match="from 0 to 100"):
        latency_percentiles([1.0], ps=(101,))
    with pytest.raises(ValueError, match=">= 0"):
        latency_percentiles([1.0, math.nan])


def test_latency_table_groups_and_rates() -> None:
    inner = Scripted()
    comps = inner.generate(REQ, n=5)
    rows = [{"model": "big", "latency_s": 2.0, "completion_tokens": 10},
            {"model": "big", "latency_s": 4.0, "completion_tokens": 30}]
    table = latency_table([*comps, *rows], by="model")
    small, big = table
    assert small["model"] == "scripted-model" and small["n"] == 5
    lat = [c.latency_s for c in comps]
    assert small["p50_s"] == pytest.approx(statistics.median(lat))
    assert small["mean_s"] == pytest.approx(statistics.fmean(lat))
    assert small["max_s"] == max(lat)
    assert small["tokens_per_s"] == pytest.approx(sum(c.completion_tokens for c in comps)
                                                  / sum(lat))
    assert big["tokens_per_s"] == pytest.approx(40 / 6)
    assert set(big) >= {"p90_s", "p95_s", "p99_s"}
    (everything,) = latency_table([{"latency_s": 1.0}, {"latency_s": 3.0}])
    assert everything["n"] == 2 and "tokens_per_s" not in everything
    with pytest.raises(ValueError, match="latency_s"):
        latency_table([{"seconds": 1.0}])
    with pytest.raises(ValueError, match="group by"):
        latency_table([{"latency_s": 1.0}], by="model")


# -- thinking -----------------------------------------------------------------------------------
def test_thinking_share_splits_tokens_by_characters() -> None:
    cm = CostModel(prompt_price=1.0, completion_price=2.0)
    c = Completion(text="b" * 100, model="m", backend="x", seed=0, thinking="a" * 300,
                   prompt_tokens=10, completion_tokens=80)
    share = thinking_share(c, cm)
    assert share["thinking_share"] == pytest.approx(0.75)
    assert (share["thinking_tokens_est"], share["answer_tokens_est"]) == (60, 20)
    assert share["cost"] == pytest.approx((10 * 1.0 + 80 * 2.0) / 1e6)
    assert share["thinking_cost_est"] == pytest.approx(60 * 2.0 / 1e6)
    plain = thinking_share(Completion(text="42", model="m", backend="x", seed=0,
                                      completion_tokens=5))
    assert (plain["thinking_tokens_est"], plain["answer_tokens_est"]) == (0, 5)
    assert plain["thinking_share"] == 0.0


def test_think_request_wraps_each_exemplars_working_in_think_tags() -> None:
    exemplars = load("arith", n=20, seed=70, difficulty=1)
    problem = exemplars.problems[0]  # asked about one of them: it is never its own exemplar
    request = think_request(problem, exemplars, temperature=0.5, max_tokens=96, stop=("\n\n",),
                            top_logprobs=1)
    turns = request.messages
    assert turns[0] == Message("system", THINK_SYSTEM)
    assert turns[-1] == Message("user", problem.question)
    shown = exemplars.exemplars(3, exclude=problem)
    assert problem not in shown
    assert [t.role for t in turns[1:-1]] == ["user", "assistant"] * 3
    pairs = zip(turns[1:-1:2], turns[2:-1:2], strict=True)
    for ex, (question, answer) in zip(shown, pairs, strict=True):
        assert question.content == ex.question
        working, final = answer.content.split("</think>\n")
        assert working.startswith("<think>") and final == f"The answer is {ex.answer}."
        # the tags and the line break replace one space: the worked solution comes back whole
        assert f"{working.removeprefix('<think>')} {final}" == ex.solution
    assert (request.temperature, request.max_tokens, request.stop, request.top_logprobs) == (
        0.5, 96, ("\n\n",), 1)
    assert request.prompt is None
    assert len(think_request(problem, exemplars, k=1).messages) == 4


def test_think_request_checks_its_input() -> None:
    exemplars = load("arith", n=5, seed=70, difficulty=1)
    problem = exemplars.problems[0]
    with pytest.raises(ValueError, match="drop prompt="):
        think_request(problem, exemplars, prompt="2 + 2?")
    with pytest.raises(ValueError, match="must be a Dataset"):
        think_request(problem, list(exemplars))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="takes the Problem"):
        think_request("2 + 2?", exemplars)  # type: ignore[arg-type]
    bare = Dataset("bare", (Problem("b1", "What is 1 + 1?", "2", solution="1 + 1 = 2."),
                            Problem("b2", "What is 2 + 2?", "4", solution="2 + 2 = 4.")))
    with pytest.raises(ValueError, match=f"no {ANSWER_MARK!r}"):
        think_request(problem, bare, k=1)


def _said(text: str) -> Completion:
    return Completion(text=text, model="m", backend="x", seed=0, prompt_tokens=30,
                      completion_tokens=20)


def test_split_thinking_moves_the_text_before_the_closing_tag_into_thinking() -> None:
    split = split_thinking(_said("<think> 3 + 4 = 7 </think>\nThe answer is 7.\n"))
    assert (split.thinking, split.text) == ("3 + 4 = 7", "The answer is 7.")
    assert (split.prompt_tokens, split.completion_tokens) == (30, 20)  # counts stay
    # only the first closing tag splits; a missing opening tag is fine
    twice = split_thinking(_said("a</think>b</think>c"))
    assert (twice.thinking, twice.text) == ("a", "b</think>c")
    # opened and never closed (cut off by max_tokens): all thinking, no answer to read
    open_only = split_thinking(_said("<think>18 apples. Madison picks 2 more apples."))
    assert (open_only.thinking, open_only.text) == ("18 apples. Madison picks 2 more apples.", "")
    cut_off = thinking_share(open_only)
    assert (cut_off["thinking_tokens_est"], cut_off["answer_tokens_est"]) == (20, 0)
    assert extract_answer(open_only.text).value is None  # not the 2 of an unfinished thought
    # no tags at all: the model answered without thinking
    plain = split_thinking(_said("18 + 2 = 20.\nThe answer is 20."))
    assert (plain.thinking, plain.text) == (None, "18 + 2 = 20.\nThe answer is 20.")
    assert thinking_share(plain)["thinking_tokens_est"] == 0
    assert [thinking_status(_said(t)) for t in ("<think>a</think>b", "<think>a", "a", "a</think>")
            ] == ["closed", "unclosed", "none", "closed"]
    # the split feeds thinking_share: 9 of 9 + 16 characters are thinking, 20 * 9/25 -> 7 tokens
    share = thinking_share(split)
    assert (share["thinking_chars"], share["answer_chars"]) == (9, 16)
    assert (share["thinking_tokens_est"], share["answer_tokens_est"]) == (7, 13)
    other = split_thinking(_said("[r]why[/r] 7"), open_tag="[r]", close_tag="[/r]")
    assert (other.thinking, other.text) == ("why", "7")
    with pytest.raises(ValueError, match="takes a Completion"):
        split_thinking("<think>a</think>b")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="close_tag must be a non-empty string"):
        split_thinking(_said("a"), close_tag="")
