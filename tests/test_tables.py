"""Results as tables: short reprs, escaped HTML reprs, ``to_pandas()`` on every result type that
holds rows, ``table(...)`` with percentages and intervals, and charts that take any DataFrame."""

from __future__ import annotations

import math
from typing import Any

import narwhals as nw
import pandas as pd
import pytest

import itc_lab
from itc_lab.analysis import (
    Pool,
    PoolSample,
    Router,
    compare,
    compute_optimal,
    evaluate_router,
    fit_log_linear,
    fit_saturating,
)
from itc_lab.answers import Answer
from itc_lab.charts import (
    accuracy_chart,
    best_of_n_chart,
    calibration_chart,
    cost_accuracy_chart,
    early_stopping_chart,
    flip_chart,
    roc_chart,
    router_chart,
    scaling_chart,
    vote_chart,
)
from itc_lab.datasets import load
from itc_lab.experiments import Arm, Sweep
from itc_lab.tables import Table, as_records, summary_html, table
from itc_lab.techniques import few_shot_cot, self_consistency
from itc_lab.types import Completion, Token

from .fakes import ScriptedBackend

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _long_completion(text: str = "step " * 2000 + "The answer is 7.") -> Completion:
    tokens = tuple(Token(w, -0.1) for w in text.split(" "))
    return Completion(text=text, model="m", backend="fake", seed=3, tokens=tokens,
                      prompt_tokens=40, completion_tokens=len(tokens), latency_s=1.5)


# -- short reprs -------------------------------------------------------------------------------
def test_a_completion_with_thousands_of_tokens_has_a_short_repr() -> None:
    c = _long_completion()
    assert len(c.to_dict()["tokens"]) > 2000
    text = repr(c)
    assert len(text) < 250, text
    assert text.startswith("Completion('step step") and f"{len(c.tokens)} tokens" in text
    assert "seed=3" in text and "finish='stop'" in text
    assert len(repr(c.tokens[0])) < 80


def test_technique_results_have_short_reprs_with_their_key_numbers() -> None:
    problems = load("arith", n=6, seed=0, difficulty=1)
    backend = ScriptedBackend(["step " * 500 + "The answer is 7.", "The answer is 9."])
    votes = self_consistency(problems[0], backend, dataset=problems, k=16)
    text = repr(votes)
    assert len(text) < 500, text
    assert "self_consistency" in text and "samples 16" in text and "votes" in text
    assert repr(votes.samples[0]).startswith("Sample(answer=")
    assert len(repr(votes.samples[0])) < 250
    html = votes._repr_html_()
    assert "<table>" in html and "self_consistency" in html and len(html) < 3000


def test_a_sweep_result_has_a_short_repr(tmp_path: Any) -> None:
    problems = load("arith", n=30, seed=0, difficulty=1)
    backend = ScriptedBackend("step " * 300 + "The answer is 7.")
    arms = [Arm("cot", "few_shot_cot", dataset=problems),
            Arm("sc", "self_consistency", "k", dataset=problems)]
    result = Sweep(tmp_path / "s.jsonl", arms, problems, backend, budgets={"sc": [8]}).run(
        progress=False)
    assert len(str(result.to_dict())) > 30_000  # about what the dataclass repr printed
    text = repr(result)
    assert len(text) < 600, text
    assert text.splitlines()[0].startswith("SweepResult(60 of 60 cells")
    assert any(line.strip().startswith("sc: n=30, accuracy") for line in text.splitlines())
    assert len(repr(result.records[-1])) < 300
    frame = result.to_pandas()
    assert len(frame) == 60 and list(frame.columns)[:3] == ["arm", "technique", "budget"]
    assert "<table" in result._repr_html_()


# -- HTML reprs escape model text --------------------------------------------------------------
def test_html_reprs_escape_hostile_model_text() -> None:
    problems = load("arith", n=4, seed=0, difficulty=1)
    c = _long_completion(HOSTILE + " The answer is 3.")
    cot = few_shot_cot(problems[0], ScriptedBackend(HOSTILE), dataset=problems)
    shown = [c._repr_html_(), cot._repr_html_(),
             summary_html(HOSTILE, [(HOSTILE, HOSTILE)], HOSTILE),
             table([{"answer": HOSTILE, "accuracy": 0.5}], percent=["accuracy"])._repr_html_()]
    for html in shown:
        assert "<script" not in html and "<img" not in html, html
        assert "&lt;script&gt;" in html


