"""Size and build time of what the tree pictures carry, for a 2,000-node search tree.

A model-free search problem (every state proposes 13 children with realistic text lengths) is
searched with BFS until the tree has at least 2,000 nodes; prints the widget payload in bytes and
per node, and the time to build the payload and the Graphviz source. Run with
``.venv/bin/python benchmarks/tree_payload.py``.
"""

from __future__ import annotations

import time

from itc_lab.charts.search import tree_graph
from itc_lab.search import Evaluation, Proposal, bfs
from itc_lab.views.tree_view import payload_size, tree_payload

PROPOSER_TEXT = "13 - 9 = 4 (left: 4 4 10)\n" * 8  # about 200 characters, like a real proposal
EVALUATOR_TEXT = "4 4 10: (10 - 4) * 4 = 24. sure\n" * 2


class Wide:
    def root(self) -> str:
        return "start"

    def propose(self, state: str, node_id: int) -> list[Proposal]:
        return [Proposal(f"{state}.{i}", f"step {i} from node {node_id}", 20, PROPOSER_TEXT)
                for i in range(13)]

    def evaluate(self, state: str) -> Evaluation:
        return Evaluation((hash(state) % 100) / 100, 5, EVALUATOR_TEXT)

    def is_solved(self, state: str) -> bool:
        return False

    def is_terminal(self, state: str) -> bool:
        return state.count(".") >= 4


def main() -> None:
    t0 = time.perf_counter()
    tree = bfs(Wide(), beam_width=200, max_depth=3)
    t1 = time.perf_counter()
    payload = tree_payload(tree)
    t2 = time.perf_counter()
    source = tree_graph(tree).source
    t3 = time.perf_counter()
    n = len(tree.nodes)
    size = payload_size(tree)
    print(f"nodes: {n}")
    print(f"widget payload: {size:,} bytes ({size / n:.0f} bytes per node), "
          f"built in {1000 * (t2 - t1):.0f} ms")
    print(f"graphviz source: {len(source):,} characters, built in {1000 * (t3 - t2):.0f} ms")
    print(f"search itself: {1000 * (t1 - t0):.0f} ms; payload keys: {sorted(payload)[:6]} …")


if __name__ == "__main__":
    main()
