"""How many Ollama requests are in flight at once, measured by a stand-in server (sync and async).

The oracle: n requests of equal latency sent at most c at a time are in flight min(n, c) at most
and go out in ceil(n / c) rounds. Rounds are counted from the server's own start and finish
times (see ``ollama_standin.waves``), never from a wall-clock threshold.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from itc_lab.backends.base import check_concurrency, generate_async
from itc_lab.backends.ollama import OllamaBackend
from itc_lab.errors import BackendError
from itc_lab.types import Completion, Message, Request

from .ollama_standin import OllamaStandIn, Visit, waves


@pytest.fixture
def standin() -> Iterator[OllamaStandIn]:
    # 0.3 s per request: far above thread start-up jitter, so the rounds are clear-cut
    with OllamaStandIn(latency=0.3) as server:
        yield server


def _no_latency(cs: list[Completion]) -> list[Completion]:
    return [dataclasses.replace(c, latency_s=0.0) for c in cs]


def _request(chat: bool, **kw: Any) -> Request:
    if chat:
        return Request(messages=(Message("user", "Your seed?"),), **kw)
    return Request(prompt="Your seed?", **kw)


# -- the wave counter itself, against hand-made timelines ---------------------------------------

def test_waves_counts_rounds_from_start_and_finish_times() -> None:
    def v(start: float, end: float) -> Visit:
        return Visit("/api/generate", {}, start, end)

    assert waves([]) == 0
    assert waves([v(0, 1), v(0, 1), v(0, 1)]) == 1
    assert waves([v(0, 1), v(0.01, 1.01), v(1.0, 2.0), v(1.01, 2.01)]) == 2
    assert waves([v(0, 1), v(1, 2), v(2, 3)]) == 3  # one at a time
    # a request that starts while the first round is still running is in round 1
    assert waves([v(0, 1), v(0.5, 1.5), v(1.2, 2.2)]) == 2


# -- sync fan-out --------------------------------------------------------------------------------

@pytest.mark.parametrize(("n", "concurrency"), [(8, 4), (4, 1), (8, 8), (6, 4), (5, 2)])
def test_in_flight_and_rounds_match_the_bound(standin: OllamaStandIn, n: int,
                                              concurrency: int) -> None:
    backend = OllamaBackend(host=standin.host, concurrency=concurrency)
    out = backend.generate(Request(prompt="x", seed=10), n=n)

    assert [c.seed for c in out] == list(range(10, 10 + n))
    assert [c.text for c in out] == [f"Seed {s}." for s in range(10, 10 + n)]
    assert len(standin.visits) == n
    assert standin.max_in_flight == min(n, concurrency)
    assert standin.waves() == math.ceil(n / concurrency)


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("chat", [True, False])
def test_eight_samples_at_concurrency_four_take_two_rounds(standin: OllamaStandIn, stream: bool,
                                                           chat: bool) -> None:
    backend = OllamaBackend(host=standin.host, concurrency=4, stream=stream)
    out = backend.generate(_request(chat, top_logprobs=2), n=8)

    assert {v.path for v in standin.visits} == {"/api/chat" if chat else "/api/generate"}
    assert all(v.body["stream"] is stream for v in standin.visits)
    assert standin.max_in_flight == 4
    assert standin.waves() == 2
    assert [c.text for c in out] == [f"Seed {s}." for s in range(8)]
    assert all(len(c.tokens) == 3 and len(c.tokens[1].top) == 2 for c in out)


# -- async ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("stream", [True, False])
def test_async_gives_the_same_completions_as_sync(standin: OllamaStandIn, stream: bool) -> None:
    backend = OllamaBackend(host=standin.host, concurrency=4, stream=stream)
    request = Request(prompt="x", seed=3, top_logprobs=3, temperature=0.5)
    sync = backend.generate(request, n=8)
    standin.reset()
    loop_thread: list[int] = []
    seen: list[tuple[int, int]] = []

    async def main() -> list[Completion]:
        loop_thread.append(threading.get_ident())
        return await backend.agenerate(
            request, n=8, on_result=lambda c: seen.append((c.seed, threading.get_ident())))

    out = asyncio.run(main())

    assert _no_latency(out) == _no_latency(sync)
    assert standin.max_in_flight == 4
    assert standin.waves() == 2
    assert sorted(s for s, _ in seen) == list(range(3, 11))  # once per sample
    assert {t for _, t in seen} == set(loop_thread)  # on the event loop's thread


def test_async_concurrency_one_is_sequential(standin: OllamaStandIn) -> None:
    backend = OllamaBackend(host=standin.host, concurrency=1)
    out = asyncio.run(backend.agenerate(Request(prompt="x"), n=3))
    assert [c.seed for c in out] == [0, 1, 2]
    assert standin.max_in_flight == 1
    assert standin.waves() == 3
    assert [v.seed for v in sorted(standin.visits, key=lambda v: v.started)] == [0, 1, 2]


def test_concurrency_larger_than_the_default_executor_is_honoured() -> None:
    # asyncio's default executor has min(32, cores + 4) threads; agenerate must not be capped
    with OllamaStandIn(latency=0.3) as server:
        backend = OllamaBackend(host=server.host, concurrency=12)
        out = asyncio.run(backend.agenerate(Request(prompt="x"), n=12))
        assert len(out) == 12
        assert server.max_in_flight == 12
        assert server.waves() == 1


def test_cancelling_stops_sending_and_delivering(standin: OllamaStandIn) -> None:
    backend = OllamaBackend(host=standin.host, concurrency=2)
    delivered: list[int] = []

    async def main() -> None:
        task: asyncio.Task[list[Completion]] | None = None

        def on_result(c: Completion) -> None:
            delivered.append(c.seed)
            assert task is not None
            task.cancel()  # interrupt at the first result

        task = asyncio.create_task(backend.agenerate(Request(prompt="x"), n=6,
                                                     on_result=on_result))
        with pytest.raises(asyncio.CancelledError):
            await task
        # keep the loop running while the requests already in flight finish: any late
        # delivery would land in `delivered` now
        assert await asyncio.to_thread(standin.wait_idle)
        await asyncio.sleep(0.05)

    asyncio.run(main())

    # seeds 0 and 1 finish in the same round; whichever came first cancelled the task, and the
    # other one, done moments later, was not delivered
    assert len(delivered) == 1
    assert delivered[0] in (0, 1)
    sent = {v.seed for v in standin.visits}
    # rounds 1 (seeds 0, 1) and at most the two requests the freed workers had picked up
    assert {0, 1} <= sent <= {0, 1, 2, 3}


def test_a_failing_sample_raises_after_the_others_in_flight() -> None:
    with OllamaStandIn(latency=0.3, fail_seeds=(0,)) as server:
        backend = OllamaBackend(host=server.host, concurrency=2, stream=False)
        delivered: list[int] = []
        with pytest.raises(BackendError, match="scripted failure on seed 0"):
            asyncio.run(backend.agenerate(Request(prompt="x"), n=6,
                                          on_result=lambda c: delivered.append(c.seed)))
        # seed 0 fails at once; seed 1 is in flight and still delivered; seeds 2-5 are never
        # sent (the failing worker stops the batch before it can take the next seed)
        assert {v.seed for v in server.visits} == {0, 1}
        assert delivered == [1]


def test_a_failing_sample_stops_the_sync_batch_too() -> None:
    with OllamaStandIn(latency=0.3, fail_seeds=(0,)) as server:
        backend = OllamaBackend(host=server.host, concurrency=2, stream=False)
        delivered: list[int] = []
        with pytest.raises(BackendError, match="scripted failure on seed 0"):
            backend.generate(Request(prompt="x"), n=6,
                             on_result=lambda c: delivered.append(c.seed))
        assert {v.seed for v in server.visits} == {0, 1}
        assert delivered == [1]


INTERRUPTED_CHILD = """
import sys
from itc_lab.backends.ollama import OllamaBackend
from itc_lab.types import Request

