"""Watch compute being spent: live views fed as samples and tokens arrive.

- :mod:`itc_lab.live.events` — ``watch(backend, *listeners)``: a backend that reports every call
  (started, tokens, samples, finished or failed, the engine starting) and can be stopped;
  ``Meter`` totals calls, samples, tokens and seconds.

Introduced in lesson 00 (a streaming trace) and lesson 02 (a live vote).
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

__all__ = [
    "CallFailed",
    "CallFinished",
    "CallStarted",
    "EngineEvent",
    "Event",
    "Listener",
    "Meter",
    "RunStopped",
    "SampleFinished",
    "TokenArrived",
    "Watch",
    "instant",
    "watch",
]
