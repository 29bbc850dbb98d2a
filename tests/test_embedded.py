"""The embedded llama.cpp engine, for real (needs the engine built: ./run setup)."""

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import httpx
import pytest

from itc_lab import BackendError, Request
from itc_lab.backends.embedded.backend import EmbeddedBackend
from itc_lab.backends.embedded.process import EngineRestartedWarning

pytestmark = pytest.mark.embedded

PROMPT = "Write one short sentence about the sea."


@pytest.fixture(scope="module")
def engine():
    with EmbeddedBackend(slots=8) as backend:
        backend.start()
        yield backend


def test_eight_samples_are_distinct_and_carry_logprobs(engine):
    out = engine.generate(Request(prompt=PROMPT, temperature=1.0, max_tokens=24,
                                  top_logprobs=5), n=8)
    assert [c.seed for c in out] == list(range(8))
    assert len({c.text for c in out}) == 8
    for c in out:
        assert c.backend == "embedded" and c.model == engine.model
        assert c.has_logprobs and len(c.tokens) == c.completion_tokens
        assert "".join(t.text for t in c.tokens) == c.text
        assert all(len(t.top) == 5 for t in c.tokens)
        # alternatives come most likely first, and the chosen token is among the candidates
        for t in c.tokens:
            lps = [a.logprob for a in t.top]
            assert lps == sorted(lps, reverse=True)
            assert all(lp <= 0 for lp in lps)
        assert c.prompt_tokens > 5
        assert c.latency_s > 0


def test_same_seed_reproduces_alone_and_in_a_batch(engine):
    req = Request(prompt=PROMPT, temperature=1.0, max_tokens=24, seed=3)
    alone = engine.generate(req)[0]
    again = engine.generate(req)[0]
    batch = engine.generate(req.with_seed(0), n=6)  # seed 3 is sample 3 here
    assert alone.text == again.text
    assert batch[3].seed == 3
    assert batch[3].text == alone.text


def test_greedy_is_deterministic_and_max_tokens_holds(engine):
    req = Request(prompt="Count from 1 to 50.", temperature=0, max_tokens=10)
    a, b = engine.generate(req, n=2)  # different seeds, but greedy ignores them
    assert a.text == b.text
    assert a.completion_tokens == 10 and a.finish_reason == "length"


def test_stop_strings_end_generation(engine):
    out = engine.generate(Request(prompt="List three fruits, one per line.", temperature=0,
                                  max_tokens=60, stop=["\n"]))[0]
    assert "\n" not in out.text
    assert out.finish_reason == "stop"


def test_chat_messages_are_accepted(engine):
    out = engine.generate(Request(messages=[
        {"role": "system", "content": "You answer with one word."},
        {"role": "user", "content": "What colour is the sky?"}], temperature=0, max_tokens=8))
    assert out[0].text.strip()


def test_other_models_are_refused_with_a_hint(engine):
    with pytest.raises(ValueError, match="serves only"):
        engine.generate(Request(prompt="hi", model="llama3:70b"))


def test_recovers_after_the_server_is_killed():
    backend = EmbeddedBackend(slots=2)
    try:
        req = Request(prompt=PROMPT, temperature=1.0, max_tokens=16, seed=5)
        before = backend.generate(req)[0]
        pid = backend.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        for _ in range(100):
            if backend.pid is None:
                break
            time.sleep(0.05)
        with pytest.warns(EngineRestartedWarning, match="SIGKILL"):
            after = backend.generate(req)[0]
        assert backend.pid not in (None, pid)
        assert backend.restarts == 1
        assert after.text == before.text  # a new server, the same seed, the same text
    finally:
        backend.close()
    assert backend.pid is None


