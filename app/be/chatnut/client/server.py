"""The server's life from outside: status, stop, and starting it in the background.

A live server is one that holds the home's lock (server_files.py); port and pid
files without a lock holder are a crash's leftovers, reported and removed.
`ensure_running` is what the stdio bridge calls: a second lock (start.lock)
makes ten bridges starting at once start exactly one server.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from chatnut.client.endpoint import CliError, Endpoint, Unauthorized, locate, server_alive
from chatnut.files import private_dir
from chatnut.reload import read_reloaded
from chatnut.server_files import read_int
from chatnut.settings import Settings
from chatnut.store.location import printable

START_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0
# Each worker in turn: a new one starts (up to a minute), the old one finishes (15 s).
RELOAD_TIMEOUT = 600.0
POLL_SECONDS = 0.05


def remove_stale_files(settings: Settings) -> list[Path]:
    """Port/pid files left by a server that died without cleaning up."""
    if server_alive(settings):
        return []
    runtime = (settings.port_file, settings.pid_file, settings.workers_file, settings.db_file)
    stale = [p for p in runtime if p.exists()]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def status(settings: Settings) -> tuple[bool, dict[str, Any]]:
    """(running, facts) — facts come from the server itself when it answers."""
    if settings.url is not None:
        return remote_status(settings)
    stale = remove_stale_files(settings)
    facts: dict[str, Any] = {"home": str(settings.home)}
    if stale:
        facts["removed_stale_files"] = [str(p) for p in stale]
    if not server_alive(settings):
        facts["db_path"] = printable(settings.database)
        return False, facts
    endpoint = locate(settings)
    facts.update(pid=read_int(settings.pid_file), port=read_int(settings.port_file))
    workers = _worker_pids(settings)
    if workers:  # --workers N: server.pid is the supervising parent, these serve
        facts["workers"] = workers
    facts["url"] = endpoint.base
    try:
        answer = endpoint.call("GET", "/api/status")
    except Unauthorized:
        # On the server's own host the runtime files say most of it; only the
        # counts need the token.
        facts["db_path"] = running_database(settings)
        facts["ready"] = _readiness(endpoint)
        facts["note"] = "rooms and messages need the token (CHATNUT_TOKEN)"
        return True, facts
    for key in ("version", "db_path", "rooms", "messages"):
        facts[key] = answer.get(key)
    return True, facts


def running_database(settings: Settings) -> str | None:
    """The database the server running on this home serves (its password left out)."""
    if not server_alive(settings):
        return None
    try:
        return settings.db_file.read_text().strip() or None
    except OSError:
        return None


def _readiness(endpoint: Endpoint) -> str:
    """/readyz's word (it needs no token): `ready`, or why not."""
    try:
        with endpoint.open("GET", "/readyz", accept="text/plain") as response:
            return str(response.read().decode().strip())
    except CliError as exc:
        return str(exc)


def _worker_pids(settings: Settings) -> list[int]:
    try:
        text = settings.workers_file.read_text()
    except OSError:
        return []
    return [int(pid) for pid in text.split() if pid.isdigit()]


def remote_status(settings: Settings) -> tuple[bool, dict[str, Any]]:
    """A remote server has no pid or port file here: only what it says of itself."""
    endpoint = locate(settings)
    answer = endpoint.call("GET", "/api/status")
    facts: dict[str, Any] = {"url": endpoint.base}
    for key in ("version", "db_path", "rooms", "messages", "workers"):
        if key in answer:
            facts[key] = answer[key]
    return True, facts


def stop(settings: Settings, timeout: float = STOP_TIMEOUT) -> str:
    if settings.url is not None:
        raise CliError(
            f"`chatnut stop` stops this machine's server; {settings.url} is stopped on its own host"
        )
    if not server_alive(settings):
        stale = remove_stale_files(settings)
        if stale:
            return "no server was running; removed stale " + ", ".join(p.name for p in stale)
        return "no server is running"
    pid = read_int(settings.pid_file)
    if pid is None:
        raise CliError(f"a server holds {settings.lock_file} but wrote no pid file yet; retry")
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    # The server lets go of the lock as its last act (and the kernel does, should it
    # die first): the one sure sign it is done, also for a pid already reused.
    while server_alive(settings):
        if time.monotonic() > deadline:
            raise CliError(f"server (pid {pid}) did not stop within {timeout:.0f}s")
        time.sleep(POLL_SECONDS)
    remove_stale_files(settings)
    return f"stopped chatnut server (pid {pid})"


