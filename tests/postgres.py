"""A real PostgreSQL server for the tests: Debian's `postgresql` package, started here.

`PostgresServer` runs `initdb` and `pg_ctl` from the newest
`/usr/lib/postgresql/<version>/bin` (or `$CHATNUT_PG_BIN`) on a fresh data
directory under /tmp, listening on 127.0.0.1 on a free port with its unix
socket in the same temporary directory. PostgreSQL refuses to run as root and
the tests do run as root (CI), so then every server command runs as `nobody`
(subprocess `user=`, no extra groups); /tmp rather than $TMPDIR because CI's
/root may be 0700, out of `nobody`'s reach.

Each test gets a database of its own (`fresh_database`): a CREATE DATABASE
from a template that already holds pg_trgm (the search index), a few
milliseconds. `fsync` is off by default: a test server's data need not
survive a power cut, and the suite runs on 2 shared cores; what a test of a
PostgreSQL restart needs (stop, start again on the same port, same data)
survives a process exit with fsync off too.

A missing server package is a failure that says what to install, never a
skip: `make test` installs it with apt when it may.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import queue
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

TEMPLATE = "chatnut_template"  # empty but for pg_trgm
MIGRATED = "chatnut_migrated"  # chatnut's schema applied (tests/conftest.py makes it)
SUPERUSER = "postgres"
START_TIMEOUT_S = 60
INSTALL_HINT = (
    "the PostgreSQL tests need a PostgreSQL server: sudo apt-get install postgresql "
    "(or set CHATNUT_PG_BIN to the directory holding initdb and pg_ctl)"
)


class PostgresMissing(RuntimeError):
    pass


def find_bin_dir() -> Path:
    """The directory of initdb/pg_ctl: $CHATNUT_PG_BIN, else Debian's newest version."""
    configured = os.environ.get("CHATNUT_PG_BIN")
    candidates = [configured] if configured else []
    # Newest major version first: /usr/lib/postgresql/15/bin, /usr/lib/postgresql/16/bin, ...
    found = glob.glob("/usr/lib/postgresql/*/bin")
    found.sort(key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0)
    candidates += reversed(found)
    for candidate in candidates:
        path = Path(candidate)
        if (path / "initdb").is_file() and (path / "pg_ctl").is_file():
            return path
    raise PostgresMissing(INSTALL_HINT)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """One PostgreSQL cluster in a temporary directory; start, stop, restart, fresh databases."""

    def __init__(self, *, fsync: bool = False, max_connections: int = 400) -> None:
        self.bin = find_bin_dir()
        self.fsync = fsync
        self.max_connections = max_connections
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="chatnut-pg-", dir="/tmp"))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.log = self.root / "server.log"
        self._user: str | None = None
        if os.geteuid() == 0:
            self._user = "nobody"
            nobody = pwd.getpwnam("nobody")
            self._uid, self._gid = nobody.pw_uid, nobody.pw_gid
            os.chown(self.root, self._uid, self._gid)
        self.sockets.mkdir()
        self._own(self.sockets)
        self._names = itertools.count(1)
        self.running = False
        # Held while a database is made or dropped behind the tests' backs; a
        # test that needs no such transaction in flight holds it instead
        # (conftest's `still_postgres_url`).
        self.background = threading.Lock()

    # -- process control ---------------------------------------------------

    def _own(self, path: Path) -> None:
        if self._user is not None:
            os.chown(path, self._uid, self._gid)

    def _run(self, *args: str, timeout: float = START_TIMEOUT_S) -> str:
        kwargs: dict[str, object] = {}
        if self._user is not None:
            kwargs = {"user": self._uid, "group": self._gid, "extra_groups": []}
        env = {
            "PATH": f"{self.bin}:/usr/bin:/bin",
            "HOME": str(self.root),
            "LC_ALL": "C.UTF-8",
            "PGHOST": str(self.sockets),
            "PGPORT": str(self.port),
            "PGUSER": SUPERUSER,
        }
        done = subprocess.run(
            list(args),
            env=env,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            **kwargs,  # type: ignore[arg-type]
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{Path(args[0]).name} failed ({done.returncode}): {done.stderr.strip()}"
                f"\n{self._log_tail()}"
            )
        return done.stdout

    def _log_tail(self) -> str:
        try:
            return "server log: " + self.log.read_text()[-2000:]
        except OSError:
            return ""

    def init(self) -> None:
        # trust: the server listens on loopback and a socket in a 0700-owned
        # directory, for the length of a test run.
        self._run(
            str(self.bin / "initdb"),
            "--pgdata",
            str(self.data),
            "--username",
            SUPERUSER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--locale",
            "C.UTF-8",
            "--no-sync",
        )

    def start(self) -> None:
        options = " ".join(
            [
                f"-p {self.port}",
                f"-k {self.sockets}",
                "-c listen_addresses=127.0.0.1",
                f"-c max_connections={self.max_connections}",
                f"-c fsync={'on' if self.fsync else 'off'}",
                "-c full_page_writes=off" if not self.fsync else "",
                "-c shared_buffers=64MB",
            ]
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "start",
            "--pgdata",
            str(self.data),
            "--wait",
            f"--timeout={START_TIMEOUT_S}",
            "--log",
            str(self.log),
            "-o",
            options,
        )
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (`immediate` is the crash-like stop of a restart test)."""
        if not self.running:
            return
        self._run(str(self.bin / "pg_ctl"), "stop", "--pgdata", str(self.data), "-m", mode, "-w")
        self.running = False

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def setup(self) -> None:
        self.init()
        self.start()
        self.psql(f"CREATE DATABASE {TEMPLATE}")
        self.psql("CREATE EXTENSION IF NOT EXISTS pg_trgm", database=TEMPLATE)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    # -- SQL ---------------------------------------------------------------

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL as the superuser through psql; returns the unaligned, tuples-only output."""
        return self._run(
            str(self.bin / "psql"),
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            database,
            "-c",
            sql,
        ).strip()

    def url(self, database: str) -> str:
        """A libpq URL over TCP on loopback (what `chatnut serve --db` takes)."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def fresh_database(self, template: str = TEMPLATE) -> str:
        """A new database copied from `template` (by default: empty but for pg_trgm)."""
        name = f"chatnut_test_{os.getpid()}_{next(self._names)}"
        self.psql(f"CREATE DATABASE {name} TEMPLATE {template}")
        return name

    def drop_database(self, name: str) -> None:
        if self.running:
            self.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def drop_later(self, name: str) -> None:
        """Drop on a thread of its own: the next test need not wait for it."""

        def drop() -> None:
            with self.background, contextlib.suppress(Exception):  # the server may be stopping
                self.drop_database(name)

        threading.Thread(target=drop, daemon=True).start()


class Spares:
    """Databases copied from a template ahead of need, on a thread of its own.

    CREATE DATABASE copies files: hundreds of milliseconds on a busy machine,
    paid by every test that asks for a fresh database unless it was made while
    the previous test ran.
    """

    def __init__(self, server: PostgresServer, template: str, keep: int = 2) -> None:
        self.server = server
        self.template = template
        self.ready: queue.Queue[str | BaseException] = queue.Queue(maxsize=keep)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._fill, daemon=True)
        self.thread.start()

    def _fill(self) -> None:
        while not self.stopped.is_set():
            name: str | BaseException = RuntimeError("no spare database made")
            for _attempt in range(3):  # a test that restarts the server may be in the way
                try:
                    with self.server.background:
                        name = self.server.fresh_database(self.template)
                    break
                except BaseException as exc:  # handed to the next test if it persists
                    name = exc
                    self.stopped.wait(1)
            while not self.stopped.is_set():
                with contextlib.suppress(queue.Full):
                    self.ready.put(name, timeout=0.5)
                    break

    def take(self) -> str:
        name = self.ready.get(timeout=START_TIMEOUT_S)
        if isinstance(name, BaseException):
            raise name
        return name

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=START_TIMEOUT_S)


def start_server(**options: object) -> PostgresServer:
    server = PostgresServer(**options)  # type: ignore[arg-type]
    try:
        server.setup()
    except BaseException:
        server.close()
        raise
    return server
