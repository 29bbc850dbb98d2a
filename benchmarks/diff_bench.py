"""Word diffs of long drafts: ``word_diff`` and ``diff_stats`` on 1k, 10k and 40k-word drafts.

Two pairs of drafts per size, made of random words from a 3,000-word vocabulary with commas,
full stops and paragraph breaks: *different* (two drafts written independently, the worst case
for difflib) and *revised* (the second draft is the first with about 5% of its words replaced,
inserted or deleted, as a refinement round does). Prints seconds per call, the runs of the diff
and the similarity. With ``--difflib`` it also times what ``word_diff`` did before: difflib's
``SequenceMatcher`` over all tokens (quadratic: about 25 s at 10k words, many minutes at 40k),
for the sizes up to ``--difflib-max`` words.

    .venv/bin/python benchmarks/diff_bench.py [--sizes 1000 10000 40000] [--difflib]
"""

from __future__ import annotations

import argparse
import difflib
import random
import time

from itc_lab.analysis.diffs import diff_stats, tokenize, word_diff


def vocabulary(rng: random.Random, n: int = 3000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(2, 9))) for _ in range(n)]


def draft(rng: random.Random, words: list[str], n: int) -> str:
    """``n`` random words with commas, full stops and paragraph breaks between them."""
    out = []
    for _ in range(n):
        out.append(rng.choice(words))
        r = rng.random()
        out.append(". " if r < 0.06 else ", " if r < 0.1 else "\n\n" if r < 0.11 else " ")
    return "".join(out)


def revise(rng: random.Random, words: list[str], text: str, rate: float = 0.05) -> str:
    """``text`` with about ``rate`` of its words replaced, deleted or followed by a new one."""
    out = []
    for token in tokenize(text):
        r = rng.random()
        if token.isspace() or not token[0].isalnum() or r >= rate:
            out.append(token)
        elif r < rate / 3:
            out.append(rng.choice(words))
        elif r < 2 * rate / 3:
            out.append(token + " " + rng.choice(words))
        # else: deleted
    return "".join(out)


def old_word_diff_seconds(a: str, b: str) -> float:
    start = time.perf_counter()
    difflib.SequenceMatcher(None, tokenize(a), tokenize(b), autojunk=False).get_opcodes()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 40000])
    parser.add_argument("--difflib", action="store_true",
                        help="also time the old word_diff (difflib over all tokens)")
    parser.add_argument("--difflib-max", type=int, default=10000,
                        help="largest size (words) to time the old word_diff at")
    args = parser.parse_args()
    rng = random.Random(0)
    words = vocabulary(rng)
    print(f"{'words':>6} {'drafts':<9} {'word_diff s':>11} {'diff_stats s':>12} {'runs':>6} "
          f"{'similarity':>10}" + (f" {'old (difflib) s':>15}" if args.difflib else ""))
    for n in args.sizes:
        a = draft(rng, words, n)
        pairs = {"different": (a, draft(rng, words, n)), "revised": (a, revise(rng, words, a))}
        for name, (x, y) in pairs.items():
            start = time.perf_counter()
            ops = word_diff(x, y)
            t_diff = time.perf_counter() - start
            assert "".join(o["text"] for o in ops if o["op"] != "insert") == x
            assert "".join(o["text"] for o in ops if o["op"] != "delete") == y
            start = time.perf_counter()
            stats = diff_stats(x, y)
            t_stats = time.perf_counter() - start
            line = (f"{n:>6} {name:<9} {t_diff:>11.3f} {t_stats:>12.3f} {len(ops):>6} "
                    f"{stats['similarity']:>10.3f}")
            if args.difflib:
                old = (f"{old_word_diff_seconds(x, y):.3f}" if n <= args.difflib_max
                       else "(skipped)")
                line += f" {old:>15}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
