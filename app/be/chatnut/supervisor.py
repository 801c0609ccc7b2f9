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
  signals server.pid, stops the whole server;
* on SIGHUP (`chatnut reload`), reads the settings again and replaces the
  workers one at a time (reload.py). A replacement is a fresh interpreter
  (worker.py, exec'd after the fork, handed the sockets), so it runs the
  code installed now: a reload is also how an upgrade is picked up. It
  starts and serves before
  the old one it replaces is told to stop, and the old one finishes what it
  is answering (its parked waits return early, empty; their clients wait
  again) — so the server never has fewer than N workers serving.

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
from typing import NoReturn

from chatnut import metrics
from chatnut.files import write_file
from chatnut.log_relay import Relay, send_to_parent
from chatnut.reload import note_reload, reload_problem
from chatnut.server_files import remove_runtime_files, write_runtime_files
from chatnut.settings import Settings
from chatnut.store.location import printable

log = logging.getLogger("chatnut")

START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0
# A worker that lived this long died of something other than its start-up.
YOUNG_SECONDS = 10.0
MAX_BACKOFF_SECONDS = 10.0
ORPHAN_CHECK_SECONDS = 1.0
# How long a worker a reload replaces answers with `Connection: close` before it is
# told to stop: long enough for busy clients to move, short enough not to matter.
DRAIN_SECONDS = 1.5

# run_worker(settings, ready) runs a worker's server until it stops and returns
# its exit code; it calls ready() once the server accepts connections.
WorkerMain = Callable[[Settings, Callable[[], None]], int]
# Reads the settings again, as `chatnut serve` did (a reload); ValueError if bad.
Reread = Callable[[], Settings]
# exec_worker(ready_fd, parent_pid, log_fd) replaces a forked child with a fresh
# interpreter running one worker (worker.py), its log lines still sent to the
# parent through log_fd; it never returns.
ExecWorker = Callable[[int, int, int], NoReturn]


class _Worker:
    def __init__(self, slot: int, pid: int, ready_fd: int) -> None:
        self.slot = slot
        self.pid = pid
        self.ready_fd: int | None = ready_fd
        self.started = time.monotonic()


class Supervisor:
    def __init__(
        self,
        settings: Settings,
        port: int,
        count: int,
        run_worker: WorkerMain,
        reread: Reread | None = None,
        exec_worker: ExecWorker | None = None,
    ) -> None:
        self.settings = settings
        self.exec_worker = exec_worker
        self.port = port
        self.count = count
        self.run_worker = run_worker
        self.reread = reread
        self.reload_asked = False
        self.reloads = 0
        self.retiring: set[int] = set()  # pids told to stop by a reload: not restarted
        self.workers: dict[int, _Worker] = {}  # by pid
        self.pending: dict[int, float] = {}  # slot -> when to restart it
        self.failures: dict[int, int] = {}  # slot -> deaths in a row while young
        self.stopping = False
        self.wake_read, self.wake_write = os.pipe()
        self.logs = Relay()  # the workers' log lines: this process writes the file

    # -- forking -----------------------------------------------------------

    def _spawn(self, slot: int, fresh: bool = False) -> None:
        """Fork a worker for `slot`; `fresh`: one that loads the code anew (a reload)."""
        ready_read, ready_write = os.pipe()
        log_read, log_write = os.pipe()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the worker: never returns into the parent's code
            code = 1
            try:
                os.close(ready_read)
                os.close(log_read)
                for fd in self.logs.fds():  # the other workers' pipes
                    os.close(fd)
                send_to_parent(log_write)
                os.close(self.wake_read)
                os.close(self.wake_write)
                for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
                    signal.signal(sig, signal.SIG_DFL)
                # A reload is the parent's business (a hangup of the terminal too);
                # SIGUSR1 (drain) is handled once the worker serves.
                signal.signal(signal.SIGHUP, signal.SIG_IGN)
                signal.signal(signal.SIGUSR1, signal.SIG_IGN)
                signal.set_wakeup_fd(-1)
                if fresh and self.exec_worker is not None:
                    self.exec_worker(ready_write, parent, log_write)
                _watch_parent(parent)

                def ready() -> None:
                    with contextlib.suppress(OSError):
                        os.write(ready_write, b"r")
                        os.close(ready_write)

                code = self.run_worker(self.settings, ready)
            except SystemExit as exc:
                # uvicorn's exit after a start-up it has already explained.
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                log.exception("worker %d failed", slot)
            finally:
                logging.shutdown()
                os._exit(code)
        os.close(ready_write)
        os.close(log_write)
        self.logs.add(log_read)
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

        def reload(signum: int, frame: object) -> None:
            self.reload_asked = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGHUP, reload)
        # A handler (not SIG_DFL) so that a child's death writes to the wake-up fd.
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)

    def _select(self, fds: list[int], timeout: float | None) -> list[int]:
        """Wait for any of `fds`, the wake-up pipe or a worker's log line; log lines
        are written (by this process) and the wake-up drained on the way."""
        logs = self.logs.fds()
        readable, _, _ = select.select([self.wake_read, *fds, *logs], [], [], timeout)
        for fd in readable:
            if fd == self.wake_read:
                with contextlib.suppress(BlockingIOError):
                    os.read(fd, 4096)
            elif fd in logs:
                self.logs.read(fd)
        return [fd for fd in readable if fd in fds]

    def _drain_wakeups(self, timeout: float | None) -> None:
        self._select([], timeout)

    def _reap(self) -> list[tuple[_Worker, int]]:
        dead = []
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            worker = self._forget(pid)
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
            s = self.settings
            remove_runtime_files(s.port_file, s.pid_file, s.db_file)
            s.workers_file.unlink(missing_ok=True)

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
            for fd in self._select(list(waiting), left):
                worker = waiting.pop(fd)
                if not self._said_ready(worker):
                    log.error(
                        "worker %d (pid %d) exited (%s) before it was ready; see the lines above",
                        worker.slot,
                        worker.pid,
                        _describe(self._reap_one(worker)),
                    )
                    return False
        return True

    def _said_ready(self, worker: _Worker) -> bool:
        """Read the worker's ready pipe, now readable: its word, or the end of a
        pipe it closed unsaid (it is exiting before it was ready)."""
        assert worker.ready_fd is not None
        said = os.read(worker.ready_fd, 1)
        os.close(worker.ready_fd)
        worker.ready_fd = None
        return said == b"r"

    def _reap_one(self, worker: _Worker) -> int:
        """The exit status of a worker that is on its way out (it closed its pipes)."""
        _, status = os.waitpid(worker.pid, 0)
        self._forget(worker.pid)
        self._write_workers_file()
        return status

    def _forget(self, pid: int) -> _Worker | None:
        """A reaped process: no longer a worker, nor counted in the metrics."""
        metrics.process_gone(pid)
        return self.workers.pop(pid, None)

    def _supervise(self) -> None:
        while not self.stopping:
            if self.reload_asked:
                self.reload_asked = False
                self._reload()
                continue
            now = time.monotonic()
            for slot, when in list(self.pending.items()):
                if when <= now:
                    del self.pending[slot]
                    self._spawn(slot)
                    log.info("worker %d restarted", slot)
            timeout = min((w - now for w in self.pending.values()), default=None)
            self._drain_wakeups(None if timeout is None else max(timeout, 0.0))
            for worker, status in self._reap():
                if worker.pid in self.retiring:
                    self.retiring.discard(worker.pid)
                    continue
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

    # -- reload ---------------------------------------------------------------

    def _reload(self) -> None:
        """Replace every worker, one at a time, with one started from fresh settings."""
        if self.reread is not None:
            try:
                fresh = self.reread()
            except ValueError as exc:
                log.error("reload refused, the workers keep running as they were: %s", exc)
                self._reloaded(f"refused: {exc}")
                return
            problem = reload_problem(self.settings, fresh)
            if problem is not None:
                log.error("reload refused, the workers keep running as they were: %s", problem)
                self._reloaded(f"refused: {problem}")
                return
            self.settings = fresh
        old = sorted(self.workers.values(), key=lambda w: w.slot)
        log.info("reloading: replacing %d workers one at a time", len(old))
        for worker in old:
            if self.stopping:
                return
            if worker.pid not in self.workers:  # died meanwhile: restarted as usual
                continue
            new_pid = self._spawn_ready(worker.slot)
            if new_pid is None:
                self._reloaded("failed: a new worker did not start; see the log")
                return
            self.retiring.add(worker.pid)
            self._drain(worker.pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.pid, signal.SIGTERM)
            self._wait_gone(worker.pid)
            log.info("worker %d replaced (pid %d -> %d)", worker.slot, worker.pid, new_pid)
        self._reloaded("ok")

    def _spawn_ready(self, slot: int) -> int | None:
        """Start a worker for `slot` beside the running one; its pid once it serves."""
        self._spawn(slot, fresh=True)
        fresh = max((w for w in self.workers.values() if w.slot == slot), key=lambda w: w.started)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while fresh.ready_fd is not None:
            if self.stopping or fresh.pid not in self.workers:
                log.error("the new worker %d (pid %d) did not start", slot, fresh.pid)
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                log.error("the new worker %d was not ready within %.0fs", slot, left)
                self.retiring.add(fresh.pid)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(fresh.pid, signal.SIGTERM)
                return None
            readable, _, _ = select.select([self.wake_read, fresh.ready_fd], [], [], left)
            if self.wake_read in readable:
                with contextlib.suppress(BlockingIOError):
                    os.read(self.wake_read, 4096)
                self._reap_during_reload()
            if fresh.ready_fd in readable and not self._said_ready(fresh):
                log.error(
                    "the new worker %d (pid %d) exited (%s) before it was ready",
                    slot,
                    fresh.pid,
                    _describe(self._reap_one(fresh)),
                )
                return None
        return fresh.pid

    def _drain(self, pid: int) -> None:
        """Tell a worker it is leaving, then give its busy clients time to hear it: each
        answer it sends now closes its connection, so they move on without a failure."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGUSR1)
        deadline = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < deadline and pid in self.workers and not self.stopping:
            self._drain_wakeups(max(deadline - time.monotonic(), 0.0))
            self._reap_during_reload()

    def _wait_gone(self, pid: int) -> None:
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while pid in self.workers and time.monotonic() < deadline and not self.stopping:
            self._drain_wakeups(0.1)
            self._reap_during_reload()
        if pid in self.workers:
            log.warning("worker pid %d did not stop in time; killing it", pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def _reap_during_reload(self) -> None:
        for worker, status in self._reap():
            if worker.pid in self.retiring:
                self.retiring.discard(worker.pid)
            else:  # an unrelated death: restarted by the main loop
                log.warning(
                    "worker %d (pid %d) died (%s)", worker.slot, worker.pid, _describe(status)
                )
                self.pending[worker.slot] = time.monotonic()

    def _reloaded(self, outcome: str) -> None:
        self.reloads += 1
        note_reload(self.settings, self.reloads, outcome)

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
        self.logs.close()  # what the workers wrote last
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


def supervise(
    settings: Settings,
    sock: socket.socket,
    port: int,
    run_worker: WorkerMain,
    reread: Reread | None = None,
    exec_worker: ExecWorker | None = None,
) -> int:
    """Run `settings.workers` workers on `sock` until told to stop; the exit code."""
    del sock  # inherited by every fork; named so the caller keeps it open meanwhile
    return Supervisor(settings, port, settings.workers, run_worker, reread, exec_worker).run()
