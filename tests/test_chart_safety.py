"""Model text cannot become markup or script through a chart (charts.safe_text).

Altair writes a chart's spec into its HTML with ``json.dumps`` inside a ``<script>`` block, so a
``</script>`` in an answer used to end that block and run what followed, in ``to_html()``,
``to_html(inline=True)``, ``save("x.html")`` and the ``html`` renderer. Every builder here gets
hostile text in every string it takes (values, row keys, field names, titles), and the page it
makes must have exactly the elements of a harmless chart's page: the same tags, no ``<img``, no
``on…`` attribute, no extra script. The browser test at the end renders one in Chromium.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import altair as alt
import pytest

from itc_lab.analysis.compute_optimal import compute_optimal
from itc_lab.analysis.scaling import LogLinearFit
from itc_lab.charts import (
    accuracy_chart,
    best_of_n_chart,
    calibration_chart,
    compute_optimal_chart,
    cost_accuracy_chart,
    early_stopping_chart,
    flip_chart,
    roc_chart,
    router_chart,
    scaling_chart,
    vote_chart,
)

from .browser_support import IMG_XSS, SCRIPT_XSS

HOSTILE = f"</script>{SCRIPT_XSS}{IMG_XSS}<!--<script> 1<2 & 3>2 -->"
"""Ends the spec's script, runs two payloads, and opens a comment that would swallow the page's
own closing tag."""


def h(name: str) -> str:
    """A distinct hostile string per field, so that every field can be traced."""
    return f"{name} {HOSTILE}"


class _Report:
    """A stand-in for RouterReport: router_chart only calls ``to_row``."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row

    def to_row(self) -> dict[str, Any]:
        return dict(self.row)


def _optimal_rows(tech: str, baseline: str, cost: str) -> tuple[list[dict[str, Any]],
                                                                 dict[Any, int]]:
    rng = random.Random(0)
    rows, bins = [], {}
    for i in range(12):
        pid = h(f"problem {i}")
        bins[pid] = 1 + i % 2
        for budget in (1, 4):
            rows.append({"technique": baseline, "budget": budget, "problem_id": pid,
                         "correct": rng.random() < 0.5, cost: 50 * budget})
            rows.append({"technique": tech, "budget": budget, "problem_id": pid,
                         "correct": rng.random() < 0.7, cost: 120 * budget})
    return rows, bins


def _compute_optimal(title: str) -> Any:
    tech, base, cost = h("technique"), h("baseline"), h("tokens")
    rows, bins = _optimal_rows(tech, base, cost)
    return compute_optimal_chart(compute_optimal(rows, bins=bins, baseline=base, cost_key=cost),
                                 title=title)


def _vote(title: str) -> Any:
    answers = [h("a"), h("a"), h("b"), None, "12"]
    return vote_chart(answers, gold=h("a"), traces=[h(f"trace {i}") for i in range(5)],
                      title=title)


