"""Coordination end to end: the real `chatnut serve` process and the official MCP
client over HTTP, every result checked against its declared output schema."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import AsyncIterator

import jsonschema
import pytest
from mcp import Client

from chatnut.service.coordination import HANDOFF_MAX_BYTES
from tests.helpers import ServerProcess
from tests.mcp_client import CheckedClient, connect

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


@pytest.fixture
async def agent(server: ServerProcess) -> AsyncIterator[CheckedClient]:
    async with connect(server.mcp_url) as client:
        yield client


async def waiting_now(agent: CheckedClient, room_id: str, name: str) -> bool:
    agents = (await agent.ok("list_agents", room_id=room_id))["agents"]
    return any(a["agent_name"] == name and a["waiting"] for a in agents)


async def until_waiting(agent: CheckedClient, room_id: str, name: str) -> None:
    while not await waiting_now(agent, room_id, name):
        await asyncio.sleep(0.01)  # the wait is in another process: poll its presence


async def test_filtered_wait_sleeps_through_50_posts_and_wakes_on_its_own(
    server: ServerProcess, agent: CheckedClient
) -> None:
    room = await agent.ok("init_room", project="e2e", name="directed")
    await agent.ok("register_agent", room_id=room["id"], agent_name="dev", task_id="t")
    async with Client(server.mcp_url, mode="2026-07-28") as other:
        waiting = asyncio.create_task(
            other.call_tool(
                "wait_for_messages",
                {"room_id": room["id"], "since_id": 0, "timeout": 60, "addressed_to": "dev"},
            )
        )
        await until_waiting(agent, room["id"], "dev")
        for i in range(50):
            await agent.ok("post_message", room_id=room["id"], sender="qa", content=f"n{i}")
        assert await waiting_now(agent, room["id"], "dev")  # still parked
        posted = await agent.ok(
            "post_message", room_id=room["id"], sender="qa", content="yours", to="dev"
        )
        acknowledged = time.monotonic()
        result = (await asyncio.wait_for(waiting, 10)).structured_content
        assert time.monotonic() - acknowledged < 1.0
        jsonschema.validate(result, agent.schemas["wait_for_messages"])
    assert [m["id"] for m in result["messages"]] == [posted["id"]]
    assert result["messages"][0]["to"] == ["dev"]
    assert result["next_since_id"] == posted["id"] and result["timed_out"] is False
    # The next filtered read starts past the 50 it skipped.
    later = await agent.ok(
        "read_messages", room_id=room["id"], addressed_to="dev", since_id=result["next_since_id"]
    )
    assert later == {"messages": [], "has_more": False, "next_since_id": posted["id"]}


async def test_inbox_long_polls_across_three_rooms(
    server: ServerProcess, agent: CheckedClient
) -> None:
    rooms = [(await agent.ok("init_room", project="e2e", name=f"r{i}"))["id"] for i in range(3)]
    archived = (await agent.ok("init_room", project="e2e", name="gone"))["id"]
    await agent.ok("post_message", room_id=archived, sender="qa", content="old", to="dev")
    await agent.ok("archive_room", project="e2e", name="gone")
    for room_id in rooms:
        await agent.ok("register_agent", room_id=room_id, agent_name="dev", task_id="t")
    first = await agent.ok("check_inbox", agent_name="dev")
    assert first["messages"] == [] and first["timed_out"] is True

    got = []
    async with Client(server.mcp_url, mode="legacy") as other:
        for room_id in reversed(rooms):  # each room in turn wakes the parked inbox
            since = got[-1]["id"] if got else first["next_since_id"]
            waiting = asyncio.create_task(
                other.call_tool(
                    "check_inbox", {"agent_name": "DEV", "since_id": since, "timeout": 60}
                )
            )
            await until_waiting(agent, rooms[0], "dev")
            await agent.ok("post_message", room_id=room_id, sender="qa", content="n", to="qa")
            posted = await agent.ok(
                "post_message", room_id=room_id, sender="qa", content="@dev look", to=["dev"]
            )
            result = (await asyncio.wait_for(waiting, 10)).structured_content
            jsonschema.validate(result, agent.schemas["check_inbox"])
            assert [m["id"] for m in result["messages"]] == [posted["id"]]
            assert result["messages"][0]["room"]["id"] == room_id
            got.append(posted)
    everything = await agent.ok("check_inbox", agent_name="dev")
    assert [m["id"] for m in everything["messages"]] == [m["id"] for m in got]  # not "gone"


async def test_handoff_of_a_10000_message_room_is_bounded_and_fast(
    server: ServerProcess, agent: CheckedClient
) -> None:
    room = await agent.ok("init_room", project="e2e", name="big", description="d" * 2000)
    await agent.ok(
        "post_message",
        room_id=room["id"],
        sender="pm",
        content="s" * 60_000,
        message_type="summary",
    )
    server.stop()
    db = sqlite3.connect(server.home / "chatnut.db")
    with db:
        db.executemany(
            "INSERT INTO messages (room_id, sender, content, message_type, created_at)"
            " VALUES (?, ?, ?, 'message', '2026-12-01T00:00:00.000+00:00')",
            [
                (room["id"], f"agent-{i % 7}", f"message {i} " + "x" * (i % 5000))
                for i in range(10_000)
            ],
        )
        db.executemany(
            "INSERT INTO room_status (room_id, sender, status, updated_at) VALUES (?, ?, ?, ?)",
            [
                (room["id"], f"agent-{i}", "busy " * 99, f"2026-12-01T00:00:{i:02d}")
                for i in range(60)
            ],
        )
    db.close()
    server.start()

    started = time.monotonic()
    handoff = await agent.ok("get_handoff", room_id=room["id"], reader="newcomer", recent=100)
    elapsed = time.monotonic() - started
    assert elapsed < 0.5, elapsed
    size = len(json.dumps(handoff, ensure_ascii=False, separators=(",", ":")).encode())
    assert size <= HANDOFF_MAX_BYTES, size
    assert handoff["unread_count"] == 10_001
    assert handoff["latest_summary"]["truncated"] is True
    assert handoff["complete"] is False and handoff["omitted"]["unread"] > 0
    assert handoff["room"]["description"] == "d" * 2000