def test_kill_during_a_call_gives_a_clear_error_then_the_next_call_works():
    backend = EmbeddedBackend(slots=2)
    try:
        backend.start()
        pid = backend.pid
        assert pid is not None
        import threading

        def kill_soon():
            time.sleep(0.3)
            os.kill(pid, signal.SIGKILL)

        threading.Thread(target=kill_soon).start()
        long = Request(prompt="Count from 1 to 1000, separated by commas.", temperature=0,
                       max_tokens=2000)
        with pytest.raises(BackendError, match=r"stopped while answering .*SIGKILL.*Run the cell"):
            backend.generate(long, n=2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", EngineRestartedWarning)
            out = backend.generate(Request(prompt="Say hi.", max_tokens=4))
        assert out[0].completion_tokens > 0
    finally:
        backend.close()


LONG_PROMPT = " ".join(f"Line {i}: the keeper of the lighthouse counts ships." for i in range(30))


def test_shared_prefix_evaluates_the_prompt_once_and_gives_the_same_samples(engine):
    req = Request(prompt=LONG_PROMPT + " Continue the story.", temperature=1.0, max_tokens=12,
                  seed=40, top_logprobs=2)
    before = engine.prompt_tokens_evaluated()
    seen = []
    shared = engine.generate(req, n=8, on_result=seen.append)
    evaluated_shared = engine.prompt_tokens_evaluated() - before
    prompt_len = shared[0].prompt_tokens
    assert prompt_len > 300
    assert evaluated_shared <= prompt_len  # once for all 8 samples (minus any cached prefix)
    assert sorted(c.seed for c in seen) == list(range(40, 48))

    separate = EmbeddedBackend(slots=8, shared_prefix=False)
    try:
        separate.start()
        before = separate.prompt_tokens_evaluated()
        alone = separate.generate(req, n=8)
        evaluated_separate = separate.prompt_tokens_evaluated() - before
    finally:
        separate.close()
    assert evaluated_separate >= 4 * prompt_len  # each slot evaluated the prompt for itself
    # sample i of the shared request is seeded like a request of its own; the texts may still
    # drift apart, because llama.cpp computes the prompt in different batch shapes on the two
    # paths and a tiny difference in the logits can change a draw at temperature 1
    assert [c.seed for c in shared] == [c.seed for c in alone] == list(range(40, 48))
    assert len({c.text for c in shared}) == 8
    # both paths saw the same prompt: the same most likely first token, with nearly the same
    # logprob (how the prompt was split into batches, and what was cached, moves it by up to
    # about 0.12 nats here: -1.13 to -1.24 for this prompt)
    for a, b in zip(shared, alone, strict=True):
        assert a.tokens[0].top[0].text == b.tokens[0].top[0].text
        assert abs(a.tokens[0].top[0].logprob - b.tokens[0].top[0].logprob) < 0.2


def test_more_samples_than_slots_and_scattered_seeds(engine):
    req = Request(prompt=PROMPT, temperature=1.0, max_tokens=8, seed=0)
    many = engine.generate(req, n=11)  # groups of 8 and 3
    assert [c.seed for c in many] == list(range(11))
    assert len({c.text for c in many}) >= 9
    scattered = engine.generate_seeds(req, [5, 2, 3, 4, 9, 9])  # groups [5], [2, 3, 4], [9], [9]
    assert [c.seed for c in scattered] == [5, 2, 3, 4, 9, 9]
    assert all(c.completion_tokens >= 1 for c in scattered)


def test_consecutive_groups():
    from itc_lab.backends.embedded.slots import consecutive_groups

    assert consecutive_groups([0, 1, 2, 3], 8) == [[0, 1, 2, 3]]
    assert consecutive_groups([0, 1, 2, 3, 4], 2) == [[0, 1], [2, 3], [4]]
    assert consecutive_groups([5, 2, 3, 9, 9], 8) == [[0], [1, 2], [3], [4]]
    assert consecutive_groups([], 8) == []


def _busy_slots(backend, stop, seen):
    """Collect the ids of the server's slots that are busy until ``stop`` is set."""
    import httpx

    with httpx.Client(timeout=5) as client:
        while not stop.is_set():
            for s in client.get(backend.url + "/slots").json():
                if s["is_processing"]:
                    seen.add(s["id"])
            time.sleep(0.02)


def test_samples_in_flight_sit_on_the_lowest_slots_side_by_side():
    import threading

    backend = EmbeddedBackend(slots=8)
    try:
        backend.start()
        long_c = Request(prompt="Count from 1 to 1000, separated by commas.", temperature=0,
                         max_tokens=160)
        short_d = Request(prompt="Name a colour.", temperature=0, max_tokens=4)
        # seven samples of C hold slots 0-6 while one sample of D goes in beside them
        worker = threading.Thread(target=backend.generate, args=(long_c,), kwargs={"n": 7})
        worker.start()
        time.sleep(0.5)
        backend.generate(short_d)
        worker.join()
        # now slot 7 holds D's prompt. Left to itself the server would answer D on slot 7 and
        # put the second sample on slot 0: a batch that spans all eight KV streams
        stop, seen = threading.Event(), set()
        watcher = threading.Thread(target=_busy_slots, args=(backend, stop, seen))
        watcher.start()
        try:
            out = backend.generate(Request(prompt="Name a colour.", temperature=1.0,
                                           max_tokens=120, seed=1), n=2)
        finally:
            stop.set()
            watcher.join()
        assert len(out) == 2
        assert seen == {0, 1}
    finally:
        backend.close()


def test_a_request_names_the_slot_that_holds_its_prompt():
    backend = EmbeddedBackend(slots=8)
    try:
        req_a = Request(prompt=LONG_PROMPT + " Continue the story.", temperature=1.0,
                        max_tokens=4, seed=0)
        backend.generate(req_a, n=8)  # every slot holds A
        backend.generate(Request(prompt="Name a colour.", max_tokens=4))  # slot 0 now holds B
        before = backend.prompt_tokens_evaluated()
        out = backend.generate(req_a.with_seed(100), n=2)  # slots 0 and 1: it names slot 1
        evaluated = backend.prompt_tokens_evaluated() - before
        assert out[0].prompt_tokens > 300
        assert evaluated <= 2  # A's prompt came from slot 1's cache, not evaluated again
    finally:
        backend.close()


def test_slot_pool_packs_requests_and_waits_for_room():
    import threading

    from itc_lab.backends.embedded.slots import SlotPool

    pool = SlotPool(4)
    named, taken, gen = pool.acquire(2, "alpha")
    assert (named, taken) == (0, [0, 1])
    assert pool.acquire(1, "beta")[:2] == (2, [2])
    pool.release(named, taken, "alpha", gen)
    # the server will put the extra samples on the lowest free slots: 0, 1 and 3 here
    assert pool.acquire(3, "gamma")[1] == [0, 1, 3]
    with pytest.raises(ValueError, match="1 to 4 slots"):
        pool.acquire(5, "x")

    pool = SlotPool(2)
    named, first, gen = pool.acquire(2, "a")
    got = []
    waiter = threading.Thread(target=lambda: got.append(pool.acquire(1, "b")))
    waiter.start()
    time.sleep(0.1)
    assert got == []  # no slot free: it waits
    pool.release(named, first, "a", gen)
    waiter.join(timeout=5)
    assert got and got[0][:2] == (1, [1])  # slot 0 keeps "a" cached; slot 1 is empty

    # slots taken from a server that has since stopped are not released into the new one
    pool = SlotPool(2)
    named, old, old_gen = pool.acquire(2, "a")
    pool.reset()
    _, new, new_gen = pool.acquire(2, "b")
    pool.release(named, old, "a", old_gen)
    assert new_gen != old_gen and new == [0, 1]
    assert pool._free == set()  # the new server's slots are still held


def _pool_with(prompts):
    """A pool of 8 free slots whose slots hold these prompts (slot -> prompt)."""
    from itc_lab.backends.embedded.slots import SlotPool

    pool = SlotPool(8)
    held = [pool.acquire(1, "") for _ in range(8)]
    assert [h[0] for h in held] == list(range(8))  # single samples in flight pack from slot 0
    for named, taken, gen in held:
        pool.release(named, taken, prompts.get(named, ""), gen)
    return pool


def test_slot_pool_weighs_a_cached_prompt_against_the_span_of_streams():
    few_shot = "Q: 2 + 3? A: 5. " * 250  # 4,000 characters, about 1,000 tokens
    # a long cached prompt on slot 5 is worth spanning six streams for a short answer
    pool = _pool_with({5: few_shot})
    assert pool.acquire(2, few_shot + "Q: 4 + 4?", steps=16)[:2] == (5, [0, 5])
    # a short one is not worth it for a long answer: the two samples go side by side
    pool = _pool_with({5: "Say hi."})
    assert pool.acquire(2, "Say hi. Then count.", steps=512)[1] == [0, 1]
    # a prompt unlike the cached ones takes an empty slot rather than overwrite them
    pool = _pool_with({0: few_shot, 1: few_shot + "x"})
    assert pool.acquire(1, "Something else entirely.")[:2] == (2, [2])
    # and one that shares their start takes the slot holding it
    pool = _pool_with({0: "unrelated", 3: few_shot})
    assert pool.acquire(1, few_shot + "Q: 9 + 1?")[:2] == (3, [3])


def test_shared_start():
    from itc_lab.backends.embedded.slots import _shared_start

    for a, b in [("", ""), ("abc", ""), ("abc", "abd"), ("abc", "abc"), ("abcdef", "abc"),
                 ("x" * 999 + "a", "x" * 999 + "b"), ("q", "r")]:
        pairs = enumerate(zip(a, b, strict=False))
        expected = next((i for i, (x, y) in pairs if x != y), min(len(a), len(b)))
        assert _shared_start(a, b) == _shared_start(b, a) == expected


def test_samples_of_one_request_arrive_as_each_ends(engine):
    req = Request(prompt="List three fruits, one per line.", temperature=1.0, max_tokens=40,
                  stop=["\n"], seed=3, top_logprobs=2)
    arrived = []
    out = engine.generate(req, n=6, on_result=arrived.append)
    assert [c.seed for c in out] == list(range(3, 9))
    assert sorted(c.seed for c in arrived) == list(range(3, 9))
    # each sample carries its own latency, and they reached on_result in that order
    assert [c.latency_s for c in arrived] == sorted(c.latency_s for c in arrived)
    assert len({c.completion_tokens for c in out}) > 1
    assert len({round(c.latency_s, 3) for c in out}) > 1
    assert any(c.finish_reason == "stop" for c in out)
    for c in out:
        assert "\n" not in c.text
        assert c.finish_reason == ("length" if c.completion_tokens == 40 else "stop")
        # the stop string's tokens are no part of the answer
        assert "".join(t.text for t in c.tokens) == c.text
        assert all(len(t.top) == 2 for t in c.tokens)


def test_a_server_killed_mid_request_keeps_the_samples_that_had_ended():
    backend = EmbeddedBackend(slots=8)
    try:
        req = Request(prompt="Is the sea blue? Answer in a word, then explain.",
                      temperature=1.0, max_tokens=300, seed=20)
        lengths = [c.completion_tokens for c in backend.generate(req, n=8)]
        assert min(lengths) < max(lengths) - 50  # some samples end long before others
        pid = backend.pid
        arrived = []

        def kill_after_first(c):
            arrived.append(c)
            if len(arrived) == 1:
                os.kill(pid, signal.SIGKILL)

        with pytest.raises(BackendError, match="stopped while answering"):
            backend.generate(req, n=8, on_result=kill_after_first)
        assert 1 <= len(arrived) < 8
        for c in arrived:  # complete samples, delivered before the failure
            assert c.seed in range(20, 28)
            assert c.completion_tokens == lengths[c.seed - 20]
    finally:
        backend.close()


def test_a_prompt_longer_than_a_slot_says_how_to_make_room():
    with EmbeddedBackend(slots=2, ctx_per_slot=256) as backend:
        for n in (1, 2):  # one request per sample, and one streamed request for both
            with pytest.raises(BackendError, match=r"exceeds .*ctx_per_slot=512"):
                backend.generate(Request(prompt="word " * 600, max_tokens=8), n=n)
        # the slots the refused requests held are free again
        out = backend.generate(Request(prompt="Say hi.", max_tokens=4), n=2)
        assert len(out) == 2 and all(c.completion_tokens >= 1 for c in out)


# -- interrupting a batch, a hung engine, an engine started from a thread ------------------------

INTERRUPTED_CHILD = """
import time
from itc_lab import Request
from itc_lab.backends.embedded.backend import EmbeddedBackend

backend = EmbeddedBackend(slots=8)
backend.start()
print("ready", backend.pid, flush=True)
long = Request(prompt="Count from 1 to 1000, separated by commas.", temperature=1.0,
               max_tokens=1500)
try:
    backend.generate(long, n=8)  # minutes on 2 cores
    print("finished", flush=True)
except KeyboardInterrupt:
    print("interrupted", flush=True)
# the engine keeps running: the next call works on the same server
out = backend.generate(Request(prompt="Say hi.", max_tokens=4))
print("again", backend.pid, out[0].completion_tokens, flush=True)
"""


def _lines(stream, into):
    for line in stream:
        into.put((time.monotonic(), line.strip()))
    into.put((time.monotonic(), None))


def test_ctrl_c_returns_within_seconds_and_the_engine_carries_on():
    child = subprocess.Popen([sys.executable, "-c", INTERRUPTED_CHILD], stdout=subprocess.PIPE,
                             text=True, cwd=Path(__file__).resolve().parents[1])
    lines = queue.Queue()
    threading.Thread(target=_lines, args=(child.stdout, lines), daemon=True).start()
    try:
        _, ready = lines.get(timeout=300)
        assert ready.startswith("ready"), ready
        engine_pid = int(ready.split()[1])
        time.sleep(3)  # the eight samples are being decoded
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)  # what a kernel interrupt does
        at, line = lines.get(timeout=60)
        assert line == "interrupted"
        assert at - sent < 5  # it used to wait for all eight samples: minutes
        _, again = lines.get(timeout=120)
        assert again.split()[:2] == ["again", str(engine_pid)]
        assert int(again.split()[2]) >= 1
        assert child.wait(timeout=60) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    # the engine stopped with the process that owned it
    for _ in range(100):
        try:
            os.kill(engine_pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"the engine (pid {engine_pid}) outlived its process")


