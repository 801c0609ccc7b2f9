"""Attacks on the real server process over real sockets: what a foreign
web page can make it do, and requests no ordinary client would send."""

from __future__ import annotations

import json
import socket

import httpx
import pytest

from tests.helpers import ServerProcess

pytestmark = pytest.mark.e2e

HEAVY_READS = [
    "/api/stream?room=*&html=true&last_event_id=0",
    "/api/stream/rooms",
    "/api/rooms",
    "/api/status",
    "/api/search?q=secret",
]


def raw_request(server: ServerProcess, head: str) -> tuple[int, dict[str, str], bytes]:
    """Send `head` as it is (no client normalises it) and read the whole answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
        conn.sendall(head.encode("latin-1"))
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    header_block, _, body = data.partition(b"\r\n\r\n")
    lines = header_block.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def make_room(server: ServerProcess) -> str:
    room = httpx.post(f"{server.url}/api/rooms", json={"project": "p", "name": "r"})
    httpx.post(
        f"{server.url}/api/rooms/{room.json()['id']}/messages",
        json={"sender": "ana", "content": "secret plan"},
    )
    return str(room.json()["id"])


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_a_foreign_page_cannot_make_the_server_read(server: ServerProcess, site: str) -> None:
    make_room(server)
    for path in [*HEAVY_READS, "/mcp/"]:
        # A cross-site EventSource or <img>: a GET with no Origin, marked by the browser.
        answer = httpx.get(
            server.url + path, headers={"sec-fetch-site": site, "accept": "text/event-stream"}
        )
        assert answer.status_code == 403, (path, answer.text)
        assert answer.json()["error"]["code"] == "forbidden_origin"
        assert site in answer.json()["error"]["message"]


def test_a_foreign_origin_is_refused_on_reads_too(server: ServerProcess) -> None:
    make_room(server)
    for path in HEAVY_READS:
        answer = httpx.get(server.url + path, headers={"origin": "http://evil.example"})
        assert answer.status_code == 403 and answer.json()["error"]["code"] == "forbidden_origin"


def test_own_pages_typed_urls_and_terminals_are_served(server: ServerProcess) -> None:
    make_room(server)
    for headers in (
        {"sec-fetch-site": "same-origin", "origin": server.url},
        {"sec-fetch-site": "same-origin"},
        {"sec-fetch-site": "none"},  # typed into the address bar, or a bookmark
        {},  # curl, agents
    ):
        answer = httpx.get(f"{server.url}/api/rooms", headers=headers)
        assert answer.status_code == 200 and answer.json()["rooms"][0]["name"] == "r"


@pytest.mark.parametrize(
    "second", ["Host: evil.example", "Host: 127.0.0.1", "Origin: http://evil.example"]
)
def test_a_repeated_host_or_origin_header_is_refused(server: ServerProcess, second: str) -> None:
    make_room(server)
    status, _, body = raw_request(
        server,
        f"GET /api/rooms HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Origin: http://127.0.0.1:{server.port}\r\n{second}\r\nConnection: close\r\n\r\n",
    )
    assert status == 400
    error = json.loads(body)["error"]
    assert error["code"] == "duplicate_header" and "repeated" in error["message"]


def test_a_request_refused_before_the_app_still_answers_json(server: ServerProcess) -> None:
    # httptools cannot parse it, so uvicorn refuses it before any route runs.
    head = "GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: nine\r\n\r\n"
    status, headers, body = raw_request(server, head)
    assert status == 400 and headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    assert error["code"] == "bad_request" and error["message"]
    assert httpx.get(f"{server.url}/api/status").status_code == 200  # and it goes on
