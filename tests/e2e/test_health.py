"""`/healthz` and `/readyz` on the real server: what a load balancer sees, on both
backends, and through a PostgreSQL outage of a team server (a PostgreSQL of the
test's own, so stopping it disturbs no other test).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import TOKEN, ServerProcess
from tests.postgres import PostgresServer, start_server

pytestmark = [pytest.mark.both_backends, pytest.mark.e2e]


def probe(url: str, path: str, **headers: str) -> httpx.Response:
    # A fresh connection each time: with workers, each may land on another one.
    return httpx.get(f"{url}{path}", headers=headers, timeout=10)


def test_probes_answer_without_token_and_under_any_host(
    home: Path, database_url: str | None
) -> None:
    args = ["--db", database_url] if database_url else []
    process = ServerProcess(home, args, env={"CHATNUT_TOKEN": TOKEN})
    process.start()
    try:
        health = probe(process.url, "/healthz")
        assert (health.status_code, health.text) == (200, "ok\n")
        assert health.headers["cache-control"] == "no-store"
        ready = probe(process.url, "/readyz")
        assert (ready.status_code, ready.text) == (200, "ready\n")
        # A balancer probes by address; the answer tells a foreign page nothing.
        assert probe(process.url, "/readyz", host="10.1.2.3:8000").status_code == 200
        assert probe(process.url, "/api/status", host="10.1.2.3:8000").status_code == 403
        # The probes open no way in: everything else still needs the token.
        assert probe(process.url, "/api/status").status_code == 401
        refused = httpx.post(f"{process.url}/readyz", timeout=10)
        assert refused.status_code == 405
        assert refused.json()["error"]["code"] == "method_not_allowed"
    finally:
        process.stop()


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    server = start_server()
    try:
        yield server
    finally:
        server.close()


def poll(url: str, path: str, status: int, deadline_s: float) -> float:
    """Seconds until `path` answers `status`; fails past the deadline."""
    began = time.monotonic()
    last: object = None
    while time.monotonic() - began < deadline_s:
        try:
            last = probe(url, path).status_code
        except httpx.TransportError as exc:
            last = exc
        if last == status:
            return time.monotonic() - began
        time.sleep(0.05)
    raise AssertionError(f"{path} did not answer {status} within {deadline_s}s (last: {last})")


@pytest.mark.sqlite_only  # the PostgreSQL server here is the test's own
def test_readyz_follows_a_postgres_outage_and_healthz_stays_up(
    home: Path, own_postgres: PostgresServer
) -> None:
    url = own_postgres.url(own_postgres.fresh_database())
    process = ServerProcess(home, ["--db", url, "--workers", "2"])
    process.start()
    try:
        pids = set((home / "server.workers").read_text().split())
        assert probe(process.url, "/readyz").text == "ready\n"
        own_postgres.stop("fast")
        assert poll(process.url, "/readyz", 503, 10) < 5
        down = probe(process.url, "/readyz")
        assert (down.status_code, down.text) == (503, "database\n")
        for _ in range(10):
            assert probe(process.url, "/healthz").status_code == 200
        own_postgres.start()
        poll(process.url, "/readyz", 200, 30)
        # Every worker is back, LISTEN included: 20 fresh connections in a row.
        deadline = time.monotonic() + 30
        streak = 0
        while streak < 20:
            assert time.monotonic() < deadline, "the workers did not all become ready"
            streak = streak + 1 if probe(process.url, "/readyz").status_code == 200 else 0
        # Without a restart: the same worker processes answered throughout.
        assert set((home / "server.workers").read_text().split()) == pids
        assert process.proc is not None and process.proc.poll() is None
    finally:
        process.stop()
