"""Slow, idle and flooding clients against the real server: half-open and
trickling connections are closed after the header deadline, a flood past the
connection cap evicts the idlest instead of starving everyone, trickled bodies
and endless headers are refused — and the server keeps answering throughout."""

from __future__ import annotations

import contextlib
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CAP = 100
# The deadlines, short here (their defaults are 30 s and 15 s: docs/limits.md).
HEADER_SECONDS = 3.0
BODY_SECONDS = 2.0
HALF_OPEN = 300
TRICKLING = 100


@pytest.fixture
def capped(home: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(
        home,
        env={
            "CHATNUT_MAX_CONNECTIONS": str(CAP),
            "CHATNUT_HEADER_TIMEOUT": str(HEADER_SECONDS),
            "CHATNUT_BODY_TIMEOUT": str(BODY_SECONDS),
        },
    )
    server.start()
    yield server
    server.stop()


def connect(server: ServerProcess) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def closed_by_server(sock: socket.socket) -> bool:
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True


def status_latency(server: ServerProcess) -> float:
    started = time.perf_counter()
    answer = httpx.get(f"{server.url}/api/status", timeout=10)
    assert answer.status_code == 200
    return time.perf_counter() - started


def test_a_flood_of_idle_and_trickling_connections_does_not_starve_the_server(
    capped: ServerProcess,
) -> None:
    sockets = [connect(capped) for _ in range(HALF_OPEN)]
    for _ in range(TRICKLING):
        sock = connect(capped)
        sock.sendall(b"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        sockets.append(sock)
    try:
        # Past the cap: every new request still gets in, evicting the idlest.
        latencies = [status_latency(capped) for _ in range(10)]
        assert max(latencies) < 2.0, latencies
        # Every idle one is gone by the header deadline (evicted or timed out).
        deadline = time.monotonic() + HEADER_SECONDS + 5
        open_ones = list(sockets)
        tricklers = set(sockets[HALF_OPEN:])
        while open_ones and time.monotonic() < deadline:
            open_ones = [s for s in open_ones if not closed_by_server(s)]
            for sock in open_ones:
                if sock in tricklers:  # one more byte of a header that never ends
                    with contextlib.suppress(OSError):
                        sock.sendall(b"a")
            time.sleep(0.2)
        assert open_ones == [], f"{len(open_ones)} of {len(sockets)} still held open"
        assert status_latency(capped) < 2.0
    finally:
        for sock in sockets:
            sock.close()


def test_a_trickled_body_is_cut_off(capped: ServerProcess) -> None:
    with connect(capped) as sock:
        sock.settimeout(BODY_SECONDS + 10)
        sock.sendall(
            b"POST /api/rooms HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"project": '
        )
        started = time.monotonic()
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        took = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b'"body_timeout"' in answer and took < BODY_SECONDS + 5
    assert httpx.get(f"{capped.url}/api/rooms").json()["rooms"] == []


def test_endless_headers_are_refused(capped: ServerProcess) -> None:
    with connect(capped) as sock:
        sock.sendall(b"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        try:
            for _ in range(200):
                sock.sendall(b"X-Filler: " + b"a" * 1000 + b"\r\n")
        except OSError:
            pass  # closed on us mid-way: also a refusal
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except OSError:
            pass
    assert answer == b"" or answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert status_latency(capped) < 2.0
