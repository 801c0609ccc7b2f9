"""Safe retries: a post with an `idempotency_key` is stored once, however often it
is sent — through the real server on both backends, and across two workers on
PostgreSQL (where the retry lands on another process)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client

from tests.helpers import ServerProcess, worker_pids
from tests.team.workers import close_all, pinned_clients, tool_call

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends, pytest.mark.e2e]


async def call(client: Client, tool: str, **arguments: Any) -> Any:
    return await client.call_tool(tool, arguments)


async def contents(client: Client, room_id: str) -> list[tuple[int, str, str]]:
    page = (await call(client, "read_messages", room_id=room_id, limit=1000)).structured_content
    return [(m["id"], m["sender"], m["content"]) for m in page["messages"]]


async def test_a_retry_with_the_same_key_returns_the_first_post(server: ServerProcess) -> None:
    async with Client(server.mcp_url, mode="legacy") as client:
        room = (await call(client, "init_room", project="p", name="n")).structured_content
        await call(client, "register_agent", room_id=room["id"], agent_name="bo", task_id="t")
        post = {"room_id": room["id"], "sender": "ana", "content": "deploy now @bo"}
        first = await call(client, "post_message", **post, idempotency_key="k-1")
        again = await call(client, "post_message", **post, idempotency_key="k-1")
        assert not first.is_error and not again.is_error
        assert again.structured_content == first.structured_content
        assert first.structured_content["mentions"] == [{"name": "bo", "task_id": "t"}]
        # The key is the sender's, in this room: another sender, another room, or
        # another key is another post; so is a post without a key.
        await call(client, "post_message", **{**post, "sender": "cy"}, idempotency_key="k-1")
        await call(client, "post_message", **post, idempotency_key="k-2")
        await call(client, "post_message", **post)
        other = (await call(client, "init_room", project="p", name="m")).structured_content
        moved = await call(
            client, "post_message", **{**post, "room_id": other["id"]}, idempotency_key="k-1"
        )
        assert moved.structured_content["id"] != first.structured_content["id"]
        listed = await contents(client, room["id"])
        assert [sender for _, sender, _ in listed] == ["ana", "cy", "ana", "ana"]
        assert listed[0][0] == first.structured_content["id"]


async def test_a_bad_key_is_refused_in_one_line_with_nothing_written(
    server: ServerProcess,
) -> None:
    async with Client(server.mcp_url, mode="legacy") as client:
        room = (await call(client, "init_room", project="p", name="n")).structured_content
        for key in ("x" * 101, "   "):
            refused = await call(
                client,
                "post_message",
                room_id=room["id"],
                sender="a",
                content="c",
                idempotency_key=key,
            )
            assert refused.is_error
            text = refused.content[0].text
            assert "idempotency_key" in text and "\n" not in text
        assert await contents(client, room["id"]) == []
    async with httpx.AsyncClient(base_url=server.url) as http:
        answer = await http.post(
            f"/api/rooms/{room['id']}/messages",
            json={"sender": "a", "content": "c", "idempotency_key": "y" * 101},
        )
        assert answer.status_code == 422 and "idempotency_key" in answer.text


async def test_rest_and_the_cli_send_a_key(server: ServerProcess, backend: str, home: Path) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        room = (await http.post("/api/rooms", json={"project": "p", "name": "n"})).json()
        body = {"sender": "web", "content": "hello", "idempotency_key": "draft-1"}
        first = (await http.post(f"/api/rooms/{room['id']}/messages", json=body)).json()
        again = (await http.post(f"/api/rooms/{room['id']}/messages", json=body)).json()
        assert again["id"] == first["id"]
    env = server.environment()
    posted = subprocess.run(
        [sys.executable, "-m", "chatnut", "post", room["id"], "from the terminal", "--sender", "t"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert posted.returncode == 0, posted.stderr
    keys = await stored_keys(server, backend, home)
    assert "draft-1" in keys and any(k.startswith("cli-") for k in keys), keys


async def stored_keys(server: ServerProcess, backend: str, home: Path) -> list[str]:
    if backend == "sqlite":
        with sqlite3.connect(home / "chatnut.db") as conn:
            return [r[0] for r in conn.execute("SELECT key FROM idempotency_keys")]
    import asyncpg

    conn = await asyncpg.connect(server.extra_args[1])
    try:
        return [r["key"] for r in await conn.fetch("SELECT key FROM idempotency_keys")]
    finally:
        await conn.close()


async def test_a_retry_on_another_worker_returns_the_first_post(
    team_server: Callable[[int], ServerProcess],
) -> None:
    server = team_server(2)
    pids = worker_pids(server.home)
    groups = await pinned_clients(server.url, pids, per_worker=1)
    try:
        one, two = (groups[pid][0] for pid in sorted(pids))
        room = (await one.http.post("/api/rooms", json={"project": "p", "name": "n"})).json()
        post = {"room_id": room["id"], "sender": "ana", "content": "ship it"}
        first = await tool_call(one.http, "post_message", **post, idempotency_key="retry-1")
        again = await tool_call(two.http, "post_message", **post, idempotency_key="retry-1")
        assert again["id"] == first["id"]
        # Both workers at once with one key: one message.
        results: list[dict[str, Any]] = []

        async def send(client: Any) -> None:
            results.append(
                await tool_call(client.http, "post_message", **post, idempotency_key="race")
            )

        async with anyio.create_task_group() as group:
            for _ in range(5):
                group.start_soon(send, one)
                group.start_soon(send, two)
        assert len({r["id"] for r in results}) == 1
        page = (await one.http.get(f"/api/rooms/{room['id']}/messages?since_id=0")).json()
        assert len(page["messages"]) == 2
        assert {await one.pid_now(), await two.pid_now()} == pids
    finally:
        await close_all(groups)
