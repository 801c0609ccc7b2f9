"""`chatnut serve --workers N`: one parent, N forked workers accepting on one socket.

The parent binds the listening socket (serve.py), then forks N workers that
inherit it: the kernel hands each new connection to whichever worker accepts
first, so no worker is special and a client cannot tell them apart. Each
worker builds its own app (its own store connections, its own hub) after the
fork; events cross workers through the database (the PostgreSQL store's
LISTEN/NOTIFY), which is why SQLite, served by one process, refuses workers.

The parent runs no event loop and no threads, so forking again later is as
safe as the first time. It:
* waits until every worker has started (a byte on a pipe once its app's
  startup, migrations included, is done) and only then writes server.port
  and server.pid (its own pid) and logs "chatnut ready"; a worker that dies
  before that fails the whole start;
* restarts a worker that dies afterwards (after a backoff when they die young,
  so a database that refuses every start does not become a fork loop);
* on SIGTERM/SIGINT, passes SIGTERM to every worker, waits for them (then
  SIGKILL), removes the runtime files and exits — so `chatnut stop`, which
  signals server.pid, stops the whole server.

The home's lock (runtime.InstanceLock) is inherited by the workers: the
kernel releases it only when the last process of the server is gone, which
is exactly what `chatnut stop` and the stdio bridge wait for. A worker
notices a parent killed with -9 (its parent pid changes) and stops too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import socket
import threading
import time
from collections.abc import Callable

from chatnut.files import write_file
from chatnut.runtime import remove_runtime_files, write_runtime_files
from chatnut.settings import Settings
from chatnut.store.location import printable

log = logging.getLogger("chatnut")

START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0
# A worker that lived this long died of something other than its start-up.
YOUNG_SECONDS = 10.0
MAX_BACKOFF_SECONDS = 10.0
ORPHAN_CHECK_SECONDS = 1.0

# run_worker(ready) runs a worker's server until it stops and returns its exit
# code; it calls ready() once the server accepts connections.
WorkerMain = Callable[[Callable[[], None]], int]


class _Worker:
    def __init__(self, slot: int, pid: int, ready_fd: int) -> None:
        self.slot = slot
        self.pid = pid
        self.ready_fd: int | None = ready_fd
        self.started = time.monotonic()


class Supervisor:
    def __init__(self, settings: Settings, port: int, count: int, run_worker: WorkerMain) -> None:
        self.settings = settings
        self.port = port
        self.count = count
        self.run_worker = run_worker
        self.workers: dict[int, _Worker] = {}  # by pid
        self.pending: dict[int, float] = {}  # slot -> when to restart it
        self.failures: dict[int, int] = {}  # slot -> deaths in a row while young
        self.stopping = False
        self.wake_read, self.wake_write = os.pipe()

    # -- forking -----------------------------------------------------------

    def _spawn(self, slot: int) -> None:
        ready_read, ready_write = os.pipe()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the worker: never returns into the parent's code
            code = 1
            try:
                os.close(ready_read)
                os.close(self.wake_read)
                os.close(self.wake_write)
                for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
                    signal.signal(sig, signal.SIG_DFL)
                signal.set_wakeup_fd(-1)
                _watch_parent(parent)

                def ready() -> None:
                    with contextlib.suppress(OSError):
                        os.write(ready_write, b"r")
                        os.close(ready_write)

                code = self.run_worker(ready)
            except BaseException:
                log.exception("worker %d failed", slot)
            finally:
                logging.shutdown()
                os._exit(code)
        os.close(ready_write)
        self.workers[pid] = _Worker(slot, pid, ready_read)
        self._write_workers_file()

    def _write_workers_file(self) -> None:
        pids = " ".join(str(pid) for pid in sorted(self.workers))
        with contextlib.suppress(OSError):
            write_file(self.settings.workers_file, pids + "\n")

    # -- signals -----------------------------------------------------------

    def _install_signals(self) -> None:
        os.set_blocking(self.wake_write, False)
        signal.set_wakeup_fd(self.wake_write, warn_on_full_buffer=False)

        def stop(signum: int, frame: object) -> None:
            self.stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        # A handler (not SIG_DFL) so that a child's death writes to the wake-up fd.
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)

    def _drain_wakeups(self, timeout: float | None) -> None:
        readable, _, _ = select.select([self.wake_read], [], [], timeout)
        if readable:
            with contextlib.suppress(BlockingIOError):
                os.read(self.wake_read, 4096)

    def _reap(self) -> list[tuple[_Worker, int]]:
        dead = []
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            worker = self.workers.pop(pid, None)
            if worker is not None:
                if worker.ready_fd is not None:
                    os.close(worker.ready_fd)
                    worker.ready_fd = None
                dead.append((worker, status))
        if dead:
            self._write_workers_file()
        return dead

    # -- the life of the server ---------------------------------------------

    def run(self) -> int:
        os.set_blocking(self.wake_read, False)
        self._install_signals()
        try:
            for slot in range(self.count):
                self._spawn(slot)
            if not self._wait_until_ready():
                return 1
            s = self.settings
            write_runtime_files(s.port_file, s.pid_file, self.port)
            log.info(
                "chatnut ready on http://%s:%d (db %s; %d workers, pids %s)",
                s.host,
                self.port,
                printable(s.database),
                self.count,
                " ".join(str(pid) for pid in sorted(self.workers)),
            )
            self._supervise()
            return 0
        finally:
            self._stop_all()
            remove_runtime_files(self.settings.port_file, self.settings.pid_file)
            self.settings.workers_file.unlink(missing_ok=True)

    def _wait_until_ready(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        waiting = {w.ready_fd: w for w in self.workers.values() if w.ready_fd is not None}
        while waiting:
            if self.stopping:
                return False
            for worker, status in self._reap():
                log.error(
                    "worker %d (pid %d) exited (%s) before it was ready; see the lines above",
                    worker.slot,
                    worker.pid,
                    _describe(status),
                )
                return False
            left = deadline - time.monotonic()
            if left <= 0:
                log.error("the workers were not ready within %.0fs", START_TIMEOUT_SECONDS)
                return False
            readable, _, _ = select.select([self.wake_read, *waiting], [], [], left)
            for fd in readable:
                if fd == self.wake_read:
                    with contextlib.suppress(BlockingIOError):
                        os.read(fd, 4096)
                    continue
                worker = waiting.pop(fd)
                os.read(fd, 1)
                os.close(fd)
                worker.ready_fd = None
        return True

    def _supervise(self) -> None:
        while not self.stopping:
            now = time.monotonic()
            for slot, when in list(self.pending.items()):
                if when <= now:
                    del self.pending[slot]
                    self._spawn(slot)
                    log.info("worker %d restarted", slot)
            timeout = min((w - now for w in self.pending.values()), default=None)
            self._drain_wakeups(None if timeout is None else max(timeout, 0.0))
            for worker, status in self._reap():
                lived = time.monotonic() - worker.started
                deaths = self.failures.get(worker.slot, 0) + 1 if lived < YOUNG_SECONDS else 0
                self.failures[worker.slot] = deaths
                delay = 0.0 if deaths == 0 else min(0.5 * 2 ** (deaths - 1), MAX_BACKOFF_SECONDS)
                log.warning(
                    "worker %d (pid %d) died (%s); restarting it in %.1fs",
                    worker.slot,
                    worker.pid,
                    _describe(status),
                    delay,
                )
                self.pending[worker.slot] = time.monotonic() + delay
            # A ready byte from a restarted worker needs no action; close its pipe.
            for worker in self.workers.values():
                if worker.ready_fd is not None and _readable(worker.ready_fd):
                    os.close(worker.ready_fd)
                    worker.ready_fd = None

    def _stop_all(self) -> None:
        for pid in self.workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while self.workers and time.monotonic() < deadline:
            self._reap()
            if self.workers:
                self._drain_wakeups(0.1)
        for pid in list(self.workers):
            log.warning("worker pid %d did not stop in time; killing it", pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        self.workers.clear()
        signal.set_wakeup_fd(-1)


def _readable(fd: int) -> bool:
    readable, _, _ = select.select([fd], [], [], 0)
    return bool(readable)


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"


def _watch_parent(parent: int) -> None:
    """Stop this worker when the parent is gone (kill -9 leaves no one to signal us)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(ORPHAN_CHECK_SECONDS)
        log.warning("the supervising process %d is gone; stopping worker %d", parent, os.getpid())
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="chatnut-parent-watch", daemon=True).start()


def supervise(settings: Settings, sock: socket.socket, port: int, run_worker: WorkerMain) -> int:
    """Run `settings.workers` workers on `sock` until told to stop; the exit code."""
    del sock  # inherited by every fork; named so the caller keeps it open meanwhile
    return Supervisor(settings, port, settings.workers, run_worker).run()
