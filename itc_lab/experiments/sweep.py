"""Sweeps: techniques × budgets × problems × models, each finished cell saved the moment it ends.

A :class:`Sweep` runs every *cell* (one arm at one budget on one problem with one model) and appends
its :class:`SweepRecord` as one line of a JSON Lines file, flushed and fsynced before the cell
counts as done. Each cell has a stable key (a hash of what determines it), so running the same sweep
again runs only the cells that have no record yet: a killed kernel or process resumes where it
stopped, without losing or repeating finished work.

The file is append-only (the durable log of :mod:`itc_lab._jsonl`). Every line holds a record and a
checksum of it. On open, a torn last line (no trailing newline: a write cut off by a kill) is cut
away with a warning; a complete line that is not JSON or fails its checksum is *damaged*: reported
by line number, never used, never deleted (its cell simply runs again). When a key appears twice,
the first record wins. Appends take a file lock (``<file>.lock``) and first read only what other
processes appended since, so two processes can run the same sweep at once without writing a cell
twice.

Introduced in lesson 06.
"""

from __future__ import annotations

import hashlib
import math
import os
import sys
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .._checks import known_fields, whole
from .._jsonl import JsonlLog, LineFormat, Update, canonical
from ..analysis.voting import maj_at_k, pass_at_k
from ..backends.base import Backend
from ..datasets.base import Dataset, Problem
from ..tables import frame, summary_html, table
from ..techniques import TECHNIQUES
from ..techniques.base import TechniqueResult

__all__ = [
    "ROW_FIELDS",
    "Arm",
    "OnRecord",
    "Sweep",
    "SweepError",
    "SweepFileWarning",
    "SweepRecord",
    "SweepResult",
    "Task",
    "load_records",
]

_Technique = Callable[..., TechniqueResult]
OnRecord = Callable[["SweepRecord"], None]
"""Called once per newly finished cell, after its line is on disk (in the calling thread)."""

ROW_FIELDS = ("arm", "technique", "budget", "model", "backend", "problem_id", "correct", "tokens",
              "total_tokens", "latency_s", "samples", "simulated")
"""The fields of :meth:`SweepResult.rows`."""

_SHOWN_FAILURES = 5
_TailMode = Literal["repair", "warn", "ignore"]


def _repeated(values: Iterable[str]) -> list[str]:
    """The values that occur more than once, sorted (one pass, not a count per value)."""
    counts = Counter(values)
    return sorted(v for v, c in counts.items() if c > 1)




def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class SweepFileWarning(UserWarning):
    """A sweep file had a torn last line or damaged lines (the message says which)."""


# ---------------------------------------------------------------------------------------------
# Arms and cells
# ---------------------------------------------------------------------------------------------


def _dataset_marker(dataset: Dataset) -> dict[str, Any]:
    """How a Dataset appears in a cell's key: its name, size and a hash of its problem ids
    (so a different slice of the same dataset is a different configuration)."""
    ids = _sha256("\n".join(p.id for p in dataset))
    return {"$dataset": dataset.name, "problems": len(dataset), "ids_sha256": ids[:16]}


