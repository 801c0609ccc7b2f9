"""Parked `wait_for_messages` calls on the real server: a client that goes
away releases its wait at once, and parked waits are capped per room and in
total with a one-line refusal."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx
import pytest
from mcp import Client

from tests.helpers import ServerProcess

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

WAITS = 20


def waiters(server: ServerProcess) -> int:
    count: int = httpx.get(f"{server.url}/api/status").json()["waiters"]
    return count


async def until_waiters(server: ServerProcess, count: int, seconds: float) -> float:
    """Seconds until /api/status reports `count` waiters (fails past `seconds`)."""
    started = anyio.current_time()
    with anyio.fail_after(seconds):
        while waiters(server) != count:
            await anyio.sleep(0.05)
    return anyio.current_time() - started


def make_room(server: ServerProcess, name: str = "r") -> str:
    room: str = httpx.post(f"{server.url}/api/rooms", json={"project": "p", "name": name}).json()[
        "id"
    ]
    return room


@pytest.mark.parametrize("era", ["legacy", "2026-07-28"])
async def test_a_client_that_goes_away_releases_its_wait_at_once(
    server: ServerProcess, era: str
) -> None:
    room = make_room(server)

    async def wait_then_leave() -> None:
        async with Client(server.mcp_url, mode=era) as client:
            await client.call_tool(
                "wait_for_messages", {"room_id": room, "since_id": 0, "timeout": 60}
            )

    async with anyio.create_task_group() as group:
        for _ in range(WAITS):
            group.start_soon(wait_then_leave)
        await until_waiters(server, WAITS, 30)
        # Esc in Claude Code: the requests are dropped, their connections closed.
        group.cancel_scope.cancel()
    # Their own timeout is 60 s away: released because the clients left.
    assert await until_waiters(server, 0, 5) < 5
    # The server is fine: a new wait is woken by a post as usual.
    async with Client(server.mcp_url, mode=era) as client, anyio.create_task_group() as group:

        async def post_soon() -> None:
            await until_waiters(server, 1, 10)
            httpx.post(
                f"{server.url}/api/rooms/{room}/messages", json={"sender": "a", "content": "x"}
            )

        group.start_soon(post_soon)
        woken = await client.call_tool(
            "wait_for_messages", {"room_id": room, "since_id": 0, "timeout": 30}
        )
    assert woken.structured_content["messages"][0]["content"] == "x"  # type: ignore[index]


async def test_parked_waits_are_capped_per_room_and_in_total(home: Path) -> None:
    server = ServerProcess(home, env={"CHATNUT_MAX_WAITS_PER_ROOM": "3", "CHATNUT_MAX_WAITS": "5"})
    server.start()
    try:
        first, second = make_room(server, "one"), make_room(server, "two")
        async with Client(server.mcp_url, mode="legacy") as client:

            async def park(room: str) -> None:
                await client.call_tool(
                    "wait_for_messages", {"room_id": room, "since_id": 0, "timeout": 60}
                )

            async def refusal(room: str) -> str:
                result = await client.call_tool(
                    "wait_for_messages", {"room_id": room, "since_id": 0, "timeout": 60}
                )
                assert result.is_error
                text: str = result.content[0].text  # type: ignore[union-attr]
                assert "\n" not in text
                return text

            async with anyio.create_task_group() as group:
                for _ in range(3):
                    group.start_soon(park, first)
                await until_waiters(server, 3, 30)
                assert "the limit is 3" in await refusal(first)
                for _ in range(2):
                    group.start_soon(park, second)
                await until_waiters(server, 5, 30)
                assert "5 waits are already parked on this server" in await refusal(second)
                # An inbox long-poll parks too, and counts against the same cap.
                inbox = await client.call_tool("check_inbox", {"agent_name": "ana", "timeout": 60})
                assert inbox.is_error
                assert "already parked" in inbox.content[0].text  # type: ignore[union-attr]
                group.cancel_scope.cancel()
    finally:
        server.stop()
