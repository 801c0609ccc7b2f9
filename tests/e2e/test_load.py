"""Load on the real server: 50 agents (one MCP session each) post and wait for
CHATNUT_LOAD_SECONDS (default 10; a soak sets more) while 20 browsers' worth of room streams
listen. Every message reaches every stream once, in order; no call fails. Then
CHATNUT_LOAD_CYCLES (default 400) connects and disconnects (MCP sessions and
streams) leave the server's file descriptors and memory where they were.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client

from tests.helpers import ServerProcess

pytestmark = [pytest.mark.anyio, pytest.mark.e2e, pytest.mark.slow]

AGENTS = 50
STREAMS = 20
SECONDS = float(os.environ.get("CHATNUT_LOAD_SECONDS", "10"))
CYCLES = int(os.environ.get("CHATNUT_LOAD_CYCLES", "400"))
MIN_ROUNDS = 3


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content[0].text
    data: dict[str, Any] = result.structured_content
    return data


async def sse_messages(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """The `message` events of a feed, parsed."""
    event = ""
    async for line in response.aiter_lines():
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:") and event == "message":
            yield json.loads(line[5:])
        elif not line:
            event = ""


async def listen(url: str, room_id: str, start_id: int, ready: asyncio.Queue[int]) -> list[int]:
    seen: list[int] = []
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(10, read=SECONDS + 60)) as http,
        http.stream("GET", f"{url}/api/rooms/{room_id}/stream?last_event_id=0") as response,
    ):
        assert response.status_code == 200
        async for message in sse_messages(response):
            seen.append(message["id"])
            if message["id"] == start_id:
                ready.put_nowait(1)  # subscribed before its backlog: live from here on
            if message["sender"] == "lead" and message["content"] == "end":
                return seen
    raise AssertionError("the stream ended early")


async def agent(url: str, room_id: str, n: int, since: int, stop_at: float) -> list[int]:
    posted: list[int] = []
    async with Client(url, mode="legacy" if n % 2 else "2026-07-28") as client:
        # For the storm's time, and at least a few rounds each however slow the
        # machine: the streams must see a crowd, not a handful.
        while time.monotonic() < stop_at or len(posted) < MIN_ROUNDS:
            message = await call(
                client, "post_message", room_id=room_id, sender=f"agent-{n}", content=f"{n}:{since}"
            )
            posted.append(message["id"])
            got = await call(
                client, "wait_for_messages", room_id=room_id, since_id=since, timeout=5, limit=1000
            )
            assert not got["timed_out"]  # its own post at least is there
            since = got["messages"][-1]["id"]
    return posted


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def connect_and_leave(server: ServerProcess, room_id: str, cycles: int) -> None:
    async def one(i: int) -> None:
        if i % 2:
            async with Client(server.mcp_url, mode="legacy") as client:
                await call(client, "read_messages", room_id=room_id, limit=1)
        else:
            async with (
                httpx.AsyncClient(timeout=10) as http,
                http.stream("GET", f"{server.url}/api/rooms/{room_id}/stream") as response,
            ):
                assert response.status_code == 200
                async for _ in response.aiter_lines():
                    break  # the retry hint: connected; now hang up

    for start in range(0, cycles, 10):
        await asyncio.gather(*(one(i) for i in range(start, min(start + 10, cycles))))


async def settled_fds(pid: int, at_most: int) -> int:
    """The server closes a socket when it notices the peer left: wait for that, bounded."""
    deadline = time.monotonic() + 10
    while (count := open_fds(pid)) > at_most and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return count


@pytest.fixture
def server(home: Path) -> Iterator[ServerProcess]:
    """Twenty browsers' worth of streams, here all from one address: past the
    per-client stream cap a real server has (its default is for one person)."""
    process = ServerProcess(
        home,
        env={
            "CHATNUT_MAX_STREAMS_PER_CLIENT": str(STREAMS + 4),
            # Seventy clients at once from one address, none of them signed in.
            "CHATNUT_MAX_UNAUTHENTICATED_PER_ADDRESS": "1000",
            "CHATNUT_MAX_UNAUTHENTICATED_CONNECTIONS": "1000",
        },
    )
    process.start()
    yield process
    process.stop()


async def test_50_agents_and_20_streams_then_no_leaks(server: ServerProcess) -> None:
    async with Client(server.mcp_url, mode="legacy") as lead:
        room_id = (await call(lead, "init_room", project="load", name="crowd"))["id"]
        start = await call(lead, "post_message", room_id=room_id, sender="lead", content="start")
        ready: asyncio.Queue[int] = asyncio.Queue()
        listeners = [
            asyncio.create_task(listen(server.url, room_id, start["id"], ready))
            for _ in range(STREAMS)
        ]
        for _ in range(STREAMS):
            await asyncio.wait_for(ready.get(), 30)
        stop_at = time.monotonic() + SECONDS
        posted = await asyncio.gather(
            *(agent(server.mcp_url, room_id, n, start["id"], stop_at) for n in range(AGENTS))
        )
        last = await call(lead, "post_message", room_id=room_id, sender="lead", content="end")
        streams = await asyncio.wait_for(asyncio.gather(*listeners), 60)
    every = sorted([start["id"], last["id"], *(i for ids in posted for i in ids)])
    assert len(every) == len(set(every))
    assert len(every) > AGENTS * 2
    for seen in streams:
        assert seen == every  # each message once, in id order, none missing

    pid = server.proc.pid if server.proc is not None else 0
    await connect_and_leave(server, room_id, 100)  # warm: first-use imports and caches
    fds_before = await settled_fds(pid, 0)
    rss_before = rss_kib(pid)
    await connect_and_leave(server, room_id, CYCLES)
    fds_after = await settled_fds(pid, fds_before)
    rss_after = rss_kib(pid)
    assert fds_after <= fds_before, f"file descriptors {fds_before} -> {fds_after}"
    # A leak of 25 KiB per connection would be 10 MiB here (a soak's thousands
    # of cycles find less); a leaked socket shows at once in the fds above.
    assert rss_after - rss_before < 10 * 1024, f"RSS {rss_before} -> {rss_after} KiB"
