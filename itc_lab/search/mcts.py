"""Monte Carlo tree search with UCT. Introduced in lesson 03."""

from __future__ import annotations

import math
import random
from typing import Any

from .._checks import whole
from .builder import Draft, OnProgress, Stop, TreeBuilder
from .tree import SearchProblem, SearchTree

__all__ = [
    "mcts",
]


def mcts(problem: SearchProblem, *, iterations: int = 100, c: float = 1.4, max_depth: int = 4,
         rollout: bool = False, seed: int = 0, select: str = "uct",
         budget_tokens: int | None = None, budget_calls: int | None = None,
        on_progress: OnProgress | None = None) -> SearchTree:
    """Monte Carlo tree search with UCT.

    Each iteration: *select* from the root down, always into an unvisited child if there is one
    (chosen at random) and otherwise into the child with the highest
    ``mean + c * sqrt(ln(parent visits) / child visits)``; at the leaf reached,

    * if it was never visited, *simulate* it: its value is ``evaluate`` (or, with
      ``rollout=True``, 1.0 if random proposals from it reach a solved state, else 0.0);
    * if it was visited before and can grow (not terminal, above ``max_depth``), *expand* it and
      simulate one new child (a solved child if there is one, else one at random);
    * otherwise (solved, dead end, at ``max_depth``) reuse its value;

    then *back up* the reward: +1 visit and +reward on every node from there to the root.

    ``select="puct"`` uses the evaluator as a prior instead (AlphaZero's PUCT): when a node is
    expanded every new child is evaluated at once, selection takes the child with the highest
    ``mean + c * value * sqrt(parent visits) / (1 + child visits)`` (mean 0 while unvisited, so
    a child the evaluator likes is tried first) and the child simulated after an expansion is a
    solved one or else the best valued, whose evaluation is its reward.

    Visit invariant: a node with children has ``visits == 1 + sum(child visits)`` (its own first
    simulation, then one per iteration through a child); a node without children has as many
    visits as iterations ended at it; the root's visits equal ``config["iterations_run"]``.

    Stops once a solved state is reached (after backing it up), when the iterations are used up
    (``"exhausted"``) or at a budget; an iteration cut short by the budget backs nothing up.
    ``seed`` drives the random choices, so a run is reproducible.

    ``on_progress`` is called with what changed (:class:`~itc_lab.search.builder.TreeProgress`)
    after each expansion, evaluation and back-up, so a view can grow with the tree.
    """
    whole("iterations", iterations, 0)
    whole("max_depth", max_depth, 0)
    whole("seed", seed, 0)
    if not (isinstance(c, int | float) and math.isfinite(c) and c >= 0):
        msg = f"c (the exploration weight) must be a number >= 0, not {c!r}; 1.4 is usual."
        raise ValueError(msg)
    if select not in ("uct", "puct"):
        msg = f"select must be 'uct' or 'puct' (the evaluator as a prior), not {select!r}."
        raise ValueError(msg)
    if select == "puct" and rollout:
        msg = "select='puct' rewards the evaluator's values; rollout=True goes with 'uct'."
        raise ValueError(msg)
    rng = random.Random(seed)
    b = TreeBuilder(problem, budget_tokens, budget_calls, on_progress, "mcts")
    root = b.root()
    config: dict[str, Any] = {"iterations": iterations, "c": c, "max_depth": max_depth,
                              "rollout": rollout, "seed": seed, "iterations_run": 0}
    if select != "uct":
        config["select"] = select
    if root.status == "solution":
        return b.freeze("mcts", "solved", config)

    def choose(node: Draft) -> Draft:
        kids = [b.nodes[k] for k in node.kids]
        if select == "puct":
            root_n = math.sqrt(node.visits)

            def puct(k: Draft) -> float:
                mean = k.value_sum / k.visits if k.visits else 0.0
                prior = k.value if k.value is not None else 0.0
                return mean + c * prior * root_n / (1 + k.visits)

            return max(kids, key=puct)
        fresh = [k for k in kids if k.visits == 0]
        if fresh:
            return rng.choice(fresh)
        log_n = math.log(node.visits)

        def uct(k: Draft) -> float:
            return k.value_sum / k.visits + c * math.sqrt(log_n / k.visits)

        return max(kids, key=uct)

    def simulate(node: Draft) -> float:
        if node.status != "frontier":
            return node.value if node.value is not None else 0.0
        if select == "puct" and node.value is not None:
            return node.value  # evaluated when its parent was expanded
        if not rollout:
            return b.evaluate(node)
        state, depth, steps = node.state, node.depth, []
        reward = 0.0
        while not problem.is_terminal(state) and depth < max_depth:
            proposals = b.propose(node)
            node.tokens += sum(p.tokens for p in proposals)
            if not proposals:
                break
            pick = rng.choice(proposals)
            state, depth = pick.state, depth + 1
            steps.append(pick.step)
        if problem.is_solved(state):
            reward = 1.0
        node.value = reward
        node.evaluator_text = f"rollout: {' → '.join(steps) or '(no steps)'} → reward {reward}"
        return reward

    stopped = "exhausted"
    try:
        for _ in range(iterations):
            node = root
            while node.kids:
                node = choose(node)
            target = node
            if node.visits == 0:
                reward = simulate(node)
            elif node.status == "frontier" and node.depth < max_depth:
                kids = b.expand(node)
                if kids and select == "puct":
                    for kid in kids:
                        if kid.status == "frontier" and b.solution is None:
                            b.evaluate(kid)
                    target = b.nodes[b.solution] if b.solution is not None else max(
                        kids, key=lambda k: k.value if k.value is not None else 0.0)
                    reward = simulate(target)
                elif kids:
                    target = b.nodes[b.solution] if b.solution is not None else rng.choice(kids)
                    reward = simulate(target)
                else:
                    reward = node.value if node.value is not None else 0.0
            else:
                reward = node.value if node.value is not None else 0.0
            back: Draft | None = target
            while back is not None:
                back.visits += 1
                back.value_sum += reward
                back = None if back.parent is None else b.nodes[back.parent]
            config["iterations_run"] += 1
            b.report()
            if b.solution is not None:
                raise Stop("solved")
    except Stop as stop:
        stopped = stop.reason
    return b.freeze("mcts", stopped, config)
