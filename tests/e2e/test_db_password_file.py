"""`chatnut serve --db-password-file` against a real PostgreSQL that asks for a
password (scram-sha-256 on 127.0.0.1 for the server's role): the real server
process connects with the file's password and never shows it; a file that is
not the owner's only is refused before anything starts; `chatnut reload`
reads the file again, and the workers' new connections use the new password.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.e2e.test_tokens import reload
from tests.helpers import ServerProcess, worker_pids
from tests.postgres import TEMPLATE, PostgresMissing, PostgresServer, start_server

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

ROLE = "chat_app"
FIRST, SECOND = "first-Secret-4f1d9c", "second-Secret-8a2e7b"
DEADLINE_S = 30.0


@pytest.fixture(scope="module")
def locked_pg() -> Iterator[PostgresServer]:
    """A PostgreSQL of its own whose role ROLE must give its password over TCP."""
    try:
        server = start_server(max_connections=60)
    except PostgresMissing as exc:
        pytest.fail(str(exc))
    try:
        server.psql(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{FIRST}'")
        hba = server.data / "pg_hba.conf"
        # First match wins: this role over TCP needs its password; the rest stays trust.
        hba.write_text(f"host all {ROLE} 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
        server.psql("SELECT pg_reload_conf()")
        yield server
    finally:
        server.close()


@pytest.fixture
def database(locked_pg: PostgresServer) -> Iterator[str]:
    """A database ROLE owns (pg_trgm in it), as the operating guide sets one up."""
    name = locked_pg.fresh_database(TEMPLATE)
    locked_pg.psql(f"ALTER DATABASE {name} OWNER TO {ROLE}")
    locked_pg.psql(f"ALTER SCHEMA public OWNER TO {ROLE}", database=name)
    locked_pg.psql(f"ALTER ROLE {ROLE} PASSWORD '{FIRST}'")
    yield f"postgresql://{ROLE}@127.0.0.1:{locked_pg.port}/{name}"
    locked_pg.drop_database(name)


def password_file(tmp_path: Path, password: str, mode: int = 0o600) -> Path:
    path = tmp_path / "db-password"
    path.write_text(password + "\n")
    path.chmod(mode)
    return path


def chatnut(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"CHATNUT_HOME": str(home), "PATH": "/usr/bin", "CHATNUT_UPDATE_CHECK": "0"}
    return subprocess.run(
        [sys.executable, "-m", "chatnut", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def cut_connections(pg: PostgresServer) -> None:
    pg.psql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{ROLE}'")


def post_until_ok(url: str, room: str, text: str) -> None:
    """Posts on fresh connections (either worker) until one is answered 200."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        answer = httpx.post(
            f"{url}/api/rooms/{room}/messages", json={"sender": "ops", "content": text}, timeout=30
        )
        if answer.status_code == 200:
            return
        assert time.monotonic() < deadline, answer.text


def test_the_server_connects_with_the_file_and_never_shows_it(
    home: Path, tmp_path: Path, database: str
) -> None:
    # Without the password the database refuses the role: the file is what lets it in.
    bare = subprocess.run(
        [sys.executable, "-m", "chatnut", "serve", "--port", "0", "--db", database],
        env={"CHATNUT_HOME": str(tmp_path / "bare"), "PATH": "/usr/bin", "PGPASSFILE": "/none"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bare.returncode != 0 and "password authentication failed" in bare.stderr

    path = password_file(tmp_path, FIRST)
    process = ServerProcess(
        home, ["--db", database, "--db-password-file", str(path), "--workers", "2"]
    )
    process.start()
    try:
        room = httpx.post(f"{process.url}/api/rooms", json={"project": "ops", "name": "pw"})
        assert room.status_code == 200, room.text
        post_until_ok(process.url, room.json()["id"], "hello")
        status = chatnut(home, "status")
        assert status.returncode == 0 and database in status.stdout
        api_status = httpx.get(f"{process.url}/api/status").text
        cmdlines = [
            Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            for pid in {process.proc.pid, *worker_pids(home)}  # type: ignore[union-attr]
        ]
        shown = [
            status.stdout,
            api_status,
            "".join(process.output),
            (home / "chatnut.log").read_text(),
            (home / "server.db").read_text(),
            *cmdlines,
        ]
        assert all(FIRST not in text for text in shown)
    finally:
        process.stop()


@pytest.mark.parametrize("workers", [1, 2])
def test_reload_reads_the_file_again(
    home: Path, tmp_path: Path, database: str, locked_pg: PostgresServer, workers: int
) -> None:
    """One process takes the new password for the connections it opens from now on;
    with workers, every worker is replaced and opens its connections with it."""
    path = password_file(tmp_path, FIRST)
    process = ServerProcess(
        home, ["--db", database, "--db-password-file", str(path), "--workers", str(workers)]
    )
    process.start()
    try:
        room = httpx.post(f"{process.url}/api/rooms", json={"project": "ops", "name": "r"}).json()
        before = worker_pids(home) if workers > 1 else set()
        # The operator rotates the role's password: first the database, then the file.
        locked_pg.psql(f"ALTER ROLE {ROLE} PASSWORD '{SECOND}'")
        # Meanwhile the connections the server opens are refused: said as the
        # database being unavailable, in one line, never as a crash.
        cut_connections(locked_pg)
        refused = httpx.post(
            f"{process.url}/api/rooms/{room['id']}/messages", json={"sender": "o", "content": "x"}
        )
        assert refused.status_code == 503, refused.text
        assert "password authentication failed" in refused.json()["error"]["message"]
        path.write_text(SECOND + "\n")
        done = reload(home)
        assert done.returncode == 0, done.stderr
        after = worker_pids(home) if workers > 1 else set()
        assert len(after) == (workers if workers > 1 else 0) and not after & before
        # Every connection opened before the reload is cut: what serves now was
        # opened with the new password.
        cut_connections(locked_pg)
        post_until_ok(process.url, room["id"], "after the rotation")
        # The refusals meanwhile were logged a line each, never the password.
        log = "".join(process.output)
        assert "Traceback" not in log and FIRST not in log and SECOND not in log

        # A file made readable by others is refused by the reload; nothing changes.
        path.chmod(0o644)
        refused = reload(home)
        assert refused.returncode == 1
        assert refused.stderr.count("\n") == 1 and "readable by others" in refused.stderr
        assert SECOND not in refused.stderr
        assert (worker_pids(home) if workers > 1 else set()) == after
        post_until_ok(process.url, room["id"], "still served")
    finally:
        process.stop()


def test_an_unsafe_file_is_refused_before_anything_starts(
    home: Path, tmp_path: Path, database: str
) -> None:
    path = password_file(tmp_path, FIRST, mode=0o644)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "chatnut",
            "serve",
            "--port",
            "0",
            "--db",
            database,
            "--db-password-file",
            str(path),
        ],
        env={"CHATNUT_HOME": str(home), "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"chatnut: bad setting: --db-password-file: {path} is readable by others (mode 0644);"
        f" make it the owner's only: chmod 600 {path}"
    ]
    assert not (home / "server.pid").exists() and not (home / "server.port").exists()


async def test_the_role_really_needs_the_password(database: str) -> None:
    """The fixture's premise: over TCP, the wrong password is refused."""
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(database, password="wrong")
    conn = await asyncpg.connect(database, password=FIRST)
    await conn.close()