def reload(settings: Settings, timeout: float = RELOAD_TIMEOUT) -> str:
    """SIGHUP to the running server, then wait until it says how its reload went."""
    if settings.url is not None:
        raise CliError(
            f"`chatnut reload` reloads this machine's server; {settings.url} is reloaded on"
            " its own host"
        )
    if not server_alive(settings):
        raise CliError(f"no chatnut server is running for {settings.home}")
    pid = read_int(settings.pid_file)
    if pid is None:
        raise CliError(f"a server holds {settings.lock_file} but wrote no pid file yet; retry")
    before, _ = read_reloaded(settings)
    workers = _worker_pids(settings)
    os.kill(pid, signal.SIGHUP)
    deadline = time.monotonic() + timeout
    while (found := read_reloaded(settings))[0] <= before:
        if not server_alive(settings):
            raise CliError(f"the server (pid {pid}) stopped during the reload")
        if time.monotonic() > deadline:
            raise CliError(f"the server (pid {pid}) did not finish reloading in {timeout:.0f}s")
        time.sleep(POLL_SECONDS)
    outcome = found[1]
    if outcome != "ok":
        raise CliError(f"reload {outcome}")
    if workers:
        now = " ".join(str(p) for p in _worker_pids(settings))
        return (
            f"reloaded chatnut server (pid {pid}): workers {' '.join(map(str, workers))} -> {now}"
        )
    return f"reloaded chatnut server (pid {pid})"


@contextlib.contextmanager
def _start_lock(settings: Settings) -> Iterator[None]:
    private_dir(settings.home)
    fd = os.open(settings.home / "start.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    with open(fd, "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


START_ERRORS = "serve.err"
# `2026-01-01 12:00:00,000 [pid] ERROR logger.name: ` before a logged line.
LOG_PREFIX = re.compile(r"^\S+ \S+ (\[\d+\] )?[A-Z]+ [\w.]+: ")


def open_private(path: Path) -> Any:
    """A file for this user only, emptied, never through a planted link."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    return os.fdopen(fd, "w")


def why_serve_failed(settings: Settings, code: int) -> str:
    """One line: the reason `chatnut serve` gave (its last line), or where to look."""
    try:
        said = (settings.home / START_ERRORS).read_text(errors="replace").strip().splitlines()
    except OSError:
        said = []
    reason = LOG_PREFIX.sub("", said[-1]).removeprefix("chatnut: ") if said else ""
    if reason:
        return f"`chatnut serve` could not start: {reason}"
    where = (
        f"see {settings.log_file}"
        if settings.log_file.exists()
        else "run `chatnut serve` in a terminal to see why"
    )
    return f"`chatnut serve` exited with code {code} before it was ready; {where}"


def serve_command() -> list[str]:
    return [sys.executable, "-m", "chatnut", "serve"]


def ensure_running(settings: Settings, timeout: float = START_TIMEOUT) -> Endpoint:
    """The running server's endpoint, starting one in the background if there is none."""
    if settings.url is not None:
        return locate(settings)  # a remote server is started by whoever runs it
    if server_alive(settings) and settings.port_file.exists():
        return locate(settings)
    with _start_lock(settings):
        # Whoever held the lock before us may have started it already.
        started = None
        if not server_alive(settings):
            remove_stale_files(settings)
            # Its log goes to chatnut.log only; its stderr, to a file of its own,
            # then holds nothing but why it could not start (a taken port, a
            # database it cannot use), which is what we say if it does not.
            errors = open_private(settings.home / START_ERRORS)
            with errors:
                started = subprocess.Popen(
                    serve_command(),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=errors,
                    env={**os.environ, "CHATNUT_LOG_STDERR": "0"},
                    start_new_session=True,  # outlives the bridge and its client
                    close_fds=True,
                )
        deadline = time.monotonic() + timeout
        while not (server_alive(settings) and settings.port_file.exists()):
            if started is not None and started.poll() is not None:
                raise CliError(why_serve_failed(settings, started.returncode))
            if time.monotonic() > deadline:
                raise CliError(
                    f"started `chatnut serve` but it was not ready within {timeout:.0f}s; "
                    f"see {settings.log_file}"
                )
            time.sleep(POLL_SECONDS)
    return locate(settings)
