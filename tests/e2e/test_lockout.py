"""Connections without the token cannot lock anyone out, against the real server.

The attack: dozens of sockets, each starting a request with a large declared
body and then trickling it a byte a second, on a server whose connection cap
they outnumber. Requests for the page's files are refused at once (pages take
no body), calls for data are refused before their body is read, and every
connection that has not authenticated is a stranger's that may be closed to
make room: an authenticated client's `/api/status` and MCP call keep
answering within a second all along.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.helpers import TOKEN, ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CAP = 30
ATTACKERS = 60
ATTACK_SECONDS = 12.0
BEARER = {"authorization": f"Bearer {TOKEN}"}
# Two page requests for every call for data, each declaring a body it then
# trickles (40 of them on the page: what locked everyone out before), from four
# addresses (all loopback; the clients that must get through use 127.0.0.1).
TARGETS = (b"POST /index.html", b"POST /index.html", b"POST /api/rooms")
ATTACKER_ADDRESSES = ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5")


@pytest.fixture
def capped(home: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(home, env={"CHATNUT_TOKEN": TOKEN, "CHATNUT_MAX_CONNECTIONS": str(CAP)})
    server.start()
    yield server
    server.stop()


def closed(sock: socket.socket) -> bool:
    """Whether the server has closed (or refused) this socket; drains its answer."""
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        while sock.recv(65536):
            if not select.select([sock], [], [], 0)[0]:
                return False
        return True
    except OSError:
        return True


class Trickler:
    """ATTACKERS sockets, each sending its request's body a byte a second and
    reconnecting when the server closes it, until stopped."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.stop = threading.Event()
        self.opened = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def connect(self, n: int) -> socket.socket | None:
        try:
            sock = socket.create_connection(
                ("127.0.0.1", self.port), timeout=2, source_address=(ATTACKER_ADDRESSES[n % 4], 0)
            )
            sock.sendall(
                TARGETS[n % len(TARGETS)] + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
            )
        except OSError:
            return None
        self.opened += 1
        return sock

    def run(self) -> None:
        sockets: list[socket.socket | None] = [self.connect(n) for n in range(ATTACKERS)]
        while not self.stop.wait(1.0):
            for n, sock in enumerate(sockets):
                if sock is not None and not closed(sock):
                    try:
                        sock.sendall(b" ")
                        continue
                    except OSError:
                        pass
                if sock is not None:
                    sock.close()
                sockets[n] = self.connect(n)
        for sock in sockets:
            if sock is not None:
                sock.close()


async def status_seconds(server: ServerProcess) -> float:
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=5) as client:  # a new connection each time
        answer = await client.get(f"{server.url}/api/status", headers=BEARER)
    assert answer.status_code == 200, answer.text
    return time.perf_counter() - started


async def mcp_seconds(server: ServerProcess) -> float:
    started = time.perf_counter()
    async with httpx2.AsyncClient(headers=BEARER, timeout=5) as http:
        transport = streamable_http_client(server.mcp_url, http_client=http)
        async with Client(transport, mode="legacy") as client:
            result = await client.call_tool("ping", {})
    assert not result.is_error
    return time.perf_counter() - started


@pytest.mark.anyio
async def test_trickled_bodies_without_the_token_lock_nobody_out(capped: ServerProcess) -> None:
    attack = Trickler(capped.port)
    attack.thread.start()
    try:
        # Until the attack has had its first ATTACKERS sockets answered or parked.
        with anyio.fail_after(10):
            while attack.opened < ATTACKERS:
                await anyio.sleep(0.05)
        timings: list[tuple[float, float]] = []
        deadline = time.monotonic() + ATTACK_SECONDS
        while time.monotonic() < deadline:
            timings.append((await status_seconds(capped), await mcp_seconds(capped)))
            await anyio.sleep(0.5)
        assert len(timings) >= 5
        slowest = max(max(pair) for pair in timings)
        assert slowest < 1.0, timings
        assert attack.thread.is_alive()  # the attack ran all along
    finally:
        attack.stop.set()
        attack.thread.join(timeout=10)


def raw(server: ServerProcess, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(request)
        answer = b""
        with contextlib.suppress(OSError):
            while chunk := sock.recv(65536):
                answer += chunk
    return answer


def test_a_page_with_a_body_is_refused_at_once(capped: ServerProcess) -> None:
    started = time.monotonic()
    answer = raw(
        capped,
        b"POST /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n{",
    )
    assert answer.startswith(b"HTTP/1.1 405"), answer[:200]
    assert b'"method_not_allowed"' in answer and b"connection: close" in answer.lower()
    answer = raw(capped, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n{")
    assert answer.startswith(b"HTTP/1.1 400") and b'"unexpected_body"' in answer, answer[:200]
    assert time.monotonic() - started < 2.0  # neither waited for its body
    # The page itself is still served.
    assert httpx.get(f"{capped.url}/").status_code == 200


def test_unauthenticated_connections_have_their_own_caps(home: Path) -> None:
    server = ServerProcess(
        home,
        env={
            "CHATNUT_TOKEN": TOKEN,
            "CHATNUT_MAX_CONNECTIONS": "100",
            "CHATNUT_MAX_UNAUTHENTICATED_CONNECTIONS": "10",
            "CHATNUT_MAX_UNAUTHENTICATED_PER_ADDRESS": "6",
        },
    )
    server.start()
    sockets: list[socket.socket] = []
    try:
        # An authenticated connection, now between two requests (the second one
        # begun, so no keep-alive timer runs): no stranger's, whatever comes.
        trusted = open_from("127.0.0.1", server)
        trusted.sendall(b"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth_line() + b"\r\n")
        assert read_answer(trusted).startswith(b"HTTP/1.1 200")
        trusted.sendall(b"GET /api/status HTTP/1.1\r\n")
        # One address: past 6 silent connections, its oldest go first.
        sockets = [open_from("127.0.0.2", server) for _ in range(9)]
        closed_in_order(sockets, 3)
        # From another address: 6 + 6 strangers against the cap of 10, the two oldest go.
        sockets += [open_from("127.0.0.3", server) for _ in range(6)]
        closed_in_order(sockets[3:], 2)
        # The authenticated connection was never touched.
        trusted.sendall(b"Host: 127.0.0.1\r\n" + auth_line() + b"\r\n")
        assert read_answer(trusted).startswith(b"HTTP/1.1 200")
        trusted.close()
    finally:
        for sock in sockets:
            sock.close()
        server.stop()


def auth_line() -> bytes:
    return f"Authorization: Bearer {TOKEN}\r\n".encode()


def open_from(address: str, server: ServerProcess) -> socket.socket:
    return socket.create_connection(
        ("127.0.0.1", server.port), timeout=5, source_address=(address, 0)
    )


def read_answer(sock: socket.socket) -> bytes:
    """One response with a Content-Length, read off a kept-alive socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return data


def closed_in_order(sockets: list[socket.socket], first: int) -> None:
    """The first `first` sockets are closed by the server, and the rest are not.

    The server closes a stranger when a newer one arrives past a cap, so once
    the last expected one is closed, every socket here has been taken in.
    """
    deadline = time.monotonic() + 10
    while not all(closed(sock) for sock in sockets[:first]):
        assert time.monotonic() < deadline, "the oldest strangers were not closed"
        time.sleep(0.05)
    assert [closed(sock) for sock in sockets[first:]] == [False] * (len(sockets) - first)
