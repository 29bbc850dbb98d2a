"""extract_answer on hostile text: time at 10 kB, 100 kB and 1 MB and the growth per 10x input.

The inputs are the shapes that were slow once: nested ``\\boxed{``, a long run of ``{``, long LaTeX
with spaces, and plain prose full of numbers. Linear work grows about 10x per 10x input. Run from
the project folder with ``python -m benchmarks.answers_bench``.
"""

from __future__ import annotations

import time

from itc_lab.answers import extract_answer

SHAPES = {
    "nested \\boxed{": lambda n: "\\boxed{" * (n // 7) + "42",
    "run of {": lambda n: "{" * n,
    "\\frac with spaces": lambda n: "\\boxed{\\frac{" + " " * (n - 20) + "1}{2}}",
    "prose with numbers": lambda n: ("I had 3 apples and 12 pears, so 15. " * (n // 36 + 1))[:n],
}


def timed(text: str, kind: str) -> float:
    t0 = time.perf_counter()
    extract_answer(text, kind)
    return time.perf_counter() - t0


def main() -> None:
    sizes = [10_000, 100_000, 1_000_000]
    print(f"{'input':<20} {'kind':<7}" + "".join(f"{s // 1000:>9} kB" for s in sizes)
          + "   growth per 10x")
    for name, make in SHAPES.items():
        for kind in ("number", "text"):
            times = [min(timed(make(s), kind) for _ in range(2)) for s in sizes]
            growth = (times[-1] / times[0]) ** 0.5 if times[0] > 0 else float("nan")
            print(f"{name:<20} {kind:<7}" + "".join(f"{t:>11.3f}s" for t in times)
                  + f"   {growth:>6.1f}x")


if __name__ == "__main__":
    main()
