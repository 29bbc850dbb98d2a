"""Tree search (itc_lab.search) on scripted toy problems whose best path is known."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from itc_lab.search import (
    ALGORITHMS,
    STATUSES,
    STOP_REASONS,
    Evaluation,
    Node,
    Proposal,
    SearchProblem,
    SearchTree,
    bfs,
    dfs,
    mcts,
)

PROPOSE_TOKENS = 5  # per proposal, so a propose call with 3 proposals costs 15
EVAL_TOKENS = 2


class Digits:
    """States are digit strings; a step appends one digit; the hidden target is ``"2102"``.

    The evaluator likes prefixes of the target (longer is better). With ``trap=True`` it also
    loves every state starting with ``"0"`` up to length 2, a dead branch DFS must back out of.
    Dead end: longer than ``dead_after`` characters.
    """

    def __init__(self, target: str = "2102", width: int = 3, dead_after: int = 4,
                 trap: bool = False) -> None:
        self.target, self.width, self.dead_after, self.trap = target, width, dead_after, trap
        self.proposed: list[str] = []
        self.evaluated: list[str] = []

    def root(self) -> str:
        return ""

    def propose(self, state: str, node_id: int) -> list[Proposal]:
        self.proposed.append(state)
        return [Proposal(state + str(d), f"+{d}", PROPOSE_TOKENS, f"next: {d} (node {node_id})")
                for d in range(self.width)]

    def evaluate(self, state: str) -> Evaluation:
        self.evaluated.append(state)
        if self.trap and state.startswith("0") and len(state) <= 2:
            value = 0.95
        elif self.target.startswith(state):
            value = 0.2 + 0.6 * len(state) / len(self.target)
        else:
            value = 0.1
        return Evaluation(value, EVAL_TOKENS, f"value {value:.2f}")

    def is_solved(self, state: str) -> bool:
        return state == self.target

    def is_terminal(self, state: str) -> bool:
        return self.is_solved(state) or len(state) > self.dead_after


class Wide:
    """Never solved; ``width`` children per state; dead end below depth 2. For size tests."""

    def __init__(self, width: int) -> None:
        self.width = width

    def root(self) -> str:
        return "r"

    def propose(self, state: str, node_id: int) -> list[Proposal]:
        return [Proposal(f"{state}.{i}", str(i), 1, "") for i in range(self.width)]

    def evaluate(self, state: str) -> Evaluation:
        return Evaluation((hash(state) % 1000) / 1000, 1, "")

    def is_solved(self, state: str) -> bool:
        return False

    def is_terminal(self, state: str) -> bool:
        return state.count(".") > 2


RUNS: dict[str, dict[str, Any]] = {
    "bfs": {"beam_width": 2, "max_depth": 5},
    "dfs": {"prune_below": 0.15, "max_depth": 5},
    "mcts": {"iterations": 300, "max_depth": 5},
}


def run(name: str, problem: Any | None = None, **kw: Any) -> SearchTree:
    return ALGORITHMS[name](problem or Digits(), **{**RUNS[name], **kw})


def check_tree(tree: SearchTree) -> None:
    """Invariants every tree must keep."""
    assert tree.stopped in STOP_REASONS
    assert all(n.status in STATUSES for n in tree.nodes)
    assert sum(n.tokens for n in tree.nodes) == tree.spent["tokens"]
    expanded = {n.id for n in tree.nodes if n.status == "expanded"}
    order = tree.expansion_order()
    assert sorted(tree.node(i).order for i in order) == list(range(len(order)))
    assert set(order) == expanded
    for n in tree.nodes:
        if n.status in ("pruned", "frontier", "solution", "dead_end"):
            assert n.order is None and tree.children(n.id) == ()
    if tree.solution_id is not None:
        assert tree.stopped == "solved"
        assert tree.nodes[tree.solution_id].status == "solution"


# --- finding the target ------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["bfs", "dfs", "mcts"])
def test_each_algorithm_finds_the_target(name: str) -> None:
    tree = run(name)
    check_tree(tree)
    assert tree.stopped == "solved"
    path = tree.solution_path()
    assert [n.state for n in path] == ["", "2", "21", "210", "2102"]
    assert [n.step for n in path[1:]] == ["+2", "+1", "+0", "+2"]
    assert path[-1].value == 1.0 and path[0].parent is None
    assert tree.spent["calls"] > 0


def test_bfs_keeps_the_beam_and_prunes_the_rest() -> None:
    problem = Digits()
    tree = bfs(problem, beam_width=1, max_depth=5)
    check_tree(tree)
    assert tree.solution_id is not None
    # Beam 1 on a perfect evaluator walks straight down: one expansion per level.
    assert [tree.node(i).state for i in tree.expansion_order()] == ["", "2", "21", "210"]
    assert {n.status for n in tree.children(0)} == {"expanded", "pruned"}
    assert problem.proposed == ["", "2", "21", "210"]  # pruned nodes are never expanded
    pruned = [n for n in tree.nodes if n.status == "pruned"]
    assert len(pruned) == 6 and all(n.value is not None for n in pruned)
    assert tree.config == {"beam_width": 1, "max_depth": 5, "stopped": "solved"}


def test_dfs_backtracks_out_of_a_trap() -> None:
    problem = Digits(trap=True)
    tree = dfs(problem, prune_below=0.15, max_depth=5)
    check_tree(tree)
    assert tree.stopped == "solved"
    states = [tree.node(i).state for i in tree.expansion_order()]
    assert states[:2] == ["", "0"]  # the trap looks best, so it goes first
    assert states.index("2") > states.index("0")  # … and it backs out to try "2"
    assert all(s == "" or s.startswith(("0", "2")) for s in states)
    pruned = [n for n in tree.nodes if n.status == "pruned"]
    assert pruned and all(n.value is not None and n.value < 0.15 for n in pruned)
    assert not {n.state for n in pruned} & set(problem.proposed)


def test_mcts_visit_counts_add_up_on_every_node() -> None:
    for kw in ({}, {"rollout": True}, {"iterations": 40, "max_depth": 2}, {"c": 0.0}):
        tree = run("mcts", **kw)
        check_tree(tree)
        root = tree.nodes[0]
        assert root.visits == tree.config["iterations_run"] > 0
        for n in tree.nodes:
            kids = tree.children(n.id)
            if kids:
                assert n.visits == 1 + sum(k.visits for k in kids), n
            assert 0 <= n.value_sum <= n.visits
            assert n.status != "pruned"


def test_mcts_without_solution_in_reach_uses_its_iterations() -> None:
    tree = mcts(Digits(), iterations=30, max_depth=2)
    check_tree(tree)
    assert tree.stopped == "exhausted" and tree.solution_id is None
    assert tree.config["iterations_run"] == 30 == tree.nodes[0].visits
    assert max(n.depth for n in tree.nodes) == 2
    # Once every node within depth 2 is scored, revisits reuse values: no more calls.
    assert tree.spent["calls"] == 1 + 4 + 12


def test_mcts_rollout_scores_leaves_by_random_playouts() -> None:
    tree = mcts(Digits(), iterations=300, rollout=True, max_depth=6, seed=3)
    check_tree(tree)
    assert tree.stopped == "solved"
    scored = [n for n in tree.nodes if n.evaluator_text.startswith("rollout:")]
    assert scored and all(n.value in (0.0, 1.0) for n in scored)


def test_mcts_is_deterministic_for_a_seed() -> None:
    for kw in ({"rollout": True}, {}):
        a = mcts(Digits(), iterations=60, seed=7, **kw)
        b = mcts(Digits(), iterations=60, seed=7, **kw)
        assert a == b and a.to_dict() == b.to_dict()
    runs = {json.dumps(mcts(Digits(), iterations=60, rollout=True, seed=s).to_dict())
            for s in range(5)}
    assert len(runs) > 1  # the seed matters


# --- budgets and stop reasons ---------------------------------------------------------------

@pytest.mark.parametrize("name", ["bfs", "dfs", "mcts"])
def test_call_budget_holds_exactly(name: str) -> None:
    for budget in range(0, 25):
        problem = Digits()
        tree = run(name, problem, budget_calls=budget)
        check_tree(tree)
        assert tree.spent["calls"] <= budget
        assert tree.spent["calls"] == len(problem.proposed) + len(problem.evaluated)
        assert tree.budget == {"tokens": None, "calls": budget}
        if tree.stopped == "budget_calls":
            assert tree.spent["calls"] == budget
        else:
            assert tree.stopped == "solved"
    assert run(name, budget_calls=0).spent == {"tokens": 0, "calls": 0}


@pytest.mark.parametrize("name", ["bfs", "dfs", "mcts"])
def test_token_budget_holds(name: str) -> None:
    dearest = 3 * PROPOSE_TOKENS
    # From here on the first call of each kind fits, so steady costs never overshoot.
    for budget in range(dearest + EVAL_TOKENS, 200):
        tree = run(name, budget_tokens=budget)
        check_tree(tree)
        assert tree.spent["tokens"] <= budget
        if tree.stopped == "budget_tokens":
            assert budget - tree.spent["tokens"] < dearest  # stopped only when nearly out
        else:
            assert tree.stopped == "solved"
    assert run(name, budget_tokens=0).spent == {"tokens": 0, "calls": 0}


def test_token_budget_can_be_overshot_only_by_an_unforeseen_dear_call() -> None:
    tree = bfs(Digits(), beam_width=2, max_depth=5, budget_tokens=10)
    assert tree.stopped == "budget_tokens"
    assert tree.spent == {"tokens": 15, "calls": 1}  # the first propose cost 15: not knowable


def test_both_budgets_stop_whichever_comes_first() -> None:
    tree = dfs(Digits(), prune_below=0.15, budget_calls=100, budget_tokens=30)
    assert tree.stopped == "budget_tokens" and tree.spent["tokens"] <= 30
    tree = dfs(Digits(), prune_below=0.15, budget_calls=3, budget_tokens=1000)
    assert tree.stopped == "budget_calls" and tree.spent["calls"] == 3


def test_depth_and_exhausted_stop_reasons() -> None:
    tree = bfs(Digits(), beam_width=3, max_depth=2)
    check_tree(tree)
    assert tree.stopped == "depth" and tree.solution_id is None
    assert max(n.depth for n in tree.nodes) == 2
    assert all(n.order is None for n in tree.nodes if n.depth == 2)

    tree = dfs(Digits(), prune_below=0.15, max_depth=2)
    assert tree.stopped == "depth" and max(n.depth for n in tree.nodes) == 2

    tree = dfs(Digits(), prune_below=0.99)  # everything is pruned below the root
    check_tree(tree)
    assert tree.stopped == "exhausted" and tree.expansion_order() == (0,)
    assert all(n.status == "pruned" for n in tree.children(0))

    tree = bfs(Digits(target="9"), beam_width=3, max_depth=10)  # unreachable: all dead ends
    check_tree(tree)
    assert tree.stopped == "exhausted" and tree.solution_id is None
    assert {n.status for n in tree.nodes if n.depth == 5} == {"dead_end"}

    tree = bfs(Digits(), max_depth=0)
    assert tree.stopped == "depth" and len(tree.nodes) == 1 and tree.spent["calls"] == 0


@pytest.mark.parametrize("name", ["bfs", "dfs", "mcts"])
def test_a_solved_root_needs_no_calls(name: str) -> None:
    tree = run(name, Digits(target=""))
    assert tree.stopped == "solved" and tree.solution_id == 0
    assert tree.spent == {"tokens": 0, "calls": 0} and len(tree.nodes) == 1


def test_solved_and_dead_end_states_cost_no_evaluator_call() -> None:
    problem = Digits()
    bfs(problem, beam_width=3, max_depth=5)
    assert "2102" not in problem.evaluated
    assert not any(len(s) > 4 for s in problem.evaluated)


# --- data: nodes, tree, JSON -------------------------------------------------------------------

@pytest.mark.parametrize("name", ["bfs", "dfs", "mcts"])
def test_tree_round_trips_through_json(name: str) -> None:
    tree = run(name, budget_calls=30)
    again = SearchTree.from_dict(json.loads(json.dumps(tree.to_dict())))
    assert again == tree
    assert again.children(0) == tree.children(0)
    assert again.summary() == tree.summary()


def test_tree_navigation() -> None:
    tree = bfs(Digits(), beam_width=2, max_depth=5)
    sol = tree.solution_path()
    assert tree.path(sol[-1].id) == sol
    assert sol[2] in tree.children(sol[1].id)
    assert [n.state for n in tree.children(0)] == ["0", "1", "2"]
    assert tree.path(0) == (tree.nodes[0],)
    with pytest.raises(KeyError, match="ids 0 to"):
        tree.node(len(tree.nodes))
    assert "solution '2102'" in tree.summary()


def test_node_and_tree_validate_what_they_load() -> None:
    root = Node(id=0, parent=None, depth=0, state="")
    assert Node.from_dict(root.to_dict()) == root
    assert root.mean_value is None
    assert Node(1, 0, 1, "x", visits=4, value_sum=3.0).mean_value == 0.75
    with pytest.raises(ValueError, match="status must be one of"):
        Node(0, None, 0, "", status="done")
    with pytest.raises(ValueError, match="no field"):
        Node.from_dict({**root.to_dict(), "colour": "red"})
    with pytest.raises(ValueError, match="listed by id"):
        SearchTree("bfs", (Node(1, None, 0, ""),))
    with pytest.raises(ValueError, match="depth"):
        SearchTree("bfs", (root, Node(1, 0, 2, "x")))
    with pytest.raises(ValueError, match="solution_id"):
        SearchTree("bfs", (root,), solution_id=0)


def test_proposal_and_evaluation_check_their_fields() -> None:
    assert Proposal.from_dict(Proposal("a", "b", 3, "t").to_dict()) == Proposal("a", "b", 3, "t")
    assert Evaluation.from_dict(Evaluation(1, 2, "ok").to_dict()).value == 1.0
    with pytest.raises(ValueError, match="from 0 to 1"):
        Evaluation(1.5)
    with pytest.raises(ValueError, match="whole number"):
        Proposal("a", "b", -1)


def test_bad_arguments_and_bad_problems_say_what_to_do() -> None:
    with pytest.raises(ValueError, match="beam_width"):
        bfs(Digits(), beam_width=0)
    with pytest.raises(ValueError, match="prune_below"):
        dfs(Digits(), prune_below=2)
    with pytest.raises(ValueError, match="exploration"):
        mcts(Digits(), c=-1)
    with pytest.raises(ValueError, match="budget_calls"):
        bfs(Digits(), budget_calls=-1)

    class Sloppy(Digits):
        def propose(self, state: str, node_id: int) -> Any:
            return ["0", "1"]

    with pytest.raises(TypeError, match="list of Proposal"):
        bfs(Sloppy())


def test_protocol_and_registry() -> None:
    assert isinstance(Digits(), SearchProblem)
    assert set(ALGORITHMS) == {"bfs", "dfs", "mcts"}
    assert ALGORITHMS["mcts"] is mcts


def test_a_big_tree_is_quick_to_build_and_serialise() -> None:
    start = time.perf_counter()
    tree = bfs(Wide(50), beam_width=50, max_depth=2)
    text = json.dumps(tree.to_dict())
    again = SearchTree.from_dict(json.loads(text))
    elapsed = time.perf_counter() - start
    check_tree(tree)
    assert len(tree.nodes) == 1 + 50 + 50 * 50 >= 2000
    assert tree.stopped == "depth" and again == tree
    assert elapsed < 5.0
