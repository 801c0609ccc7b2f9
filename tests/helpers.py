"""The real `chatnut serve` process for end-to-end tests.

Readiness is an event, not a guess: the server logs "chatnut ready" once it
accepts connections (and has written server.port), and `start` waits for that
line on its stderr.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from tests.spawner import SpawnedProcess, forking, spawn_server

READY_MARK = "chatnut ready on"
TOKEN = "test-token-0123456789abcdef"  # the token_server fixture's (tests/conftest.py)

# A JSON-RPC POST to /mcp/ by hand (the tests that check what the server answers
# before, or instead of, an SDK client): the headers a client sends, and with
# the protocol version a stateless call carries; an `initialize` request.
MCP_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
MCP_CALL_HEADERS = {**MCP_HEADERS, "mcp-protocol-version": "2025-11-25"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}
START_TIMEOUT = 60.0
# Servers told to stop by `stop_soon`, and those that did not stop in time.
STOPPING: list[threading.Thread] = []
STOPS_THAT_HUNG: list[str] = []


class ServerProcess:
    def __init__(
        self,
        home: Path,
        extra_args: list[str] | None = None,
        env: dict[str, str] | None = None,
        wrapper: list[str] | None = None,
    ) -> None:
        self.home = home
        self.extra_args = extra_args or []
        self.extra_env = env or {}
        self.wrapper = wrapper or []  # e.g. setpriv, to run the server as another user
        self.port = 0
        self.proc: subprocess.Popen[str] | SpawnedProcess | None = None
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.output: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def mcp_url(self) -> str:
        return f"{self.url}/mcp/"

    def command(self, port: int) -> list[str]:
        serve = [sys.executable, "-m", "chatnut", "serve", "--port", str(port)]
        return [*self.wrapper, *serve, *self.extra_args]

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "CHATNUT_HOME": str(self.home),
                "CHATNUT_OPEN_BROWSER": "0",
                "CHATNUT_UPDATE_CHECK": "0",
                **self.extra_env,
            }
        )
        for name in ("CHATNUT_DB", "CHAT_DB_PATH", "CHATNUT_TOKEN", "CHATNUT_PORT"):
            if name not in self.extra_env:
                env.pop(name, None)
        return env

    def start(self, port: int | None = None) -> None:
        """Start (or restart, on the same port unless told otherwise) and wait until ready."""
        self.lines = queue.Queue()
        command = self.command(self.port if port is None else port)
        if forking() and not self.wrapper and not any(map(_sets_up_python, self.extra_env)):
            # The same `chatnut serve` in a process of its own, forked from a process
            # that has already imported it (tests/spawner.py says why).
            self.proc = spawn_server(command[3:], self.environment())
        else:
            self.proc = subprocess.Popen(
                command,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
        # Each process gets its own queue: a killed predecessor's reader may still
        # be draining its pipe, and its end-of-output must not reach this one.
        threading.Thread(target=self._pump, args=(self.proc, self.lines), daemon=True).start()
        while True:
            try:
                line = self.lines.get(timeout=START_TIMEOUT)
            except queue.Empty:
                self.kill()
                raise RuntimeError(
                    "server did not become ready:\n" + "".join(self.output)
                ) from None
            if line is None:
                raise RuntimeError("server exited before ready:\n" + "".join(self.output))
            if READY_MARK in line:
                run_dir = Path(self.extra_env.get("CHATNUT_RUN_DIR") or self.home)
                self.port = int((run_dir / "server.port").read_text())
                return

    def _pump(
        self, proc: subprocess.Popen[str] | SpawnedProcess, lines: queue.Queue[str | None]
    ) -> None:
        assert proc.stderr is not None
        with proc.stderr:  # closed here, at EOF, so no pipe outlives its process
            for line in proc.stderr:
                self.output.append(line)
                lines.put(line)
        lines.put(None)

    def stop(self) -> int | None:
        """SIGTERM and wait; returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def stop_soon(self) -> None:
        """SIGTERM, and the exit awaited on another thread: a teardown need not
        wait out the server's graceful shutdown (a fifth of a second, most of it
        uvicorn's own pauses). One that does not end in time is killed and
        reported at the end of the run (`STOPS_THAT_HUNG`, tests/conftest.py)."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)

        def wait() -> None:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                STOPS_THAT_HUNG.append(" ".join(proc.args))
                proc.kill()
                proc.wait(timeout=15)

        thread = threading.Thread(target=wait, name="server-stop", daemon=True)
        STOPPING.append(thread)
        thread.start()

    def kill(self) -> None:
        """kill -9: no shutdown code runs, exactly like a crash."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=15)


def _sets_up_python(name: str) -> bool:
    """An environment variable read when Python starts (PYTHONPATH, its
    sitecustomize) or a program loads (LD_PRELOAD): a fork has done both already."""
    return name.startswith(("PYTHON", "LD_"))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def worker_pids(home: Path) -> set[int]:
    """The workers of a `--workers N` server, as it lists them in its home."""
    return {int(pid) for pid in (home / "server.workers").read_text().split()}


def waiting_by_name(
    agents: list[dict[str, Any]], statuses: list[dict[str, Any]], handoff: dict[str, Any]
) -> list[dict[str, bool]]:
    """Presence's `waiting` per name as agents, statuses and a handoff's two lists
    show it (four views that must agree)."""
    return [
        {a["agent_name"]: a["waiting"] for a in agents},
        {s["sender"]: s["waiting"] for s in statuses},
        {a["agent_name"]: a["waiting"] for a in handoff["agents"]},
        {s["sender"]: s["waiting"] for s in handoff["statuses"]},
    ]


def interrupt(proc: subprocess.Popen[str], timeout: float = 15) -> int:
    """Stop a follower as a user's Ctrl-C does, bounded: SIGINT, then SIGKILL if it
    has not ended within `timeout` (which fails the test: it should have)."""
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)
        raise AssertionError(f"{proc.args!r} ignored SIGINT for {timeout} s") from None
