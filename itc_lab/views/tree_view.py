"""TreeView: a search tree as an interactive, collapsible widget with playback. Introduced in
lesson 03.

An indented tree you fold open (only the open subtrees are in the page, so thousands of nodes
stay responsive), a side panel with a node's texts, and playback controls that replay the search
one expansion at a time.

A tree that grows while a search runs: pass a view's ``grow`` as the search's ``on_progress``
(``bfs``, ``dfs``, ``mcts``, ``game24_search``, ``tree_of_thoughts``). Only what changed goes to
the browser, a few times a second; when the search ends the view holds the final tree.
``itc_lab.live.LiveTreeView`` adds the meter and the Stop button, and replaces its output by the
final static snapshot.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from typing import Any

import anywidget
import traitlets

from .._checks import shorten
from ..charts.search import (
    STATUSES,
    is_mcts,
    mean_value,
    node_score,
    node_status,
    scale_domain,
    solution_path,
    spending_line,
    tree_nodes,
    value_colour,
)
from .base import MUTED, TEXT_BOX, TextFallback, capped, esc, frontend_dir

__all__ = [
    "FRONTEND",
    "MAX_STATIC_NODES",
    "STEP_CHARS",
    "TreeView",
    "empty_payload",
    "payload_size",
    "tree_html",
    "tree_payload",
    "tree_summary",
    "visible_ids",
]

STEP_CHARS = 80

FRONTEND = frontend_dir()

def _num(x: Any, digits: int = 4) -> float | None:
    if x is None:
        return None
    x = float(x)
    return round(x, digits) if math.isfinite(x) else None

def _plain(x: Any) -> Any:
    if x is None or isinstance(x, bool | int | float | str):
        return x
    if isinstance(x, Mapping):
        return {str(k): _plain(v) for k, v in x.items()}
    return str(x)


_COLUMNS = ("id", "parent", "depth", "status", "value", "visits", "q", "tokens", "order", "step",
            "step_full", "state", "proposer", "evaluator")


def _row(n: Any) -> dict[str, Any]:
    """One node's entry in each column of the payload."""
    step_text = str(getattr(n, "step", "") or "")
    short = shorten(step_text, STEP_CHARS)
    state = getattr(n, "state", "")
    order = getattr(n, "order", None)
    return {
        "id": int(n.id),
        "parent": None if n.parent is None else int(n.parent),
        "depth": int(getattr(n, "depth", 0) or 0),
        "status": node_status(n),
        "value": _num(getattr(n, "value", None)),
        "visits": int(getattr(n, "visits", 0) or 0),
        "q": _num(mean_value(n)),
        "tokens": int(getattr(n, "tokens", 0) or 0),
        "order": None if order is None else int(order),
        "step": short,
        "step_full": None if short == step_text else step_text,
        "state": "" if state is None else str(state),
        "proposer": str(getattr(n, "proposer_text", "") or ""),
        "evaluator": str(getattr(n, "evaluator_text", "") or ""),
    }