def _to_json(value: Any, where: str) -> Any:
    """``value`` as plain JSON data (a Dataset becomes its marker), or an error saying why not."""
    if isinstance(value, Dataset):
        return _dataset_marker(value)
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            msg = f"{where} is {value!r}; give a finite number."
            raise ValueError(msg)
        return value
    if isinstance(value, list | tuple):
        return [_to_json(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if not isinstance(k, str):
                msg = f"{where} has the key {k!r}; dict keys in a sweep config must be strings."
                raise TypeError(msg)
            out[k] = _to_json(v, f"{where}[{k!r}]")
        return out
    msg = (f"{where} is a {type(value).__name__}; a sweep config value must be JSON data "
           "(numbers, strings, booleans, None, lists, dicts with string keys) or a Dataset, so "
           "the cell's key can be computed. Pass a name instead, and look the object up inside "
           "a technique function of your own.")
    raise TypeError(msg)


def _technique_name(fn: _Technique) -> str:
    for name, registered in TECHNIQUES.items():
        if registered is fn:
            return name
    own = getattr(fn, "__name__", None)
    return str(own) if own else type(fn).__qualname__


@dataclass(frozen=True, init=False)
class Arm:
    """One technique configuration: a technique, the keyword its budget goes to, and its config.

    ``Arm("sc", "self_consistency", "k", dataset=ds, temperature=0.8)`` calls
    ``self_consistency(problem, backend, k=budget, dataset=ds, temperature=0.8)``. ``technique``
    is a name in ``itc_lab.techniques.TECHNIQUES`` or a function
    ``(problem, backend, **config) -> TechniqueResult``. ``budget_param=None`` means the arm runs
    at one budget level (1). Config values are JSON data or a :class:`Dataset`.
    Introduced in lesson 06.
    """

    name: str
    """Label of this arm in records, tables and charts (unique within a sweep)."""
    technique: str
    """The technique's name (the registered name, or the function's name)."""
    budget_param: str | None
    """Keyword the budget is passed as (e.g. ``"k"``); ``None``: a single budget level, 1."""
    config: Mapping[str, Any] = field(hash=False)
    """Keyword arguments passed to the technique, as given."""
    key_config: Mapping[str, Any] = field(hash=False, repr=False, compare=False)
    """``config`` as JSON data (a Dataset replaced by its name, size and a hash of its ids)."""
    fn: _Technique = field(repr=False, compare=False)
    """The technique function."""

    def __init__(self, name: str, technique: str | _Technique, budget_param: str | None = None,
                 **config: Any) -> None:
        if not (isinstance(name, str) and name.strip()):
            msg = f"An arm needs a name (a non-empty string), not {name!r}."
            raise ValueError(msg)
        if isinstance(technique, str):
            if technique not in TECHNIQUES:
                msg = (f"Arm {name!r}: unknown technique {technique!r}; choose one of "
                       f"{', '.join(TECHNIQUES)}, or pass a function "
                       "(problem, backend, **config) -> TechniqueResult.")
                raise ValueError(msg)
            fn, tech_name = TECHNIQUES[technique], technique
        elif callable(technique):
            fn, tech_name = technique, _technique_name(technique)
        else:
            msg = (f"Arm {name!r}: technique must be a technique name or a function, not a "
                   f"{type(technique).__name__}.")
            raise TypeError(msg)
        if budget_param is not None and not (isinstance(budget_param, str)
                                             and budget_param.isidentifier()):
            msg = (f"Arm {name!r}: budget_param must be the name of the keyword the budget is "
                   f"passed as (e.g. 'k'), or None, not {budget_param!r}.")
            raise ValueError(msg)
        if budget_param is not None and budget_param in config:
            msg = (f"Arm {name!r}: {budget_param}= is the budget parameter, so the sweep sets it "
                   f"from budgets; remove {budget_param}={config[budget_param]!r} from the config.")
            raise ValueError(msg)
        key_config = {k: _to_json(v, f"Arm {name!r}: config {k}") for k, v in config.items()}
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "technique", tech_name)
        object.__setattr__(self, "budget_param", budget_param)
        object.__setattr__(self, "config", dict(config))
        object.__setattr__(self, "key_config", key_config)
        object.__setattr__(self, "fn", fn)


def _cell_key(arm: Arm, budget: int, problem_id: str, model: str) -> str:
    body = {"arm": arm.name, "technique": arm.technique, "budget_param": arm.budget_param,
            "config": arm.key_config, "budget": budget, "problem": problem_id, "model": model}
    return _sha256(canonical(body))


@dataclass(frozen=True)
class Task:
    """One cell of a sweep: an arm at one budget on one problem with one model."""

    key: str
    """sha256 (hex) of the canonical JSON of arm name, technique, config, budget, problem id and
    model name: the same cell has the same key in every run."""
    arm: Arm
    budget: int
    problem: Problem
    model: str
    """The model's label in the sweep (the key of ``backends``, or the backend's model)."""
    backend: Backend = field(repr=False, compare=False)

    def kwargs(self) -> dict[str, Any]:
        """The keyword arguments the technique is called with."""
        kw = dict(self.arm.config)
        if self.arm.budget_param is not None:
            kw[self.arm.budget_param] = self.budget
        return kw

    def describe(self) -> str:
        return (f"arm {self.arm.name!r}, budget {self.budget}, model {self.model!r}, "
                f"problem {self.problem.id!r}")


# ---------------------------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepRecord:
    """The outcome of one cell: what was answered, whether it was right, and what it cost.

    Introduced in lesson 06.
    """

    key: str
    """The cell's key (see :class:`Task`)."""
    arm: str
    technique: str
    budget: int
    problem_id: str
    model: str
    """The model's label in the sweep."""
    backend: str
    """The backend's name, e.g. ``"ollama"``, ``"embedded"``, ``"recordings"``."""
    gold: str
    """The problem's gold answer (canonical form)."""
    answer: str | None
    """The technique's final answer (``None``: none could be read)."""
    correct: bool
    samples: int
    """Completions the technique drew."""
    prompt_tokens: int
    """Prompt tokens summed over the samples (tokens)."""
    completion_tokens: int
    """Generated tokens summed over the samples (tokens)."""
    latency_s: float
    """Sum of the completions' latencies (seconds of model time, not wall-clock time of the
    cell: concurrent samples overlap)."""
    answers: tuple[str | None, ...]
    """Each sample's answer, in sample order."""
    sample_correct: tuple[bool, ...]
    sample_tokens: tuple[int, ...]
    """Each sample's generated tokens (tokens)."""
    sample_mean_logprob: tuple[float | None, ...]
    """Each sample's mean token logprob (nats per token; ``None`` without logprobs)."""
    votes: Mapping[str, float] = field(default_factory=dict, hash=False)
    """Vote totals per answer (voting techniques only)."""
    config: Mapping[str, Any] = field(default_factory=dict, hash=False)
    """The keyword arguments as JSON data, the budget included (a Dataset as its name marker)."""
    simulated: bool = False
    """True when a simulated model answered (backend or completions named ``"simulated"``)."""

    @property
    def tokens(self) -> int:
        """Generated tokens (tokens)."""
        return self.completion_tokens

    @property
    def total_tokens(self) -> int:
        """Prompt plus generated tokens (tokens)."""
        return self.prompt_tokens + self.completion_tokens

    def __repr__(self) -> str:
        verdict = "correct" if self.correct else "wrong"
        return (f"SweepRecord({self.arm!r} at budget {self.budget} on {self.problem_id!r}, "
                f"model {self.model!r}: answer {self.answer!r} ({verdict}; gold {self.gold!r}), "
                f"{self.samples} sample(s), {self.completion_tokens} generated tokens)")

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "arm": self.arm, "technique": self.technique,
                "budget": self.budget, "problem_id": self.problem_id, "model": self.model,
                "backend": self.backend, "gold": self.gold, "answer": self.answer,
                "correct": self.correct, "samples": self.samples,
                "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "latency_s": self.latency_s, "answers": list(self.answers),
                "sample_correct": list(self.sample_correct),
                "sample_tokens": list(self.sample_tokens),
                "sample_mean_logprob": list(self.sample_mean_logprob),
                "votes": dict(self.votes), "config": dict(self.config),
                "simulated": self.simulated}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SweepRecord:
        d = known_fields(cls, d)
        for name in ("answers", "sample_correct", "sample_tokens", "sample_mean_logprob"):
            d[name] = tuple(d[name])
        d["votes"] = {str(k): float(v) for k, v in dict(d.get("votes", {})).items()}
        d["config"] = dict(d.get("config", {}))
        record = cls(**d)
        _check_record(record)
        return record


