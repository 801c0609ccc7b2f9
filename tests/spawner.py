"""Start `chatnut serve` processes without paying for Python's imports each time.

The end-to-end and web UI tests start about five hundred servers. Each `python
-m chatnut serve` spends about 1.5 s of CPU importing FastAPI, the MCP SDK and
pydantic's models before it serves anything: on two cores that was a third of
the whole suite. So each test process keeps one *spawner*: a process that has
imported the server once and forks a child per server. The child is a real
process of its own, started the way `python -m chatnut serve ARGS` starts
(`chatnut.cli.main` with those arguments, that environment, that working
directory, its own stdin/stdout/stderr), and it is signalled, killed and
reaped like any other. Only the import is shared.

What a fork cannot give is a fresh interpreter, so the tests that are about the
executable itself (the installed `chatnut` command, a server run as another
user, the supervisor's own processes) start it with exec as before, and
`CHATNUT_TEST_SPAWN=exec` makes every server start that way.

The protocol, over a Unix socket pair: the test process sends one JSON line
`{"argv", "env", "cwd"}` with three descriptors (the child's stdin, stdout,
stderr) attached; the spawner answers `{"pid": N}` and, when that child ends,
`{"exited": N, "code": C}` (C negative for a signal, as subprocess reports it).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import traceback
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
FDS = 3
MAX_MESSAGE = 1 << 20


# The test process's side.


class SpawnedProcess:
    """The few parts of `subprocess.Popen` the tests use, for a spawned child."""

    def __init__(self, spawner: Spawner, args: list[str], pid: int, stderr: IO[str]) -> None:
        self.spawner, self.args, self.pid, self.stderr = spawner, args, pid, stderr
        self.returncode: int | None = None
        self.exited = threading.Event()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self.exited.wait(timeout):
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class Spawner:
    """One spawner process per test process, started on first use."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.spawner", str(theirs.fileno())],
            cwd=ROOT,
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self.sock = ours
        self.reader = ours.makefile("r", encoding="utf-8")
        self.lock = threading.Lock()  # one request at a time, answered in order
        self.started: list[int] = []
        self.started_ready = threading.Condition()
        self.children: dict[int, SpawnedProcess] = {}
        self.early: dict[int, int] = {}  # exits heard before their pid was handed out
        threading.Thread(target=self._listen, name="spawner-listen", daemon=True).start()

    def spawn(self, argv: list[str], env: dict[str, str]) -> SpawnedProcess:
        stderr_read, stderr_write = os.pipe()
        null = os.open(os.devnull, os.O_RDWR)
        request = json.dumps({"argv": argv, "env": env, "cwd": os.getcwd()}).encode() + b"\n"
        try:
            with self.lock, self.started_ready:
                socket.send_fds(self.sock, [request], [null, null, stderr_write])
                if not self.started_ready.wait_for(lambda: bool(self.started), timeout=30):
                    raise RuntimeError("the test spawner did not answer")
                pid = self.started.pop(0)
                stderr = os.fdopen(stderr_read, "r", encoding="utf-8", errors="replace")
                child = SpawnedProcess(self, ["chatnut", *argv], pid, stderr)
                self.children[pid] = child
                if pid in self.early:
                    self._exited(child, self.early.pop(pid))
        finally:
            os.close(stderr_write)
            os.close(null)
        return child

    def _listen(self) -> None:
        for line in self.reader:
            message = json.loads(line)
            if "pid" in message:
                with self.started_ready:
                    self.started.append(message["pid"])
                    self.started_ready.notify_all()
            else:
                with self.started_ready:
                    child = self.children.pop(message["exited"], None)
                    if child is None:
                        self.early[message["exited"]] = message["code"]
                    else:
                        self._exited(child, message["code"])

    @staticmethod
    def _exited(child: SpawnedProcess, code: int) -> None:
        child.returncode = code
        child.exited.set()


_SPAWNER: Spawner | None = None
_SPAWNER_LOCK = threading.Lock()


def spawn_server(argv: list[str], env: dict[str, str]) -> SpawnedProcess:
    """`python -m chatnut ARGV` with `env`, forked from this test process's spawner."""
    global _SPAWNER
    with _SPAWNER_LOCK:
        if _SPAWNER is None or _SPAWNER.proc.poll() is not None:
            _SPAWNER = Spawner()
        spawner = _SPAWNER
    return spawner.spawn(argv, env)


def forking() -> bool:
    return os.environ.get("CHATNUT_TEST_SPAWN", "fork") != "exec"


# The spawner's side.


def _preload() -> None:
    """Everything a server imports, once; nothing that starts a thread or a loop."""
    import chatnut.app
    import chatnut.cli
    import chatnut.serve
    import chatnut.supervisor

    with contextlib.suppress(ImportError):
        import chatnut.store.postgres  # noqa: F401


def _run_child(request: dict[str, Any], fds: list[int], control: socket.socket) -> None:
    """In the forked child: become `python -m chatnut ARGV`, and never return."""
    code = 1
    try:
        control.close()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        sys.argv = [sys.argv[0], *request["argv"]]
        from chatnut.cli import main

        code = main(request["argv"])
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _serve(control: socket.socket) -> None:
    _preload()
    send_lock = threading.Lock()

    def send(message: dict[str, Any]) -> None:
        with send_lock:
            control.sendall(json.dumps(message).encode() + b"\n")

    # The reaper reports each child's end. A fork copies only the thread that
    # calls it; the child touches nothing the reaper may hold (the send lock, the
    # semaphore), so it cannot inherit a lock that no one will release.
    children = threading.Semaphore(0)
    running: set[int] = set()

    def reap() -> None:
        while True:
            children.acquire()
            pid, status = os.wait()
            with send_lock:
                running.discard(pid)
            with contextlib.suppress(OSError):
                send({"exited": pid, "code": os.waitstatus_to_exitcode(status)})

    threading.Thread(target=reap, name="spawner-reap", daemon=True).start()
    while True:
        data, fds, _, _ = socket.recv_fds(control, MAX_MESSAGE, FDS)
        while data and not data.endswith(b"\n"):  # one request at a time, maybe in pieces
            more = control.recv(MAX_MESSAGE)
            if not more:
                break
            data += more
        if not data.endswith(b"\n"):
            break  # the test process is gone: its servers go with it
        request = json.loads(data)
        pid = os.fork()
        if pid == 0:
            _run_child(request, fds, control)
        for fd in fds:
            os.close(fd)
        with send_lock:
            running.add(pid)
        send({"pid": pid})
        children.release()
    # Whatever still runs was started by a test process that is gone.
    with send_lock:
        left = set(running)
    for pid in left:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


if __name__ == "__main__":
    fd = int(sys.argv[1])
    _serve(socket.socket(fileno=fd))
