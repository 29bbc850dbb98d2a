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


# -- long drafts: near-linear, and still exact ------------------------------------------------
def _words(rng: random.Random, n: int, vocab: list[str]) -> str:
    seps = [" "] * 40 + [", ", ". ", "\n\n", "\n"]
    return "".join(rng.choice(vocab) + rng.choice(seps) for _ in range(n))


def _vocab(rng: random.Random, n: int = 3000) -> list[str]:
    return ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
            for _ in range(n)]


@pytest.mark.parametrize("vocab_size", [3000, 5])
def test_two_random_40000_word_drafts_reconstruct_exactly(vocab_size: int) -> None:
    # difflib alone took over 300 s on such a pair (quadratic); this takes about a second
    rng = random.Random(vocab_size)
    vocab = _vocab(rng, vocab_size)
    a, b = _words(rng, 40_000, vocab), _words(rng, 40_000, vocab)
    ops = _check(a, b)
    assert any(o["op"] == "equal" for o in ops)
    stats = diff_stats(a, b)
    assert 0.0 <= stats["similarity"] <= 1.0
    assert stats["added"] + stats["unchanged"] == 40_000 + b.count(",") + b.count(".")
    assert stats["removed"] + stats["unchanged"] == 40_000 + a.count(",") + a.count(".")


def _revised(rng: random.Random, a: str, vocab: list[str], edits: int) -> str:
    tokens = tokenize(a)
    for _ in range(edits):  # replace a token by a word, add a word after it, or delete it
        i = rng.randrange(len(tokens))
        tokens[i] = rng.choice([rng.choice(vocab), tokens[i] + " new", ""])
    return "".join(tokens)


@pytest.mark.parametrize(("words", "edits"), [(12_000, 300), (1_500, 40)])
def test_a_long_revised_draft_keeps_its_unchanged_words(words: int, edits: int) -> None:
    import difflib
    rng = random.Random(3)
    vocab = _vocab(rng)
    a = _words(rng, words, vocab)
    b = _revised(rng, a, vocab, edits)
    _check(a, b)
    stats = diff_stats(a, b)
    assert stats["removed"] <= 2 * edits and stats["added"] <= 2 * edits
    assert stats["similarity"] > 0.97
    if words <= 2000:  # as many words kept as difflib keeps (it takes 0.5 s here, minutes above)
        ta, tb = tokenize(a), tokenize(b)
        kept = sum(sum(not t.isspace() for t in ta[i1:i2]) for tag, i1, i2, _, _ in
                   difflib.SequenceMatcher(None, ta, tb, autojunk=False).get_opcodes()
                   if tag == "equal")
        assert stats["unchanged"] >= kept


def test_long_drafts_with_no_shared_runs_are_replaced_whole() -> None:
    a, b = "x " * 20_000, "y " * 20_000
    assert _check(a, b) == [{"op": "delete", "text": a.rstrip()},
                            {"op": "insert", "text": b.rstrip()}, {"op": "equal", "text": " "}]
    moved = " ".join(f"w{i}" for i in range(20_000))
    half = moved.index(" w10000")
    _check(moved, moved[half + 1:] + " " + moved[:half])  # two halves swapped


def test_short_drafts_keep_difflibs_exact_runs() -> None:
    """Up to about 500 words a side, the runs are difflib's over the tokens, as before."""
    import difflib
    rng = random.Random(5)
    vocab = _vocab(rng, 200)
    for n in (10, 100, 450):
        a, b = _words(rng, n, vocab), _words(rng, n, vocab)
        ta, tb = tokenize(a), tokenize(b)
        expected = []
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, ta, tb,
                                                           autojunk=False).get_opcodes():
            pieces = [("equal", ta[i1:i2])] if tag == "equal" else [("delete", ta[i1:i2]),
                                                                     ("insert", tb[j1:j2])]
            for op, toks in pieces:
                if toks:
                    if expected and expected[-1]["op"] == op:
                        expected[-1]["text"] += "".join(toks)
                    else:
                        expected.append({"op": op, "text": "".join(toks)})
        assert word_diff(a, b) == expected


# -- static snapshot (text/html beside the widget view) ----------------------------------------

XSS = "<img src=x onerror=alert(1)></script><script>alert(2)</script>"


def _static(view: DiffView) -> str:
    data, meta = view._repr_mimebundle_()
    assert meta == {"itc_lab": {"figure": "DiffView"}}
    assert "application/vnd.jupyter.widget-view+json" in data
    return str(data["text/html"])


def test_diffview_static_snapshot_shows_feedback_and_word_diffs_escaped() -> None:
    view = DiffView(["a b c", f"a x c {XSS}"], [f"say x {XSS}"], [0.4, 0.6], title=XSS)
    html = _static(view)
    assert html.startswith('<div class="itc-static itc-static-diffview"')
    assert "<img" not in html and "<script>" not in html and "</script>" not in html
    assert html.count("&lt;img src=x onerror=alert(1)&gt;") == 3  # title, feedback, insert
    assert ">b</del>" in html and ">x</ins>" in html
    stats = diff_stats("a b c", f"a x c {XSS}")
    assert "Draft 1 → 2" in html and "score 0.40 → 0.60" in html
    assert f"+{stats['added']}/-{stats['removed']} words" in html


def test_diffview_static_snapshot_side_by_side_and_capped() -> None:
    html = _static(DiffView(["a b", "a c"], mode="side"))
    assert "<table" in html and html.count("<td") == 2
    assert "<del" in html.split("<td")[1] and "<ins" in html.split("<td")[2]
    long = DiffView([f"w{i}" for i in range(15)])
    assert "4 more rounds" in _static(long)
    huge = _static(DiffView(["x " * 5000, "y " * 5000]))
    assert "more characters" in huge and len(huge) < 20_000