backend = OllamaBackend(host=sys.argv[1], concurrency=4)
print("sending", flush=True)
try:
    backend.generate(Request(prompt="x"), n=8)
    print("finished", flush=True)
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""


def test_ctrl_c_returns_at_once_and_sends_nothing_more() -> None:
    # a stalled server: 60 s per request. Ctrl-C used to wait for all 8 samples (2 minutes)
    with OllamaStandIn(latency=60) as server:
        child = subprocess.Popen([sys.executable, "-c", INTERRUPTED_CHILD, server.host],
                                 stdout=subprocess.PIPE, text=True,
                                 cwd=Path(__file__).resolve().parents[1])
        lines: queue.Queue[tuple[float, str]] = queue.Queue()

        def read() -> None:
            assert child.stdout is not None
            for line in child.stdout:
                lines.put((time.monotonic(), line.strip()))

        threading.Thread(target=read, daemon=True).start()
        try:
            assert lines.get(timeout=120)[1] == "sending"
            wait_until = time.monotonic() + 60
            while server.in_flight < 4 and time.monotonic() < wait_until:
                time.sleep(0.02)
            assert server.in_flight == 4
            sent = time.monotonic()
            child.send_signal(signal.SIGINT)  # what a kernel interrupt does
            at, line = lines.get(timeout=60)
            assert line == "interrupted"
            assert at - sent < 5  # the call returned at once
            assert child.wait(timeout=60) == 0  # and nothing kept the process from ending
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    assert len(server.visits) == 4  # the 4 samples still queued were never sent