# -- to_pandas ---------------------------------------------------------------------------------
def test_every_result_type_with_rows_converts_to_pandas() -> None:
    problems = load("arith", n=6, seed=0, difficulty=1)
    backend = ScriptedBackend(["Then 2 + 3 = 5.\nThe answer is 5.", "We get 2 + 3 = 5 and 7"])
    votes = self_consistency(problems[0], backend, dataset=problems, k=4)
    df = votes.to_pandas()
    assert isinstance(df, pd.DataFrame) and len(df) == 4
    assert list(df["method"]) == ["answer-is", "last-number"] * 2
    assert list(df["stated"]) == [True, False] * 2  # stated, against the last number taken
    assert list(_long_completion("a b c").to_pandas()["text"]) == ["a", "b", "c"]
    pool = Pool("p", "5", tuple(PoolSample(a, a == "5", 10) for a in ("5", "4", "5", "5")))
    assert len(pool.to_pandas()) == 4 and len(repr(pool)) < 150
    report = evaluate_router(Router("disagreement", probe=2, thresholds=[0.0], budgets=[2, 4]),
                             [pool, pool])
    assert list(report.to_pandas()["tier"]) == [1, 1]
    assert "RouterReport('disagreement" in repr(report)
    cmp = compare("a", 3, 10, "b", 5, 10).to_pandas()
    assert list(cmp["name"]) == ["a", "b"] and cmp["low"].between(0, 1).all()
    rows = [{"technique": t, "budget": b, "problem_id": f"p{i}", "tokens": 10 * b,
             "correct": (i + b) % 3 == 0} for t in ("x", "y") for b in (1, 4) for i in range(6)]
    optimal = compute_optimal(rows, bins={f"p{i}": 1 + i % 2 for i in range(6)}, baseline="x")
    assert len(optimal.to_pandas()) == len(optimal.rows())
    assert len(repr(optimal)) < 400


def test_answer_stated_tells_a_final_answer_from_a_fallback() -> None:
    assert Answer("5", "5", "answer-is").stated and Answer("5", "5", "boxed").stated
    assert Answer("5", "5", "final-line").stated
    assert not Answer("5", "5", "last-number").stated
    assert not Answer(None, None, "none").stated


# -- table -------------------------------------------------------------------------------------
def test_table_formats_percentages_intervals_and_missing_values() -> None:
    rows = [{"arm": "cot", "accuracy": 0.3667, "interval": (0.2, 0.55), "tokens": 47.8,
             "gain": 0.5},
            {"arm": "sc", "accuracy": None, "interval": (0.1, 0.3), "tokens": 878.125,
             "gain": -1.25}]
    t = table(rows, percent=["accuracy", "interval"], formats={"gain": "+.1f"})
    assert isinstance(t, Table) and t.data["tokens"].tolist() == [47.8, 878.125]  # untouched
    shown = t.formatted()
    assert shown["accuracy"].tolist() == ["36.7%", "–"]
    assert shown["interval"].tolist() == ["20–55%", "10–30%"]
    assert shown["gain"].tolist() == ["+0.5", "-1.2"]
    assert shown["tokens"].tolist() == ["47.8", "878.1"]
    text = repr(t)
    assert text.splitlines()[0].split() == ["arm", "accuracy", "interval", "tokens", "gain"]
    assert "36.7%" in text and "20–55%" in text
    assert isinstance(t.to_pandas(), pd.DataFrame)
    assert table(rows, columns=["arm"], rename={"arm": "method"}).data.columns.tolist() == [
        "method"]
    with pytest.raises(ValueError, match="does not have"):
        table(rows, percent=["acc"])
    with pytest.raises(ValueError, match="list of dicts"):
        table("accuracy")
    assert itc_lab.table is table
    # the views' roots carry itc-* classes (the lesson browser test counts them); a table is no view
    assert "itc-" not in t._repr_html_() and "itc-" not in summary_html("x", [("a", 1)])


def test_a_pivoted_frame_shows_its_index_and_no_stray_header() -> None:
    rows = [{"n": n, "series": s, "accuracy": n / 10} for n in (1, 2) for s in ("a", "b")]
    pivot = pd.DataFrame(rows).pivot(index="n", columns="series", values="accuracy")
    t = table(pivot, percent=["a", "b"])
    assert list(t.formatted().columns) == ["n", "a", "b"]
    assert repr(t).splitlines()[0].split() == ["n", "a", "b"]
    assert "series" not in t._repr_html_()


def test_as_records_reads_any_dataframe_with_missing_values_as_none() -> None:
    rows = [{"k": 1, "accuracy": 0.5, "note": "x"}, {"k": 2, "accuracy": None, "note": None}]
    df = pd.DataFrame(rows)
    assert math.isnan(df["accuracy"][1])
    for data in (rows, df, nw.from_native(df, eager_only=True), table(rows)):
        got = as_records(data)
        assert got == rows, type(data)
        assert type(got[0]["k"]) is int  # not a numpy integer


# -- every chart builder takes a DataFrame -----------------------------------------------------
def _same(build: Any, rows: list[dict[str, Any]], **kw: Any) -> None:
    assert build(pd.DataFrame(rows), **kw).to_dict() == build(rows, **kw).to_dict()


