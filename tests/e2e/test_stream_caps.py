"""Event streams cannot fill the server, against the real process.

Streams hold their connections for as long as the client likes: without a
cap of their own, 25 of them against a connection cap of 20 locked the page
and /api/status out. Now the server keeps at most half its connections for
streams (past that a stream is refused in one line, 429) and one client a few
of those, so short requests always find a slot.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import ServerProcess

pytestmark = pytest.mark.e2e


def open_stream(server: ServerProcess, source: str = "127.0.0.1") -> tuple[socket.socket, bytes]:
    """A sidebar stream on a raw socket: the socket and the answer's head."""
    sock = socket.create_connection(
        ("127.0.0.1", server.port), timeout=10, source_address=(source, 0)
    )
    sock.sendall(b"GET /api/stream/rooms HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            break
        head += chunk
    return sock, head


def timed(url: str) -> float:
    started = time.perf_counter()
    assert httpx.get(url, timeout=5).status_code == 200
    return time.perf_counter() - started


@pytest.fixture
def capped(home: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(home, env={"CHATNUT_MAX_CONNECTIONS": "20"})
    server.start()
    yield server
    server.stop()


def test_streams_past_the_cap_leave_room_for_requests(capped: ServerProcess) -> None:
    sockets: list[socket.socket] = []
    try:
        heads = []
        for n in range(25):
            sock, head = open_stream(capped, f"127.0.0.{2 + n}")
            sockets.append(sock)
            heads.append(head)
        accepted = [h for h in heads if h.startswith(b"HTTP/1.1 200")]
        refused = [h for h in heads if h.startswith(b"HTTP/1.1 429")]
        assert len(accepted) == 10 and len(refused) == 15, [h[:12] for h in heads]
        assert all(b"too_many_streams" in h or b"content-length" in h.lower() for h in refused)
        for _ in range(5):
            assert timed(f"{capped.url}/") < 1.0
            assert timed(f"{capped.url}/api/status") < 1.0
        # A stream closed gives its slot back.
        sockets[heads.index(accepted[0])].close()
        deadline = time.monotonic() + 10
        while True:
            sock, head = open_stream(capped, "127.0.0.99")
            sockets.append(sock)
            if head.startswith(b"HTTP/1.1 200"):
                break
            assert time.monotonic() < deadline, head
    finally:
        for sock in sockets:
            sock.close()


def test_one_client_holds_a_few_streams(home: Path) -> None:
    server = ServerProcess(home, env={"CHATNUT_MAX_STREAMS_PER_CLIENT": "3"})
    server.start()
    sockets: list[socket.socket] = []
    try:
        heads = []
        for _ in range(4):
            sock, head = open_stream(server)
            sockets.append(sock)
            heads.append(head[:12])
        assert heads == [b"HTTP/1.1 200"] * 3 + [b"HTTP/1.1 429"]
        sock, head = open_stream(server, "127.0.0.2")  # another client
        sockets.append(sock)
        assert head.startswith(b"HTTP/1.1 200")
    finally:
        for sock in sockets:
            sock.close()
        server.stop()
