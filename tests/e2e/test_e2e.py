"""End to end: the real `chatnut serve` process and the official MCP client over HTTP.

Both protocol eras are pinned explicitly ("legacy" = the 2025-11-25 initialize
handshake that Claude Code speaks; "2026-07-28" = sessionless), because the
client's default mode silently picks the newer one and would let a stateful
server pass the restart test.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from typing import Any

import pytest
from mcp import Client

from tests.helpers import ServerProcess

pytestmark = [pytest.mark.anyio, pytest.mark.e2e, pytest.mark.both_backends]

ERAS = ["legacy", "2026-07-28"]


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content[0].text
    data: dict[str, Any] = result.structured_content
    return data


async def test_two_agents_talk_through_the_server(
    server: ServerProcess, database_url: str | None
) -> None:
    async with (
        Client(server.mcp_url, mode="legacy") as lead,
        Client(server.mcp_url, mode="2026-07-28") as mate,
    ):
        room = await call(lead, "init_room", project="demo", name="e2e", branch="main")
        assert room["web_url"] == f"{server.url}/?room={room['id']}"
        await call(lead, "register_agent", room_id=room["id"], agent_name="mate", task_id="task-7")
        first = await call(
            lead,
            "post_message",
            room_id=room["id"],
            sender="lead",
            content="Kickoff. @mate please review the plan.",
        )
        assert first["mentions"] == [{"name": "mate", "task_id": "task-7"}]

        waiting = asyncio.create_task(
            call(lead, "wait_for_messages", room_id=room["id"], since_id=first["id"], timeout=30)
        )
        seen = await call(mate, "read_messages", room_id=room["id"])
        assert [m["id"] for m in seen["messages"]] == [first["id"]]
        reply = await call(
            mate,
            "post_message",
            room_id=room["id"],
            sender="mate",
            content="Reviewed: LGTM",
            reply_to=first["id"],
        )
        woken = await asyncio.wait_for(waiting, 20)
        assert woken["timed_out"] is False
        assert [m["id"] for m in woken["messages"]] == [reply["id"]]
        assert woken["messages"][0]["metadata"] == {"reply_to": first["id"]}
        pong = await call(mate, "ping")
        assert pong["status"] == "ok"
        assert pong["db_path"] == (database_url or str(server.home / "chatnut.db"))
        assert pong["web_url"] == server.url  # the bare base, as the original's ping


@pytest.mark.parametrize("era", ERAS)
async def test_a_connected_client_keeps_working_across_a_restart(
    server: ServerProcess, era: str
) -> None:
    async with Client(server.mcp_url, mode=era) as client:
        room = await call(client, "init_room", project="demo", name=f"restart-{era}")
        before = await call(
            client, "post_message", room_id=room["id"], sender="a", content="before restart"
        )
        server.stop()
        server.start()  # same port, same home
        after = await call(
            client, "post_message", room_id=room["id"], sender="a", content="after restart"
        )
        assert after["id"] > before["id"]
        history = await call(client, "read_messages", room_id=room["id"])
        assert [m["content"] for m in history["messages"]] == ["before restart", "after restart"]


async def test_kill_9_loses_no_acknowledged_post(server: ServerProcess) -> None:
    acknowledged: list[dict[str, Any]] = []
    async with Client(server.mcp_url, mode="legacy") as setup:
        room = await call(setup, "init_room", project="demo", name="durability")

    async def post_until_the_server_dies() -> None:
        async with Client(server.mcp_url, mode="legacy") as client:
            for i in range(10_000):
                try:
                    posted = await call(
                        client,
                        "post_message",
                        room_id=room["id"],
                        sender=f"agent-{i % 3}",
                        content=f"durable message {i}",
                    )
                except Exception:
                    return
                acknowledged.append(posted)
                if len(acknowledged) == 60:
                    server.kill()  # mid-stream: the next post is in flight or about to be

    # The client's own connection tasks fail too once the server is gone.
    with contextlib.suppress(Exception):
        await asyncio.wait_for(post_until_the_server_dies(), 60)
    assert server.proc is not None and server.proc.returncode == -9
    assert len(acknowledged) >= 60

    server.start()
    async with Client(server.mcp_url, mode="legacy") as client:
        stored = await call(client, "read_messages", room_id=room["id"], limit=1000)
        by_id = {m["id"]: m for m in stored["messages"]}
        for posted in acknowledged:
            kept = by_id[posted["id"]]
            assert (kept["sender"], kept["content"], kept["created_at"]) == (
                posted["sender"],
                posted["content"],
                posted["created_at"],
            )
        after = await call(
            client, "post_message", room_id=room["id"], sender="a", content="after the crash"
        )
        assert after["id"] > max(by_id)
    server.stop()
    if (server.home / "chatnut.db").exists():  # SQLite: the file is whole
        conn = sqlite3.connect(server.home / "chatnut.db")
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()


async def test_50_posters_and_20_waiters_at_once(server: ServerProcess) -> None:
    posters, waiters, each = 50, 20, 2
    async with Client(server.mcp_url, mode="legacy") as lead:
        room = await call(lead, "init_room", project="demo", name="crowd")
        start = await call(lead, "post_message", room_id=room["id"], sender="lead", content="go")
    ready = asyncio.Event()
    subscribed = 0
    expected_total = posters * each

    async def waiter(n: int) -> list[int]:
        nonlocal subscribed
        seen: list[int] = []
        async with Client(server.mcp_url, mode="legacy") as client:
            subscribed += 1
            if subscribed == waiters:
                ready.set()
            since = start["id"]
            while len(seen) < expected_total:
                got = await call(
                    client,
                    "wait_for_messages",
                    room_id=room["id"],
                    since_id=since,
                    timeout=30,
                    limit=1000,
                )
                assert not got["timed_out"], f"waiter {n} starved after {len(seen)}"
                ids = [m["id"] for m in got["messages"]]
                seen.extend(ids)
                since = ids[-1]
        return seen

    async def poster(n: int) -> list[int]:
        await ready.wait()
        async with Client(server.mcp_url, mode="legacy") as client:
            return [
                (
                    await call(
                        client,
                        "post_message",
                        room_id=room["id"],
                        sender=f"p{n}",
                        content=f"poster {n} message {k}",
                    )
                )["id"]
                for k in range(each)
            ]

    results = await asyncio.wait_for(
        asyncio.gather(*[waiter(i) for i in range(waiters)], *[poster(i) for i in range(posters)]),
        120,
    )
    waited, posted = results[:waiters], results[waiters:]
    posted_ids = sorted(i for ids in posted for i in ids)
    assert len(set(posted_ids)) == expected_total
    for seen in waited:
        assert seen == posted_ids  # every waiter: everything, once, in order
    async with Client(server.mcp_url, mode="legacy") as client:
        stored = await call(
            client, "read_messages", room_id=room["id"], since_id=start["id"], limit=1000
        )
    assert [m["id"] for m in stored["messages"]] == posted_ids


async def test_a_wait_in_progress_answers_timed_out_when_the_server_stops(
    server: ServerProcess,
) -> None:
    import httpx

    async with Client(server.mcp_url, mode="legacy") as client:
        room = await call(client, "init_room", project="demo", name="shutdown")
        waiting = asyncio.create_task(
            call(client, "wait_for_messages", room_id=room["id"], since_id=0, timeout=60)
        )
        async with httpx.AsyncClient() as http:
            while (await http.get(f"{server.url}/api/status")).json()["waiters"] == 0:
                await asyncio.sleep(0.01)  # the wait is in the server: poll its health
        stopped = asyncio.get_running_loop().run_in_executor(None, server.stop)
        result = await asyncio.wait_for(waiting, 10)
        assert result == {"messages": [], "has_more": False, "next_since_id": 0, "timed_out": True}
        await stopped
        assert not (server.home / "server.pid").exists()  # a clean exit, files removed
