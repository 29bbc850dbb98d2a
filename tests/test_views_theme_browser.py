"""The views under JupyterLab's dark theme: every text keeps its contrast with what is behind it
(WCAG AA, 4.5:1), because the views take their colours from the theme's variables."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from itc_lab.views import DiffView, TreeView

from .browser_support import CONTRAST_HELPERS, open_page, widget_page
from .test_trees import small_tree

pytestmark = pytest.mark.browser

DARK = """:root { /* JupyterLab 4's dark theme */
  --jp-ui-font-color1: rgba(255,255,255,0.87); --jp-ui-font-color2: rgba(255,255,255,0.54);
  --jp-content-font-color1: rgba(255,255,255,1); --jp-content-font-color2: rgba(255,255,255,0.7);
  --jp-layout-color0: #111111; --jp-layout-color1: #212121; --jp-layout-color2: #424242;
  --jp-layout-color3: #616161; --jp-border-color2: #616161; --jp-brand-color1: #64b5f6;
  --jp-brand-color3: #bbdefb; }
body { background: #111111 !important; }"""

CONTRAST = """() => {
  CONTRAST_HELPERS
  const out = [];
  for (const el of document.querySelectorAll('.mount-tree *, .mount-diff *')) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.getClientRects().length === 0) continue;
    const style = getComputedStyle(el);
    const bg = background(el);
    const fg = mix(rgb(style.color), bg);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    out.push({text: el.textContent.trim().slice(0, 30), cls: el.className,
              ratio: (a + 0.05) / (b + 0.05), opacity: Number(style.opacity)});
  }
  return out;
}""".replace("  CONTRAST_HELPERS\n", CONTRAST_HELPERS)


@pytest.fixture
def dark(browser: Any) -> Iterator[Any]:
    html = widget_page("itc-lab views, dark", {"tree": "/tree_view.js", "diff": "/diff_view.js"},
                       css=("/tree_view.css", "/diff_view.css"), width=980)
    files = {
        "/tree_view.js": ("text/javascript", lambda: str(TreeView._esm)),
        "/tree_view.css": ("text/css", lambda: str(TreeView._css)),
        "/diff_view.js": ("text/javascript", lambda: str(DiffView._esm)),
        "/diff_view.css": ("text/css", lambda: str(DiffView._css)),
    }
    for page in open_page(browser, html, files, {"width": 1100, "height": 900}):
        page.add_style_tag(content=DARK)
        page.evaluate("() => document.body.setAttribute('data-jp-theme-light', 'false')")
        yield page


def test_tree_and_diff_views_are_legible_in_the_dark_theme(dark: Any) -> None:
    tree = TreeView(small_tree("bfs"))
    dark.evaluate("(data) => window.__mount('tree', data)",
                  {"payload": tree.payload, "selected": 5, "step": tree.step})
    diff = DiffView(["The cat sat.", "The dog sat."], ["Use a dog."], [0.4, 0.8], title="Refine")
    dark.evaluate("(data) => window.__mount('diff', data)",
                  {n: getattr(diff, n) for n in ("rounds", "current", "mode", "title")})
    texts = dark.evaluate(CONTRAST)
    assert len(texts) > 10
    poor = [t for t in texts if t["ratio"] < 4.5 and t["opacity"] == 1]
    assert not poor, poor[:5]
    assert not dark.errors, dark.errors


def test_the_light_theme_stays_legible_too(browser: Any) -> None:
    html = widget_page("itc-lab views, light", {"tree": "/tree_view.js"}, css=("/tree_view.css",),
                       width=980)
    files = {"/tree_view.js": ("text/javascript", lambda: str(TreeView._esm)),
             "/tree_view.css": ("text/css", lambda: str(TreeView._css))}
    for page in open_page(browser, html, files, {"width": 1100, "height": 900}):
        tree = TreeView(small_tree("mcts"))
        page.evaluate("(data) => window.__mount('tree', data)",
                      {"payload": tree.payload, "selected": 5, "step": tree.step})
        texts = page.evaluate(CONTRAST)
        poor = [t for t in texts if t["ratio"] < 4.5 and t["opacity"] == 1]
        assert texts and not poor, poor[:5]
