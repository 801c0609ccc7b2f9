"""Expected faults are one line each, not tracebacks, against the real server:
no PostgreSQL driver, a database that cannot be reached at start (one process
or several workers), and a PostgreSQL restart under a running server."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import ServerProcess
from tests.postgres import PostgresServer, start_server

pytestmark = pytest.mark.e2e


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def refused_start(server: ServerProcess) -> list[str]:
    with pytest.raises(RuntimeError):
        server.start()
    server.kill()
    return [line for line in server.output if line.strip()]


def problems(lines: list[str]) -> list[str]:
    """The lines that say something went wrong (not uvicorn's start-up chatter)."""
    return [line for line in lines if " INFO " not in line]


def split(said: list[str]) -> tuple[list[str], list[str]]:
    """The lines giving the reason, and the supervisor's line naming a worker."""
    summary = [line for line in said if "before it was ready; see the lines above" in line]
    return [line for line in said if line not in summary], summary


@pytest.mark.parametrize("workers", [1, 2])
def test_no_driver_is_one_line(home: Path, tmp_path: Path, workers: int) -> None:
    (tmp_path / "nodriver").mkdir()
    (tmp_path / "nodriver" / "sitecustomize.py").write_text(
        "import sys\nsys.modules['asyncpg'] = None  # as if it were not installed\n"
    )
    url = f"postgresql://ana:pw@127.0.0.1:{closed_port()}/chat"
    server = ServerProcess(
        home,
        ["--db", url, "--workers", str(workers)],
        env={"PYTHONPATH": str(tmp_path / "nodriver")},
    )
    lines = refused_start(server)
    assert not any("Traceback" in line for line in lines), "".join(lines)
    reasons, summary = split(problems(lines))
    assert reasons and all(
        "needs the PostgreSQL driver: pip install 'chatnut[postgres]'" in line for line in reasons
    )
    # One line per worker that got that far, and with workers the parent's one.
    assert len(reasons) <= workers and len(summary) == (workers > 1), "".join(lines)


@pytest.mark.parametrize("workers", [1, 2])
def test_an_unreachable_database_is_one_line(home: Path, workers: int) -> None:
    url = f"postgresql://ana:s3cret@127.0.0.1:{closed_port()}/chat"
    server = ServerProcess(home, ["--db", url, "--workers", str(workers)])
    lines = refused_start(server)
    assert not any("Traceback" in line for line in lines), "".join(lines)
    reasons, summary = split(problems(lines))
    assert reasons and all(
        "cannot use the database postgresql://ana@127.0.0.1:" in line for line in reasons
    )
    assert "s3cret" not in "".join(lines)
    assert len(reasons) <= workers and len(summary) == (workers > 1), "".join(lines)


@pytest.mark.parametrize("workers", [1, 2])
def test_refused_credentials_are_one_line(
    home: Path, postgres_server: PostgresServer, workers: int
) -> None:
    """The server answers, but will not let this role in (class 28, as a wrong
    password is: the tests' cluster trusts local roles, so the role is unknown)."""
    url = f"postgresql://nobody:s3cret@127.0.0.1:{postgres_server.port}/postgres"
    server = ServerProcess(home, ["--db", url, "--workers", str(workers)])
    lines = refused_start(server)
    assert not any("Traceback" in line for line in lines), "".join(lines)
    reasons, summary = split(problems(lines))
    assert reasons and all(
        "cannot use the database postgresql://nobody@127.0.0.1:" in line for line in reasons
    ), "".join(lines)
    assert "s3cret" not in "".join(lines)
    assert len(reasons) <= workers and len(summary) == (workers > 1), "".join(lines)


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A cluster of this test's own: it is stopped and started under the server."""
    cluster = start_server()
    yield cluster
    cluster.close()


def test_a_postgres_restart_logs_lines_not_tracebacks(
    home: Path, own_postgres: PostgresServer
) -> None:
    server = ServerProcess(home, ["--db", own_postgres.url(own_postgres.fresh_database())])
    server.start()
    log = home / "chatnut.log"
    try:
        room = httpx.post(f"{server.url}/api/rooms", json={"project": "p", "name": "n"}).json()
        post = f"{server.url}/api/rooms/{room['id']}/messages"
        assert httpx.post(post, json={"sender": "a", "content": "before"}).status_code == 200
        own_postgres.stop("immediate")
        refused = httpx.post(post, json={"sender": "a", "content": "during"}, timeout=30)
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "storage_unavailable"
        # Until the periodic presence save has met the outage too (every 10 s).
        deadline = time.monotonic() + 30
        while "saving presence failed" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.2)
        own_postgres.start()
        deadline = time.monotonic() + 30
        while httpx.post(post, json={"sender": "a", "content": "after"}).status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.2)
    finally:
        server.stop()
    text = log.read_text()
    assert "Traceback" not in text, text[-4000:]
    warned = [line for line in text.splitlines() if " WARNING " in line or " ERROR " in line]
    assert warned and all("unavailable" in line or "(" in line for line in warned), warned
