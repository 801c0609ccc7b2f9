"""`chatnut reload` on a two-worker team server under a steady stream of posts and parked
waits (the official MCP client, no retries): every post succeeds, every wait is
answered, the workers are new processes running freshly loaded code, and every
acknowledged post is stored.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client

from tests.helpers import ServerProcess, worker_pids
from tests.team.workers import call

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

POSTERS = 4
WAITERS = 3


async def test_reload_under_posts_and_waits_fails_nothing(
    team_server: Callable[[int], ServerProcess],
) -> None:
    two = team_server(2)
    before = worker_pids(two.home)
    room_id = httpx.post(f"{two.url}/api/rooms", json={"project": "ops", "name": "reload"})
    room_id = room_id.json()["id"]
    stop = asyncio.Event()
    acknowledged: list[int] = []
    failures: list[str] = []
    waits = {"asked": 0, "answered": 0, "with_messages": 0}

    async def poster(n: int) -> None:
        async with Client(two.mcp_url, mode="2026-07-28") as client:
            while not stop.is_set():
                try:
                    message = await call(
                        client, "post_message", room_id=room_id, sender=f"p{n}", content="x"
                    )
                except Exception as exc:
                    failures.append(f"post: {exc!r}")
                    return
                acknowledged.append(message["id"])

    async def waiter() -> None:
        since = 0
        async with Client(two.mcp_url, mode="2026-07-28") as client:
            while not stop.is_set():
                waits["asked"] += 1
                try:
                    answer: dict[str, Any] = await call(
                        client, "wait_for_messages", room_id=room_id, since_id=since, timeout=30
                    )
                except Exception as exc:
                    failures.append(f"wait: {exc!r}")
                    return
                waits["answered"] += 1
                if answer["messages"]:
                    waits["with_messages"] += 1
                since = answer["next_since_id"]

    tasks = [asyncio.create_task(poster(n)) for n in range(POSTERS)]
    tasks += [asyncio.create_task(waiter()) for _ in range(WAITERS)]

    async def flowing(more: int) -> None:
        target = len(acknowledged) + more
        deadline = asyncio.get_running_loop().time() + 60
        while len(acknowledged) < target and not failures:
            assert asyncio.get_running_loop().time() < deadline, "posts stopped flowing"
            await asyncio.sleep(0.01)

    await flowing(40)
    at_reload = len(acknowledged)
    reloaded = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "chatnut", "reload"],
        env={"CHATNUT_HOME": str(two.home), "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert reloaded.returncode == 0, reloaded.stderr
    during = len(acknowledged) - at_reload
    await flowing(40)  # and posting carries on, on the new workers
    stop.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 60)

    assert failures == []
    assert during > 0  # posts were made while the workers were being replaced
    after = worker_pids(two.home)
    assert len(after) == 2 and not after & before
    for pid in after:  # fresh interpreters, loading the code installed now (an upgrade)
        assert b"chatnut.worker" in Path(f"/proc/{pid}/cmdline").read_bytes()
    assert waits["answered"] == waits["asked"] and waits["with_messages"] > 0
    async with httpx.AsyncClient(base_url=two.url, timeout=30) as http:
        stored: list[int] = []
        since = 0
        while True:
            page = (
                await http.get(
                    f"/api/rooms/{room_id}/messages", params={"since_id": since, "limit": 500}
                )
            ).json()
            stored += [m["id"] for m in page["messages"]]
            if not page["has_more"]:
                break
            since = stored[-1]
    assert sorted(acknowledged) == stored  # every acknowledged post, once
