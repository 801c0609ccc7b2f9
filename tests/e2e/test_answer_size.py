"""Every answer is bounded in bytes, against the real server on both backends.

A room of the largest messages, read with the largest limit by eight agents
at once: each answer stops early with `has_more` (at most the answer budget
of content, and always at least one message), the server stays under 300 MB,
and paging on with `next_since_id` still reads every message once, in order.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client

from tests.helpers import ServerProcess

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends, pytest.mark.e2e, pytest.mark.slow]

BIG = 64 * 1024  # the default largest message
# Enough that eight unbounded reads would hold over 300 MB of content alone
# (8 × 600 × 64 KiB), so the RSS bound below fails if the budget does not hold.
MESSAGES = 600
READERS = 8
ANSWER_BYTES = 1024 * 1024  # the default budget
RSS_BOUND = 300 * 1024 * 1024


def peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


async def fill(server: ServerProcess) -> str:
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        room = (await http.post("/api/rooms", json={"project": "p", "name": "big"})).json()
        limiter = anyio.Semaphore(4)

        async def post(n: int) -> None:
            async with limiter:
                body = {"sender": "filler", "content": f"{n:06d}" + "x" * (BIG - 6)}
                answer = await http.post(f"/api/rooms/{room['id']}/messages", json=body)
                assert answer.status_code == 200, answer.text

        async with anyio.create_task_group() as group:
            for n in range(MESSAGES):
                group.start_soon(post, n)
    return str(room["id"])


async def read_with(client: Client, room_id: str, since_id: int = 0) -> dict[str, Any]:
    result = await client.call_tool(
        "read_messages", {"room_id": room_id, "since_id": since_id, "limit": 1000}
    )
    assert not result.is_error, result.content
    page: dict[str, Any] = result.structured_content
    return page


async def read(server: ServerProcess, room_id: str, since_id: int = 0) -> dict[str, Any]:
    """One read by an agent of its own (a session of its own)."""
    async with Client(server.mcp_url, mode="legacy") as client:
        return await read_with(client, room_id, since_id)


async def test_worst_case_reads_are_bounded(server: ServerProcess) -> None:
    room_id = await fill(server)
    assert server.proc is not None
    pages: list[dict[str, Any]] = []

    async def reader() -> None:
        pages.append(await read(server, room_id))

    async with anyio.create_task_group() as group:
        for _ in range(READERS):
            group.start_soon(reader)
    peak = peak_rss(server.proc.pid)
    print(f"peak server RSS after {READERS} worst-case reads: {peak // 2**20} MB")
    assert peak < RSS_BOUND, peak
    for page in pages:
        content = sum(len(m["content"].encode()) for m in page["messages"])
        assert page["has_more"] is True and 1 <= len(page["messages"]) < MESSAGES
        assert content <= ANSWER_BYTES, content
        assert page["next_since_id"] == page["messages"][-1]["id"]
        assert len(json.dumps(page)) < 2 * ANSWER_BYTES

    # Paging on reads every message once, in order.
    ids: list[int] = []
    seen: set[str] = set()
    since = 0
    async with Client(server.mcp_url, mode="legacy") as client:
        for _ in range(MESSAGES):
            page = await read_with(client, room_id, since)
            ids += [m["id"] for m in page["messages"]]
            seen |= {m["content"][:6] for m in page["messages"]}
            since = page["next_since_id"]
            if not page["has_more"]:
                break
    assert ids == sorted(set(ids)) and len(ids) == MESSAGES
    assert seen == {f"{n:06d}" for n in range(MESSAGES)}


async def test_one_message_over_the_budget_still_comes_through(home: Path) -> None:
    server = ServerProcess(home, env={"CHATNUT_MAX_ANSWER_BYTES": "1000"})
    server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            room = (await http.post("/api/rooms", json={"project": "p", "name": "n"})).json()
            for n in range(3):
                body = {"sender": "a", "content": f"{n}" + "y" * 5000}
                assert (
                    await http.post(f"/api/rooms/{room['id']}/messages", json=body)
                ).status_code == 200
            # The web page's backwards paging: the newest that fit, at least one.
            back = (await http.get(f"/api/rooms/{room['id']}/messages")).json()
            assert [m["content"][0] for m in back["messages"]] == ["2"] and back["has_more"]
        page = await read(server, room["id"])
        assert [m["content"][0] for m in page["messages"]] == ["0"] and page["has_more"]
    finally:
        server.stop()
