"""Tree of Thoughts on the Game of 24 with a scripted model: the program verifies every step."""

from __future__ import annotations

from fractions import Fraction

import pytest

import itc_lab
from itc_lab import Request
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
