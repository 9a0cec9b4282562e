"""Serving the embedded model with llama-cpp-python's OpenAI-compatible server on loopback."""

from __future__ import annotations

import atexit
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from termigen_harbor.llm.local_model import DEFAULT_MODEL, cache_dir, ensure_weights, model_spec
from termigen_harbor.llm.types import LLMError


class ServerError(LLMError):
    """The local model server could not be started; the message says why."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def models_listed(base_url: str, timeout_s: float = 2.0) -> list[str]:
    with urllib.request.urlopen(f"{base_url}/models", timeout=timeout_s) as response:
        return [m["id"] for m in json.load(response).get("data", [])]


# The model's state after each reply, kept in RAM by prompt (llama-cpp-python's LlamaRAMCache, the
# oldest dropped first): a request that starts as an earlier one did (a repair of the same file, a
# new round whose prompt differs only at its end) skips evaluating that start again. Tasks
# synthesized at once interleave their requests, so the one state llama.cpp keeps is rarely the
# right one; on 2 cores a 2,000-token prompt takes about a minute to read (38 tokens/s in run R),
# and one read again from the cache about a quarter of that (benchmarks/README.md).
PROMPT_CACHE_BYTES = 4 << 30


class LocalModelServer:
    def __init__(self, key: str = DEFAULT_MODEL, port: int | None = None, n_ctx: int = 8192, n_threads: int | None = None, say: Callable[[str], None] = lambda _m: None,
                 instance: str = "", prompt_cache: bool = True):
        self.spec = model_spec(key)
        self.alias = key
        self.port = port
        self.n_ctx = n_ctx
        self.n_threads = n_threads or os.cpu_count() or 2
        self.say = say
        self.prompt_cache = prompt_cache
        self.process: subprocess.Popen | None = None
        self.log_path = cache_dir() / "logs" / f"llama-server-{key}{'-' + instance if instance else ''}.log"  # one log per server: a death is told from its own

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self, model_path: Path) -> list[str]:
        return [
            sys.executable, "-m", "termigen_harbor.llm.server_child", str(os.getpid()),
            "--model", str(model_path), "--model_alias", self.alias,
            "--n_threads", str(self.n_threads), "--n_ctx", str(self.n_ctx),
            *(["--cache", "true", "--cache_size", str(PROMPT_CACHE_BYTES)] if self.prompt_cache else []),
            "--host", "127.0.0.1", "--port", str(self.port),
        ]  # fmt: skip

    def start(self, timeout_s: float = 180) -> str:
        if self.process and self.process.poll() is None:
            return self.base_url
        if importlib.util.find_spec("llama_cpp") is None:
            raise ServerError("llama-cpp-python[server] is not installed: run scripts/provision.sh (it builds it, 5-7 min)")
        model_path = ensure_weights(self.spec.key, say=self.say)
        self.port = self.port or free_port()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.say(f"starting the local model server ({self.alias}) on {self.base_url}")
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(self.command(model_path), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        atexit.register(self.stop)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(f"the local model server exited with code {self.process.returncode}:\n{self._log_tail()}")
            try:
                if self.alias in models_listed(self.base_url):
                    return self.base_url
            except (urllib.error.URLError, OSError, ValueError):
                pass
            time.sleep(0.3)
        self.stop()
        raise ServerError(f"the local model server did not answer within {timeout_s:.0f} s:\n{self._log_tail()}")

    def death(self) -> str | None:
        """Why the server is gone, when it died after it started (a crash while answering): its
        exit, and the end of its log. A llama.cpp build with AMX faulted at the first long prompt on
        machines of this kind, and the client saw only "Connection error", five times."""
        if self.process is None:
            return None
        try:  # a server that just crashed may close its socket a moment before it is reaped
            code = self.process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            return None
        how = f"signal {signal.Signals(-code).name}" if code < 0 and -code in {s.value for s in signal.Signals} else f"exit code {code}"
        hint = ": its llama.cpp build may not run on this CPU (scripts/provision.sh checks it and rebuilds it)" if code in (-signal.SIGSEGV, -signal.SIGILL, -signal.SIGBUS) else ""
        return f"the local model server ({self.alias}) died while answering ({how}){hint}; the end of its log ({self.log_path}):\n{self._log_tail()}"

    def _log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").strip().splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> LocalModelServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


_shared: dict[str, LocalModelServer] = {}
_shared_lock = threading.Lock()


def shared_server(key: str = DEFAULT_MODEL, instance: str = "", say: Callable[[str], None] = lambda _m: None) -> str:
    """The base URL of this process's one server for (`key`, `instance`), started on first use.

    TERMIGEN_LOCAL_BASE_URL points every process at one server started elsewhere
    (`termigen llm serve`), so concurrent trials do not each load the model."""
    external = os.environ.get("TERMIGEN_LOCAL_BASE_URL")
    if external:
        return external.rstrip("/")
    with _shared_lock:
        name = f"{key}#{instance}" if instance else key
        server = _shared.get(name) or _shared.setdefault(name, LocalModelServer(key, say=say, instance=instance))
        return server.start()


def shared_server_death(key: str = DEFAULT_MODEL, instance: str = "") -> str | None:
    """Why this process's server for (`key`, `instance`) died, if it did (LocalModelServer.death)."""
    with _shared_lock:
        server = _shared.get(f"{key}#{instance}" if instance else key)
    return server.death() if server else None


def stop_shared() -> None:
    """Stops every server this process started (also done at exit)."""
    with _shared_lock:
        for server in _shared.values():
            server.stop()
        _shared.clear()


@contextmanager
def openai_endpoint(key: str = DEFAULT_MODEL, instance: str = "") -> Iterator[str]:
    """For code that reaches models through litellm alone (Harbor's Terminus-2): this process's
    server for `key`, with litellm's OpenAI base URL pointed at it while the block runs. Yields the
    litellm model name. The URL is not passed as an argument, so a resumed Harbor job (which must
    see the same config) does not depend on the port the server got this time."""
    base_url = shared_server(key, instance)
    saved = {name: os.environ.get(name) for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY")}
    os.environ["OPENAI_BASE_URL"] = base_url  # litellm's first choice after an explicit api_base
    os.environ.setdefault("OPENAI_API_KEY", "local")  # litellm insists on a key; the loopback server ignores it
    try:
        yield f"openai/{key}"
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
