"""Search trees drawn two ways: a Graphviz picture and an interactive, collapsible widget.

``tree_graph(tree)`` turns a search tree (Tree of Thoughts, beam search, MCTS, ... from
``itc_lab.search``) into a ``graphviz.Digraph``: one box per node, filled by its value on a
sequential scale (light yellow = low, dark blue = high, grey = no value), solution with a double
border, pruned nodes grey and dashed, dead ends grey, the path to the solution drawn bold and red.
``TreeView(tree)`` is the same tree as an anywidget: an indented tree you fold open (only the open
subtrees are in the page, so thousands of nodes stay responsive), a side panel with a node's
texts, and playback controls that replay the search one expansion at a time.

The functions take any object shaped like ``itc_lab.search.SearchTree`` (``algorithm``,
``nodes``, ``solution_id``, ``budget``, ``spent``, ``config``) whose nodes look like
``itc_lab.search.Node`` (``id``, ``parent``, ``depth``, ``state``, ``step``, ``proposer_text``,
``evaluator_text``, ``value``, ``visits``, ``value_sum``, ``tokens``, ``status``, ``order``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any, cast

import anywidget
import graphviz
import traitlets

from .widgets import _frontend_dir, _TextFallback

__all__ = [
    "STATUSES",
    "TreeView",
    "payload_size",
    "tree_graph",
    "tree_payload",
    "value_colour",
    "visible_ids",
]

STATUSES = ("expanded", "pruned", "solution", "dead_end", "frontier")
"""The node statuses, as ``itc_lab.search.Node.status`` spells them."""

STEP_CHARS = 80
"""``tree_payload`` cuts the one-line ``step`` label of a node to this many characters."""

# A sequential scale (light yellow → dark blue), the same stops as in widgets/tree_view.js.
_SCALE = ("#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#2c7fb8", "#253494")
_NO_VALUE = "#eeeeee"
_GREY_FILL = "#d9d9d9"
_GREY_LINE = "#8c8c8c"
_PATH_COLOUR = "#d62728"

_FRONTEND = _frontend_dir()


# -- Reading a tree (duck-typed) ---------------------------------------------------------------


def _status(node: Any) -> str:
    status = getattr(node, "status", "expanded")
    return str(getattr(status, "value", status))


def _nodes(tree: Any) -> tuple[Any, ...]:
    nodes = getattr(tree, "nodes", None)
    if nodes is None:
        msg = (f"Expected a search tree (an object with .nodes, like itc_lab.search.SearchTree), "
               f"not {type(tree).__name__}.")
        raise TypeError(msg)
    return tuple(nodes)


def _is_mcts(tree: Any) -> bool:
    return "mcts" in str(getattr(tree, "algorithm", "")).lower()


def _mean_value(node: Any) -> float | None:
    visits = getattr(node, "visits", 0) or 0
    if visits <= 0:
        return None
    return float(getattr(node, "value_sum", 0.0) or 0.0) / visits


def _score(node: Any) -> float | None:
    """The number a node is coloured by: its value, else (MCTS) its mean backed-up value."""
    value = getattr(node, "value", None)
    if value is not None and math.isfinite(value):
        return float(value)
    return _mean_value(node)


def _scale_domain(scores: Iterable[float | None]) -> tuple[float, float]:
    """``[0, 1]``, widened to take in values outside it."""
    finite = [s for s in scores if s is not None and math.isfinite(s)]
    lo = min([0.0, *finite])
    hi = max([1.0, *finite])
    return lo, hi


def _solution_path(tree: Any, by_id: dict[int, Any]) -> list[int]:
    """Ids from the root to ``tree.solution_id`` (empty without a solution)."""
    path: list[int] = []
    current = getattr(tree, "solution_id", None)
    seen: set[int] = set()
    while current is not None and current in by_id and current not in seen:
        seen.add(current)
        path.append(current)
        current = by_id[current].parent
    return path[::-1]


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _cut(text: str, width: int) -> str:
    text = _one_line(text)
    if width <= 0:
        return ""
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def _hex(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def value_colour(value: float | None, lo: float = 0.0, hi: float = 1.0) -> str:
    """The fill colour of ``value`` on the tree scale (``lo`` → light yellow, ``hi`` → dark blue).

    ``None`` or NaN gives light grey. Values outside ``[lo, hi]`` are clipped.
    """
    if value is None or not math.isfinite(value):
        return _NO_VALUE
    t = 0.0 if hi <= lo else min(max((value - lo) / (hi - lo), 0.0), 1.0)
    pos = t * (len(_SCALE) - 1)
    i = min(int(pos), len(_SCALE) - 2)
    f = pos - i
    a, b = _hex(_SCALE[i]), _hex(_SCALE[i + 1])
    r, g, bl = (round(x + (y - x) * f) for x, y in zip(a, b, strict=True))
    return f"#{r:02x}{g:02x}{bl:02x}"


def _dark(value: float | None, lo: float, hi: float) -> bool:
    if value is None or not math.isfinite(value) or hi <= lo:
        return False
    return (value - lo) / (hi - lo) > 0.6


# -- Graphviz ----------------------------------------------------------------------------------


def _dot_text(text: str) -> str:
    """Model text made literal for a DOT escString: backslashes doubled, newlines as ``\\n``.

    Returned as ``graphviz.nohtml`` so a text like ``<b>`` is not read as an HTML label;
    graphviz's own quoting then escapes the double quotes.
    """
    s = str(text).replace("\\", "\\\\").replace("\r\n", "\n").replace("\r", "\n")
    return cast(str, graphviz.nohtml(s.replace("\n", "\\n")))


def _fmt(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"


def tree_graph(tree: Any, *, max_label: int = 40, show_pruned: bool = True) -> graphviz.Digraph:
    """A ``graphviz.Digraph`` of a search tree; show it in a notebook by putting it last in a cell.

    Each node is a box labelled ``#id`` and its step text (cut to ``max_label`` characters, on
    one line), then ``v=`` its value and, for MCTS, ``n=`` its visits and ``q=`` its mean value.
    Fill: the value on a light-yellow → dark-blue scale (see ``value_colour``; the scale is
    ``[0, 1]`` widened to the tree's values), light grey without a value. Status: a
    ``solution`` has a double green border; ``pruned`` nodes are grey with a dashed border;
    ``dead_end`` nodes are grey; ``frontier`` nodes (never expanded) have a dotted border. The
    edges of the path from the root to the solution are bold and red. Model text is escaped
    (quotes, backslashes, ``<...>``, newlines are shown literally); the full step text is the
    node's tooltip in SVG. ``show_pruned=False`` leaves out pruned nodes and what hangs below
    them.
    """
    nodes = _nodes(tree)
    by_id = {n.id: n for n in nodes}
    mcts = _is_mcts(tree)
    lo, hi = _scale_domain(_score(n) for n in nodes)
    on_path = set(_solution_path(tree, by_id))
    path_edges = {(by_id[i].parent, i) for i in on_path if by_id[i].parent is not None}

    hidden: set[int] = set()
    if not show_pruned:
        for n in sorted(nodes, key=lambda n: getattr(n, "depth", 0)):
            if _status(n) == "pruned" or (n.parent is not None and n.parent in hidden):
                hidden.add(n.id)

    algorithm = str(getattr(tree, "algorithm", "search"))
    title = f"{algorithm}: {len(nodes)} nodes"
    spending = _spending(tree)
    if spending:
        title += f", {spending}"
    if getattr(tree, "solution_id", None) is None:
        title += ", no solution"
    g = graphviz.Digraph(name="search_tree")
    g.attr(rankdir="TB", label=_dot_text(title), labelloc="t", fontname="Helvetica",
           fontsize="12")
    g.attr("node", shape="box", style="rounded,filled", fontname="Helvetica", fontsize="10",
           color="#555555", penwidth="1")
    g.attr("edge", color="#9e9e9e", arrowsize="0.6")

    for n in nodes:
        if n.id in hidden:
            continue
        status = _status(n)
        score = _score(n)
        step = _cut(str(getattr(n, "step", "") or ""), max_label)
        head = f"#{n.id}" + (f" {step}" if step else "")
        stats = f"v={_fmt(getattr(n, 'value', None))}"
        if mcts:
            stats += f"  n={getattr(n, 'visits', 0)}  q={_fmt(_mean_value(n))}"
        attrs: dict[str, str] = {
            "fillcolor": value_colour(score, lo, hi),
            "fontcolor": "white" if _dark(score, lo, hi) else "black",
            "tooltip": _dot_text(str(getattr(n, "step", "") or "")) or f"#{n.id}",
        }
        if status == "solution":
            attrs.update(peripheries="2", color="#1a7f37", penwidth="2")
        elif status == "pruned":
            attrs.update(style="rounded,filled,dashed", fillcolor=_GREY_FILL, color=_GREY_LINE,
                         fontcolor="#595959")
        elif status == "dead_end":
            attrs.update(fillcolor=_GREY_FILL, color=_GREY_LINE, fontcolor="#404040")
        elif status == "frontier":
            attrs.update(style="rounded,filled,dotted")
        label = graphviz.nohtml(_dot_text(head) + "\\n" + stats + f"\\n[{status}]")
        g.node(f"n{n.id}", label=label, **attrs)
        if n.parent is not None and n.parent in by_id and n.parent not in hidden:
            if (n.parent, n.id) in path_edges:
                g.edge(f"n{n.parent}", f"n{n.id}", color=_PATH_COLOUR, penwidth="3",
                       style="bold")
            else:
                g.edge(f"n{n.parent}", f"n{n.id}")
    return g


# -- Widget payload ----------------------------------------------------------------------------


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


def _spending(tree: Any) -> str:
    """``"spent 1200 of 4000 tokens, 9 of 20 calls"`` (budgets may be mappings or numbers)."""
    spent, budget = getattr(tree, "spent", None), getattr(tree, "budget", None)
    if spent is None:
        return ""
    if not isinstance(spent, Mapping):
        return f"spent {spent}" + ("" if budget is None else f" of {budget}")
    limits = budget if isinstance(budget, Mapping) else {}
    parts = []
    for key, used in spent.items():
        limit = limits.get(key)
        parts.append(f"{used}" + ("" if limit is None else f" of {limit}") + f" {key}")
    return ("spent " + ", ".join(parts)) if parts else ""


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
    nodes = _nodes(tree)
    by_id = {n.id: n for n in nodes}
    cols: dict[str, list[Any]] = {k: [] for k in (
        "id", "parent", "depth", "status", "value", "visits", "q", "tokens", "order", "step",
        "step_full", "state", "proposer", "evaluator")}
    for n in nodes:
        step_text = str(getattr(n, "step", "") or "")
        short = _cut(step_text, STEP_CHARS)
        state = getattr(n, "state", "")
        cols["id"].append(int(n.id))
        cols["parent"].append(None if n.parent is None else int(n.parent))
        cols["depth"].append(int(getattr(n, "depth", 0) or 0))
        cols["status"].append(_status(n))
        cols["value"].append(_num(getattr(n, "value", None)))
        cols["visits"].append(int(getattr(n, "visits", 0) or 0))
        cols["q"].append(_num(_mean_value(n)))
        cols["tokens"].append(int(getattr(n, "tokens", 0) or 0))
        order = getattr(n, "order", None)
        cols["order"].append(None if order is None else int(order))
        cols["step"].append(short)
        cols["step_full"].append(None if short == step_text else step_text)
        cols["state"].append("" if state is None else str(state))
        cols["proposer"].append(str(getattr(n, "proposer_text", "") or ""))
        cols["evaluator"].append(str(getattr(n, "evaluator_text", "") or ""))
    orders = [o for o in cols["order"] if o is not None]
    config = getattr(tree, "config", None)
    stopped = config.get("stopped") if isinstance(config, Mapping) else None
    return {
        "algorithm": str(getattr(tree, "algorithm", "")),
        "budget": _plain(getattr(tree, "budget", None)),
        "spent": _plain(getattr(tree, "spent", None)),
        "spending": _spending(tree),
        "stopped": None if stopped is None else str(stopped),
        "solution_id": getattr(tree, "solution_id", None),
        "solution_path": _solution_path(tree, by_id),
        "mcts": _is_mcts(tree),
        "scale": list(_scale_domain(_score(n) for n in nodes)),
        "max_order": max(orders, default=0),
        "count": len(nodes),
        "nodes": cols,
    }


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


# -- Widget -------------------------------------------------------------------------------------


def _tree_summary(payload: dict[str, Any]) -> str:
    nodes = payload["nodes"]
    counts = {s: nodes["status"].count(s) for s in STATUSES if s in nodes["status"]}
    parts = ", ".join(f"{v} {k}" for k, v in counts.items())
    sol = payload["solution_id"]
    tail = f"solution #{sol}" if sol is not None else "no solution"
    name = payload["algorithm"] or "search"
    return f"TreeView: {name}, {payload['count']} nodes ({parts}), {tail}"


class TreeView(_TextFallback, anywidget.AnyWidget):  # type: ignore[misc]
    """A search tree as a foldable, indented list with a details panel and playback.

    ``TreeView(tree)``; put it last in a cell. Click a node to see its state, step, proposer and
    evaluator texts, value, visits and tokens (the id goes to ``selected``). The playback bar
    (previous, next, play, a slider) sets ``step``: only the nodes expanded up to that step are
    shown (see ``visible_ids``). Rows are coloured like ``tree_graph``. Only the open subtrees are
    in the page, so trees of thousands of nodes stay responsive.
    """

    _esm = _FRONTEND / "tree_view.js"
    _css = _FRONTEND / "tree_view.css"

    payload = traitlets.Dict().tag(sync=True)
    """See ``tree_payload``."""
    selected = traitlets.Int(-1).tag(sync=True)
    """The id of the node shown in the side panel, ``-1`` for none (set by clicks in the view)."""
    step = traitlets.Int(0).tag(sync=True)
    """Playback position: nodes with ``order <= step`` are shown. Starts at the last expansion."""

    def __init__(self, tree: Any, *, step: int | None = None, selected: int | None = None,
                 **kwargs: Any) -> None:
        payload = tree_payload(tree)
        self.tree = tree
        if selected is None:
            selected = payload["solution_id"] if payload["solution_id"] is not None else -1
        super().__init__(payload=payload,
                         step=payload["max_order"] if step is None else step,
                         selected=selected, **kwargs)

    def _text_summary(self) -> str:
        return _tree_summary(self.payload)

