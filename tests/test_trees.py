"""Search-tree drawing (Graphviz DOT and SVG), the widget payload and the TreeView traits."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from typing import Any

import graphviz
import pytest

from itc_lab.charts.search import tree_graph, value_colour
from itc_lab.search import Node, SearchTree
from itc_lab.views.tree_view import STEP_CHARS, TreeView, payload_size, tree_payload, visible_ids

# -- Trees used here and in test_trees_browser.py ------------------------------------------------

NASTY = 'say "hi" \\ back\\slash <b>bold</b> <script>window.__pwned=3</script>\nline two'


def small_tree(algorithm: str = "bfs") -> SearchTree:
    """Root 0 → 1, 2, 3 (2 pruned); 1 → 4 (dead end), 5 (solution); 3 → 6 (frontier)."""
    mcts = algorithm == "mcts"

    def visits(n: int) -> dict[str, float | int]:
        return {"visits": n, "value_sum": n * 0.5} if mcts else {}

    nodes = (
        Node(0, None, 0, "4 6 8 2", "", "", "", 0.5, status="expanded", order=0, tokens=0,
             **visits(6)),
        Node(1, 0, 1, "4 6 10", "8 + 2 = 10", "1. 8 + 2 = 10\n2. 4 * 6 = 24", "likely",
             0.9, status="expanded", order=1, tokens=30, **visits(4)),
        Node(2, 0, 1, "24 8 2", "4 * 6 = 24", "prop", NASTY, 0.1, status="pruned",
             tokens=25),
        Node(3, 0, 1, "4 6 4", "8 / 2 = 4", "prop", "maybe", 0.4, status="expanded",
             order=2, tokens=20, **visits(1)),
        Node(4, 1, 2, "4 16", "6 + 10 = 16", "p", "impossible", 0.0, status="dead_end",
             tokens=10),
        Node(5, 1, 2, "24", NASTY, "p", "sure", 1.0, status="solution", tokens=12,
             **visits(2)),
        Node(6, 3, 2, "2 4", "6 - 4 = 2", "p", "", None, status="frontier", tokens=8),
    )
    return SearchTree(algorithm=algorithm, nodes=nodes, solution_id=5,
                      budget={"tokens": 1000, "calls": None},
                      spent={"tokens": 105, "calls": 7}, config={"stopped": "solved"})


def big_tree(n: int = 2000, branching: int = 3) -> SearchTree:
    """A complete ``branching``-ary tree of ``n`` nodes, expanded breadth first.

    Texts are of realistic length: steps of about 45 characters, proposer outputs of about 200,
    evaluator outputs of about 70 and states of about 30. Internal nodes are expanded in id
    order (``order == id``); leaves are frontier, pruned or dead ends, and the last leaf is
    the solution. One node's state is ``<script>`` markup.
    """
    nodes: list[Node] = []
    last_internal = (n - 2) // branching  # nodes with at least one child
    for i in range(n):
        parent = None if i == 0 else (i - 1) // branching
        depth = 0 if parent is None else nodes[parent].depth + 1
        internal = i <= last_internal
        if internal:
            status, order = "expanded", i
        elif i == n - 1:
            status, order = "solution", None
        else:
            status, order = ("frontier", "pruned", "dead_end")[i % 3], None
        step = f"step {i}: combine {i % 13} and {i % 7} to get {i % 24} (try #{i})"
        state = f"<script>window.__pwned={i}</script>" if i == 7 else f"numbers {i} {i % 9} 24"
        proposer = (f"Possible next steps for node {i}:\n" + "\n".join(
            f"{k}. {i % 13} + {k} = {i % 13 + k} (left: {k} {i % 9} 24)" for k in range(1, 5)))
        evaluator = f"Node {i}: the remaining numbers can {'' if i % 2 else 'not '}reach 24. sure"
        value = round((i * 37 % 101) / 100, 2)
        nodes.append(Node(i, parent, depth, state, step if i else "", proposer, evaluator,
                          value, status=status, order=order, tokens=40 + i % 60))
    return SearchTree(algorithm="bfs", nodes=tuple(nodes), solution_id=n - 1,
                      budget={"tokens": 200_000, "calls": None},
                      spent={"tokens": sum(x.tokens for x in nodes), "calls": n},
                      config={"stopped": "solved"})


# Measured: the generated 2,000-node tree of big_tree() is 650,397 bytes of compact JSON
# (~325 bytes a node, mostly the proposer/evaluator texts). The bound leaves ~25% headroom.
BIG_PAYLOAD_BOUND = 820_000


def _node_line(source: str, node_id: int) -> str:
    (line,) = [ln for ln in source.splitlines() if ln.strip().startswith(f"n{node_id} [")]
    return line


def _edge_line(source: str, a: int, b: int) -> str:
    (line,) = [ln for ln in source.splitlines() if ln.strip().startswith(f"n{a} -> n{b}")]
    return line


# -- Colours -----------------------------------------------------------------------------------


def test_value_colour_is_a_sequential_scale() -> None:
    assert value_colour(0.0) == "#ffffcc"
    assert value_colour(1.0) == "#253494"
    assert value_colour(-3) == "#ffffcc" and value_colour(7) == "#253494"  # clipped
    assert value_colour(None) == value_colour(float("nan")) == "#eeeeee"
    # Darker (lower luminance) as the value grows.
    lum = [sum(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in
           (value_colour(v / 10) for v in range(11))]
    assert lum == sorted(lum, reverse=True) and len(set(lum)) == 11
    assert value_colour(5, lo=0, hi=10) == value_colour(0.5)


# -- DOT ---------------------------------------------------------------------------------------


def test_graph_has_one_node_per_tree_node_and_edges() -> None:
    tree = small_tree()
    g = tree_graph(tree)
    assert isinstance(g, graphviz.Digraph)
    src = g.source
    for n in tree.nodes:
        line = _node_line(src, n.id)
        assert f"#{n.id}" in line
        if n.parent is not None:
            _edge_line(src, n.parent, n.id)
    assert len(re.findall(r"->", src)) == len(tree.nodes) - 1
    assert "spent 105 of 1000 tokens, 7 calls" in src


def test_graph_colours_by_value_and_styles_by_status() -> None:
    src = tree_graph(small_tree()).source
    assert f'fillcolor="{value_colour(0.9)}"' in _node_line(src, 1)
    assert f'fillcolor="{value_colour(0.4)}"' in _node_line(src, 3)
    assert "fontcolor=white" in _node_line(src, 1)  # dark fill, light text
    solution = _node_line(src, 5)
    assert "peripheries=2" in solution and "[solution]" in solution
    pruned = _node_line(src, 2)
    assert "dashed" in pruned and 'fillcolor="#d9d9d9"' in pruned and "#8c8c8c" in pruned
    dead = _node_line(src, 4)
    assert 'fillcolor="#d9d9d9"' in dead and "dashed" not in dead
    frontier = _node_line(src, 6)
    assert "dotted" in frontier and 'fillcolor="#eeeeee"' in frontier  # no value: grey
    assert "v=0.90" in _node_line(src, 1) and "n=" not in _node_line(src, 1)  # not MCTS


def test_graph_bolds_the_solution_path() -> None:
    src = tree_graph(small_tree()).source
    for a, b in ((0, 1), (1, 5)):
        line = _edge_line(src, a, b)
        assert "style=bold" in line and "penwidth=3" in line and "#d62728" in line
    for a, b in ((0, 2), (0, 3), (1, 4), (3, 6)):
        line = _edge_line(src, a, b)
        assert "bold" not in line and "#d62728" not in line


def test_graph_shows_visits_for_mcts() -> None:
    src = tree_graph(small_tree("mcts")).source
    assert "n=6" in _node_line(src, 0) and "q=0.50" in _node_line(src, 0)
    assert "n=0" in _node_line(src, 2) and "q=–" in _node_line(src, 2)


def test_graph_escapes_model_text() -> None:
    tree = small_tree()
    src = tree_graph(tree, max_label=200).source
    line = _node_line(src, 5)
    # Quotes escaped, backslashes doubled, markup kept as quoted text (not an HTML label).
    assert r'say \"hi\" \\ back\\slash <b>bold</b> <script>' in line
    assert 'label="#5 say' in line and "label=<" not in line
    # The label is on one line; the tooltip keeps the newline as the DOT escape \n.
    assert "line two" in line and r"</script>\nline two" in line
    assert "\n" not in line
    # The raw source parses: no stray quote ends a string early.
    assert src.count('"') % 2 == 0 or src.count(r"\"") % 2 == 0


def test_graph_label_is_cut_to_max_label() -> None:
    src = tree_graph(small_tree(), max_label=12).source
    label = re.search(r'label="([^"\\]*(?:\\.[^"\\]*)*)"', _node_line(src, 5))
    assert label is not None
    head = label.group(1).split(r"\n")[0]
    assert head == r"#5 say \"hi\" \\ …"


def test_graph_can_hide_pruned_nodes() -> None:
    @dataclass
    class N:  # a duck-typed stand-in: any object with these attributes will do
        id: int
        parent: int | None
        depth: int
        status: str
        order: int | None = None
        step: str = ""
        state: str = ""
        proposer_text: str = ""
        evaluator_text: str = ""
        value: float | None = None
        visits: int = 0
        value_sum: float = 0.0
        tokens: int = 0

    @dataclass
    class T:
        nodes: tuple[N, ...]
        algorithm: str = "dfs"
        solution_id: int | None = None
        budget: Any = None
        spent: Any = None

    tree = T((N(0, None, 0, "expanded", 0), N(1, 0, 1, "pruned", 1), N(2, 1, 2, "frontier"),
              N(3, 0, 1, "frontier")))
    src = tree_graph(tree, show_pruned=False).source
    assert "n0 [" in src and "n3 [" in src
    assert "n1 [" not in src and "n2 [" not in src and "n1 ->" not in src
    assert "no solution" in src
    assert "n2 [" in tree_graph(tree).source


def test_graph_renders_to_svg_with_dot() -> None:
    if shutil.which("dot") is None:
        pytest.fail("Graphviz `dot` is missing: sudo apt-get install graphviz (./run test does).",
                    pytrace=False)
    svg = tree_graph(small_tree("mcts"), max_label=200).pipe(format="svg").decode("utf-8")
    assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
    assert svg.count('class="node"') == 7 and svg.count('class="edge"') == 6
    # Model text arrives as escaped text, never as markup.
    assert "&lt;script&gt;" in svg and "<script" not in svg
    assert "&quot;hi&quot;" in svg or "&#34;hi&#34;" in svg
    assert "\\ back\\slash" in svg
    assert "#d62728" in svg and "#253494" in svg


def test_graph_rejects_a_non_tree() -> None:
    with pytest.raises(TypeError, match="search tree"):
        tree_graph(42)


# -- Payload -----------------------------------------------------------------------------------


def test_payload_columns_and_texts() -> None:
    tree = small_tree("mcts")
    p = tree_payload(tree)
    cols = p["nodes"]
    assert p["count"] == 7 and all(len(v) == 7 for v in cols.values())
    assert cols["id"] == [0, 1, 2, 3, 4, 5, 6]
    assert cols["parent"] == [None, 0, 0, 0, 1, 1, 3]
    assert cols["status"] == ["expanded", "expanded", "pruned", "expanded", "dead_end",
                              "solution", "frontier"]
    assert cols["order"] == [0, 1, None, 2, None, None, None]
    assert cols["visits"][0] == 6 and cols["q"][0] == 0.5 and cols["q"][2] is None
    assert cols["value"][6] is None and cols["value"][5] == 1.0
    assert cols["tokens"][1] == 30
    assert cols["proposer"][1] == "1. 8 + 2 = 10\n2. 4 * 6 = 24"
    assert cols["evaluator"][2] == NASTY
    assert cols["state"][5] == "24"
    assert p["solution_path"] == [0, 1, 5] and p["solution_id"] == 5
    assert p["max_order"] == 2 and p["mcts"] is True and p["scale"] == [0.0, 1.0]
    assert p["spent"] == {"tokens": 105, "calls": 7} and p["stopped"] == "solved"
    assert p["budget"] == {"tokens": 1000, "calls": None}
    json.dumps(p)  # plain JSON


def test_payload_cuts_long_steps_but_keeps_the_full_text() -> None:
    tree = big_tree(40)
    long = "x" * 300 + "\nend"
    nodes = list(tree.nodes)
    nodes[3] = type(nodes[3])(**{**nodes[3].to_dict(), "step": long})
    tree = type(tree)(algorithm="dfs", nodes=tuple(nodes), solution_id=tree.solution_id)
    cols = tree_payload(tree)["nodes"]
    assert len(cols["step"][3]) == STEP_CHARS and cols["step"][3].endswith("…")
    assert cols["step_full"][3] == long
    assert cols["step_full"][4] is None  # short steps are not sent twice


def test_payload_of_2000_nodes_is_compact() -> None:
    tree = big_tree(2000)
    size = payload_size(tree)
    assert size < BIG_PAYLOAD_BOUND, size
    p = tree_payload(tree)
    assert size == len(json.dumps(p, separators=(",", ":"), ensure_ascii=False).encode())
    assert p["count"] == 2000 and p["max_order"] == 666
    texts = sum(len(t.encode()) for k in ("proposer", "evaluator", "state", "step")
                for t in p["nodes"][k])
    assert size - texts < 150 * 2000  # structure: under 150 bytes a node beyond the texts


def test_visible_ids_follow_the_expansion_order() -> None:
    p = tree_payload(small_tree())
    # Expanded nodes appear at their own order; never-expanded ones with their parent.
    assert visible_ids(p, 0) == [0, 2]
    assert visible_ids(p, 1) == [0, 1, 2, 4, 5]
    assert visible_ids(p, 2) == [0, 1, 2, 3, 4, 5, 6]
    assert visible_ids(p, -1) == []
    big = tree_payload(big_tree(2000))
    assert len(visible_ids(big, 666)) == 2000
    shown = visible_ids(big, 10)
    assert shown == list(range(11))


# -- Widget ------------------------------------------------------------------------------------


def test_tree_view_traits() -> None:
    tree = small_tree()
    w = TreeView(tree)
    assert w.payload == tree_payload(tree)
    assert w.step == 2 and w.selected == 5
    assert "payload" in w.keys and "selected" in w.keys and "step" in w.keys
    assert w.trait_metadata("selected", "sync") and w.trait_metadata("step", "sync")
    w.selected = 3
    w.step = 1
    assert (w.selected, w.step) == (3, 1)
    assert TreeView(tree, step=0, selected=1).step == 0
    assert "bfs, 7 nodes" in repr(w) and "solution #5" in repr(w)
    esm = str(w._esm)
    assert "export default" in esm and "textContent" in esm
    assert ".innerHTML" not in esm and "insertAdjacentHTML" not in esm
    assert ".itc-tr-row" in str(w._css)


# -- static snapshot (text/html beside the widget view) ----------------------------------------


def _static(view: TreeView) -> str:
    data, meta = view._repr_mimebundle_()
    assert meta == {"itc_lab": {"figure": "TreeView"}}
    assert "application/vnd.jupyter.widget-view+json" in data
    return str(data["text/html"])


def test_tree_view_static_snapshot_is_the_tree_as_nested_lists() -> None:
    html = _static(TreeView(small_tree("mcts")))
    assert html.startswith('<div class="itc-static itc-static-treeview"')
    for i in range(7):
        assert f">#{i}</span>" in html
    assert html.count("<ul") == 4  # the root's list, and the children of 0, 1 and 3
    for status in ("expanded", "pruned", "solution", "dead_end", "frontier"):
        assert status in html
    assert "n=6 q=0.50" in html  # visits for MCTS
    assert "spent 105 of 1000 tokens" in html and "stopped: solved" in html
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;window.__pwned=3&lt;/script&gt;" in html
    assert "font-weight: 600" in html  # the solution path


def test_tree_view_static_snapshot_follows_the_playback_step() -> None:
    html = _static(TreeView(small_tree(), step=0))
    # at step 0 only the root is expanded: its never-expanded child 2 shows, 1 and 3 not yet
    assert ">#0</span>" in html and ">#2</span>" in html
    assert ">#1</span>" not in html and ">#4</span>" not in html


def test_tree_view_static_snapshot_of_a_big_tree_is_capped() -> None:
    html = _static(TreeView(big_tree(2000)))
    assert html.count("<li>") == 60
    assert "1940 more nodes" in html and len(html) < 40_000


def test_tree_graph_output_carries_its_svg_as_an_html_image_too() -> None:
    """JupyterLab draws image/svg+xml only in a trusted notebook: the HTML <img> form lets a
    stored lesson show its tree before it runs."""
    if shutil.which("dot") is None:
        pytest.fail("Graphviz `dot` is missing: sudo apt-get install graphviz (./run test does).",
                    pytrace=False)
    import base64
    import re

    bundle = tree_graph(small_tree("bfs"))._repr_mimebundle_()
    svg, html = bundle["image/svg+xml"], bundle["text/html"]
    m = re.fullmatch(r'<img class="graphviz-tree" alt="search tree" '
                     r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)">', html)
    assert m and base64.b64decode(m.group(1)).decode("utf-8") == svg


def test_a_wide_tree_is_drawn_left_to_right_so_its_labels_stay_readable() -> None:
    """Lesson 03's search expanded 56 nodes with up to 48 on one level: drawn top to bottom it
    was 3,379 pt wide, and a notebook column shrank its labels past reading."""
    if shutil.which("dot") is None:
        pytest.fail("Graphviz `dot` is missing: sudo apt-get install graphviz (./run test does).",
                    pytrace=False)
    narrow = tree_graph(small_tree("bfs"))
    assert "rankdir=TB" in narrow.source
    wide = tree_graph(big_tree(60, branching=12))  # 12 children under the root, 47 below
    assert "rankdir=LR" in wide.source
    svg = wide.pipe(format="svg").decode("utf-8")
    width = float(re.search(r'<svg width="([\d.]+)pt"', svg).group(1))
    top_down = tree_graph(big_tree(60, branching=12), rankdir="TB").pipe(format="svg")
    top_width = float(re.search(rb'<svg width="([\d.]+)pt"', top_down).group(1))
    assert width < 900 < top_width, (width, top_width)  # fits a column at a legible scale
    with pytest.raises(ValueError, match='"auto", "TB" or "LR"'):
        tree_graph(small_tree(), rankdir="BT")
