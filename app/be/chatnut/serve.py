"""`chatnut serve`: one server per CHATNUT_HOME, on a port it never silently changes.

Order matters: take the home's lock (a second server says who is already
running), bind the socket ourselves (a taken port is a clear error, and with
--port 0 we learn the real port before the app needs it for web_url), start
uvicorn on that socket, write server.port/server.pid once it accepts
connections, and remove them on a clean exit (SIGTERM, SIGINT).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import logging.handlers
import os
import signal
import socket
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import uvicorn

from chatnut import metrics
from chatnut.files import write_file
from chatnut.reload import RELOADED_FILE, note_reload, reload_problem
from chatnut.requests import JsonFormatter
from chatnut.server_files import (
    AlreadyRunning,
    InstanceLock,
    make_home_private,
    read_int,
    remove_runtime_files,
    write_runtime_files,
)
from chatnut.settings import Settings, load_settings
from chatnut.store import shared_by_processes
from chatnut.store.location import printable
from chatnut.worker_spawn import exec_worker

log = logging.getLogger("chatnut")

LOG_BYTES = 5 * 1024 * 1024
LOG_BACKUPS = 3
GRACEFUL_SHUTDOWN_SECONDS = 3


def fail(message: str, code: int = 1) -> int:
    print(f"chatnut: {message}", file=sys.stderr)
    return code


def configure_logging(settings: Settings) -> None:
    settings.home.mkdir(parents=True, exist_ok=True)
    level = getattr(logging, settings.log_level.upper(), logging.INFO)
    # With workers, every line says which process wrote it (they share the log).
    process = " [%(process)d]" if settings.workers > 1 else ""
    fmt = logging.Formatter(f"%(asctime)s{process} %(levelname)s %(name)s: %(message)s")
    if settings.log_format == "json":
        fmt = JsonFormatter()
    file_handler = logging.handlers.RotatingFileHandler(
        settings.log_file, maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
    )
    file_handler.setFormatter(fmt)
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(fmt)
    root = logging.getLogger()
    if not settings.log_stderr:
        console.setLevel(logging.ERROR)  # only why it fails, for whoever started it
    root.handlers[:] = [file_handler, console]
    # Said after the line that says why (the database, the driver): nothing more.
    logging.getLogger("uvicorn.error").addFilter(
        lambda record: record.getMessage() != "Application startup failed. Exiting."
    )
    root.setLevel(level)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    # The SDK logs "Terminating session: None" at INFO for every stateless
    # request: a line per tool call in the log, and ~7% of a post's server time.
    logging.getLogger("mcp.server.streamable_http").setLevel(logging.WARNING)


def resolve(host: str, port: int) -> tuple[socket.AddressFamily, Any]:
    """The address `host` names, as bind would use it (IPv6 for a literal with ':')."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    found = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)
    return found[0][0], found[0][4]