def tree_payload(tree: Any) -> dict[str, Any]:
    """The ``payload`` of a ``TreeView``: the tree as compact JSON, one array per field.

    ``{"algorithm", "budget", "spent", "spending", "stopped", "solution_id", "solution_path",
    "mcts", "scale", "max_order", "count", "nodes"}`` where ``nodes`` maps each field to an
    array with one entry per node (same index in every array): ``id``, ``parent`` (``None``
    for the root), ``depth``, ``status``, ``value``, ``visits``, ``q`` (mean backed-up value,
    ``None`` without visits), ``tokens``, ``order`` (expansion order, ``None`` if never
    expanded), ``step`` (one line, cut to ``STEP_CHARS``) and the full texts ``step_full``
    (``None`` when ``step`` is already the whole text), ``state``, ``proposer`` and
    ``evaluator``. Numbers are rounded to 4 decimals. ``scale`` is ``[lo, hi]`` of the colour scale.
    """
    nodes = tree_nodes(tree)
    by_id = {n.id: n for n in nodes}
    cols: dict[str, list[Any]] = {k: [] for k in _COLUMNS}
    for n in nodes:
        for k, v in _row(n).items():
            cols[k].append(v)
    orders = [o for o in cols["order"] if o is not None]
    config = getattr(tree, "config", None)
    stopped = config.get("stopped") if isinstance(config, Mapping) else None
    return {
        "algorithm": str(getattr(tree, "algorithm", "")),
        "budget": _plain(getattr(tree, "budget", None)),
        "spent": _plain(getattr(tree, "spent", None)),
        "spending": spending_line(tree),
        "stopped": None if stopped is None else str(stopped),
        "solution_id": getattr(tree, "solution_id", None),
        "solution_path": solution_path(tree, by_id),
        "mcts": is_mcts(tree),
        "scale": list(scale_domain(node_score(n) for n in nodes)),
        "max_order": max(orders, default=0),
        "count": len(nodes),
        "nodes": cols,
    }

def empty_payload(algorithm: str = "") -> dict[str, Any]:
    """The payload of a tree with no nodes yet (a live view before its search starts)."""
    return {"algorithm": algorithm, "budget": None, "spent": None, "spending": "",
            "stopped": None, "solution_id": None, "solution_path": [],
            "mcts": "mcts" in algorithm, "scale": [0.0, 1.0], "max_order": 0, "count": 0,
            "nodes": {k: [] for k in _COLUMNS}}