BUILDERS: dict[str, Callable[[str], Any]] = {
    "vote_chart": _vote,
    "vote_chart_no_traces": lambda title: vote_chart([h("a"), None], gold=h("gold"),
                                                     title=title),
    "accuracy_chart": lambda title: accuracy_chart(
        [{h("k"): k, "accuracy": 0.5, "series": h("series"), "low": 0.4, "high": 0.6,
          "n_problems": 3, h("note"): h("note value")} for k in (1, 4, 16)],
        x=h("k"), title=title),
    "cost_accuracy_chart": lambda title: cost_accuracy_chart(
        [{h("tokens"): t, "accuracy": 0.5, "technique": h(f"tech {t % 2}"), "low": 0.4,
          "high": 0.6, h("extra"): h("extra value")} for t in (100, 200, 400)],
        x=h("tokens"), title=title),
    "early_stopping_chart": lambda title: early_stopping_chart(
        [{"problem": h(f"p{p}"), "method": h(m), "samples": s, "correct": p % 2 == 0,
          h("extra"): h("v")}
         for p in range(3) for m, s in (("fixed", 8), ("esc", 4))], budget=8, title=title),
    "flip_chart": lambda title: flip_chart(
        [{"round": 1, "transition": t, "count": 2, "step": h("round 1"), h("k"): h("v")}
         for t in ("wrong→right", "right→wrong", "right→right", "wrong→wrong")], title=title),
    "best_of_n_chart": lambda title: best_of_n_chart(
        [{"n": n, "accuracy": 0.5, "series": h("series"), h("k"): h("v")} for n in (1, 2, 4)],
        title=title),
    "calibration_chart": lambda title: calibration_chart(
        {"calibration": [{"low": 0.0, "high": 0.5, "mean_score": 0.3, "fraction_correct": 0.4,
                          "count": 3, h("k"): h("v")}], "ece": 0.1}, title=title),
    "roc_chart": lambda title: roc_chart(
        {"roc": [{"fpr": 0.0, "tpr": 0.0, "threshold": 0.9},
                 {"fpr": 1.0, "tpr": 1.0, "threshold": 0.1}], "auc": 0.5}, title=title),
    "scaling_chart": lambda title: scaling_chart(
        [{"tokens": t, "accuracy": 0.3 + t / 1000, "technique": h(f"tech {t % 3}"),
          "simulated": t == 300, h("k"): h("v")} for t in (100, 200, 300)],
        fits={h("tech 1"): LogLinearFit(0.1, 0.05, 0.0, 2)}, frontier=[h("tech 1"), h("tech 2")],
        title=title),
    "scaling_chart_fields": lambda title: scaling_chart(
        [{h("x"): t, h("y"): 0.5, h("colour"): h("tech")} for t in (100, 200)],
        x=h("x"), y=h("y"), color=h("colour"), fits={h("tech"): LogLinearFit(0.1, 0.05, 0.0, 2)},
        frontier=[h("tech")], title=title),
    "compute_optimal_chart": _compute_optimal,
    "router_chart": lambda title: router_chart(
        [_Report({"policy": h("policy"), "router": h("router"), "estimator": h("estimator"),
                  "probe": 4, "thresholds": [0.3], "budgets": [4, 16], "accuracy": 0.8,
                  "mean_samples": 6.0, "mean_tokens": 600.0, "tier_counts": [3, 1],
                  "n_problems": 4, h("k"): h("v")})],
        [{"policy": h("fixed"), "budget": b, "accuracy": 0.5 + b / 100, "mean_samples": b,
          "mean_tokens": 100.0 * b} for b in (1, 4, 16)], title=title),
}

TITLES = ["", h("title")]


class _Structure(HTMLParser):
    """The elements of a page, with their attribute names; script contents are not parsed."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, tuple[str, ...]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, tuple(sorted(a for a, _ in attrs))))

    def handle_endtag(self, tag: str) -> None:
        self.tags.append(("/" + tag, ()))

    def handle_comment(self, data: str) -> None:
        self.tags.append(("<!--", ()))


def structure(html: str) -> list[tuple[str, tuple[str, ...]]]:
    parser = _Structure()
    parser.feed(html)
    parser.close()
    return parser.tags


def harmless(html_of: Callable[[Any], str]) -> str:
    return html_of(vote_chart(["1", "2", "1"], traces=["x", "y", "z"]))


def assert_inert_page(html: str, harmless_html: str) -> None:
    """``html`` has the elements of ``harmless_html`` and no more: the data made none."""
    lower, expected = html.lower(), harmless_html.lower()
    assert "<img src=x" not in lower and "<script>window.__pwned" not in lower
    for piece in ("</script", "<script", "<!--", "<img"):  # (the inline bundle has some)
        assert lower.count(piece) == expected.count(piece), piece
    tags = structure(html)
    assert not [a for _, attrs in tags for a in attrs if a.startswith("on")]
    assert tags == structure(harmless_html)  # the template's elements, nothing from the data


def strings(node: Any) -> Iterator[str]:
    """Every string in a spec: values and keys."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield k
            yield from strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from strings(v)


