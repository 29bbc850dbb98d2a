"""Watch compute being spent: live views fed as samples and tokens arrive.

- :mod:`itc_lab.live.events` — ``watch(backend, *listeners)``: a backend that reports every call
  (started, tokens, samples, finished or failed, the engine starting) and can be stopped;
  ``Meter`` totals calls, samples, tokens and seconds.
- :mod:`itc_lab.live.views` — ``LiveVoteView`` (vote bars rising, running majority, maj@k,
  early-stopping rules that can stop the run) and ``LiveTraceView`` (tokens streaming in with
  their confidence), each with a meter and a Stop button; ``LiveView`` to build more.
- :mod:`itc_lab.live.run` — ``start(fn, *args, **kwargs)``: run a technique in the background so
  the Stop button works; ``run.result()`` waits for it.
- :mod:`itc_lab.live.growing` — ``LiveTreeView`` (a search tree growing node by node, fed by a
  search's ``on_progress``) and ``LiveRefineView`` (each refinement round's diff as it comes,
  fed by ``self_refine``'s ``on_round``).
- :mod:`itc_lab.live.feedback` — the waiting note under a cell whose model call takes a while.

Introduced in lesson 00 (a streaming trace), lesson 02 (a live vote), lesson 03 (a growing tree)
and lesson 05 (refinement rounds).
"""

from .events import (
    CallFailed,
    CallFinished,
    CallStarted,
    EngineEvent,
    Event,
    Listener,
    Meter,
    RunStopped,
    SampleFinished,
    TokenArrived,
    Watch,
    instant,
    watch,
)
from .feedback import WaitingNote, feedback
from .growing import LiveRefineView, LiveTreeView
from .run import LiveRun, start
from .views import LiveTraceView, LiveView, LiveVoteView, meter_html, meter_text

__all__ = [
    "CallFailed",
    "CallFinished",
    "CallStarted",
    "EngineEvent",
    "Event",
    "Listener",
    "LiveRefineView",
    "LiveRun",
    "LiveTraceView",
    "LiveTreeView",
    "LiveView",
    "LiveVoteView",
    "Meter",
    "RunStopped",
    "SampleFinished",
    "TokenArrived",
    "WaitingNote",
    "Watch",
    "feedback",
    "instant",
    "meter_html",
    "meter_text",
    "start",
    "watch",
]