def test_a_hung_engine_is_replaced_on_the_next_call():
    backend = EmbeddedBackend(slots=2, request_timeout=5, health_timeout=2)
    hung = None
    try:
        backend.start()
        hung = backend.pid
        assert hung is not None
        os.kill(hung, signal.SIGSTOP)  # alive, but answers nothing
        t0 = time.monotonic()
        with pytest.raises(BackendError, match=r"sent nothing for 5 s .*request_timeout"):
            backend.generate(Request(prompt="Say hi.", max_tokens=4))
        assert time.monotonic() - t0 < 20  # the timeout, not the old 600 s
        backend.request_timeout = 120  # the new engine may be slow to answer on a busy machine
        with pytest.warns(EngineRestartedWarning, match="stopped answering"):
            out = backend.generate(Request(prompt="Say hi.", max_tokens=4))
        assert out[0].completion_tokens >= 1
        assert backend.pid not in (None, hung)
        assert backend.restarts == 1
        with pytest.raises(ProcessLookupError):  # the hung one was killed, not left behind
            os.kill(hung, 0)
    finally:
        if hung is not None:
            for sig in (signal.SIGCONT, signal.SIGKILL):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(hung, sig)
        backend.close()


def test_an_engine_started_from_a_thread_outlives_the_thread():
    # PR_SET_PDEATHSIG fires when the *thread* that started the child ends: a sweep's worker
    # thread used to take the engine with it
    backend = EmbeddedBackend(slots=2)
    try:
        starter = threading.Thread(target=backend.start)
        starter.start()
        starter.join()
        pid, url = backend.pid, backend.url
        assert pid is not None
        time.sleep(3)  # the server used to get SIGTERM at once and be gone within 2 s
        assert backend.pid == pid
        assert httpx.get(f"{url}/health", timeout=10).status_code == 200
        with warnings.catch_warnings():
            warnings.simplefilter("error", EngineRestartedWarning)
            out = backend.generate(Request(prompt="Say hi.", max_tokens=4), n=2)
        assert len(out) == 2
        assert (backend.pid, backend.url) == (pid, url)
    finally:
        backend.close()
