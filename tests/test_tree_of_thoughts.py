"""Tree of Thoughts on the Game of 24 with a scripted model: the program verifies every step;
and the search over legal steps (``game24_search``) against brute force and the exact solver."""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest

import itc_lab
from itc_lab import Request, datasets
from itc_lab.datasets.game24 import check_expression, is_solvable, reachable
from itc_lab.techniques.game24_search import (
    expression_of,
    game24_search,
    legal_steps,
    read_step,
)
from itc_lab.techniques.tree_of_thoughts import (
    Game24Search,
    game24_cot,
    parse_state,
    tree_of_thoughts,
)

from .fakes import ScriptedBackend


def Script(reply) -> ScriptedBackend:
    """Answers every request with the text that ``reply(request)`` returns."""
    return ScriptedBackend(reply, name="script", model="script", logprob=None,
                           completion_tokens=10, prompt_tokens=0, latency=0.0)


def test_proposals_are_checked_with_exact_arithmetic():
    text = ("13 - 9 = 4 (left: 4 4 10)\n"   # valid
            "10 - 4 = 7 (left: 7 9 13)\n"   # wrong arithmetic
            "5 + 9 = 14 (left: 10 13 14)\n"  # 5 is not one of the numbers
            "13 - 9 = 4 (left: 4 4 10)\n"   # duplicate of the first
            "10 / 4 = 5/2\n")               # valid, a fraction
    search = Game24Search([4, 9, 10, 13], Script(lambda r: text), samples=1)
    props = search.propose(search.root(), 0)
    assert [p.step for p in props] == ["13 - 9 = 4", "10 / 4 = 5/2"]
    assert parse_state(props[0].state) == [4, 4, 10]
    assert parse_state(props[1].state) == [Fraction(5, 2), 9, 13]
    assert props[0].tokens == 10 and props[1].tokens == 0  # one call, charged once


def test_exact_judge_and_solved_states():
    search = Game24Search([4, 9, 10, 13], Script(lambda r: ""), judge="exact")
    assert search.evaluate("4 4 10 | 13 - 9 = 4").value == 1.0
    assert search.evaluate("1 1 | x").value == 0.0
    assert search.is_solved("24 | ...") and search.is_terminal("24 | ...")
    assert not search.is_solved("4 6 | ...")
    with pytest.raises(ValueError, match="judge must be"):
        Game24Search([1, 2, 3, 4], Script(lambda r: ""), judge="oracle")


def test_bfs_with_a_perfect_proposer_finds_24():
    steps = {"4 9 10 13": "13 - 9 = 4", "4 4 10": "10 - 4 = 6", "4 6": "4 * 6 = 24"}

    def reply(request: Request) -> str:
        numbers = request.messages[-1].content.split("Input: ")[-1].split("\n")[0]
        return steps.get(numbers, "")

    result = tree_of_thoughts([4, 9, 10, 13], Script(reply), algorithm="bfs", judge="exact",
                              beam_width=2, max_depth=3, budget_calls=20)
    tree = result.tree
    assert tree.solution_id is not None
    assert result.correct and result.answer == "4 * 6 = 24"
    assert result.tokens == tree.spent["tokens"] > 0
    assert result.technique == "tree_of_thoughts" and result.problem.meta["numbers"] == [4, 9, 10,
                                                                                         13]
    assert [n.step for n in tree.solution_path()][1:] == ["13 - 9 = 4", "10 - 4 = 6",
                                                            "4 * 6 = 24"]
    with pytest.raises(ValueError, match="choose one of bfs"):
        tree_of_thoughts([1, 2, 3, 4], Script(reply), algorithm="astar")


def test_chain_of_thought_attempts_are_checked_exactly():
    backend = Script(lambda r: "13 - 9 = 4\n10 - 4 = 6\nAnswer: (13 - 9) * (10 - 4) = 24")
    result = game24_cot([4, 9, 10, 13], backend)
    [ok] = result.attempts
    assert ok.ok and ok.expression is not None
    assert result.correct and result.answer == ok.expression and result.samples[0].correct
    bad = game24_cot([4, 9, 10, 13], Script(lambda r: "Answer: 4 * 9 - 10 - 13 = 24"), k=2)
    assert not bad.correct and not any(s.correct for s in bad.samples)
    assert "not 24" in bad.attempts[0].reason and len(bad.samples) == 2
    none = game24_cot([4, 9, 10, 13], Script(lambda r: "no idea"))
    assert none.attempts[0].reason == "no expression found" and none.answer is None


