"""Charts as a learner uses them, in headless Chromium: the chart's own offline page
(``to_html(inline=True)``, SVG renderer), clicked and measured."""

from __future__ import annotations

from typing import Any

import pytest

from itc_lab.charts import vote_chart

pytestmark = pytest.mark.browser


def _open(browser: Any, chart: Any) -> Any:
    html = chart.to_html(inline=True, embed_options={"renderer": "svg", "actions": False})
    context = browser.new_context(viewport={"width": 1100, "height": 1000})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("console", lambda m: page.errors.append(m.text) if m.type in ("error", "warning")
            else None)
    page.route("**/*", lambda route: route.fulfill(status=404, body=""))  # nothing from the web
    page.set_content(html)
    page.wait_for_selector("svg .mark-rect path", timeout=15_000)
    return context, page


VISIBLE_TEXTS = """() => {
  const svg = document.querySelector('#vis svg');
  const box = svg.getBoundingClientRect();
  return [...svg.querySelectorAll('.mark-text text')]
    .filter(t => t.textContent.trim())
    .map(t => { const r = t.getBoundingClientRect();
                return {text: t.textContent, inside: r.top >= box.top && r.bottom <= box.bottom
                        && r.height > 0}; });
}"""


def test_clicking_a_bar_shows_its_traces_inside_the_chart(browser: Any) -> None:
    answers = ["12", "12", "7", "12", None, "7", "12", "3"]
    traces = [f"trace {i}: so the answer is {a}" for i, a in enumerate(answers)]
    context, page = _open(browser, vote_chart(answers, gold="12", traces=traces))
    try:
        before = [t["text"] for t in page.evaluate(VISIBLE_TEXTS)]
        assert not any(t.startswith("trace ") for t in before)  # nothing selected yet
        bars = page.query_selector_all("svg .mark-rect path")
        assert len(bars) == 4  # 12, 7, 3 and "(no answer)"
        bars[0].click(force=True)  # the majority: "12", four samples
        page.wait_for_timeout(300)
        shown = [t for t in page.evaluate(VISIBLE_TEXTS) if t["text"].startswith("trace ")]
        assert sorted(t["text"] for t in shown) == sorted(
            t for t, a in zip(traces, answers, strict=True) if a == "12")
        assert all(t["inside"] for t in shown), shown  # drawn within the chart, not clipped
        bars[1].click(force=True)  # another bar replaces the selection
        page.wait_for_timeout(300)
        shown = [t["text"] for t in page.evaluate(VISIBLE_TEXTS) if t["text"].startswith("trace")]
        assert sorted(shown) == sorted(t for t, a in zip(traces, answers, strict=True) if a == "7")
        assert not page.errors, page.errors
    finally:
        context.close()


def test_two_vote_charts_side_by_side_keep_their_own_selection(browser: Any) -> None:
    a = vote_chart(["1", "1", "2"], gold="1", traces=["a1", "a1b", "a2"])
    b = vote_chart(["1", "2", "2"], gold="2", traces=["b1", "b2", "b2b"])
    context, page = _open(browser, a | b)
    try:
        bars = page.query_selector_all("svg .mark-rect path")
        assert len(bars) == 4
        bars[0].click(force=True)  # chart a, answer "1"
        page.wait_for_timeout(300)
        shown = sorted(t["text"] for t in page.evaluate(VISIBLE_TEXTS)
                       if t["text"] in {"a1", "a1b", "a2", "b1", "b2", "b2b"})
        assert shown == ["a1", "a1b"]  # chart b's "1" bar is not selected with it
    finally:
        context.close()


def test_a_measured_scaling_chart_draws_without_console_warnings(browser: Any) -> None:
    """A layer filtered down to no rows makes Vega warn "Infinite extent" in the console."""
    from itc_lab.charts import scaling_chart

    rows = [{"technique": t, "tokens": n * m, "accuracy": 0.2 + 0.1 * m}
            for t, n in (("vote", 100), ("greedy", 60)) for m in (1, 2, 4)]
    html = scaling_chart(rows).to_html(inline=True, embed_options={"renderer": "svg",
                                                                   "actions": False})
    context = browser.new_context()
    page = context.new_page()
    messages: list[str] = []
    page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
    page.route("**/*", lambda route: route.fulfill(status=404, body=""))
    try:
        page.set_content(html)
        page.wait_for_selector("svg .mark-symbol path", timeout=15_000)
        assert not [m for m in messages if m.startswith(("warning", "error"))], messages
    finally:
        context.close()
