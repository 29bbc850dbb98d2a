"""Shared pieces of the browser tests: headless Chromium through Playwright, and a page whose
files are served by Playwright's request routing (no server, no network)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ORIGIN = "http://itc-lab.test"
ARTIFACTS = Path(__file__).parent / "artifacts"
IMG_XSS = "<img src=x onerror=window.__pwned=1>"
SCRIPT_XSS = "<script>window.__pwned=2</script>"


class Page:
    """A Playwright page, plus the paths it requested and the errors it logged."""

    def __init__(self, page: Any) -> None:
        self._page = page
        self.requests: list[str] = []
        self.errors: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._page, name)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install it with `sudo apt-get install -y chromium` "
                    "(./run test does this).", pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - the dev extra installs it
        pytest.fail(f"Playwright for Python is not importable ({exc}); "
                    "install the dev extra: pip install -e '.[dev]'.", pytrace=False)
    try:
        pw = sync_playwright().start()
    except Exception as exc:
        pytest.fail(f"Playwright's driver could not start: {exc!r}. The browser tests need it; "
                    "reinstall playwright (pip install --force-reinstall playwright).",
                    pytrace=False)
    try:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking"],
        )
    except Exception as exc:
        pw.stop()
        pytest.fail(f"Playwright could not launch {CHROMIUM}: {exc}", pytrace=False)
    yield chromium
    chromium.close()
    pw.stop()


def open_page(browser: Any, html: str, files: Mapping[str, tuple[str, Callable[[], str]]],
              viewport: dict[str, int]) -> Iterator[Page]:
    """A page at ``ORIGIN/index.html`` serving ``html`` and ``files`` (path → type, body)."""
    context = browser.new_context(viewport=viewport)
    page = Page(context.new_page())
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))

    def serve(route: Any) -> None:
        path = route.request.url[len(ORIGIN):].split("?")[0]
        page.requests.append(path)
        if path in ("/", "/index.html"):
            route.fulfill(status=200, content_type="text/html", body=html)
        elif path in files:
            ctype, body = files[path]
            route.fulfill(status=200, content_type=ctype, body=body())
        elif path == "/favicon.ico":
            route.fulfill(status=204, body="")
        else:
            route.fulfill(status=404, body="not found")

    page.route(f"{ORIGIN}/**", serve)
    page.goto(f"{ORIGIN}/index.html")
    page.wait_for_function("window.__ready === true")
    yield page
    context.close()


def widget_page(title: str, modules: Mapping[str, str], *, css: tuple[str, ...] = (),
                width: int = 680, extra_js: str = "") -> str:
    """The one harness page for every view's front end: it imports each ES module of
    ``modules`` (kind → served path) and offers ``window.__mount(kind, data, module)``, which
    renders that kind (or the module at the path ``module``) with a fake anywidget model over
    ``data`` and returns the render time in ms. ``window.__mounted`` then holds ``el``, ``data``,
    ``sets`` (every ``model.set``/``save_changes``), ``update(name, value)`` (a change from
    Python) and ``listeners``; ``window.__sets`` is ``sets``."""
    links = "\n".join(f'<link rel="stylesheet" href="{c}">' for c in css)
    imports = "\n".join(f'  import {kind}Module from "{path}";' for kind, path in modules.items())
    table = ", ".join(f"{kind}: {kind}Module" for kind in modules)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
{links}
<style>body {{ margin: 16px; width: {width}px; background: #fff; }}</style>
</head><body>
<script type="module">
{imports}
  window.__modules = {{ {table} }};
{extra_js}
  window.__mount = async (kind, data, module) => {{
    const mod = module ? (await import(module)).default : window.__modules[kind];
    const listeners = {{}};
    const sets = [];
    window.__sets = sets;
    const model = {{
      get: (name) => data[name],
      set: (name, value) => {{ data[name] = value; sets.push([name, value]); }},
      save_changes: () => {{ sets.push(["save"]); }},
      on: (event, cb) => {{ (listeners[event] ||= []).push(cb); }},
      off: (event, cb) => {{
        listeners[event] = (listeners[event] || []).filter((f) => f !== cb);
      }},
      send: () => {{}},
    }};
    const el = document.createElement("div");
    el.className = "mount-" + kind;
    document.body.appendChild(el);
    const t0 = performance.now();
    const cleanup = await mod.render({{ model, el }});
    const ms = performance.now() - t0;
    const update = (name, value) => {{
      data[name] = value;
      for (const cb of listeners["change:" + name] || []) cb();
    }};
    window.__mounted = {{ el, data, sets, update, cleanup, listeners }};
    return ms;
  }};
  window.__ready = true;
</script>
</body></html>
"""


CONTRAST_HELPERS = """
  // WCAG contrast: colours as [r, g, b, alpha]; relative luminance; a colour over another;
  // the background an element's text is drawn on (every background from the page up to it)
  const rgb = (c) => { const m = c.match(/[\\d.]+/g).map(Number);
                       return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1]; };
  const lum = ([r, g, b]) => { const f = (v) => { v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const mix = (top, bottom) => top.slice(0, 3).map((v, i) => v * top[3] + bottom[i] * (1 - top[3]));
  const background = (el) => {
    const chain = [];
    for (let e = el; e; e = e.parentElement) chain.push(getComputedStyle(e).backgroundColor);
    let colour = [255, 255, 255];
    for (const c of chain.reverse()) colour = mix(rgb(c), colour);
    return colour;
  };
"""
"""JavaScript for a page function (``() => { CONTRAST_HELPERS ... }``): ``rgb``, ``lum``,
``mix`` and ``background``, to measure text contrast as a learner's eye meets it."""