def bind(
    host: str, port: int, address: tuple[socket.AddressFamily, Any] | None = None
) -> socket.socket:
    """Listen on `address` (the one checked), else on what `host` resolves to."""
    family, sockaddr = address or resolve(host, port)
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Inherited by every accepted connection. Without it, a response written in
    # two pieces (headers, then body) waits out the client's delayed ACK: ~40 ms
    # a request on Linux.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind(sockaddr)
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def loopback_address(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


class _Server(uvicorn.Server):
    """uvicorn, plus `on_ready` called the moment it accepts connections."""

    def __init__(
        self,
        config: uvicorn.Config,
        settings: Settings,
        state: Any,
        on_ready: Callable[[], None],
        reread: Callable[[], Settings] | None = None,
    ) -> None:
        super().__init__(config)
        self.chatnut_settings = settings
        self.chatnut_state = state
        self.chatnut_hub = state.hub
        self.chatnut_ready = on_ready
        self.chatnut_reread = reread
        self.chatnut_reloads = 0

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            loop = asyncio.get_running_loop()
            if self.chatnut_reread is not None:
                loop.add_signal_handler(signal.SIGHUP, self._reload)
            # A reload's first word to a worker it replaces: answer with
            # `Connection: close` and `/readyz` 503 from now on; SIGTERM follows.
            loop.add_signal_handler(signal.SIGUSR1, self._drain)
            self.chatnut_ready()

    def _drain(self) -> None:
        self.chatnut_state.draining = True

    def _reload(self) -> None:
        """One process (no supervisor to replace it): take what can change in place."""
        assert self.chatnut_reread is not None
        self.chatnut_reloads += 1
        try:
            fresh = self.chatnut_reread()
            problem = reload_problem(self.chatnut_settings, fresh)
        except ValueError as exc:
            problem = str(exc)
        if problem is not None:
            log.error("reload refused, nothing changed: %s", problem)
            note_reload(self.chatnut_settings, self.chatnut_reloads, f"refused: {problem}")
            return
        self.chatnut_state.tokens.replace(fresh.tokens)
        self.chatnut_state.db_password = fresh.db_password
        logging.getLogger().setLevel(getattr(logging, fresh.log_level.upper(), logging.INFO))
        self.chatnut_settings = fresh
        log.info("reloaded: %d token(s) accepted", len(fresh.tokens))
        note_reload(fresh, self.chatnut_reloads, "ok")

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Balancers asking /readyz hear `stopping` while in-flight calls finish.
        self.chatnut_state.draining = True
        # Long waits would otherwise hold the shutdown for its whole grace period
        # and then be cut off; woken now, they answer `timed_out` at once.
        self.chatnut_hub.close()
        # Here, not after serve(): uvicorn re-raises a caught SIGTERM/SIGINT once
        # serve() returns, so code after it would never run on a signal.
        try:
            await super().shutdown(sockets=sockets)
        finally:
            s = self.chatnut_settings
            remove_runtime_files(s.port_file, s.pid_file, s.db_file)


def is_postgres(settings: Settings) -> bool:
    return shared_by_processes(settings.database)


def run_server(
    settings: Settings,
    sockets: list[socket.socket],
    port: int,
    on_ready: Callable[[], None],
    reread: Callable[[], Settings] | None = None,
) -> bool:
    """One uvicorn server on `sockets` (the port's, and the metrics listener's when
    there is one) until it is told to stop; False if it never started."""
    from chatnut.app import create_app
    from chatnut.http_limits import connection_bound, guarded_http

    app = create_app(settings, port)
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        server_header=False,
        # Header deadline, header size and connection caps (http_limits.py).
        http=guarded_http(
            connection_bound(settings.max_connections),
            settings.max_unauthenticated_connections,
            settings.max_unauthenticated_per_address,
            header_seconds=settings.header_timeout,
        ),
    )
    server = _Server(config, settings, app.state.chatnut, on_ready, reread)
    # uvicorn's own runner: it picks the configured event loop (uvloop when
    # installed, as it is with chatnut; asyncio.run would not).
    server.run(sockets=sockets)
    return server.started


MIN_TOKEN_CHARS = 32  # a shared token served beyond loopback


