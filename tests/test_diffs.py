"""Word diffs between drafts (itc_lab.diffs) and the DiffView widget's Python side."""

from __future__ import annotations

import itertools
import random

import pytest
import traitlets

from itc_lab.analysis.diffs import diff_rounds, diff_stats, tokenize, word_diff
from itc_lab.views.diff_view import DiffView

ALPHABET = [*"abc xyz  \n\t.,!?é日本🙂👍🏽\u200b", "word", "the ", "\r\n", "ß", "İ"]


def _random_text(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 30)))


def _side(ops: list[dict[str, str]], keep: str) -> str:
    return "".join(o["text"] for o in ops if o["op"] in ("equal", keep))


def _check(a: str, b: str) -> list[dict[str, str]]:
    ops = word_diff(a, b)
    assert _side(ops, "delete") == a
    assert _side(ops, "insert") == b
    assert all(o["op"] in ("equal", "insert", "delete") and o["text"] for o in ops)
    assert all(x["op"] != y["op"] for x, y in itertools.pairwise(ops))  # merged into runs
    return ops


def test_tokenize_round_trips() -> None:
    rng = random.Random(1)
    for _ in range(300):
        text = _random_text(rng)
        assert "".join(tokenize(text)) == text
    assert tokenize("héllo, wörld 🙂\n") == ["héllo", ",", " ", "wörld", " ", "🙂", "\n"]


def test_invariants_on_random_strings() -> None:
    rng = random.Random(0)
    for _ in range(500):
        a = _random_text(rng)
        b = _random_text(rng) if rng.random() < 0.5 else a[: rng.randint(0, len(a))] + "x y"
        _check(a, b)
        stats = diff_stats(a, b)
        assert 0.0 <= stats["similarity"] <= 1.0
        assert min(stats["added"], stats["removed"], stats["unchanged"]) >= 0


def test_empty_and_identical() -> None:
    assert word_diff("", "") == []
    assert word_diff("", "new text") == [{"op": "insert", "text": "new text"}]
    assert word_diff("old text", "") == [{"op": "delete", "text": "old text"}]
    same = "Same words,\nsame 🙂 order."
    assert word_diff(same, same) == [{"op": "equal", "text": same}]
    assert diff_stats("", "") == {"added": 0, "removed": 0, "unchanged": 0, "similarity": 1.0}
    stats = diff_stats(same, same)
    assert stats["added"] == stats["removed"] == 0 and stats["similarity"] == 1.0
    assert diff_stats("", "two words")["similarity"] == 0.0


def test_known_example_exact_ops() -> None:
    ops = _check("the cat sat.", "the dog sat down.")
    assert ops == [
        {"op": "equal", "text": "the "},
        {"op": "delete", "text": "cat"},
        {"op": "insert", "text": "dog"},
        {"op": "equal", "text": " sat"},
        {"op": "insert", "text": " down"},
        {"op": "equal", "text": "."},
    ]


def test_stats_counts_words_not_whitespace() -> None:
    stats = diff_stats("the cat sat.", "the dog sat down.")
    assert (stats["added"], stats["removed"], stats["unchanged"]) == (2, 1, 3)
    assert stats["similarity"] == pytest.approx(2 * 3 / (4 + 5))


def test_diff_rounds_pairs_drafts_with_feedback_and_scores() -> None:
    rounds = diff_rounds(["a", "a b", "a c"], ["add b"], [0.1, None, 0.9])
    assert [r["index"] for r in rounds] == [0, 1]
    assert rounds[0]["feedback"] == "add b" and rounds[1]["feedback"] == ""
    assert (rounds[0]["score_before"], rounds[0]["score_after"]) == (0.1, None)
    assert rounds[1]["score_after"] == 0.9
    assert rounds[1]["ops"] == word_diff("a b", "a c")
    assert diff_rounds(["only one"]) == [] and diff_rounds([]) == []


def test_diffview_traits() -> None:
    view = DiffView(["a b c", "a x c d", "a x c d e"], ["f1", "f2"], [0.4, 0.6, 0.8],
                    title="Refine")
    assert view.title == "Refine" and view.current == 0 and view.mode == "inline"
    assert len(view.rounds) == 2
    assert view.rounds[1]["before"] == "a x c d" and view.rounds[1]["after"] == "a x c d e"
    assert set(view.rounds[0]) == {"index", "before", "after", "feedback", "score_before",
                                   "score_after", "ops"}
    for name in ("rounds", "current", "mode", "title"):
        assert view.trait_metadata(name, "sync")
    view.mode = "side"
    assert view.mode == "side"
    with pytest.raises(traitlets.TraitError):
        view.mode = "sideways"
    with pytest.raises(ValueError):
        DiffView(["a", "b"], mode="bad")
    assert "export default" in str(view._esm) and ".itc-dv-del" in str(view._css)


def test_diffview_text_fallback() -> None:
    view = DiffView(["a b c", "a x c d", "a x c d e"], ["f1", "f2"], [0.4, 0.6, 0.8])
    expected = "DiffView: 2 rounds, +3/-1 words, score 0.40 → 0.80"
    assert repr(view) == expected
    bundle = view._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert data["text/plain"] == expected
    assert repr(DiffView(["one", "two"])) == "DiffView: 1 round, +1/-1 words"
    assert repr(DiffView([])) == "DiffView: 0 rounds, +0/-0 words"