def _dumps(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

def payload_size(tree: Any) -> int:
    """The size in bytes of ``tree_payload(tree)`` as compact UTF-8 JSON (what the widget sends).

    A generated 2,000-node tree with ~45-character steps, ~200-character proposer and
    ~70-character evaluator texts comes to about 650 kB (see tests/test_trees.py).
    """
    return len(_dumps(tree_payload(tree)))

def visible_ids(payload: dict[str, Any], step: int) -> list[int]:
    """The ids a ``TreeView`` shows at playback ``step``, in payload order.

    A node is shown when its parent is shown (or it is the root) and either its ``order`` is
    ``<= step`` or it has no order (it was generated by its parent's expansion but never
    expanded itself: frontier, pruned and dead-end leaves appear together with their parent).
    The same rule is in widgets/tree_view.js.
    """
    cols = payload["nodes"]
    index = {nid: i for i, nid in enumerate(cols["id"])}
    memo: dict[int, bool] = {}

    def shown(i: int) -> bool:
        chain: list[int] = []
        j: int | None = i
        result = True
        while j is not None and j not in memo:
            chain.append(j)
            parent = cols["parent"][j]
            j = index.get(parent) if parent is not None else None
        if j is not None:
            result = memo[j]
        for k in reversed(chain):
            order = cols["order"][k]
            result = result and (order is None or order <= step)
            memo[k] = result
        return memo[i]

    return [cols["id"][i] for i in range(len(cols["id"])) if shown(i)]

def tree_summary(payload: dict[str, Any]) -> str:
    """One line about a ``tree_payload``: algorithm, nodes by status and the solution."""
    nodes = payload["nodes"]
    counts = {s: nodes["status"].count(s) for s in STATUSES if s in nodes["status"]}
    parts = ", ".join(f"{v} {k}" for k, v in counts.items())
    sol = payload["solution_id"]
    tail = f"solution #{sol}" if sol is not None else "no solution"
    name = payload["algorithm"] or "search"
    return f"TreeView: {name}, {payload['count']} nodes ({parts}), {tail}"

MAX_STATIC_NODES = 60
"""Nodes drawn in a ``TreeView``'s static snapshot (depth first from the root); the rest are
counted."""

_STATUS_STYLE = {
    "solution": "border: 2px solid #1a7f37",
    "pruned": "border: 1px dashed #8c8c8c; color: #595959",
    "dead_end": "border: 1px solid #8c8c8c; color: #404040",
    "frontier": "border: 1px dotted #555555",
    "expanded": "border: 1px solid #555555",
}

def _node_html(cols: dict[str, list[Any]], i: int, lo: float, hi: float, mcts: bool,
               on_path: set[int]) -> str:
    nid, status = cols["id"][i], cols["status"][i]
    value, q = cols["value"][i], cols["q"][i]
    grey = status in ("pruned", "dead_end")
    score = q if mcts and q is not None else value
    fill = "#d9d9d9" if grey else value_colour(score, lo, hi)
    dark = not grey and score is not None and hi > lo and (score - lo) / (hi - lo) > 0.6
    stats = "v=" + ("–" if value is None else f"{value:.2f}")
    if mcts:
        stats += f" n={cols['visits'][i]} q=" + ("–" if q is None else f"{q:.2f}")
    full = cols["step_full"][i] or cols["step"][i]
    tip = f"state: {cols['state'][i]}" if cols["state"][i] else ""
    path = "; font-weight: 600" if nid in on_path else ""
    return (f'<span style="background-color: {fill}; color: {"#fff" if dark else "#000"}; '
            'padding: 0 4px; '
            f'border-radius: 3px; {_STATUS_STYLE.get(status, "")}{path}" title="{esc(tip)}">'
            f"#{int(nid)}</span> "
            f'<span style="color: {MUTED}">{esc(status)} · {esc(stats)}</span> '
            f"{capped(shorten(full, STEP_CHARS))}")

def tree_html(payload: dict[str, Any], step: int | None = None,
              limit: int = MAX_STATIC_NODES) -> str:
    """A ``tree_payload`` as static HTML: a summary line, then the tree as nested lists (depth
    first from the root, children in payload order) of at most ``limit`` nodes, each with its
    status, value (and visits for MCTS) and step text, coloured as in ``tree_graph``; nodes on
    the solution path are bold. ``step`` shows the tree at that playback step (see
    ``visible_ids``). All model text is escaped."""
    cols = payload["nodes"]
    shown = set(visible_ids(payload, payload["max_order"] if step is None else step))
    children: dict[Any, list[int]] = {}
    for i, (nid, parent) in enumerate(zip(cols["id"], cols["parent"], strict=True)):
        if nid in shown:
            children.setdefault(parent if parent in shown else None, []).append(i)
    lo, hi = payload["scale"]
    on_path = set(payload["solution_path"] or ())
    drawn = 0

    def branch(parent: Any) -> str:
        nonlocal drawn
        items = []
        for i in children.get(parent, ()):
            if drawn >= limit:
                break
            drawn += 1
            items.append(f"<li>{_node_html(cols, i, lo, hi, payload['mcts'], on_path)}"
                         f"{branch(cols['id'][i])}</li>")
        if not items:
            return ""
        return f'<ul style="list-style: none; padding-left: 1.2em; margin: 0">{"".join(items)}</ul>'

    body = branch(None)
    summary = tree_summary(payload).removeprefix("TreeView: ")
    line = [f"<strong>{esc(summary)}</strong>"]
    if payload["spending"]:
        line.append(esc(payload["spending"]))
    if payload["stopped"]:
        line.append(f"stopped: {esc(payload['stopped'])}")
    rest = len(shown) - drawn
    more = (f'<div style="color: {MUTED}">… {rest} more node{"s" if rest != 1 else ""} '
            "(open the interactive view to see them)</div>") if rest > 0 else ""
    return (f'<div style="margin-bottom: 4px">{" · ".join(line)}</div>'
            f'<div style="{TEXT_BOX}; white-space: normal; line-height: 1.7">{body}</div>{more}')

class TreeView(TextFallback, anywidget.AnyWidget):  # type: ignore[misc]
    """A search tree as a foldable, indented list with a details panel and playback.

    ``TreeView(tree)``; put it last in a cell. Click a node to see its state, step, proposer and
    evaluator texts, value, visits and tokens (the id goes to ``selected``). The playback bar
    (previous, next, play, a slider) sets ``step``: only the nodes expanded up to that step are
    shown (see ``visible_ids``). Rows are coloured like ``tree_graph``. Only the open subtrees are
    in the page, so trees of thousands of nodes stay responsive.

    ``TreeView()`` without a tree grows as a search reports to :meth:`grow`;
    ``itc_lab.live.LiveTreeView`` is that, with a meter and a Stop button.
    """

    _esm = FRONTEND / "tree_view.js"
    _css = FRONTEND / "tree_view.css"

    payload = traitlets.Dict().tag(sync=True)
    """See ``tree_payload``."""
    selected = traitlets.Int(-1).tag(sync=True)
    """The id of the node shown in the side panel, ``-1`` for none (set by clicks in the view)."""
    step = traitlets.Int(0).tag(sync=True)
    """Playback position: nodes with ``order <= step`` are shown. Starts at the last expansion."""

    SEND_EVERY_S = 0.15
    """A live view sends what changed at most this often (seconds); the last change at once."""

    def __init__(self, tree: Any = None, *, step: int | None = None,
                 selected: int | None = None, **kwargs: Any) -> None:
        self.tree = tree
        self._growth: _Growth | None = None
        if tree is None:  # a live view: empty until a search reports to grow()
            payload = empty_payload() | {"growing": True}
            self._growth = _Growth()
        else:
            payload = tree_payload(tree)
        if selected is None:
            selected = payload["solution_id"] if payload["solution_id"] is not None else -1
        super().__init__(payload=payload,
                         step=payload["max_order"] if step is None else step,
                         selected=selected, **kwargs)
        self.on_msg(self._on_message)

    # -- growth while a search runs -------------------------------------------------------------
    def grow(self, progress: Any) -> None:
        """Take one report of a growing search (a ``TreeProgress``): pass this method as the
        search's ``on_progress`` (``LiveTreeView`` in ``itc_lab.live`` does, with a meter and a
        Stop button). What changed goes to the browser at most every ``SEND_EVERY_S`` seconds,
        never the whole tree; the search's last report makes the view its final tree."""
        growth = self._growth
        if growth is None or growth.finished:
            # a finished (or static) view starts over for a new search
            growth = self._growth = _Growth()
            self.payload = empty_payload() | {"growing": True}
        growth.take(progress)
        if progress.stopped is not None:
            self.end_growth()
        elif time.perf_counter() - growth.sent_at >= self.SEND_EVERY_S:
            message = growth.message()
            if message is not None:
                self.send(message)

    def end_growth(self, stopped: str | None = None) -> None:
        """Make the view the tree as it stands: the whole payload is sent once (``stopped``
        says why it ended, e.g. ``"interrupted"``, when the search did not). Called by the
        search's last report; harmless to call again."""
        growth = self._growth
        if growth is None or growth.finished:
            return
        growth.finished = True
        payload = growth.payload()
        if stopped is not None and payload.get("stopped") is None:
            payload["stopped"] = stopped
        with self.hold_sync():
            self.payload = payload
            self.step = payload["max_order"]
            if self.selected == -1 and payload["solution_id"] is not None:
                self.selected = payload["solution_id"]
        self._grown()

    @property
    def growing(self) -> bool:
        """True while a search grows this view."""
        return self._growth is not None and not self._growth.finished

    def _grown(self) -> None:
        """Hook: the search has ended and the view holds its final tree."""

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        growth = self._growth
        if isinstance(content, Mapping) and content.get("kind") == "hello" and (
                growth is not None and not growth.finished):
            self.send({"kind": "reset", "payload": growth.payload() | {"growing": True}})

    # -- display ---------------------------------------------------------------------------------
    def _text_summary(self) -> str:
        return tree_summary(self.payload)

    def _static_html(self) -> str:
        if self.payload.get("growing"):
            growth = self._growth
            payload = growth.payload() if growth is not None else self.payload
            note = (f'<div style="color: {MUTED}">The search is running: {payload["count"]} '
                    "nodes so far.</div>")
            return note + tree_html(payload)
        return tree_html(self.payload, self.step)


def _search_spending(spent: Mapping[str, Any], budget: Mapping[str, Any]) -> str:
    """What a growing search has spent, against its budget: ``"spent 120 of 400 tokens in 14
    proposer and evaluator calls"`` (the calls of the search problem, not the model's
    requests)."""
    def part(key: str) -> str:
        limit = budget.get(key)
        return f"{spent.get(key, 0)}" + ("" if limit is None else f" of {limit}")

    return f"spent {part('tokens')} tokens in {part('calls')} proposer and evaluator calls"


class _Growth:
    """A live view's tree as reports arrive: the payload's columns, updated in place (O(nodes
    reported) per report), and the rows changed since the last message to the browser."""

    def __init__(self) -> None:
        self.cols: dict[str, list[Any]] = {k: [] for k in _COLUMNS}
        self.at: dict[int, int] = {}
        self.changed: dict[int, int] = {}  # id → column index, not yet sent
        self.meta: dict[str, Any] = {}
        self.lo, self.hi = 0.0, 1.0
        self.max_order = 0
        self.algorithm = ""
        self.solution_id: int | None = None
        self.started = time.perf_counter()
        self.sent_at = -math.inf  # the first report goes out at once
        self.finished = False

    def take(self, progress: Any) -> None:
        cols = self.cols
        for n in progress.nodes:
            row = _row(n)
            i = self.at.get(row["id"])
            if i is None:
                i = self.at[row["id"]] = len(cols["id"])
                for k, v in row.items():
                    cols[k].append(v)
            else:
                for k, v in row.items():
                    cols[k][i] = v
            self.changed[row["id"]] = i
            score = node_score(n)
            if score is not None:
                self.lo, self.hi = min(self.lo, score), max(self.hi, score)
            if row["order"] is not None:
                self.max_order = max(self.max_order, row["order"])
        self.algorithm = str(progress.algorithm)
        self.solution_id = progress.solution_id
        spent, budget = dict(progress.spent), dict(progress.budget)
        self.meta = {
            "algorithm": self.algorithm, "budget": _plain(budget), "spent": _plain(spent),
            "spending": _search_spending(spent, budget),
            "stopped": progress.stopped, "solution_id": progress.solution_id,
            "mcts": "mcts" in self.algorithm.lower(),
            "elapsed_s": round(time.perf_counter() - self.started, 2),
        }

    def _path(self) -> list[int]:
        path: list[int] = []
        current = self.solution_id
        seen: set[int] = set()
        while current is not None and current in self.at and current not in seen:
            seen.add(current)
            path.append(current)
            current = self.cols["parent"][self.at[current]]
        return path[::-1]

    def _numbers(self) -> dict[str, Any]:
        return self.meta | {"solution_path": self._path(), "scale": [self.lo, self.hi],
                            "max_order": self.max_order, "count": len(self.cols["id"])}

    def message(self) -> dict[str, Any] | None:
        """The rows changed since the last message and the header's numbers (None: nothing)."""
        self.sent_at = time.perf_counter()
        if not self.changed:
            return None
        index = sorted(self.changed.values())
        self.changed.clear()
        rows = {k: [col[i] for i in index] for k, col in self.cols.items()}
        return {"kind": "grow", "rows": rows, "meta": self._numbers() | {"growing": True}}

    def payload(self) -> dict[str, Any]:
        """The whole tree so far as a ``tree_payload``."""
        self.changed.clear()
        meta = self._numbers()
        if self.finished:
            meta["growing"] = False
        return empty_payload(self.algorithm) | meta | {
            "nodes": {k: list(v) for k, v in self.cols.items()}}
