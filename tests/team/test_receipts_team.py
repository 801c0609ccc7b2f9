"""Receipts on a two-worker PostgreSQL team server: each step over a fresh
connection (the kernel spreads them over the workers), so a receipt stamped by
one worker is what the others report."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.helpers import ServerProcess
from tests.mcp_client import connect

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def test_receipts_agree_across_workers(team_server: Callable[[int], ServerProcess]) -> None:
    server = team_server(2)
    async with connect(server.mcp_url) as lead:
        room = (await lead.ok("init_room", project="team", name="acks"))["id"]
        asked = await lead.ok(
            "post_message",
            room_id=room,
            sender="lead",
            content="ship?",
            to=["dev", "qa"],
            ack_required=True,
        )
    for _ in range(3):  # the inbox on whichever worker; delivered once, stays so
        async with connect(server.mcp_url) as dev:
            inbox = await dev.ok("check_inbox", agent_name="dev")
            assert inbox["messages"][0]["receipts"]["dev"]["delivered_at"] is not None
            assert [a["message_id"] for a in inbox["awaiting_ack"]] == [asked["id"]]
    async with connect(server.mcp_url) as dev:
        await dev.ok("mark_read", room_id=room, reader="dev", last_read_message_id=asked["id"])
    async with connect(server.mcp_url) as dev:
        acked = await dev.ok("ack_message", room_id=room, message_id=asked["id"], agent_name="dev")
        assert acked["read_at"] is not None and acked["acked_at"] is not None
    async with httpx.AsyncClient(base_url=server.url) as rest:
        for _ in range(3):
            got = (await rest.get(f"/api/rooms/{room}/messages/{asked['id']}/receipts")).json()
            assert got["receipts"]["dev"]["acked_at"] == acked["acked_at"]
            assert got["receipts"]["qa"] == {
                "delivered_at": None,
                "read_at": None,
                "acked_at": None,
            }
            awaiting = (await rest.get(f"/api/rooms/{room}/awaiting-acks")).json()["awaiting"]
            assert [a["name"] for a in awaiting] == ["qa"]
