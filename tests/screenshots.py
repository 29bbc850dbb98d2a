"""Screenshots of every lesson as a learner sees it in JupyterLab (headless Chromium, replay mode).

    python -m tests.screenshots OUT [--lessons 02 05] [--theme dark] [--stored] [--width 1400]

For each lesson: one screenshot of the top of the notebook and one of every output that holds a
picture (a chart, a view, a tree), named ``OUT/<lesson>/<NN>_<kind>.png``, and ``OUT/index.md``
listing them. By default each lesson's stored outputs are cleared and all cells are run;
``--stored`` shows the stored notebook as it opens, unrun (what a learner sees before trusting it).
Run it on two checkouts to compare before and after a change. Needs the dev extra (Playwright)
and Chromium (``./run test`` installs both).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from itc_lab.connect import lessons_dir

from .browser_support import CHROMIUM
from .jupyterlab_support import NB, jupyterlab_server, open_lesson, run_all, shut_down_kernels

PICTURES = (f"{NB} .jp-OutputArea-output:has(.vega-embed), "
            f"{NB} .jp-OutputArea-output:has([class^='itc-']), "
            f"{NB} .jp-OutputArea-output:has([class*=' itc-']), "
            f"{NB} .jp-OutputArea-output:has(img), "
            f"{NB} .jp-OutputArea-output:has(.jp-RenderedSVG)")


def _kind(output: Any) -> str:
    if output.locator(".vega-embed").count():
        return "chart"
    if output.locator("img.graphviz-tree, .jp-RenderedSVG").count():
        return "tree"
    if output.locator("img").count():
        return "image"
    return "view"


def shoot(page: Any, base: str, lesson: str, out: Path, *, stored: bool,
          timeout_s: float = 600) -> list[str]:
    """Screenshots of one lesson; returns the files written, relative to ``out``."""
    folder = out / lesson
    folder.mkdir(parents=True, exist_ok=True)
    open_lesson(page, base, lesson)
    if not stored:
        try:
            run_all(page, timeout_ms=int(timeout_s * 1000))
        except Exception as exc:  # a cell that fails stops Run All: show what it got to
            print(f"{lesson}: did not finish running within {timeout_s:.0f} s "
                  f"({type(exc).__name__}); taking what it shows", file=sys.stderr)
    page.wait_for_timeout(2_000)  # charts and widgets draw after their cell
    written = []
    top = folder / "00_top.png"
    page.screenshot(path=str(top))
    written.append(str(top.relative_to(out)))
    outputs = page.locator(PICTURES)
    for i in range(outputs.count()):
        output = outputs.nth(i)
        output.scroll_into_view_if_needed()
        path = folder / f"{i + 1:02d}_{_kind(output)}.png"
        output.screenshot(path=str(path))
        written.append(str(path.relative_to(out)))
    shut_down_kernels(base)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.screenshots", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path, help="folder for the PNG files and index.md")
    ap.add_argument("--lessons", nargs="*", default=None,
                    help="lesson numbers or names (default: every lesson)")
    ap.add_argument("--theme", choices=("light", "dark"), default="light")
    ap.add_argument("--stored", action="store_true",
                    help="show the stored outputs, unrun (default: clear and run all cells)")
    ap.add_argument("--width", type=int, default=1400, help="browser width in px")
    ap.add_argument("--height", type=int, default=1000, help="browser height in px")
    ap.add_argument("--timeout", type=float, default=600,
                    help="seconds a lesson may take to run (default 600)")
    args = ap.parse_args(argv)
    every = sorted(p.stem for p in lessons_dir().glob("[0-9][0-9]_*.ipynb"))
    chosen = every if not args.lessons else [
        name for name in every if any(name == w or name.startswith(f"{w}_") for w in args.lessons)]
    if not chosen:
        print(f"no lesson matches {args.lessons}; the lessons are: {', '.join(every)}",
              file=sys.stderr)
        return 2
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: install it with `sudo apt-get install -y chromium`",
              file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    index = [f"# Lessons in JupyterLab ({args.theme} theme, "
             f"{'stored outputs' if args.stored else 'run in replay mode'}, "
             f"{args.width}×{args.height})", ""]
    with tempfile.TemporaryDirectory() as work, \
            jupyterlab_server(Path(work), chosen, theme=args.theme) as base, \
            sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        for lesson in chosen:
            context = browser.new_context(viewport={"width": args.width, "height": args.height})
            page = context.new_page()
            try:
                files = shoot(page, base, lesson, args.out, stored=args.stored,
                              timeout_s=args.timeout)
            finally:
                context.close()
            print(f"{lesson}: {len(files)} screenshots")
            index += [f"## {lesson}", ""] + [f"- ![{f}]({f})" for f in files] + [""]
        browser.close()
    (args.out / "index.md").write_text("\n".join(index))
    print(f"wrote {args.out / 'index.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