def _check_record(r: SweepRecord) -> None:
    """TypeError/ValueError when a decoded record has fields of the wrong type."""
    def whole(v: object) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v >= 0

    problems = []
    if not all(isinstance(getattr(r, f), str) for f in ("key", "arm", "technique", "problem_id",
                                                        "model", "backend", "gold")):
        problems.append("a text field is not a string")
    if not (whole(r.budget) and whole(r.samples) and whole(r.prompt_tokens)
            and whole(r.completion_tokens)):
        problems.append("a count is not a whole number")
    if not (isinstance(r.correct, bool) and isinstance(r.simulated, bool)):
        problems.append("correct/simulated is not true or false")
    if not isinstance(r.latency_s, int | float) or isinstance(r.latency_s, bool):
        problems.append("latency_s is not a number")
    if r.answer is not None and not isinstance(r.answer, str):
        problems.append("answer is not a string")
    if not (len(r.answers) == len(r.sample_correct) == len(r.sample_tokens)
            == len(r.sample_mean_logprob) == r.samples):
        problems.append("per-sample lists do not have one entry per sample")
    if problems:
        msg = "; ".join(problems)
        raise ValueError(msg)


def _record_of(task: Task, result: TechniqueResult) -> SweepRecord:
    samples = result.samples
    comps = [s.completion for s in samples]
    config = dict(task.arm.key_config)
    if task.arm.budget_param is not None:
        config[task.arm.budget_param] = task.budget
    simulated = task.backend.name == "simulated" or any(c.backend == "simulated" for c in comps)
    return SweepRecord(
        key=task.key, arm=task.arm.name, technique=task.arm.technique, budget=task.budget,
        problem_id=task.problem.id, model=task.model, backend=str(task.backend.name),
        gold=task.problem.answer, answer=result.answer, correct=bool(result.correct),
        samples=len(samples), prompt_tokens=sum(c.prompt_tokens for c in comps),
        completion_tokens=sum(c.completion_tokens for c in comps),
        latency_s=math.fsum(c.latency_s for c in comps),
        answers=tuple(s.answer.value for s in samples),
        sample_correct=tuple(bool(s.correct) for s in samples),
        sample_tokens=tuple(c.completion_tokens for c in comps),
        sample_mean_logprob=tuple(c.mean_logprob for c in comps),
        votes={str(k): float(v) for k, v in result.votes.items()}, config=config,
        simulated=simulated)


def _fields(record: SweepRecord) -> tuple[str, dict[str, Any]]:
    return record.key, {"record": record.to_dict()}


def _value(key: str, fields: dict[str, Any]) -> SweepRecord:
    if not isinstance(fields["record"], dict):
        msg = "the record is not a JSON object"
        raise ValueError(msg)
    record = SweepRecord.from_dict(fields["record"])
    if record.key != key:
        msg = "the key does not match the record"
        raise ValueError(msg)
    return record


