"""The team server on a real PostgreSQL when things break: a worker
killed with -9, and PostgreSQL restarted under load. Clients are pinned to
workers by connection (tests/team/workers.py).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from mcp import Client

from tests.helpers import ServerProcess, alive, worker_pids
from tests.team.workers import call, pinned_mcp, wait_until_parked

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def test_kill_9_of_a_worker_loses_no_acknowledged_post_and_its_waiters_fail_fast(
    team_server: Callable[[int], ServerProcess],
) -> None:
    two = team_server(2)
    victim, survivor = sorted(worker_pids(two.home))
    posted: dict[int, list[int]] = {n: [] for n in range(6)}  # poster -> acknowledged ids
    room_id = httpx.post(f"{two.url}/api/rooms", json={"project": "team", "name": "crash"})
    room_id = room_id.json()["id"]
    quiet_id = httpx.post(f"{two.url}/api/rooms", json={"project": "team", "name": "quiet"})
    quiet_id = quiet_id.json()["id"]
    stop = asyncio.Event()

    async def post_until_stopped(client: Client, n: int) -> None:
        while not stop.is_set():
            message = await call(
                client, "post_message", room_id=room_id, sender=f"p{n}", content="x"
            )
            posted[n].append(message["id"])

    async def poster(pid: int, n: int) -> bool:
        """Posts until told to stop. Returns whether its posts left the first connection:
        either they failed and the client retried on a new one, or the HTTP client
        found the old one closed between two posts and quietly opened another."""
        try:
            async with pinned_mcp(two.url, pid) as (client, _, connection):
                await post_until_stopped(client, n)
            return connection.moved
        except Exception:
            async with Client(two.mcp_url, mode="2026-07-28") as client:
                await post_until_stopped(client, n)
            return True

    async def waiter() -> float:
        began = time.monotonic()
        try:
            async with pinned_mcp(two.url, victim) as (client, _, _):
                await call(client, "wait_for_messages", room_id=quiet_id, since_id=0, timeout=60)
        except Exception:
            return time.monotonic() - began
        raise AssertionError("a wait on a silent room returned without an error")

    def acknowledged() -> list[int]:
        return [i for ids in posted.values() for i in ids]

    waits = [asyncio.create_task(waiter()) for _ in range(3)]
    await wait_until_parked(two.url, {victim}, 3)
    posts = [asyncio.create_task(poster((victim, survivor)[n % 2], n)) for n in range(6)]
    while len(acknowledged()) < 30:  # posts flowing on both workers
        await asyncio.sleep(0.01)
    killed_at = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    failed_after = await asyncio.wait_for(asyncio.gather(*waits), 30)
    assert all(seconds < 15 for seconds in failed_after), failed_after
    assert time.monotonic() - killed_at < 15
    at_kill = {n: len(ids) for n, ids in posted.items()}
    # Posting carries on, and every poster gets two posts through: the first may have
    # been answered before the kill, the second was surely sent after it.
    while True:
        since_kill = [len(posted[n]) - at_kill[n] for n in posted]
        if sum(since_kill) >= 60 and min(since_kill) >= 2:
            break
        assert time.monotonic() - killed_at < 30, f"posting stalled: {since_kill}"
        await asyncio.sleep(0.01)
    stop.set()
    left = await asyncio.wait_for(asyncio.gather(*posts), 30)
    assert all(left[n] for n in range(0, 6, 2)), left  # the victim's posters went elsewhere
    stored = httpx.get(f"{two.url}/api/rooms/{room_id}/messages?limit=1000").json()["messages"]
    assert set(acknowledged()) <= {m["id"] for m in stored}
    assert len(acknowledged()) == len(set(acknowledged()))
    # The supervisor replaced the dead worker.
    deadline = time.monotonic() + 30
    while victim in worker_pids(two.home) or len(worker_pids(two.home)) < 2:
        assert time.monotonic() < deadline, "the killed worker was not replaced"
        await asyncio.sleep(0.05)
    assert all(alive(pid) for pid in worker_pids(two.home))
    assert "died (signal SIGKILL); restarting it" in "".join(two.output)


async def follow(base: str, room_id: str, want: set[int], seen: list[int]) -> list[int]:
    """An EventSource: reads the room's feed, reconnecting with Last-Event-ID when it
    ends or cannot connect, until every id in `want` (filled by the caller) is seen."""
    last = 0
    async with httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(10, read=60)) as http:
        while not (want and want <= set(seen)):
            try:
                path = f"/api/rooms/{room_id}/stream?last_event_id={last}"
                async with http.stream("GET", path) as response:
                    if response.status_code != 200:
                        await asyncio.sleep(0.2)  # the database is down: try again
                        continue
                    event, event_id = "", ""
                    async for line in response.aiter_lines():
                        if line.startswith("event:"):
                            event = line[6:].strip()
                        elif line.startswith("id:"):
                            event_id = line[3:].strip()
                        elif not line:
                            if event == "message" and event_id:
                                last = int(event_id)
                                seen.append(last)
                                if want and want <= set(seen):
                                    return seen
                            event, event_id = "", ""
            except httpx.TransportError:
                await asyncio.sleep(0.2)
    return seen


async def test_postgres_restart_under_load_errors_clearly_then_recovers(
    team_server: Callable[[int], ServerProcess], postgres_server: Any
) -> None:
    two = team_server(2)
    pids = worker_pids(two.home)
    room_id = httpx.post(f"{two.url}/api/rooms", json={"project": "team", "name": "outage"})
    room_id = room_id.json()["id"]
    acknowledged: list[int] = []
    refusals: list[dict[str, Any]] = []
    stop = asyncio.Event()

    async def poster(n: int) -> None:
        limits = httpx.Limits(max_keepalive_connections=0)  # each post to any worker
        async with httpx.AsyncClient(base_url=two.url, timeout=10, limits=limits) as http:
            while not stop.is_set():
                try:
                    answer = await http.post(
                        f"/api/rooms/{room_id}/messages", json={"sender": f"p{n}", "content": "x"}
                    )
                except httpx.TransportError:
                    continue
                if answer.status_code in (200, 201):
                    acknowledged.append(answer.json()["id"])
                else:
                    refusals.append({"status": answer.status_code, **answer.json()["error"]})
                    await asyncio.sleep(0.05)

    want: set[int] = set()
    seen_lists: list[list[int]] = [[] for _ in range(4)]
    streams = [asyncio.create_task(follow(two.url, room_id, want, seen)) for seen in seen_lists]
    posters = [asyncio.create_task(poster(n)) for n in range(4)]
    while len(acknowledged) < 20:
        await asyncio.sleep(0.01)
    before_outage = max(acknowledged)

    async def waiter() -> tuple[float, Any]:
        began = time.monotonic()
        async with Client(two.mcp_url, mode="2026-07-28") as client:
            result = await client.call_tool(
                "wait_for_messages",
                {"room_id": room_id, "since_id": before_outage, "timeout": 30},
            )
        return time.monotonic() - began, result

    postgres_server.stop("fast")
    waits = [asyncio.create_task(waiter()) for _ in range(4)]
    try:
        while not any(r["status"] == 503 for r in refusals):
            await asyncio.sleep(0.02)
        async with Client(two.mcp_url, mode="2026-07-28") as client:
            down = await client.call_tool(
                "read_messages", {"room_id": room_id, "since_id": 0, "limit": 1}
            )
        assert down.is_error
        assert "\n" not in down.content[0].text.strip()  # type: ignore[union-attr]
    finally:
        postgres_server.start()
    count_at_recovery = len(acknowledged)
    deadline = time.monotonic() + 60
    while len(acknowledged) < count_at_recovery + 40:  # recovered without a restart
        assert time.monotonic() < deadline, "posting did not recover"
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.gather(*posters)
    stored = httpx.get(f"{two.url}/api/rooms/{room_id}/messages?limit=1000").json()["messages"]
    stored_ids = [m["id"] for m in stored]
    assert set(acknowledged) <= set(stored_ids)
    want.update(stored_ids)
    deadline = time.monotonic() + 60
    while not all(set(stored_ids) <= set(seen) for seen in seen_lists):
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    for task in streams:
        task.cancel()
    for seen in seen_lists:
        missing, extra = set(stored_ids) - set(seen), len(seen) - len(set(seen))
        assert not missing and not extra, f"missing {sorted(missing)[:20]}, {extra} repeated"
        assert seen == sorted(stored_ids)  # no gap, no duplicate, in order, across the outage
    for seconds, result in await asyncio.wait_for(asyncio.gather(*waits), 60):
        assert seconds < 40  # none hung past its timeout
        if result.is_error:
            assert "\n" not in result.content[0].text.strip()
        elif not result.structured_content["timed_out"]:
            assert result.structured_content["messages"][0]["id"] > before_outage
    # Each refusal was a clear one-line error, and chatnut itself never restarted.
    for refusal in refusals:
        assert refusal["status"] == 503 and "\n" not in refusal["message"], refusal
    assert worker_pids(two.home) == pids and all(alive(pid) for pid in pids)
