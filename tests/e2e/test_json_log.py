"""`--log-format json` on the real server: after a session that used a bearer token, a
sign-in link's code, the session cookie and a database password, every line of the
log parses, each request and tool call has its line, and none of the secrets appears.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.helpers import MCP_CALL_HEADERS, TOKEN, ServerProcess

pytestmark = [pytest.mark.both_backends, pytest.mark.e2e]

PASSWORD = "pw-hunter2-0c9f1e"  # PostgreSQL's test server trusts loopback: any password works


def with_password(url: str) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=f"postgres:{PASSWORD}@{parts.hostname}:{parts.port}").geturl()


def tool(
    url: str, tool_name: str, headers: dict[str, str], **arguments: object
) -> dict[str, object]:
    call = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": tool_name, "arguments": arguments},
    }
    answer = httpx.post(f"{url}/mcp/", json=call, headers={**MCP_CALL_HEADERS, **headers})
    assert answer.status_code == 200, answer.text
    result: dict[str, object] = answer.json()["result"]["structuredContent"]
    return result


def test_every_line_parses_and_no_secret_is_logged(home: Path, database_url: str | None) -> None:
    args = ["--log-format", "json"]
    if database_url:
        args += ["--db", with_password(database_url), "--workers", "2"]
    process = ServerProcess(home, args, env={"CHATNUT_TOKEN": TOKEN})
    process.start()
    auth = {"authorization": f"Bearer {TOKEN}"}
    try:
        room = tool(process.url, "init_room", auth, project="ops", name="logs")
        tool(process.url, "post_message", auth, room_id=room["id"], sender="a", content="hi")
        # A principal's own token: its calls are logged under its name, never its secret.
        made = httpx.post(
            f"{process.url}/api/admin/tokens", json={"name": "rita"}, headers=auth, timeout=30
        ).json()
        own = made["token"]
        rita = {"authorization": f"Bearer {own}"}
        tool(process.url, "post_message", rita, room_id=room["id"], sender="rita", content="me")
        bad = httpx.post(
            f"{process.url}/mcp/",
            json={
                "jsonrpc": "2.0",
                "id": 2,
                "method": "tools/call",
                "params": {"name": "read_messages", "arguments": {"room_id": "nope"}},
            },
            headers={**MCP_CALL_HEADERS, **auth},
        )
        assert bad.json()["result"]["isError"] is True
        # The page's way in: the one-time link (its code), then the cookie.
        link = httpx.post(f"{process.url}/api/signin-link", json={}, headers=auth).json()["url"]
        code = link.split("code=", 1)[1].split("&", 1)[0]
        signed_in = httpx.get(link, follow_redirects=False)
        assert signed_in.status_code == 303
        cookie = signed_in.headers["set-cookie"].split(";", 1)[0]
        session = cookie.split("=", 1)[1]
        rooms = httpx.get(
            f"{process.url}/api/rooms", headers={"cookie": cookie, "x-request-id": "trace-42"}
        )
        assert rooms.status_code == 200
        assert rooms.headers["x-request-id"] == "trace-42"
        assert httpx.get(f"{process.url}/api/rooms").status_code == 401
        assert httpx.get(f"{process.url}/healthz").status_code == 200
    finally:
        process.stop()

    logged = (home / "chatnut.log").read_text()
    stderr = "".join(process.output)  # the same lines, also on stderr
    for text in (logged, stderr):
        for line in text.splitlines():
            json.loads(line)  # every line parses
        for secret in (TOKEN, code, session, PASSWORD, own):
            assert secret not in text
    lines = [json.loads(line) for line in logged.splitlines()]
    for line in lines:
        assert {"time", "level", "pid", "logger", "message"} <= set(line)
    requests = [line for line in lines if line["logger"] == "chatnut.access"]
    calls = {(r.get("tool"), r.get("outcome")) for r in requests if r["route"] == "/mcp"}
    assert {("init_room", "ok"), ("post_message", "ok"), ("read_messages", "error")} <= calls
    assert any(r.get("principal") == "rita" and r.get("tool") == "post_message" for r in requests)
    traced = [r for r in requests if r["request_id"] == "trace-42"]
    assert [(t["route"], t["status"]) for t in traced] == [("/api/rooms", 200)]
    assert any(r["status"] == 401 for r in requests)
    assert all(r["route"] != "/healthz" for r in requests)  # probes are counted, not logged
    for request in requests:
        assert isinstance(request["duration_ms"], float | int)
        assert request["pid"] > 0
        assert request["time"].endswith("Z")
