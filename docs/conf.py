"""Sphinx configuration of the itc-lab course site (``./run docs``; see docs/about.md).

Built from the lessons' stored outputs: nothing is executed and no model is needed. Every asset
is served from the site itself: no page loads a script, style sheet or font from another host
(tests/test_docs.py checks this in headless Chromium).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(ROOT))  # the itc_lab of this checkout, for autodoc

import itc_lab  # noqa: E402

if not (HERE / "lessons").is_dir():
    raise RuntimeError(
        "docs/lessons is a symbolic link to ../lessons (the lessons stay in one place), and "
        "docs/datasets/names.txt and arith_curated.jsonl link to ../../datasets. This checkout "
        "has them as plain files: enable symbolic links in git (git config core.symlinks true) "
        "and check the files out again.")

project = "itc-lab"
author = "the itc-lab authors"
copyright = "the itc-lab authors, Apache-2.0"
release = version = itc_lab.__version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "itc_site",
]

exclude_patterns = [
    "_build",
    "README.md",  # notes for whoever edits docs/, not a page
    "**/.ipynb_checkpoints",
    "lessons/[!0-9]*",  # recordings, exercises, sweeps: not pages
]
templates_path: list[str] = []

# ---------------------------------------------------------------- notebooks and Markdown

nb_execution_mode = "off"  # the stored outputs are the site's pictures
nb_output_stderr = "show"
# Widget views are saved without widget state, so ipywidgets' CDN scripts would draw nothing;
# and no page may load a script from another host.
nb_ipywidgets_js: dict[str, dict[str, str]] = {}
# A static form wins over the widget view it stands beside: SVG, then PNG, then HTML (the
# widgets' static snapshots), then the bare widget view (replaced by a note in itc_site), then
# text. myst-nb's defaults rank the widget view first.
nb_mime_priority_overrides = [
    (builder, mime, rank)
    for builder in ("html", "dirhtml", "singlehtml")
    for mime, rank in (
        ("image/svg+xml", 1),
        ("image/png", 2),
        ("image/jpeg", 3),
        ("image/gif", 4),
        ("text/html", 5),
        ("text/markdown", 6),
        ("application/vnd.jupyter.widget-view+json", 7),
        ("text/latex", 8),
        ("text/plain", 9),
        ("application/javascript", None),  # never run a stored script
    )
]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# ---------------------------------------------------------------- the API reference

autosummary_generate = False  # itc_site writes reference/generated/ itself (see there)
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
autodoc_inherit_docstrings = True
autodoc_default_options = {"exclude-members": "__init__, __new__"}
add_module_names = False
napoleon_google_docstring = True
napoleon_numpy_docstring = False
default_role = "code"  # `x` in a docstring is code, as in the README

# ---------------------------------------------------------------- HTML

html_theme = "sphinx_book_theme"
html_title = "itc-lab"
html_static_path = ["_static"]
html_css_files = ["itc-site.css"]
html_last_updated_fmt = None
html_copy_source = True
html_show_sphinx = False
html_context = {"default_mode": "auto"}  # the theme logs an error on every page without one
html_theme_options = {
    "repository_url": "https://github.com/itc-lab/itc-lab",
    "repository_branch": "main",
    # Paths of the launch buttons are taken from the repository's root, where lessons/ lives
    # (docs/lessons is a link to it); the edit and source buttons, which would need docs/, are off.
    "path_to_docs": "",
    "use_repository_button": True,
    "use_edit_page_button": False,
    "use_source_button": False,
    "use_issues_button": False,
    "use_download_button": True,
    "launch_buttons": {"binderhub_url": "https://mybinder.org", "notebook_interface": "jupyterlab"},
    "show_toc_level": 2,
    "home_page_in_toc": True,
    "navigation_with_keys": False,
    # Nothing from another host: no analytics, no version switcher, no external fonts.
    "analytics": {},
}


# ---------------------------------------------------------------- links between lessons

def _lessons_through_their_link(app: object, env: object, docnames: list[str]) -> None:
    """A lesson's link to the next one (``[Lesson 02](02_self_consistency.ipynb)``, which opens
    the notebook in JupyterLab) is resolved by Sphinx through the real path of docs/lessons,
    a link to ../lessons, which lies outside this folder: map those real paths to the lessons'
    pages, so the links work on the site too."""
    project = env.project  # type: ignore[attr-defined]
    for docname in sorted(project.docnames):
        if docname.startswith("lessons/"):
            real = Path(project.doc2path(docname, absolute=True)).resolve()
            project._path_to_docname[real] = docname


def setup(app: object) -> dict[str, bool]:
    app.connect("env-before-read-docs", _lessons_through_their_link)  # type: ignore[attr-defined]
    return {"parallel_read_safe": True}