def test_game24_exercise():
    assert itc_lab.check("03-game24", "(13 - 9) * (10 - 4)", [4, 9, 10, 13])
    assert not itc_lab.check("03-game24", "13 * 9", [4, 9, 10, 13])
    assert not itc_lab.check("03-game24", 24, [4, 9, 10, 13])


# --- the program proposes, the model's prior chooses, the checker judges (game24_search) -------


def _brute_force_lefts(numbers):
    """Every set of numbers one step can leave: each ordered pair, each of + - * / (b != 0)."""
    values = [Fraction(v) for v in numbers]
    out = set()
    for i, j in itertools.permutations(range(len(values)), 2):
        a, b = values[i], values[j]
        rest = [v for k, v in enumerate(values) if k not in (i, j)]
        for value in (a + b, a - b, a * b, a / b if b else None):
            if value is not None:
                out.add(tuple(sorted([*rest, value])))
    return out


@pytest.mark.parametrize("numbers", [
    [4, 9, 10, 13], [1, 1, 1, 1], [2, 2, 4, 8], [3, 3, 8, 8], [1, 5, 5, 5], [6, 12, 13],
    [0, 7], [Fraction(5, 2), -3, 0], [24], []])
def test_candidate_steps_are_exactly_the_legal_steps(numbers):
    steps = legal_steps(numbers)
    lefts = [s.left for s in steps]
    assert set(lefts) == _brute_force_lefts(numbers) and len(lefts) == len(set(lefts))
    for s in steps:  # each step is well formed: two of the numbers, exact arithmetic
        rest = list(map(Fraction, numbers))
        rest.remove(s.a)
        rest.remove(s.b)
        assert s.value == {"+": s.a + s.b, "-": s.a - s.b, "*": s.a * s.b,
                           "/": s.a / s.b if s.b else None}[s.op]
        assert s.left == tuple(sorted([*rest, s.value]))
        assert read_step(s.text, numbers) == s.left


def test_candidate_steps_on_every_puzzle_match_the_brute_force():
    for p in datasets.load("game24", include_unsolvable=True, n=60, seed=3):
        assert {s.left for s in legal_steps(p.meta["numbers"])} == _brute_force_lefts(
            p.meta["numbers"])


def test_the_model_only_chooses_a_op_b_and_the_program_computes():
    assert read_step("13 - 9 = 5 (wrong)", [4, 9, 10, 13]) == (4, 4, 10)
    assert read_step(" 10 × 4", [4, 9, 10, 13]) == (9, 13, 40)
    assert read_step("5 + 9", [4, 9, 10, 13]) is None        # 5 is not left
    assert read_step("9 + 9", [4, 9, 10, 13]) is None        # only one 9
    assert read_step("4 / 0", [0, 4]) is None
    assert read_step("The answer", [4, 9, 10, 13]) is None
    expr = expression_of([4, 9, 10, 13], ["13 - 9 = 4", "10 - 4 = 6", "6 * 4 = 24"])
    assert check_expression(expr, [4, 9, 10, 13])[0]
    assert check_expression(expression_of([3, 3, 8, 8], [
        "8 / 3 = 8/3", "3 - 8/3 = 1/3", "8 / 1/3 = 24"]), [3, 3, 8, 8])[0]
    with pytest.raises(ValueError, match="not left"):
        expression_of([1, 2], ["5 + 1 = 6"])


SOLUTION_PATH = {"4 9 10 13": "13 - 9", "4 4 10": "10 - 4"}


def _oracle(request: Request) -> str:
    """A model whose every sample is the next step of one solution of 4 9 10 13."""
    numbers = request.messages[-1].content.split("Numbers: ")[1].split(".")[0]
    return SOLUTION_PATH.get(numbers, "1 + 1")


def test_a_prior_that_ranks_the_solution_path_first_solves_with_beam_1():
    backend = Script(_oracle)
    result = game24_search([4, 9, 10, 13], backend, prior="model", beam_width=1)
    assert result.correct and check_expression(result.answer, [4, 9, 10, 13])[0]
    assert [n.step for n in result.tree.solution_path()[1:]] == [
        "13 - 9 = 4", "10 - 4 = 6", "6 * 4 = 24"]
    # one request of 8 samples per state with more than two numbers; the last level is free
    assert len(backend.requests) == 16 and len(result.samples) == 16 and result.calls == 2
    assert result.root_picks == ((4, 4, 10),) * 8
    assert result.tokens == result.tree.spent["tokens"] == 160 == result.usage.completion_tokens
    assert result.technique == "game24_search" and result.config["prior"] == "model"
    kids = result.tree.children(0)
    assert max(kids, key=lambda n: n.value or 0).step == "13 - 9 = 4"
    assert "wrote it 8 times" in next(n for n in kids if n.step == "13 - 9 = 4").proposer_text
    # the same oracle steers PUCT straight down the solution path
    backend = Script(_oracle)
    mcts_run = game24_search([4, 9, 10, 13], backend, algorithm="mcts", select="puct",
                             iterations=10)
    assert mcts_run.correct and len(mcts_run.tree.expansion_order()) == 3
    assert [n.step for n in mcts_run.tree.solution_path()[1:]][:2] == ["13 - 9 = 4",
                                                                        "10 - 4 = 6"]