def test_every_chart_builder_takes_a_dataframe_as_well_as_rows() -> None:
    _same(accuracy_chart, [{"k": k, "accuracy": k / 20, "series": "maj"} for k in (1, 4, 16)])
    _same(cost_accuracy_chart, [{"tokens": t, "accuracy": 0.5, "technique": f"t{t % 2}"}
                                for t in (100, 201, 400)])
    _same(early_stopping_chart, [{"problem": f"p{p}", "method": m, "samples": s,
                                  "correct": p % 2 == 0}
                                 for p in range(3) for m, s in (("fixed", 8), ("esc", 4))],
          budget=8)
    _same(flip_chart, [{"round": 1, "transition": t, "count": 2, "step": "round 1"}
                       for t in ("wrong→right", "right→wrong", "right→right", "wrong→wrong")])
    _same(best_of_n_chart, [{"n": n, "accuracy": 0.5, "series": "s"} for n in (1, 2, 4)])
    _same(scaling_chart, [{"tokens": t, "accuracy": 0.3 + t / 1000, "technique": "x"}
                          for t in (100, 200, 300)])
    calibration = [{"low": 0.0, "high": 0.5, "mean_score": 0.3, "fraction_correct": 0.4,
                    "count": 3}]
    assert calibration_chart({"calibration": pd.DataFrame(calibration)}).to_dict() == \
        calibration_chart({"calibration": calibration}).to_dict()
    roc = [{"fpr": 0.0, "tpr": 0.0, "threshold": 0.9}, {"fpr": 1.0, "tpr": 1.0,
                                                         "threshold": 0.1}]
    assert roc_chart({"roc": pd.DataFrame(roc)}).to_dict() == roc_chart({"roc": roc}).to_dict()
    pool = Pool("p", "5", tuple(PoolSample(a, a == "5", 10) for a in ("5", "4", "5", "5")))
    report = evaluate_router(Router("disagreement", probe=2, thresholds=[0.0], budgets=[2, 4]),
                             [pool])
    curve = [{"policy": "fixed", "budget": b, "accuracy": 0.5, "mean_samples": b,
              "mean_tokens": 10.0 * b} for b in (1, 2, 4)]
    assert router_chart([report], pd.DataFrame(curve)).to_dict() == \
        router_chart([report], curve).to_dict()
    answers = ["5", "4", None, "5"]
    column = pd.DataFrame({"answer": answers})["answer"]
    assert vote_chart(column, gold="5").to_dict() == vote_chart(answers, gold="5").to_dict()


# -- a fit whose ceiling the points do not identify --------------------------------------------
def test_a_fit_without_a_bend_reports_no_ceiling_instead_of_a_huge_one() -> None:
    # lesson 06's majority voting: accuracy rises on a straight line in log tokens
    tokens = [54.9, 109.8, 219.5, 439.1, 878.1]
    accuracy = [0.171, 0.171, 0.222, 0.308, 0.378]
    fit = fit_saturating(tokens, accuracy)
    assert fit.a > 1  # the fitted constant is far outside 0 … 1
    assert fit.ceiling is None and not fit.ceiling_identified
    text = fit.summary()
    assert "not identifiable" in text and f"{fit.a:.3g}" in text
    assert "ceiling a =" not in text
    assert repr(fit).startswith("SaturatingFit(ceiling not identifiable")
    assert "not identifiable" in fit._repr_html_()
    assert any("fit_log_linear" in note for note in fit.notes)
    assert fit_log_linear(tokens, accuracy).m > 0
    # a curve that does bend has its ceiling
    xs = [2.0 ** i for i in range(11)]
    bent = fit_saturating(xs, [0.8 - 0.5 * x ** -0.7 for x in xs])
    assert bent.ceiling == pytest.approx(0.8, abs=1e-3)
    assert bent.summary().startswith("ceiling a = 0.8")


def test_table_html_aligns_words_left_and_numbers_right() -> None:
    """JupyterLab right-aligns every table cell; a column of method names then reads ragged
    and away from its header."""
    t = table([{"method": "<b>greedy</b>", "accuracy": 0.367, "tokens": 48, "ok": True},
               {"method": "vote", "accuracy": 0.267, "tokens": 870, "ok": False}],
              percent=["accuracy"])
    page = t._repr_html_()
    assert '<th style="text-align: left">method</th>' in page
    assert '<th style="text-align: right">accuracy</th>' in page
    assert '<td style="text-align: right">870</td>' in page
    assert '<td style="text-align: left">&lt;b&gt;greedy&lt;/b&gt;</td>' in page
    assert '<td style="text-align: left">yes</td>' in page  # yes/no are words
    assert '<td style="text-align: right">36.7%</td>' in page
