"""Pictures of itc_lab.search: a search tree as a Graphviz graph. Introduced in lesson 03.

``tree_graph(tree)`` turns a search tree (Tree of Thoughts, beam search, MCTS, ... from
``itc_lab.search``) into a ``graphviz.Digraph``: one box per node, filled by its value on a
sequential scale (light yellow = low, dark blue = high, grey = no value), solution with a double
border, pruned nodes grey and dashed, dead ends grey, the path to the solution drawn bold and red.
The reading helpers here take any object shaped like ``itc_lab.search.SearchTree``; ``TreeView``
(``itc_lab.views.tree_view``) uses them too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, cast

import graphviz

from .._checks import shorten
from .base import svg_img_html

__all__ = [
    "STATUSES",
    "WIDE_LEVEL",
    "TreeGraph",
    "is_mcts",
    "mean_value",
    "node_score",
    "node_status",
    "one_line",
    "scale_domain",
    "solution_path",
    "spending_line",
    "tree_graph",
    "tree_nodes",
    "value_colour",
]

STATUSES = ("expanded", "pruned", "solution", "dead_end", "frontier")

"""The node statuses, as ``itc_lab.search.Node.status`` spells them."""

"""``tree_payload`` cuts the one-line ``step`` label of a node to this many characters."""

# A sequential scale (light yellow → dark blue), the same stops as in widgets/tree_view.js.
_SCALE = ("#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#2c7fb8", "#253494")

_NO_VALUE = "#eeeeee"

_GREY_FILL = "#d9d9d9"

_GREY_LINE = "#8c8c8c"

_PATH_COLOUR = "#d62728"

def node_status(node: Any) -> str:
    status = getattr(node, "status", "expanded")
    return str(getattr(status, "value", status))

def tree_nodes(tree: Any) -> tuple[Any, ...]:
    nodes = getattr(tree, "nodes", None)
    if nodes is None:
        msg = (f"Expected a search tree (an object with .nodes, like itc_lab.search.SearchTree), "
               f"not {type(tree).__name__}.")
        raise TypeError(msg)
    return tuple(nodes)

def is_mcts(tree: Any) -> bool:
    return "mcts" in str(getattr(tree, "algorithm", "")).lower()

def mean_value(node: Any) -> float | None:
    visits = getattr(node, "visits", 0) or 0
    if visits <= 0:
        return None
    return float(getattr(node, "value_sum", 0.0) or 0.0) / visits

def node_score(node: Any) -> float | None:
    """The number a node is coloured by: its value, else (MCTS) its mean backed-up value."""
    value = getattr(node, "value", None)
    if value is not None and math.isfinite(value):
        return float(value)
    return mean_value(node)

def scale_domain(scores: Iterable[float | None]) -> tuple[float, float]:
    """``[0, 1]``, widened to take in values outside it."""
    finite = [s for s in scores if s is not None and math.isfinite(s)]
    lo = min([0.0, *finite])
    hi = max([1.0, *finite])
    return lo, hi

def solution_path(tree: Any, by_id: dict[int, Any]) -> list[int]:
    """Ids from the root to ``tree.solution_id`` (empty without a solution)."""
    path: list[int] = []
    current = getattr(tree, "solution_id", None)
    seen: set[int] = set()
    while current is not None and current in by_id and current not in seen:
        seen.add(current)
        path.append(current)
        current = by_id[current].parent
    return path[::-1]

def one_line(text: str) -> str:
    return " ".join(str(text).split())


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

def _dot_text(text: str) -> str:
    """Model text made literal for a DOT escString: backslashes doubled, newlines as ``\\n``.

    Returned as ``graphviz.nohtml`` so a text like ``<b>`` is not read as an HTML label;
    graphviz's own quoting then escapes the double quotes.
    """
    s = str(text).replace("\\", "\\\\").replace("\r\n", "\n").replace("\r", "\n")
    return cast(str, graphviz.nohtml(s.replace("\n", "\\n")))

def _fmt(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"

class TreeGraph(graphviz.Digraph):  # type: ignore[misc]
    """A ``graphviz.Digraph`` whose notebook output also carries its SVG as an HTML image, so a
    stored lesson shows the tree in JupyterLab before it is trusted or run (JupyterLab draws
    ``image/svg+xml`` only in a trusted notebook; see ``charts.base.svg_img_html``)."""

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None,
                          **kwargs: Any) -> dict[str, Any]:
        bundle: dict[str, Any] = dict(super()._repr_mimebundle_(include, exclude, **kwargs))
        svg = bundle.get("image/svg+xml")
        if isinstance(svg, str):
            bundle["text/html"] = svg_img_html(svg, "search tree", cls="graphviz-tree")
        return bundle


WIDE_LEVEL = 8
"""``tree_graph(rankdir="auto")`` draws a tree left to right once a level holds more nodes than
this: top to bottom, such a tree is thousands of points wide and a notebook column shrinks it
until no label can be read."""


def tree_graph(tree: Any, *, max_label: int = 40, show_pruned: bool = True,
               rankdir: str = "auto") -> graphviz.Digraph:
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
    them. ``rankdir`` is ``"TB"`` (root on top), ``"LR"`` (root on the left) or ``"auto"``:
    left to right when a level holds more than ``WIDE_LEVEL`` nodes, so a wide tree grows
    downwards and keeps its labels readable.
    """
    if rankdir not in ("auto", "TB", "LR"):
        msg = f'rankdir must be "auto", "TB" or "LR", not {rankdir!r}.'
        raise ValueError(msg)
    nodes = tree_nodes(tree)
    by_id = {n.id: n for n in nodes}
    mcts = is_mcts(tree)
    lo, hi = scale_domain(node_score(n) for n in nodes)
    on_path = set(solution_path(tree, by_id))
    path_edges = {(by_id[i].parent, i) for i in on_path if by_id[i].parent is not None}

    hidden: set[int] = set()
    if not show_pruned:
        for n in sorted(nodes, key=lambda n: getattr(n, "depth", 0)):
            if node_status(n) == "pruned" or (n.parent is not None and n.parent in hidden):
                hidden.add(n.id)

    algorithm = str(getattr(tree, "algorithm", "search"))
    title = f"{algorithm}: {len(nodes)} nodes"
    spending = spending_line(tree)
    if spending:
        title += f", {spending}"
    if getattr(tree, "solution_id", None) is None:
        title += ", no solution"
    if rankdir == "auto":
        per_level: dict[int, int] = {}
        for n in nodes:
            if n.id not in hidden:
                level = int(getattr(n, "depth", 0) or 0)
                per_level[level] = per_level.get(level, 0) + 1
        rankdir = "LR" if max(per_level.values(), default=0) > WIDE_LEVEL else "TB"
    g = TreeGraph(name="search_tree")
    g.attr(rankdir=rankdir, label=_dot_text(title), labelloc="t", fontname="Helvetica",
           fontsize="12")
    g.attr("node", shape="box", style="rounded,filled", fontname="Helvetica", fontsize="10",
           color="#555555", penwidth="1")
    g.attr("edge", color="#9e9e9e", arrowsize="0.6")

    for n in nodes:
        if n.id in hidden:
            continue
        status = node_status(n)
        score = node_score(n)
        step = shorten(str(getattr(n, "step", "") or ""), max_label)
        head = f"#{n.id}" + (f" {step}" if step else "")
        stats = f"v={_fmt(getattr(n, 'value', None))}"
        if mcts:
            stats += f"  n={getattr(n, 'visits', 0)}  q={_fmt(mean_value(n))}"
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


def spending_line(tree: Any) -> str:
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