_FORMAT: LineFormat[SweepRecord] = LineFormat(_fields, _value, checked="record", compact=True,
                                             keep="first", torn="cut")
"""``{"check": ..., "key": ..., "record": {...}}`` in canonical JSON; the first record of a key
wins, and a torn last line is cut away."""


# ---------------------------------------------------------------------------------------------
# The append-only file
# ---------------------------------------------------------------------------------------------


class _Log:
    """A sweep file (the durable log of :mod:`itc_lab._jsonl`), with the warnings a sweep gives."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._log = JsonlLog(path, _FORMAT)

    @property
    def records(self) -> dict[str, SweepRecord]:
        return self._log.records

    @property
    def damaged(self) -> list[tuple[int, str]]:
        return [(b.line_no, b.reason) for b in self._log.damaged]

    def refresh(self, tail: _TailMode) -> None:
        """Read what was appended since the last read. ``tail``: what to do with a last line
        that has no newline: cut it away (under the file lock), warn, or ignore it (another
        process may be writing it right now)."""
        self._report(self._log.refresh(repair=tail == "repair"), tail != "ignore")

    def _report(self, update: Update, torn: bool) -> None:
        bad = update.damaged
        if bad:
            shown = "; ".join(f"line {b.line_no}: {b.reason}" for b in bad[:5])
            more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
            msg = (f"{self.path}: {len(bad)} damaged line(s) ignored ({shown}{more}). They are "
                   "never used and are left in the file; their cells count as not done and run "
                   "again. Restore the file from a copy if you need them.")
            warnings.warn(msg, SweepFileWarning, stacklevel=4)
        if update.torn and update.cut:
            msg = (f"{self.path} ended in a torn line ({update.torn} bytes without a newline, "
                   f"from a write that was cut off); removed those {update.torn} bytes. Its cell "
                   "runs again.")
            warnings.warn(msg, SweepFileWarning, stacklevel=4)
        elif update.torn and torn:
            msg = (f"{self.path} ends in a torn line ({update.torn} bytes without a newline, "
                   "from a write that was cut off); it is ignored. Running the sweep removes it.")
            warnings.warn(msg, SweepFileWarning, stacklevel=4)

    def append(self, record: SweepRecord) -> SweepRecord:
        """Write one record as one line, flushed and fsynced; return the record now on file
        for its key (another process may have finished the same cell first)."""
        [on_file], update = self._log.append([record], if_absent=True)
        self._report(update, True)
        return on_file


def load_records(path: str | os.PathLike[str]) -> list[SweepRecord]:
    """The records in a sweep file, in file order, without running anything or changing the file.

    Damaged lines are reported (a :class:`SweepFileWarning`) and skipped; a torn last line is
    ignored with a warning. Introduced in lesson 06.
    """
    p = Path(path)
    if not p.is_file():
        msg = (f"No sweep file at {p}: run the sweep first (Sweep(...).run()), or check the path.")
        raise FileNotFoundError(msg)
    log = _Log(p)
    log.refresh("warn")
    return list(log.records.values())


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


@dataclass(frozen=True)
class SweepResult:
    """The finished cells of a sweep, in plan order. Introduced in lesson 06."""

    records: tuple[SweepRecord, ...]
    total: int
    """Cells in the plan (equal to ``len(records)`` when the sweep is complete)."""
    path: str = ""
    """The sweep file."""

    @property
    def complete(self) -> bool:
        return len(self.records) == self.total

    def __len__(self) -> int:
        return len(self.records)

    def __repr__(self) -> str:
        head = (f"SweepResult({len(self.records)} of {self.total} cells"
                f"{'' if self.complete else ', incomplete'}, {self.path!r})")
        if not self.records:
            return head
        lines = [f"  {r['series'] if 'series' in r else r['arm']}: n={r['n']}, accuracy "
                 f"{r['accuracy']:.1%}, {r['tokens']:.1f} generated tokens per problem"
                 for r in self.summary(by=("arm", "model"))[:8]]
        more = len({(r.arm, r.model) for r in self.records}) - len(lines)
        return "\n".join([head, *lines, *([f"  … {more} more"] if more > 0 else [])])

    def _repr_html_(self) -> str:
        head = summary_html("SweepResult", [
            ("cells", f"{len(self.records)} of {self.total}"
                      + ("" if self.complete else " (incomplete)")),
            ("file", self.path)], "result.to_pandas() lists the records; "
                                  "result.summary() gives accuracy and cost per arm.")
        if not self.records:
            return head
        rows = table(self.summary(by=("arm", "model"))[:50], percent=["accuracy"],
                     formats={"tokens": ".1f", "total_tokens": ".1f", "latency_s": ".2f",
                              "samples": ".1f"})
        return head + rows._repr_html_()

    def to_pandas(self) -> Any:
        """One row per record, the fields of :meth:`rows` (``ROW_FIELDS``)."""
        return frame(self.rows(), ROW_FIELDS)

    def rows(self) -> list[dict[str, Any]]:
        """One plain dict per record with the fields a chart needs (see ``ROW_FIELDS``):
        ``tokens`` are generated tokens, ``total_tokens`` prompt plus generated (tokens),
        ``latency_s`` summed model time (seconds)."""
        return [{"arm": r.arm, "technique": r.technique, "budget": r.budget, "model": r.model,
                 "backend": r.backend, "problem_id": r.problem_id, "correct": r.correct,
                 "tokens": r.completion_tokens, "total_tokens": r.total_tokens,
                 "latency_s": r.latency_s, "samples": r.samples, "simulated": r.simulated}
                for r in self.records]

    def summary(self, by: Sequence[str] | str = ("arm", "budget", "model")) -> list[dict[str, Any]]:
        """Accuracy and mean cost per group, groups in order of first appearance.

        Each row has the ``by`` fields, ``n`` (records), ``accuracy`` (0 to 1), ``tokens`` and
        ``total_tokens`` (mean per problem, tokens), ``latency_s`` (mean per problem, seconds)
        and ``samples`` (mean). When grouping by ``"arm"``, ``series`` names the line a chart
        draws (the arm, plus the model when grouping by several models), so the rows go straight
        into ``charts.accuracy_chart(rows, x="budget")`` or ``charts.cost_accuracy_chart(rows)``.
        """
        keys = (by,) if isinstance(by, str) else tuple(by)
        unknown = [k for k in keys if k not in ROW_FIELDS]
        if unknown or not keys:
            msg = (f"summary(by=...) groups by row fields; {unknown or 'nothing'} is not one. "
                   f"Choose from {', '.join(ROW_FIELDS)}.")
            raise ValueError(msg)
        groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        for row in self.rows():
            groups.setdefault(tuple(row[k] for k in keys), []).append(row)
        models = {r.model for r in self.records}
        out = []
        for values, rows in groups.items():
            item: dict[str, Any] = dict(zip(keys, values, strict=True))
            if "arm" in keys:
                several = "model" in keys and len(models) > 1
                item["series"] = f"{item['arm']} · {item['model']}" if several else item["arm"]
            item.update(
                n=len(rows),
                accuracy=sum(1 for r in rows if r["correct"]) / len(rows),
                tokens=_mean([r["tokens"] for r in rows]),
                total_tokens=_mean([r["total_tokens"] for r in rows]),
                latency_s=_mean([r["latency_s"] for r in rows]),
                samples=_mean([r["samples"] for r in rows]))
            out.append(item)
        return out

    def maj_at_k_rows(self, arm: str, ks: Sequence[int], *, majority: str = "majority",
                      oracle: str | None = "best-of-N (oracle)") -> list[dict[str, Any]]:
        """One row per technique, budget and problem, every voting budget read off one pool.

        Each record of ``arm`` (k samples of one problem, e.g. a self-consistency arm) gives, for
        each ``k`` in ``ks``, a ``majority`` row whose ``correct`` is ``maj_at_k`` (the exact
        chance that a vote over k of the samples, drawn at random, is right; a tie counts as a
        fraction of a win) and, unless ``oracle`` is ``None``, an ``oracle`` row whose
        ``correct`` is ``pass_at_k`` (at least one of k right: what a perfect verifier would
        pick). Their ``tokens`` are k times the record's mean generated tokens per sample. Every
        other record gives one row as it ran: ``technique`` its arm, ``budget`` 1, ``tokens``
        its generated tokens. Rows are in record order, with ``technique``, ``budget``,
        ``problem_id``, ``tokens``, ``correct``, ``model`` and ``simulated``, ready for
        ``analysis.aggregate`` and ``analysis.compute_optimal``. Introduced in lesson 06.
        """
        mine = [r for r in self.records if r.arm == arm]
        if not mine:
            arms = list(dict.fromkeys(r.arm for r in self.records))
            msg = (f"No records of arm {arm!r} to read maj@k from; the arms are {arms}." if arms
                   else "This result has no records yet: run the sweep first.")
            raise ValueError(msg)
        if isinstance(ks, str | bytes) or not isinstance(ks, Sequence) or not ks:
            msg = f"ks must be a non-empty list of vote sizes, e.g. [1, 2, 4, 8, 16], not {ks!r}."
            raise ValueError(msg)
        levels = [whole(f"ks[{i}]", k, 1) for i, k in enumerate(ks)]
        fewest = min(mine, key=lambda r: r.samples)
        if max(levels) > fewest.samples:
            msg = (f"k={max(levels)} is more than the {fewest.samples} samples of arm {arm!r} on "
                   f"problem {fewest.problem_id!r}: maj@k and pass@k choose k of the samples "
                   "drawn, so keep every k at most the samples per problem.")
            raise ValueError(msg)
        names = {arm, majority, oracle} - {None}
        clash = sorted({r.arm for r in self.records if r.arm != arm} & names)
        if clash or majority == oracle:
            msg = (f"The technique names must differ from each other and from the other arms: "
                   f"{clash or [majority]} would mix two techniques in one series.")
            raise ValueError(msg)
        rows: list[dict[str, Any]] = []
        for r in self.records:
            where = {"problem_id": r.problem_id}
            tail = {"model": r.model, "simulated": r.simulated}
            if r.arm != arm:
                rows.append({"technique": r.arm, "budget": 1, **where,
                             "tokens": r.completion_tokens, "correct": r.correct, **tail})
                continue
            per_sample = r.completion_tokens / r.samples  # mean generated tokens per sample
            right = sum(r.sample_correct)
            for k in levels:
                cell = {"budget": k, **where, "tokens": k * per_sample}
                rows.append({"technique": majority, **cell,
                             "correct": maj_at_k(r.answers, r.gold, k), **tail})
                if oracle is not None:
                    rows.append({"technique": oracle, **cell,
                                 "correct": pass_at_k(r.samples, right, k), **tail})
        return rows

    def pools(self, arm: str | None = None, *, budget: int | None = None,
              model: str | None = None) -> dict[str, list[str | None]]:
        """problem id → the per-sample answers of one arm (by default at its largest budget),
        e.g. to score voting rules or routers offline on one sweep of k samples per problem."""
        arms = list(dict.fromkeys(r.arm for r in self.records))
        if arm is None:
            if len(arms) != 1:
                msg = f"This result has arms {arms}: name one, e.g. pools({arms[0]!r})." if arms \
                    else "This result has no records yet: run the sweep first."
                raise ValueError(msg)
            arm = arms[0]
        mine = [r for r in self.records if r.arm == arm]
        if not mine:
            msg = f"No records of arm {arm!r}; the arms are {arms}."
            raise ValueError(msg)
        models = list(dict.fromkeys(r.model for r in mine))
        if model is None:
            if len(models) > 1:
                msg = f"Arm {arm!r} ran on models {models}: choose one with model=..."
                raise ValueError(msg)
            model = models[0]
        mine = [r for r in mine if r.model == model]
        budgets = sorted({r.budget for r in mine})
        if budget is None and budgets:
            budget = budgets[-1]
        chosen = [r for r in mine if r.budget == budget]
        if not chosen:
            msg = (f"No records of arm {arm!r} on model {model!r} at budget {budget}; "
                   f"its budgets are {budgets}.")
            raise ValueError(msg)
        return {r.problem_id: list(r.answers) for r in chosen}

    def to_dict(self) -> dict[str, Any]:
        return {"records": [r.to_dict() for r in self.records], "total": self.total,
                "path": self.path}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SweepResult:
        return cls(tuple(SweepRecord.from_dict(r) for r in d["records"]), int(d["total"]),
                   str(d.get("path", "")))


class SweepError(RuntimeError):
    """Some cells failed; the finished ones are saved. ``failures`` lists (task, error)."""

    def __init__(self, message: str, failures: list[tuple[Task, Exception]],
                 result: SweepResult) -> None:
        super().__init__(message)
        self.failures = failures
        self.result = result
        """The finished cells, as :meth:`Sweep.run` would have returned them."""


# ---------------------------------------------------------------------------------------------
# The sweep
# ---------------------------------------------------------------------------------------------


def _levels(value: object, where: str) -> tuple[int, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        msg = f"{where} must be a list of whole numbers >= 1, e.g. [1, 2, 4, 8], not {value!r}."
        raise ValueError(msg)
    levels = tuple(value)
    if not levels or not all(isinstance(b, int) and not isinstance(b, bool) and b >= 1
                             for b in levels):
        msg = f"{where} must be a non-empty list of whole numbers >= 1, not {list(levels)!r}."
        raise ValueError(msg)
    if len(set(levels)) != len(levels):
        msg = f"{where} lists a budget twice: {list(levels)!r}."
        raise ValueError(msg)
    return levels


def _budget_table(arms: Sequence[Arm], budgets: object) -> dict[str, tuple[int, ...]]:
    names = [a.name for a in arms]
    table: dict[str, tuple[int, ...]] = {}
    if isinstance(budgets, Mapping):
        unknown = sorted(set(budgets) - set(names), key=str)
        if unknown:
            msg = f"budgets names arm(s) {unknown} that are not in the sweep; its arms: {names}."
            raise ValueError(msg)
        for arm in arms:
            if arm.budget_param is None:
                levels = _levels(budgets.get(arm.name, (1,)), f"budgets[{arm.name!r}]")
                if levels != (1,):
                    msg = (f"Arm {arm.name!r} has no budget_param, so it runs at one budget "
                           "level (1): give it budget_param='k' (the keyword its budget goes "
                           "to), or leave it out of budgets.")
                    raise ValueError(msg)
            elif arm.name not in budgets:
                msg = (f"budgets has no entry for arm {arm.name!r} (it passes its budget as "
                       f"{arm.budget_param}=): add e.g. {{{arm.name!r}: [1, 2, 4]}}.")
                raise ValueError(msg)
            else:
                levels = _levels(budgets[arm.name], f"budgets[{arm.name!r}]")
            table[arm.name] = levels
    else:
        levels = _levels(budgets, "budgets")
        for arm in arms:
            table[arm.name] = levels if arm.budget_param is not None else (1,)
    return table


def _may_be_live(backend: Backend) -> bool:
    """Whether a call to ``backend`` may reach a live model: a recording in replay mode, or one
    with no live model behind it, answers from its file at once (the same rule as
    ``techniques.evaluate``)."""
    if getattr(backend, "mode", "live") == "replay":
        return False
    return not hasattr(backend, "live") or getattr(backend, "live", None) is not None


def _backend_table(backends: object) -> dict[str, Backend]:
    if isinstance(backends, Mapping):
        table = dict(backends)
        if not table:
            msg = "backends is empty: give a backend, or {'model label': backend, ...}."
            raise ValueError(msg)
    elif isinstance(backends, Backend):
        table = {backends.model or backends.name: backends}
    else:
        msg = (f"backends must be a backend (e.g. itc_lab.connect()) or a dict "
               f"{{'model label': backend}}, not a {type(backends).__name__}.")
        raise TypeError(msg)
    for label, b in table.items():
        if not (isinstance(label, str) and label.strip()):
            msg = f"Model labels in backends must be non-empty strings, not {label!r}."
            raise ValueError(msg)
        if not isinstance(b, Backend):
            msg = (f"backends[{label!r}] is a {type(b).__name__}, not a backend (it needs name, "
                   "model, generate, generate_seeds and describe).")
            raise TypeError(msg)
    return table


class Sweep:
    """Techniques × budgets × problems × models, resumable. Introduced in lesson 06.

    ``path``: the JSON Lines file records are appended to (created on the first finished cell).
    ``arms``: the technique configurations. ``backends``: one backend, or
    ``{"model label": backend}`` to compare models. ``budgets``: budget levels for every arm
    with a ``budget_param``, or ``{"arm name": [levels]}`` per arm. ``concurrency``: cells run at
    once (each may also fan out its samples through the backend).
    """

    def __init__(self, path: str | os.PathLike[str], arms: Sequence[Arm],
                 problems: Sequence[Problem], backends: Backend | Mapping[str, Backend],
                 budgets: Mapping[str, Sequence[int]] | Sequence[int] = (1,), *,
                 concurrency: int = 1) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            msg = f"{self.path} is a folder; give the sweep a file name, e.g. sweep.jsonl."
            raise ValueError(msg)
        self.arms = tuple(arms)
        if not self.arms:
            msg = "A sweep needs at least one Arm(name, technique, ...)."
            raise ValueError(msg)
        for a in self.arms:
            if not isinstance(a, Arm):
                msg = f"arms must be Arm objects, e.g. Arm('greedy', 'direct'); got a {type(a)}."
                raise TypeError(msg)
        twice = _repeated(a.name for a in self.arms)
        if twice:
            msg = f"Arm names must be unique; {twice} appear more than once."
            raise ValueError(msg)
        self.problems = tuple(problems)
        if not self.problems:
            msg = "A sweep needs at least one problem, e.g. datasets.load('arith', n=20)."
            raise ValueError(msg)
        for p in self.problems:
            if not isinstance(p, Problem):
                msg = f"problems must be Problem objects (e.g. a Dataset); got a {type(p)}."
                raise TypeError(msg)
        twice = _repeated(p.id for p in self.problems)
        if twice:
            msg = f"Problem ids must be unique within a sweep; {twice[:5]} repeat."
            raise ValueError(msg)
        self.backends = _backend_table(backends)
        self.budgets = _budget_table(self.arms, budgets)
        if not (isinstance(concurrency, int) and not isinstance(concurrency, bool)
                and concurrency >= 1):
            msg = f"concurrency must be a whole number >= 1 (cells at once), not {concurrency!r}."
            raise ValueError(msg)
        self.concurrency = concurrency
        # models outermost: a local server keeps one model loaded, so finish one before the next
        self._tasks = tuple(
            Task(_cell_key(arm, budget, problem.id, model), arm, budget, problem, model, backend)
            for model, backend in self.backends.items()
            for arm in self.arms
            for budget in self.budgets[arm.name]
            for problem in self.problems)
        self._log = _Log(self.path)
        self._log.refresh("repair")

    def __repr__(self) -> str:
        done = len(self._tasks) - len(self.pending())
        return f"Sweep({str(self.path)!r}, {done}/{len(self._tasks)} cells done)"

    def plan(self) -> list[Task]:
        """Every cell, in run order: models, then arms, budgets and problems."""
        return list(self._tasks)

    def pending(self) -> list[Task]:
        """The cells with no record in the file yet, in plan order."""
        self._log.refresh("ignore")
        return [t for t in self._tasks if t.key not in self._log.records]

    def damaged(self) -> list[tuple[int, str]]:
        """(line number, reason) of every damaged line seen in the file."""
        self._log.refresh("ignore")
        return list(self._log.damaged)

    def result(self) -> SweepResult:
        """The finished cells of this plan, in plan order, without running anything."""
        self._log.refresh("ignore")
        found = self._log.records
        records = tuple(found[t.key] for t in self._tasks if t.key in found)
        return SweepResult(records, len(self._tasks), str(self.path))

    @staticmethod
    def load(path: str | os.PathLike[str]) -> SweepResult:
        """The records of a sweep file (in file order), without running anything."""
        records = load_records(path)
        return SweepResult(tuple(records), len(records), str(path))

    def run(self, progress: bool = True, on_record: OnRecord | None = None) -> SweepResult:
        """Run every cell that has no record yet; return all finished cells of the plan.

        Each finished cell is appended to the file (flushed and fsynced) before it counts as done.
        A cell whose technique raises is not recorded: the others still run, and at the end one
        :class:`SweepError` lists what failed. Ctrl-C (KeyboardInterrupt) stops after the cells
        in flight, keeping everything finished; run again to continue.

        ``progress`` shows a bar while cells run, when some are left and a live model may be
        asked (not when every backend replays recordings, which is instant).
        """
        self._log.refresh("repair")
        todo = [t for t in self._tasks if t.key not in self._log.records]
        total = len(self._tasks)
        bar: Any = None
        # replaying recordings is instant: a bar only when a live model may be asked
        if progress and any(_may_be_live(t.backend) for t in todo):
            from tqdm.auto import tqdm

            bar = tqdm(total=total, initial=total - len(todo), desc=f"sweep {self.path.name}",
                       unit="cell")

        def finished(record: SweepRecord) -> None:
            if bar is not None:
                bar.update(1)
            if on_record is not None:
                on_record(record)

        try:
            if self.concurrency == 1 or len(todo) <= 1:
                failures = self._run_serial(todo, finished)
            else:
                failures = self._run_pool(todo, finished)
        except KeyboardInterrupt:
            left = len(self.pending())
            print(f"Sweep stopped: {total - left} of {total} cells are saved in {self.path}; "
                  "run it again to continue.", file=sys.stderr)
            raise
        finally:
            if bar is not None:
                bar.close()
        result = self.result()
        if failures:
            raise SweepError(self._failure_message(failures, result), failures, result) \
                from failures[0][1]
        return result

    def _execute(self, task: Task) -> SweepRecord:
        result = task.arm.fn(task.problem, task.backend, **task.kwargs())
        if not isinstance(result, TechniqueResult):
            msg = (f"Arm {task.arm.name!r}: the technique returned a {type(result).__name__}, "
                   "not a TechniqueResult; a technique must return one.")
            raise TypeError(msg)
        return self._log.append(_record_of(task, result))

    def _run_serial(self, todo: Sequence[Task],
                    finished: OnRecord) -> list[tuple[Task, Exception]]:
        failures: list[tuple[Task, Exception]] = []
        for task in todo:
            try:
                record = self._execute(task)
            except Exception as e:
                failures.append((task, e))
                continue
            finished(record)
        return failures

    def _run_pool(self, todo: Sequence[Task], finished: OnRecord) -> list[tuple[Task, Exception]]:
        failures: list[tuple[Task, Exception]] = []
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="itc-sweep")
        try:
            futures: dict[Future[SweepRecord], Task] = {pool.submit(self._execute, t): t
                                                        for t in todo}
            for fut in as_completed(futures):
                exc = fut.exception()
                if exc is None:
                    finished(fut.result())
                elif isinstance(exc, Exception):
                    failures.append((futures[fut], exc))
                else:
                    raise exc  # KeyboardInterrupt or SystemExit inside a cell
        finally:
            # cells not started are dropped; cells in flight finish and are saved
            pool.shutdown(wait=True, cancel_futures=True)
        order = {t.key: i for i, t in enumerate(todo)}
        failures.sort(key=lambda f: order[f[0].key])
        return failures

    def _failure_message(self, failures: list[tuple[Task, Exception]],
                         result: SweepResult) -> str:
        lines = [f"  - {task.describe()}: {type(e).__name__}: {e}"
                 for task, e in failures[:_SHOWN_FAILURES]]
        if len(failures) > _SHOWN_FAILURES:
            lines.append(f"  … and {len(failures) - _SHOWN_FAILURES} more")
        return (f"{len(failures)} of {result.total} sweep cells failed and were not saved:\n"
                + "\n".join(lines)
                + f"\n{len(result)} finished cells are saved in {self.path} (sweep.result() "
                "gives them). Fix the cause and run again to retry the failed cells.")