@pytest.mark.parametrize("title", TITLES, ids=["default-title", "hostile-title"])
@pytest.mark.parametrize("builder", sorted(BUILDERS))
def test_spec_has_no_markup_and_keeps_the_text_readable(builder: str, title: str) -> None:
    spec = BUILDERS[builder](title).to_dict()
    bad = sorted({s for s in strings(spec) if "<" in s or ">" in s})
    assert not bad, f"{builder} puts markup into its spec: {bad[:3]}"
    text = json.dumps(spec, ensure_ascii=False)
    if builder == "roc_chart" and not title:
        return  # its rows are numbers only
    assert "‹/script›‹script›window.__pwned=2‹/script›‹img src=x onerror=window.__pwned=1›" in text
    assert "1‹2 & 3›2" in text  # readable: look-alikes for < and >, the rest as written
    if title:
        assert "title ‹/script›" in text


@pytest.mark.parametrize("builder", sorted(BUILDERS))
def test_to_html_and_save_make_no_element_from_data(builder: str, tmp_path: Path) -> None:
    chart = BUILDERS[builder](h("title"))
    expected = harmless(lambda c: c.to_html())
    assert_inert_page(chart.to_html(), expected)
    chart.save(tmp_path / "chart.html")
    assert_inert_page((tmp_path / "chart.html").read_text(encoding="utf-8"), expected)


@pytest.mark.parametrize("builder", sorted(BUILDERS))
def test_inline_html_makes_no_element_from_data(builder: str) -> None:
    # inline=True bundles Vega offline through vl-convert (a dependency of itc-lab)
    chart = BUILDERS[builder](h("title"))
    assert_inert_page(chart.to_html(inline=True), harmless(lambda c: c.to_html(inline=True)))


def test_the_html_renderer_of_use_offline_renderer_escapes_any_chart(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the widget renderer, use_offline_renderer falls back to a safe html renderer:
    even a chart made by hand from model text, without the builders, stays inert."""
    from itc_lab.charts import use_offline_renderer

    enable = alt.renderers.enable

    def no_widget(name: str | None = None, **options: Any) -> Any:
        if name == "jupyter":
            raise ImportError("no vl-convert")
        return enable(name, **options)

    raw = alt.Chart(alt.InlineData(values=[{"a": HOSTILE}])).mark_text().encode(text="a:N")
    harmless = alt.Chart(alt.InlineData(values=[{"a": "x"}])).mark_text().encode(text="a:N")
    monkeypatch.setattr(alt.renderers, "enable", no_widget)
    try:
        assert use_offline_renderer() == "html"
        bundle = raw._repr_mimebundle_()
        html = (bundle[0] if isinstance(bundle, tuple) else bundle)["text/html"]
        expected_bundle = harmless._repr_mimebundle_()
        expected = (expected_bundle[0] if isinstance(expected_bundle, tuple)
                    else expected_bundle)["text/html"]
    finally:
        enable("default")
    assert "</script><script>window.__pwned" not in html
    assert_inert_page(html, expected)


# -- in a real browser -------------------------------------------------------------------------
@pytest.mark.browser
@pytest.mark.parametrize("builder", ["vote_chart", "early_stopping_chart", "router_chart"])
def test_hostile_chart_runs_no_script_in_chromium(builder: str, browser: Any) -> None:
    """The chart's own page (to_html(inline=True), SVG): it draws, its tooltips show the text
    as text, and neither payload runs (window.__pwned stays unset, no <img> appears)."""
    chart = BUILDERS[builder](h("title"))
    html = chart.to_html(inline=True, embed_options={"renderer": "svg", "actions": False})
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route("**/*", lambda route: route.fulfill(status=404, body=""))  # no network
    try:
        page.set_content(html)
        assert page.evaluate("() => window.__pwned") is None  # the old charts: 1 (the img ran)
        page.wait_for_selector("svg .mark-symbol path, svg .mark-rect path", timeout=15_000)
        marks = page.query_selector_all("svg .mark-symbol path, svg .mark-rect path")
        tooltip = ""
        for mark in marks[:6]:
            mark.hover(force=True)
            page.wait_for_timeout(150)
            tooltip += page.evaluate(
                "() => document.querySelector('#vg-tooltip-element')?.textContent || ''")
        assert page.evaluate("() => window.__pwned") is None
        assert page.evaluate("() => document.querySelectorAll('img').length") == 0
        assert "‹img src=x onerror=window.__pwned=1›" in tooltip  # shown as text
        assert page.evaluate("() => document.querySelectorAll('#vis svg').length") >= 1
        assert not errors, errors
    finally:
        context.close()
