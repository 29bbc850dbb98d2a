"""The sweep runner: plan, resume, the append-only file and its repairs, results."""

from __future__ import annotations

import hashlib
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest

from itc_lab.datasets import Dataset, Problem
from itc_lab.experiments.sweep import (
    ROW_FIELDS,
    Arm,
    Sweep,
    SweepError,
    SweepFileWarning,
    SweepRecord,
    SweepResult,
    load_records,
)
from itc_lab.techniques import TechniqueResult, self_consistency

from .sweep_worker import (
    ARMS,
    BUDGETS,
    FAIL_MARK,
    N_CELLS,
    N_PROBLEMS,
    DetBackend,
    build_sweep,
    make_problems,
)

ROOT = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).with_name("sweep_worker.py")


def file_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def by_key(dicts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(dicts, key=lambda d: d["key"])


@pytest.fixture
def reference(tmp_path: Path) -> SweepResult:
    """The records of one uninterrupted run."""
    return build_sweep(tmp_path / "reference.jsonl").run(progress=False)


# -- plan ------------------------------------------------------------------------------------


def test_plan_has_every_cell_once_with_stable_distinct_keys(tmp_path: Path) -> None:
    arms = [Arm("greedy", "direct"), Arm("sc", "self_consistency", "k"),
            Arm("sc_hot", "self_consistency", "k", temperature=1.0)]
    problems = make_problems(5)
    backends = {"small": DetBackend("small"), "large": DetBackend("large")}
    budgets = [1, 4, 16]
    sweep = Sweep(tmp_path / "s.jsonl", arms, problems, backends, budgets)
    plan = sweep.plan()
    # arms with a budget_param run at every budget; the one without runs once
    assert len(plan) == (1 + 2 * len(budgets)) * len(problems) * len(backends)
    cells = {(t.arm.name, t.budget, t.problem.id, t.model) for t in plan}
    assert len(cells) == len(plan)
    assert len({t.key for t in plan}) == len(plan)
    assert all(len(t.key) == 64 and int(t.key, 16) >= 0 for t in plan)
    # models outermost: every cell of the first model comes before any of the second
    models = [t.model for t in plan]
    assert models == ["small"] * (len(plan) // 2) + ["large"] * (len(plan) // 2)

    again = Sweep(tmp_path / "other.jsonl", arms, problems, backends, budgets)
    assert [t.key for t in again.plan()] == [t.key for t in plan]
    assert sweep.pending() == plan

    # a different temperature changes that arm's keys only; more problems keep the old keys
    changed = [arms[0], arms[1], Arm("sc_hot", "self_consistency", "k", temperature=0.9)]
    more = Sweep(tmp_path / "more.jsonl", changed, make_problems(6), backends, budgets)
    old = {t.key: t.arm.name for t in plan}
    new = {t.key for t in more.plan()}
    assert {k for k, arm in old.items() if k not in new} == {
        k for k, arm in old.items() if arm == "sc_hot"}


def test_budget_mapping_gives_per_arm_levels(tmp_path: Path) -> None:
    sweep = Sweep(tmp_path / "s.jsonl", ARMS, make_problems(3), DetBackend(),
                  {"sc": [2, 8], "greedy": [1]})
    budgets = {(t.arm.name, t.budget) for t in sweep.plan()}
    assert budgets == {("greedy", 1), ("sc", 2), ("sc", 8)}
    assert sweep.plan()[0].kwargs() == {}
    assert next(t.kwargs() for t in sweep.plan() if t.arm.name == "sc") == {
        "k": 2, "temperature": 0.7}


def test_dataset_config_is_keyed_by_name_and_problems(tmp_path: Path) -> None:
    ds = Dataset("toy", tuple(make_problems(10)))
    same = Dataset("toy", tuple(make_problems(10)))
    problems = make_problems(3)

    def keys(dataset: Dataset) -> list[str]:
        arm = Arm("fs", "few_shot_cot", dataset=dataset, shots=2)
        return [t.key for t in Sweep(tmp_path / "k.jsonl", [arm], problems, DetBackend())
                .plan()]

    assert keys(ds) == keys(same)
    assert set(keys(ds)).isdisjoint(keys(ds[:8]))
    assert set(keys(ds)).isdisjoint(keys(Dataset("toy2", tuple(make_problems(10)))))
    arm = Arm("fs", "few_shot_cot", dataset=ds, shots=2)
    result = Sweep(tmp_path / "fs.jsonl", [arm], problems, DetBackend()).run(progress=False)
    assert result.complete
    marker = result.records[0].config["dataset"]
    assert marker["$dataset"] == "toy" and marker["problems"] == 10
    json.dumps(result.records[0].config)  # JSON data, not the object


# -- records ---------------------------------------------------------------------------------


def test_records_match_the_technique_run_directly(tmp_path: Path) -> None:
    result = build_sweep(tmp_path / "s.jsonl").run(progress=False)
    assert result.complete and len(result) == N_CELLS
    problems = {p.id: p for p in make_problems(N_PROBLEMS)}
    backend = DetBackend()
    for rec in result.records:
        if rec.arm != "sc":
            continue
        direct: TechniqueResult = self_consistency(problems[rec.problem_id], backend,
                                                   k=rec.budget, temperature=0.7)
        comps = [s.completion for s in direct.samples]
        assert rec.technique == "self_consistency"
        assert rec.answer == direct.answer and rec.correct == direct.correct
        assert rec.gold == "7" and rec.correct == (rec.answer == "7")
        assert rec.samples == rec.budget == len(comps)
        assert rec.prompt_tokens == sum(c.prompt_tokens for c in comps)
        assert rec.completion_tokens == sum(c.completion_tokens for c in comps)
        assert rec.latency_s == pytest.approx(sum(c.latency_s for c in comps))
        assert list(rec.answers) == [s.answer.value for s in direct.samples]
        assert list(rec.sample_correct) == [s.correct for s in direct.samples]
        assert list(rec.sample_tokens) == [c.completion_tokens for c in comps]
        for got, c in zip(rec.sample_mean_logprob, comps, strict=True):
            assert got == pytest.approx(sum(t.logprob or 0 for t in c.tokens) / len(c.tokens))
        assert dict(rec.votes) == pytest.approx(dict(direct.votes))
        assert rec.config == {"k": rec.budget, "temperature": 0.7}
        assert rec.backend == "det" and rec.model == "det-model" and not rec.simulated
        assert SweepRecord.from_dict(json.loads(json.dumps(rec.to_dict()))) == rec


def test_simulated_flag_follows_the_backend_name(tmp_path: Path) -> None:
    sim = DetBackend("sim-model", name="simulated")
    result = Sweep(tmp_path / "s.jsonl", [Arm("greedy", "direct")], make_problems(2),
                   {"sim": sim, "real": DetBackend()}).run(progress=False)
    assert {(r.model, r.simulated) for r in result.records} == {("sim", True), ("real", False)}


# -- resuming --------------------------------------------------------------------------------


def _interrupting(after: int | None) -> Any:
    """A technique that runs self-consistency, but raises KeyboardInterrupt on call ``after``+1
    (before asking the model); ``None``: never."""
    count = {"n": 0}
    lock = threading.Lock()

    def sc_or_stop(problem: Problem, backend: Any, **config: Any) -> TechniqueResult:
        with lock:
            count["n"] += 1
            stop = after is not None and count["n"] == after + 1
        if stop:
            raise KeyboardInterrupt
        return self_consistency(problem, backend, **config)

    return sc_or_stop


@pytest.mark.parametrize("concurrency", [1, 3])
def test_interrupted_run_resumes_without_repeating_work(tmp_path: Path,
                                                        concurrency: int) -> None:
    problems = make_problems(6)
    budgets = [1, 3]
    ref_backend = DetBackend()
    ref = Sweep(tmp_path / "ref.jsonl", [Arm("sc", _interrupting(None), "k")], problems,
                ref_backend, budgets).run(progress=False)

    path = tmp_path / "s.jsonl"
    backend = DetBackend()
    first = Sweep(path, [Arm("sc", _interrupting(5), "k")], problems, backend, budgets,
                  concurrency=concurrency)
    # the same cells: same arm name, technique name and config
    assert [t.key for t in first.plan()] == [r.key for r in ref.records]
    with pytest.raises(KeyboardInterrupt):
        first.run(progress=False)
    saved = len(file_lines(path))
    assert 5 <= saved < len(ref.records)
    assert len(first.pending()) == len(ref.records) - saved

    second = Sweep(path, [Arm("sc", _interrupting(None), "k")], problems, backend, budgets,
                   concurrency=concurrency)
    result = second.run(progress=False)
    # every request was sent exactly once over both runs, as in one uninterrupted run
    assert backend.calls == ref_backend.calls
    assert result.records == ref.records
    keys = [d["key"] for d in file_lines(path)]
    assert len(keys) == len(set(keys)) == len(ref.records)
    assert second.run(progress=False).records == ref.records  # nothing left: nothing asked
    assert backend.calls == ref_backend.calls


def test_concurrent_cells_give_the_same_records(tmp_path: Path,
                                                reference: SweepResult) -> None:
    result = build_sweep(tmp_path / "c.jsonl", concurrency=4).run(progress=False)
    assert result.records == reference.records  # plan order, whatever order cells finished in
    assert by_key(file_lines(tmp_path / "c.jsonl")) == by_key(
        file_lines(tmp_path / "reference.jsonl"))


def test_two_runners_on_one_file_never_write_a_cell_twice(tmp_path: Path,
                                                         reference: SweepResult) -> None:
    path = tmp_path / "shared.jsonl"
    sweeps = [build_sweep(path, delay=0.002, concurrency=2) for _ in range(2)]
    results: list[SweepResult] = []
    threads = [threading.Thread(target=lambda s=s: results.append(s.run(progress=False)))
               for s in sweeps]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2
    keys = [d["key"] for d in file_lines(path)]
    assert len(keys) == len(set(keys)) == N_CELLS
    assert by_key([r.to_dict() for r in load_records(path)]) == by_key(
        [r.to_dict() for r in reference.records])


def test_sigkill_then_restart_loses_and_repeats_nothing(tmp_path: Path,
                                                        reference: SweepResult) -> None:
    path = tmp_path / "killed.jsonl"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, str(WORKER), str(path)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    try:
        while not (path.exists() and path.read_bytes().count(b"\n") >= 3):
            assert proc.poll() is None, proc.communicate()[1].decode()
            assert time.monotonic() < deadline, "the worker wrote nothing"
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    done_before = path.read_bytes().count(b"\n")
    assert 3 <= done_before < N_CELLS
    torn = b'{"check":"0123'  # as if killed in the middle of writing the next line
    with open(path, "ab") as fh:
        fh.write(torn)

    rerun = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, timeout=120, check=False)
    assert rerun.returncode == 0, rerun.stderr.decode()
    assert f"torn line ({len(torn)} bytes" in rerun.stderr.decode()
    data = path.read_bytes()
    assert data.endswith(b"\n")
    lines = file_lines(path)
    keys = [d["key"] for d in lines]
    assert len(keys) == len(set(keys)) == N_CELLS
    assert by_key(lines) == by_key(file_lines(tmp_path / "reference.jsonl"))


# -- the file --------------------------------------------------------------------------------


def test_damaged_lines_are_reported_skipped_and_kept(tmp_path: Path,
                                                     reference: SweepResult) -> None:
    path = tmp_path / "s.jsonl"
    build_sweep(path).run(progress=False)
    raw = path.read_bytes().splitlines(keepends=True)
    edited = json.loads(raw[1])
    edited["record"]["correct"] = not edited["record"]["correct"]  # checksum no longer matches
    raw[1] = (json.dumps(edited) + "\n").encode()
    raw.insert(4, b"this is not json\n")
    path.write_bytes(b"".join(raw))

    with pytest.warns(SweepFileWarning, match=r"2 damaged line\(s\).*line 2:.*line 5:"):
        sweep = build_sweep(path)
    assert [no for no, _ in sweep.damaged()] == [2, 5]
    assert "checksum" in sweep.damaged()[0][1]
    pending = sweep.pending()
    assert [t.key for t in pending] == [edited["key"]]
    assert edited["key"] not in {r.key for r in sweep.result().records}  # never served

    backend = DetBackend()
    with pytest.warns(SweepFileWarning, match="damaged"):  # every open reports them
        sweep = Sweep(path, ARMS, make_problems(N_PROBLEMS), backend, BUDGETS)
    result = sweep.run(progress=False)
    assert sum(backend.calls.values()) == pending[0].budget  # only that cell ran again
    assert result.records == reference.records
    text = path.read_bytes()
    assert b"this is not json\n" in text and raw[1] in text  # never deleted


def test_torn_last_line_is_cut_away_on_open(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    build_sweep(path).run(progress=False)
    size = path.stat().st_size
    torn = b'{"key": "abc'
    with open(path, "ab") as fh:
        fh.write(torn)
    with pytest.warns(SweepFileWarning, match=f"torn line \\({len(torn)} bytes"):
        records = load_records(path)  # reading only: ignored, the file is left alone
    assert len(records) == N_CELLS
    assert path.stat().st_size == size + len(torn)
    with pytest.warns(SweepFileWarning, match=f"removed those {len(torn)} bytes"):
        sweep = build_sweep(path)
    assert path.stat().st_size == size
    assert sweep.pending() == []


def test_first_record_of_a_key_wins(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    first = build_sweep(path).run(progress=False).records[0]
    twin = json.loads(path.read_bytes().splitlines()[0])
    twin["record"]["answer"] = "12345"
    body = json.dumps(twin["record"], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    twin["check"] = hashlib.sha256(body.encode()).hexdigest()  # a valid, checksummed line
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(twin) + "\n")
    assert build_sweep(path).result().records[0] == first
    loaded = load_records(path)
    assert len(loaded) == N_CELLS and loaded[0] == first


def test_load_reads_a_finished_sweep_without_running(tmp_path: Path,
                                                     reference: SweepResult) -> None:
    loaded = Sweep.load(tmp_path / "reference.jsonl")
    assert loaded.records == reference.records and loaded.complete
    with pytest.raises(FileNotFoundError, match="run the sweep first"):
        Sweep.load(tmp_path / "missing.jsonl")
    assert SweepResult.from_dict(json.loads(json.dumps(loaded.to_dict()))) == loaded


# -- failures, progress, callbacks ------------------------------------------------------------


def test_failing_cells_are_not_recorded_and_are_reported(tmp_path: Path) -> None:
    problems = make_problems(4)
    bad = Problem(id="bad", question=f"Question {FAIL_MARK}: what is 7?", answer="7")
    path = tmp_path / "s.jsonl"
    sweep = Sweep(path, ARMS, [*problems[:2], bad, *problems[2:]], DetBackend(), BUDGETS)
    with pytest.raises(SweepError, match="run again to retry the failed cells") as info:
        sweep.run(progress=False)
    failed = [t for t, _ in info.value.failures]
    assert {t.key for t in failed} == {t.key for t in sweep.plan() if t.problem.id == "bad"}
    assert all(isinstance(e, RuntimeError) for _, e in info.value.failures)
    assert "problem 'bad'" in str(info.value) and "scripted failure" in str(info.value)
    assert f"4 of {len(sweep.plan())} sweep cells failed" in str(info.value)
    on_file = {d["key"] for d in file_lines(path)}
    assert on_file == {t.key for t in sweep.plan() if t.problem.id != "bad"}
    assert len(info.value.result) == len(on_file)

    healthy = DetBackend(fail=False)
    retry = Sweep(path, ARMS, [*problems[:2], bad, *problems[2:]], healthy, BUDGETS)
    assert retry.run(progress=False).complete
    assert sum(healthy.calls.values()) == sum(t.budget for t in failed)


def test_a_technique_that_returns_the_wrong_type_fails_its_cell(tmp_path: Path) -> None:
    arm = Arm("odd", lambda problem, backend, **config: "not a result")  # type: ignore[arg-type]
    with pytest.raises(SweepError, match="not a TechniqueResult"):
        Sweep(tmp_path / "s.jsonl", [arm], make_problems(2), DetBackend()).run(progress=False)
    assert not (tmp_path / "s.jsonl").exists()


class _Bar:
    made: ClassVar[list[_Bar]] = []

    def __init__(self, total: int, initial: int, **kwargs: Any) -> None:
        self.total, self.initial, self.updates, self.closed = total, initial, 0, False
        _Bar.made.append(self)

    def update(self, n: int) -> None:
        self.updates += n

    def close(self) -> None:
        self.closed = True


def test_progress_bar_starts_at_the_finished_cells(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import tqdm.auto

    monkeypatch.setattr(tqdm.auto, "tqdm", _Bar)
    _Bar.made = []
    path = tmp_path / "s.jsonl"
    with pytest.raises(KeyboardInterrupt):
        Sweep(path, [Arm("sc", _interrupting(4), "k")], make_problems(5), DetBackend(),
              [1, 2]).run()
    sweep = Sweep(path, [Arm("sc", _interrupting(None), "k")], make_problems(5), DetBackend(),
                  [1, 2])
    sweep.run()
    sweep.run()  # nothing pending: no bar
    sweep.run(progress=False)
    first, second = _Bar.made
    assert (first.total, first.initial, first.updates) == (10, 0, 4)
    assert (second.total, second.initial, second.updates) == (10, 4, 6)
    assert first.closed and second.closed


def test_no_progress_bar_when_every_backend_replays_recordings(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tqdm.auto

    from itc_lab.backends.recordings import RecordingBackend

    monkeypatch.setattr(tqdm.auto, "tqdm", _Bar)
    _Bar.made = []
    store = tmp_path / "responses.jsonl"
    problems = make_problems(3)
    arms = [Arm("sc", "self_consistency", "k", temperature=0.7)]
    live = DetBackend()
    recorded = Sweep(tmp_path / "record.jsonl", arms, problems,
                     RecordingBackend(store, live, "record"), [1, 2]).run()
    assert len(_Bar.made) == 1  # recording asks the live model: a bar
    asked = sum(live.calls.values())
    assert asked == 3 * 2  # seeds 0 and 1 per problem (k=1 repeats k=2's seed 0)
    for i, backend in enumerate([RecordingBackend(store, None, "replay"),
                                 RecordingBackend(store, None, "auto")]):
        replayed = Sweep(tmp_path / f"replay{i}.jsonl", arms, problems, backend, [1, 2]).run()
        assert [r.answers for r in replayed.records] == [r.answers for r in recorded.records]
        assert replayed.complete
    assert len(_Bar.made) == 1  # replaying: no bar, and the cells still ran
    assert sum(live.calls.values()) == asked
    # a live model in "auto" mode may be asked (a miss goes to it): a bar again
    Sweep(tmp_path / "auto.jsonl", arms, problems, RecordingBackend(store, DetBackend(), "auto"),
          [1, 2, 3]).run()
    assert len(_Bar.made) == 2 and _Bar.made[1].closed


def test_on_record_sees_each_new_record_once_after_it_is_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    seen: list[str] = []

    def check(record: SweepRecord) -> None:
        # other cells may be appending right now: read only the lines already complete
        done = path.read_bytes().rsplit(b"\n", 1)[0]
        assert record.key in {json.loads(line)["key"] for line in done.splitlines() if line.strip()}
        seen.append(record.key)

    sweep = build_sweep(path, concurrency=3)
    result = sweep.run(progress=False, on_record=check)
    assert sorted(seen) == sorted(r.key for r in result.records)
    sweep.run(progress=False, on_record=check)
    assert len(seen) == N_CELLS


# -- results ---------------------------------------------------------------------------------


def test_rows_summary_and_pools_agree_with_the_records(reference: SweepResult) -> None:
    rows = reference.rows()
    assert len(rows) == N_CELLS and all(tuple(r) == ROW_FIELDS for r in rows)
    for row, rec in zip(rows, reference.records, strict=True):
        assert row["tokens"] == rec.completion_tokens
        assert row["total_tokens"] == rec.prompt_tokens + rec.completion_tokens

    summary = reference.summary()
    assert [(s["arm"], s["budget"]) for s in summary] == [
        ("greedy", 1), ("sc", 1), ("sc", 2), ("sc", 4)]
    for s in summary:
        mine = [r for r in reference.records if (r.arm, r.budget) == (s["arm"], s["budget"])]
        assert s["n"] == len(mine) == N_PROBLEMS
        assert s["accuracy"] == sum(r.correct for r in mine) / len(mine)
        assert s["tokens"] == pytest.approx(sum(r.completion_tokens for r in mine) / len(mine))
        assert s["latency_s"] == pytest.approx(sum(r.latency_s for r in mine) / len(mine))
        assert s["series"] == s["arm"] and s["model"] == "det-model"
    by_arm = reference.summary(by="arm")
    assert [(s["arm"], s["n"]) for s in by_arm] == [("greedy", 8), ("sc", 24)]
    with pytest.raises(ValueError, match="Choose from"):
        reference.summary(by=("colour",))

    pools = reference.pools("sc")
    assert list(pools) == [f"q{i}" for i in range(N_PROBLEMS)]
    assert all(len(answers) == 4 for answers in pools.values())
    at_2 = reference.pools("sc", budget=2)
    for rec in reference.records:
        if rec.arm == "sc" and rec.budget == 2:
            assert at_2[rec.problem_id] == list(rec.answers)
    with pytest.raises(ValueError, match="name one"):
        reference.pools()
    with pytest.raises(ValueError, match="its budgets are"):
        reference.pools("sc", budget=3)


def test_summary_series_names_model_when_several(tmp_path: Path) -> None:
    result = Sweep(tmp_path / "s.jsonl", [Arm("greedy", "direct")], make_problems(3),
                   {"a": DetBackend("a"), "b": DetBackend("b")}).run(progress=False)
    assert [s["series"] for s in result.summary()] == ["greedy · a", "greedy · b"]
    accuracy = [s["accuracy"] for s in result.summary()]
    assert all(0 <= a <= 1 and not math.isnan(a) for a in accuracy)


def test_summary_rows_draw_as_charts(reference: SweepResult) -> None:
    from itc_lab import charts

    spec = charts.accuracy_chart(reference.summary(), x="budget").to_dict()
    assert spec["layer"][0]["encoding"]["color"]["field"] == "series"
    points = charts.cost_accuracy_chart(reference.summary()).to_dict()
    assert points["layer"][0]["encoding"]["color"]["field"] == "series"


def _record(arm: str, pid: str, answers: list[str | None], tokens: int,
            gold: str = "5") -> SweepRecord:
    right = tuple(a == gold for a in answers)
    return SweepRecord(
        key=f"{arm}-{pid}", arm=arm, technique=arm, budget=len(answers), problem_id=pid,
        model="m", backend="x", gold=gold, answer=answers[0], correct=right[0],
        samples=len(answers), prompt_tokens=0, completion_tokens=tokens, latency_s=0.0,
        answers=tuple(answers), sample_correct=right, sample_tokens=(0,) * len(answers),
        sample_mean_logprob=(None,) * len(answers))


def test_maj_at_k_rows_read_every_budget_off_one_pool_by_hand() -> None:
    result = SweepResult((_record("greedy", "a", ["5"], 7),
                          _record("sc", "a", ["5", "5", "3", "4"], 40),
                          _record("sc", "b", ["3", None, "3", "5"], 80)), total=3)
    rows = result.maj_at_k_rows("sc", [1, 2, 4])
    assert rows[0] == {"technique": "greedy", "budget": 1, "problem_id": "a", "tokens": 7,
                       "correct": True, "model": "m", "simulated": False}
    got = {(r["technique"], r["budget"], r["problem_id"]): (r["tokens"], r["correct"])
           for r in rows[1:]}
    oracle = "best-of-N (oracle)"
    # problem a, answers 5 5 3 4 (gold 5), 10 tokens per sample. Of the 6 pairs one is {5, 5}
    # (right), four are 5 against a wrong answer (a tie: half a win), one is {3, 4} (wrong)
    assert got[("majority", 1, "a")] == (10, pytest.approx(0.5))
    assert got[("majority", 2, "a")] == (20, pytest.approx(3 / 6))
    assert got[("majority", 4, "a")] == (40, pytest.approx(1.0))
    assert got[(oracle, 2, "a")] == (20, pytest.approx(1 - 1 / 6))  # only {3, 4} misses
    assert got[(oracle, 4, "a")] == (40, pytest.approx(1.0))
    # problem b, answers 3 None 3 5: one right sample in 4, 20 tokens per sample
    assert got[("majority", 1, "b")] == (20, pytest.approx(0.25))
    # pairs: {3,None}x2 wrong, {3,3} wrong, {3,5}x2 tie (half each), {None,5} right: 2 / 6
    assert got[("majority", 2, "b")] == (40, pytest.approx(2 / 6))
    assert got[("majority", 4, "b")] == (80, pytest.approx(0.0))  # 3 beats 5, two to one
    assert got[(oracle, 2, "b")] == (40, pytest.approx(0.5))
    assert len(rows) == 1 + 2 * 3 * 2
    # rows are in record order, majority before oracle at each k
    assert [(r["technique"], r["budget"]) for r in rows[1:7]] == [
        ("majority", 1), (oracle, 1), ("majority", 2), (oracle, 2), ("majority", 4), (oracle, 4)]
    only = result.maj_at_k_rows("sc", [2], majority="vote", oracle=None)
    assert [r["technique"] for r in only] == ["greedy", "vote", "vote"]


def test_maj_at_k_rows_check_their_input() -> None:
    result = SweepResult((_record("greedy", "a", ["5"], 7),
                          _record("sc", "a", ["5", "5", "3", "4"], 40)), total=2)
    with pytest.raises(ValueError, match="No records of arm 'vote'"):
        result.maj_at_k_rows("vote", [1])
    with pytest.raises(ValueError, match="k=8 is more than the 4 samples"):
        result.maj_at_k_rows("sc", [1, 8])
    with pytest.raises(ValueError, match="non-empty list"):
        result.maj_at_k_rows("sc", [])
    with pytest.raises(ValueError, match=r"ks\[0\] must be a whole number"):
        result.maj_at_k_rows("sc", [0])
    with pytest.raises(ValueError, match="would mix two techniques"):
        result.maj_at_k_rows("sc", [1], majority="greedy")
    with pytest.raises(ValueError, match="would mix two techniques"):
        result.maj_at_k_rows("sc", [1], majority="same", oracle="same")
    with pytest.raises(ValueError, match="no records yet"):
        SweepResult((), total=0).maj_at_k_rows("sc", [1])


# -- bad input ---------------------------------------------------------------------------------


def test_bad_arms_raise_clear_errors() -> None:
    with pytest.raises(TypeError, match=r"JSON data .* or a Dataset"):
        Arm("x", "direct", helper=object())
    with pytest.raises(TypeError, match=r"config opts\['a'\]\[0\] is a set"):
        Arm("x", "direct", opts={"a": [{1, 2}]})
    with pytest.raises(TypeError, match="keys in a sweep config must be strings"):
        Arm("x", "direct", opts={1: "a"})
    with pytest.raises(ValueError, match="finite"):
        Arm("x", "direct", temperature=math.nan)
    with pytest.raises(ValueError, match="unknown technique 'magic'"):
        Arm("x", "magic")
    with pytest.raises(ValueError, match="remove k=4"):
        Arm("x", "self_consistency", "k", k=4)
    with pytest.raises(ValueError, match="budget_param"):
        Arm("x", "self_consistency", "not a name")
    with pytest.raises(ValueError, match="needs a name"):
        Arm("", "direct")


def test_bad_sweeps_raise_clear_errors(tmp_path: Path) -> None:
    path, problems, backend = tmp_path / "s.jsonl", make_problems(3), DetBackend()
    sc = Arm("sc", "self_consistency", "k")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"budgets": {"sc": [1], "nope": [2]}}, "not in the sweep"),
        ({"budgets": {}}, "no entry for arm 'sc'"),
        ({"budgets": [0, 2]}, "whole numbers >= 1"),
        ({"budgets": [True]}, "whole numbers >= 1"),
        ({"budgets": [2, 2]}, "twice"),
        ({"budgets": 4}, "list of whole numbers"),
        ({"arms": [sc, Arm("sc", "direct")]}, "unique"),
        ({"arms": []}, "at least one Arm"),
        ({"arms": [Arm("g", "direct")], "budgets": {"g": [1, 2]}}, "no budget_param"),
        ({"problems": []}, "at least one problem"),
        ({"problems": [problems[0], problems[0]]}, "unique"),
        ({"backends": {}}, "backends is empty"),
        ({"concurrency": 0}, "concurrency"),
        ({"path": tmp_path}, "is a folder"),
    ]
    for change, message in cases:
        args: dict[str, Any] = {"path": path, "arms": [sc], "problems": problems,
                                "backends": backend, "budgets": [1, 2]}
        args.update(change)
        concurrency = args.pop("concurrency", 1)
        with pytest.raises(ValueError, match=message):
            Sweep(**args, concurrency=concurrency)
    with pytest.raises(TypeError, match="not a backend"):
        Sweep(path, [sc], problems, {"m": object()})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="a backend"):
        Sweep(path, [sc], problems, "ollama")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Problem objects"):
        Sweep(path, [sc], ["What is 2+2?"], backend)  # type: ignore[list-item]
    assert not path.exists()
