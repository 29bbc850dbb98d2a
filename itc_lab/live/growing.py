"""Live views that grow with the computation: a search tree node by node, a refinement round by
round. Each has the live views' meter and Stop button (:class:`~itc_lab.live.views.LiveView`).

Show the view, then run the technique on the view's watched backend with the view's callback,
in the cell or in the background with :func:`itc_lab.live.start` (then the Stop button works
while it runs)::

    view = LiveTreeView(title="BFS, beam 3")
    run = live.start(game24_search, puzzle, view.watch(backend), beam_width=3,
                     on_progress=view.grow)
    view

    view = LiveRefineView(title="checker feedback")
    run = live.start(self_refine, task, view.watch(backend), critic="checker",
                     on_round=view.add_round)
    view

- :class:`LiveTreeView` — a ``TreeView`` fed by the search's ``on_progress``: only what changed
  goes to the browser, a few times a second, never the whole tree again; new rows flash, and the
  header counts nodes, the budget spent and the seconds.
- :class:`LiveRefineView` — a ``DiffView`` fed by ``self_refine``'s ``on_round``: each new draft
  adds its round (feedback, word diff, score change) and the view shows it, unless the reader
  went back to an earlier round.

When the run ends (or is stopped: the search keeps the tree so far, the refinement the drafts so
far) the view's output is replaced by its final form, so a saved notebook shows the final
picture as its static snapshot. Introduced in lessons 03 and 05.
"""

from __future__ import annotations

from typing import Any

from ..views.base import FRONTEND, bundle_esm, esc
from ..views.diff_view import DiffView
from ..views.tree_view import TreeView, tree_summary
from .events import CallFailed, Event
from .views import LiveView, meter_html, meter_text

__all__ = [
    "LiveRefineView",
    "LiveTreeView",
]

_STYLES = {name: (FRONTEND / name).read_text(encoding="utf-8")
           for name in ("token_view.css", "live.css", "tree_view.css", "diff_view.css")}


class _Grows(LiveView):
    """What both views share: the run ends with the technique (its last report), not with one
    model call; a call that fails (an error, an interrupt) ends it too."""

    def _handle(self, event: Event) -> None:
        if isinstance(event, CallFailed):
            self._failed = True

    def _ends_with_call(self) -> bool:
        return bool(getattr(self, "_failed", False))

    def _meter_state(self) -> dict[str, Any]:
        m = super()._meter_state()
        if self._stop_reason and m.get("state") == "done":
            # stopped between two calls (the technique then ends by itself): say so
            m["state"] = "stopped"
        return m

    def _end_reason(self) -> str:
        state = self._meter_state()["state"]
        return state if state in ("failed", "stopped") else "interrupted"


class LiveTreeView(_Grows, TreeView):
    """A search tree that grows as the search expands nodes, with the meter and a Stop button.

    ``LiveTreeView(title="")``; pass ``view.watch(backend)`` as the search's backend and
    ``view.grow`` as its ``on_progress`` (``game24_search``, ``tree_of_thoughts``, or ``bfs``,
    ``dfs``, ``mcts`` on your own problem). The Stop button ends the search with the tree so far
    (``tree.stopped == "stopped"``). Introduced in lesson 03.
    """

    _esm = bundle_esm("live_tree.js")  # type: ignore[assignment]
    _css = "\n".join(  # type: ignore[assignment]
        _STYLES[n] for n in ("token_view.css", "live.css", "tree_view.css"))

    def __init__(self, *, title: str = "") -> None:
        super().__init__(title=title)

    def grow(self, progress: Any) -> None:
        """Take one report of the search (pass this as its ``on_progress``)."""
        with self._lock:
            TreeView.grow(self, progress)

    def _grown(self) -> None:
        LiveView.finish(self)

    def finish(self) -> None:
        """Show the tree as it stands as the final picture (called when the run ends; a search
        that ends by itself calls it through its last report)."""
        with self._lock:
            self.end_growth(self._end_reason())  # no-op after the search's own last report
        LiveView.finish(self)

    def _text_summary(self) -> str:
        tree = tree_summary(self.payload).removeprefix("TreeView: ")
        return f"LiveTreeView: {tree} · {meter_text(self.summary)}"

    def _static_html(self) -> str:
        with self._lock:
            m = self._meter_state()
            tree = TreeView._static_html(self)
        title = f"<strong>{esc(self.title)}</strong>" if self.title else ""
        return title + meter_html(m) + tree


class LiveRefineView(_Grows, DiffView):
    """A refinement loop's rounds appearing as they are produced, with the meter and a Stop
    button.

    ``LiveRefineView(title="", mode="inline")``; pass ``view.watch(backend)`` as
    ``self_refine``'s backend and ``view.add_round`` as its ``on_round``. The Stop button ends
    the run with the drafts so far (``self_refine`` then raises ``RunStopped`` at its next call,
    and the view keeps every round written). Introduced in lesson 05.
    """

    _esm = bundle_esm("live_refine.js")  # type: ignore[assignment]
    _css = "\n".join(  # type: ignore[assignment]
        _STYLES[n] for n in ("token_view.css", "live.css", "diff_view.css"))

    def __init__(self, *, title: str = "", mode: str = "inline") -> None:
        super().__init__(title=title, mode=mode)

    def add_round(self, r: Any) -> None:
        """Take one draft of the refinement (pass this as ``self_refine``'s ``on_round``)."""
        with self._lock:
            DiffView.add_round(self, r)
        if r.stopped is not None:
            LiveView.finish(self)

    def finish(self) -> None:
        """Show the rounds so far as the final picture (called when the run ends)."""
        with self._lock, self.hold_sync():
            if self.growing:
                self.growing = False
                self.stopped = self.stopped or self._end_reason()
        LiveView.finish(self)

    def _text_summary(self) -> str:
        rounds = DiffView._text_summary(self).removeprefix("DiffView: ")
        return f"LiveRefineView: {rounds} · {meter_text(self.summary)}"

    def _static_html(self) -> str:
        with self._lock:
            m = self._meter_state()
            body = self._snapshot(with_title=False)
        title = f"<strong>{esc(self.title)}</strong>" if self.title else ""
        return title + meter_html(m) + body