class Wrapped:
    """A backend with only the sync protocol, like the recordings."""

    name = "wrapped"

    def __init__(self, live: OllamaBackend) -> None:
        self.live = live
        self.model = live.model

    def generate(self, request: Request, n: int = 1, *, on_result: Any = None
                 ) -> list[Completion]:
        return self.live.generate(request, n, on_result=on_result)

    def generate_seeds(self, request: Request, seeds: Any, *, on_result: Any = None
                       ) -> list[Completion]:
        return self.live.generate_seeds(request, seeds, on_result=on_result)

    def describe(self) -> str:
        return "wrapped"


def test_generate_async_works_for_backends_without_agenerate(standin: OllamaStandIn) -> None:
    live = OllamaBackend(host=standin.host, concurrency=3)
    loop_thread: list[int] = []
    seen: list[int] = []

    async def main() -> list[Completion]:
        loop_thread.append(threading.get_ident())

        def on_result(c: Completion) -> None:
            assert threading.get_ident() == loop_thread[0]
            seen.append(c.seed)

        return await generate_async(Wrapped(live), Request(prompt="x", seed=5), n=6,
                                    on_result=on_result)

    out = asyncio.run(main())
    assert [c.seed for c in out] == list(range(5, 11))
    assert sorted(seen) == list(range(5, 11))  # all delivered before the await returned
    assert standin.max_in_flight == 3
    assert standin.waves() == 2


def test_cancelling_a_blocking_batch_stops_it_too(standin: OllamaStandIn) -> None:
    backend = Wrapped(OllamaBackend(host=standin.host, concurrency=2))
    delivered: list[int] = []

    async def main() -> None:
        task: asyncio.Task[list[Completion]] | None = None

        def on_result(c: Completion) -> None:
            delivered.append(c.seed)
            assert task is not None
            task.cancel()

        task = asyncio.create_task(generate_async(backend, Request(prompt="x"), n=6,
                                                  on_result=on_result))
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await asyncio.to_thread(standin.wait_idle)
        await asyncio.sleep(0.05)

    asyncio.run(main())

    assert len(delivered) == 1 and delivered[0] in (0, 1)
    # the batch stops at its next result: round 2 (seeds 2 and 3) was already out, 4 and 5 never
    assert {v.seed for v in standin.visits} <= {0, 1, 2, 3}


# -- configuration -------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "4"])
def test_concurrency_must_be_a_whole_number_of_at_least_one(bad: Any) -> None:
    with pytest.raises(ValueError, match=r"concurrency must be a whole number >= 1") as info:
        OllamaBackend(concurrency=bad)
    assert repr(bad) in str(info.value)
    with pytest.raises(ValueError, match="concurrency"):
        check_concurrency(bad)
    assert check_concurrency(3) == 3