def test_a_prior_that_ranks_no_good_step_first_fails_with_beam_1():
    result = game24_search([4, 9, 10, 13], Script(lambda r: "13 + 10"), beam_width=1)
    assert not result.correct and result.answer is None
    assert result.tree.stopped == "exhausted"
    assert result.root_picks == ((4, 9, 23),) * 8


@pytest.mark.parametrize("beam", [1, 2, 4])
def test_with_a_uniform_prior_the_result_matches_the_exact_solvers_reachable_states(beam):
    puzzles = datasets.load("game24", include_unsolvable=True, n=40, seed=1)
    for p in puzzles:
        result = game24_search(p, None, prior="uniform", beam_width=beam, seed=5)
        tree = result.tree
        assert not result.samples and result.tokens == result.calls == 0  # never asked
        assert result.root_picks == ()
        # the two-number states the beam kept; the search succeeds iff one can make 24
        kept = [n for n in tree.nodes if n.depth == 2 and n.status == "expanded"]
        assert len(kept) <= beam
        assert result.correct == any(reachable(parse_state(n.state)) for n in kept)
        if result.correct:
            assert check_expression(result.answer, p.meta["numbers"])[0]
        # every level holds the legal steps of the states above it, nothing else
        for node in tree.nodes:
            if node.status == "expanded":
                assert {tuple(parse_state(k.state)) for k in tree.children(node.id)} == set(
                    _brute_force_lefts(parse_state(node.state)))


def test_with_a_uniform_prior_and_a_wide_beam_search_is_the_exact_solver():
    for p in datasets.load("game24", include_unsolvable=True, n=12, seed=2):
        result = game24_search(p, None, prior="uniform", beam_width=1000)
        assert result.correct == is_solvable(p.meta["numbers"])


def test_uniform_ties_break_in_a_seeded_random_order():
    runs = [game24_search([1, 2, 3, 4], None, prior="uniform", beam_width=1, seed=s)
            for s in range(6)]
    firsts = {r.tree.node(r.tree.expansion_order()[1]).step for r in runs}
    assert len(firsts) > 1  # not always the first step listed
    again = game24_search([1, 2, 3, 4], None, prior="uniform", beam_width=1, seed=3)
    assert again.tree.to_dict() == runs[3].tree.to_dict()


def test_game24_search_checks_its_arguments():
    with pytest.raises(ValueError, match="prior must be one of"):
        game24_search([1, 2, 3, 4], Script(_oracle), prior="oracle")
    with pytest.raises(ValueError, match="pass a backend"):
        game24_search([1, 2, 3, 4], None, prior="model")
    with pytest.raises(ValueError, match="choose one of bfs"):
        game24_search([1, 2, 3, 4], None, prior="uniform", algorithm="astar")
    with pytest.raises(ValueError, match="select must be"):
        game24_search([1, 2, 3, 4], None, prior="uniform", algorithm="mcts", select="ucb")
    with pytest.raises(ValueError, match="rollout=True goes with"):
        game24_search([1, 2, 3, 4], None, prior="uniform", algorithm="mcts", select="puct",
                      rollout=True)


def test_puct_keeps_the_visit_invariant_and_is_deterministic():
    a = game24_search([2, 5, 7, 11], None, prior="uniform", algorithm="mcts", select="puct",
                      iterations=40, seed=4)
    b = game24_search([2, 5, 7, 11], None, prior="uniform", algorithm="mcts", select="puct",
                      iterations=40, seed=4)
    assert a.tree.to_dict() == b.tree.to_dict()
    tree = a.tree
    assert tree.node(0).visits == tree.config["iterations_run"]
    for node in tree.nodes:
        kids = tree.children(node.id)
        if kids and node.visits:
            assert node.visits == 1 + sum(k.visits for k in kids)
