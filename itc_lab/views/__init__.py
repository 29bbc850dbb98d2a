"""Notebook views: anywidget classes, one module per front-end file in the top-level ``widgets/``.

``TokenView`` (``token_view.js``), ``TraceView`` and ``TraceList`` (``trace_view.js``),
``UsageView`` (``usage_view.js``), ``TreeView`` (``tree_view.js``), ``DiffView``
(``diff_view.js``). ``show(obj)`` picks the right view for a completion or a usage summary.
Each view's numbers come from ``itc_lab.analysis``; outside a notebook it prints a one-line text
summary. Introduced in lesson 00.
"""

from .diff_view import DiffView
from .token_view import TokenView, show
from .trace_view import TraceList, TraceView
from .tree_view import TreeView
from .usage_view import UsageView

__all__ = ["DiffView", "TokenView", "TraceList", "TraceView", "TreeView", "UsageView", "show"]