def serve(overrides: dict[str, Any]) -> int:
    try:
        settings = load_settings(overrides)
    except ValueError as exc:
        return fail(f"bad setting: {exc}", 2)
    # By the address the name stands for, not by the name: `x.localhost` may
    # well be mapped to a public address.
    try:
        address = resolve(settings.host, settings.port)
    except OSError as exc:
        return fail(f"cannot listen on {settings.host}:{settings.port}: {exc}")
    if not loopback_address(address[1][0]) and not settings.token:
        shown = (
            settings.host
            if settings.host == address[1][0]
            else f"{settings.host} ({address[1][0]})"
        )
        return fail(
            f"refusing to bind {shown}: anything but loopback needs a token "
            "(--token or CHATNUT_TOKEN), or anyone on the network could read every chat",
            2,
        )
    shortest = min((len(t) for t in settings.tokens), default=MIN_TOKEN_CHARS)
    if not loopback_address(address[1][0]) and shortest < MIN_TOKEN_CHARS:
        # A short token on the network is guessed, not stolen (each one accepted counts).
        return fail(
            f"refusing to bind {settings.host} with a {shortest}-character token:"
            f" on the network the shared token needs at least {MIN_TOKEN_CHARS} characters"
            f" (generate one: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'),"
            " and each agent or person can have its own: `chatnut token create NAME`",
            2,
        )
    # Everything the server creates (database, WAL, log, migration copies) is
    # for this user only: chats are private, and so is what holds the token.
    os.umask(0o077)
    try:
        make_home_private(settings.home, settings.db_path)
    except OSError as exc:
        return fail(f"cannot prepare {settings.home}: {exc}")
    if settings.workers > 1 and not is_postgres(settings):
        return fail(
            f"--workers {settings.workers} needs a postgresql:// database: SQLite is served by "
            "one process (one writer, and the waits a post wakes live in that process)",
            2,
        )
    lock = InstanceLock(settings.lock_file)
    try:
        lock.acquire()
    except AlreadyRunning:
        port, pid = read_int(settings.port_file), read_int(settings.pid_file)
        return fail(
            f"a chatnut server is already running for {settings.home} "
            f"(pid {pid or '?'}, port {port or '?'}); `kill -TERM {pid or '<pid>'}` stops it"
        )
    try:
        try:
            sock = bind(settings.host, settings.port, address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return fail(
                    f"port {settings.port} on {settings.host} is taken by another program; "
                    "stop it, or pick another with --port N (--port 0 for any free port — "
                    "then server.port says which)"
                )
            return fail(f"cannot listen on {settings.host}:{settings.port}: {exc}")
        port = sock.getsockname()[1]
        sockets = [sock]
        if settings.metrics_listen is not None:
            host, metrics_port = settings.metrics_listen
            try:
                sockets.append(bind(host, metrics_port))
            except OSError as exc:
                sock.close()
                return fail(f"cannot listen for metrics on {host}:{metrics_port}: {exc}")
        configure_logging(settings)
        # Which database this server serves, for `backup` on its host (no password);
        # a convenience, so a run directory it cannot write is no reason to stop.
        with contextlib.suppress(OSError):
            settings.db_file.parent.mkdir(parents=True, exist_ok=True)
            write_file(settings.db_file, printable(settings.database) + "\n")
        # Until the server listens for it, a reload request must not end the process.
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        (settings.run_dir or settings.home).joinpath(RELOADED_FILE).unlink(missing_ok=True)

        def reread() -> Settings:
            return load_settings(overrides)

        try:
            if settings.workers > 1:
                # Every worker's values in files a scrape reads together (metrics.py).
                metrics.use_directory((settings.run_dir or settings.home) / "metrics")
                import chatnut.app  # noqa: F401 — imported once, shared by every fork
                from chatnut.supervisor import supervise

                def worker(current: Settings, ready: Callable[[], None]) -> int:
                    return 0 if run_server(current, sockets, port, ready) else 1

                def fresh_worker(ready_fd: int, parent: int, log_fd: int) -> NoReturn:
                    exec_worker(overrides, sockets, port, ready_fd, parent, lock.fileno(), log_fd)

                return supervise(settings, sock, port, worker, reread, fresh_worker)

            def ready() -> None:
                write_runtime_files(settings.port_file, settings.pid_file, port)
                log.info(
                    "chatnut ready on http://%s:%d (db %s)",
                    settings.host,
                    port,
                    printable(settings.database),
                )

            return 0 if run_server(settings, sockets, port, ready, reread) else 1
        finally:
            for each in sockets:
                each.close()
            remove_runtime_files(settings.port_file, settings.pid_file)
            settings.db_file.unlink(missing_ok=True)
    finally:
        lock.release()
