"""Editing and deleting a message through REST on the real server, on both backends:
what agents read (the official MCP client), what the room feed carries live and
after a resume, who may, and refusals that write nothing. Across the workers of
a team server: tests/team/test_message_edits_team.py; the rules, principals and
the purge of a deleted secret in detail: tests/unit/test_message_edits.py."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import asyncpg
import httpx
import pytest
from mcp import Client

from tests.dump import PostgresDump, sqlite_dump
from tests.helpers import ServerProcess
from tests.mcp_client import CheckedClient
from tests.sse_client import SSE, Stream, open_stream

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]


@contextlib.asynccontextmanager
async def agent(server: ServerProcess) -> AsyncIterator[CheckedClient]:
    async with Client(server.mcp_url, mode="legacy") as client:
        tools = (await client.list_tools()).tools
        yield CheckedClient(client, {t.name: t.output_schema for t in tools if t.output_schema})


@pytest.fixture
async def http(server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        yield client


async def make_room(http: httpx.AsyncClient, name: str) -> str:
    response = await http.post("/api/rooms", json={"project": "edits", "name": name})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


async def post(http: httpx.AsyncClient, room: str, content: str, sender: str = "Alice") -> int:
    response = await http.post(
        f"/api/rooms/{room}/messages", json={"sender": sender, "content": content}
    )
    assert response.status_code == 200, response.text
    return int(response.json()["id"])


async def next_edit(stream: Stream, within: float = 5.0) -> SSE:
    with anyio.fail_after(within):
        while True:
            event = await stream.next()
            if event.event == "edit":
                return event


async def dump(home: Path, database_url: str | None) -> dict[str, str]:
    if database_url is None:
        return sqlite_dump(home / "chatnut.db")
    conn = await asyncpg.connect(database_url)
    try:
        return await PostgresDump(conn).take()
    finally:
        await conn.close()


async def test_edit_and_delete_reach_agents_and_the_feed_live_and_after_a_resume(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    room = await make_room(http, "live")
    typo = await post(http, room, "deploy at 5pm")
    leak = await post(http, room, "the key is hunter2-secret")
    plain = await post(http, room, "nothing to change here")
    async with agent(server) as dev:
        before = await dev.ok("read_messages", room_id=room)

    async with open_stream(http, f"/api/rooms/{room}/stream?html=true") as stream:
        await stream.until("ready")
        edited = await http.patch(
            f"/api/messages/{typo}", json={"content": "deploy at **6pm**", "name": "alice"}
        )
        assert edited.status_code == 200, edited.text
        assert edited.json()["edited_at"] and edited.json()["content"] == "deploy at **6pm**"
        event = await next_edit(stream)
        assert event.id is None  # message ids stay the only resume points
        data = event.json()
        assert data["id"] == typo and data["edited_at"] == edited.json()["edited_at"]
        assert "<strong>6pm</strong>" in data["html"]

        deleted = await http.delete(f"/api/messages/{leak}", params={"name": "Alice"})
        assert deleted.status_code == 200, deleted.text
        assert deleted.json()["deleted"] is True and deleted.json()["content"] == ""
        data = (await next_edit(stream)).json()
        assert (data["id"], data["content"], data["deleted"], data["html"]) == (leak, "", True, "")

    async with agent(server) as dev:
        after = await dev.ok("read_messages", room_id=room)
        found = await dev.ok("search", query="hunter2")
    by_id = {m["id"]: m for m in after["messages"]}
    assert by_id[typo]["content"] == "deploy at **6pm**" and "edited_at" in by_id[typo]
    assert by_id[leak]["content"] == "" and by_id[leak]["deleted"] is True
    # Only the changed messages changed, and only by the new fields.
    assert after["messages"][2] == before["messages"][2] and by_id[plain] == before["messages"][2]
    assert {k: v for k, v in by_id[typo].items() if k not in ("content", "edited_at")} == {
        k: v for k, v in before["messages"][0].items() if k != "content"
    }
    assert found["messages"] == []

    # A feed resumed from before them reads both as they now stand.
    async with open_stream(
        http, f"/api/rooms/{room}/stream", headers={"Last-Event-ID": str(typo - 1)}
    ) as resumed:
        seen = await resumed.until("ready")
        backlog = {e.json()["id"]: e.json() for e in seen if e.event == "message"}
    assert backlog[typo]["edited_at"] and backlog[leak]["deleted"] is True
    # A page that already shows them asks which changed.
    got = await http.get(f"/api/rooms/{room}/edits", params={"ids": f"{typo},{leak},{plain}"})
    assert [m["id"] for m in got.json()["messages"]] == [typo, leak]


async def test_refusals_are_one_line_and_write_nothing(
    http: httpx.AsyncClient, home: Path, database_url: str | None
) -> None:
    room = await make_room(http, "refusals")
    mine = await post(http, room, "mine")
    gone = await post(http, room, "gone soon")
    assert (await http.delete(f"/api/messages/{gone}?name=alice")).status_code == 200
    before = await dump(home, database_url)
    big = "x" * (65536 + 1)
    cases: list[tuple[str, str, dict[str, Any], int, str]] = [
        (
            "PATCH",
            f"/api/messages/{mine}",
            {"json": {"content": "x", "name": "bob"}},
            403,
            "not bob",
        ),
        ("DELETE", f"/api/messages/{mine}", {"params": {"name": "bob"}}, 403, "only its sender"),
        ("PATCH", f"/api/messages/{mine}", {"json": {"content": "x"}}, 422, "name is required"),
        ("DELETE", f"/api/messages/{mine}", {}, 422, "name is required"),
        (
            "PATCH",
            f"/api/messages/{mine}",
            {"json": {"content": "", "name": "alice"}},
            422,
            "content",
        ),
        (
            "PATCH",
            f"/api/messages/{mine}",
            {"json": {"content": big, "name": "alice"}},
            422,
            "limit",
        ),
        (
            "PATCH",
            "/api/messages/999999",
            {"json": {"content": "x", "name": "a"}},
            404,
            "not exist",
        ),
        (
            "PATCH",
            f"/api/messages/{gone}",
            {"json": {"content": "x", "name": "alice"}},
            409,
            "deleted",
        ),
        ("DELETE", f"/api/messages/{gone}", {"params": {"name": "alice"}}, 409, "deleted"),
        (
            "PATCH",
            f"/api/messages/{mine}",
            {"json": {"content": "x", "name": "alice", "to": "b"}},
            422,
            "to",
        ),
    ]
    for method, url, options, status, words in cases:
        response = await http.request(method, url, **options)
        assert response.status_code == status, (method, url, response.text)
        message = response.json()["error"]["message"]
        assert words in message and "\n" not in message, message
    assert await dump(home, database_url) == before


async def test_the_sidebar_preview_follows_a_delete_of_the_last_message(
    http: httpx.AsyncClient,
) -> None:
    room = await make_room(http, "preview")
    last = await post(http, room, "token abc-secret-123")
    async with open_stream(http, "/api/stream/rooms") as sidebar:
        await sidebar.until("ready")
        assert (await http.delete(f"/api/messages/{last}?name=alice")).status_code == 200
        with anyio.fail_after(5):
            while True:
                event = await sidebar.next()
                if event.event == "room" and event.json()["id"] == room:
                    break
    assert event.json()["last_message"]["id"] == last
    assert "secret" not in event.data
