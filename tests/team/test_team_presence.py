"""Presence on the team server: an agent parked in a named wait on
one worker shows as `waiting` through every worker, within the publication
bound, and stops showing when the wait returns or its worker dies.

Clients are pinned to workers by connection (tests/team/workers.py): the waits run on
one worker, the questions go to the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from chatnut.store.postgres.parked import PUBLISH_EVERY_S, STALE_AFTER_S
from tests.helpers import ServerProcess, waiting_by_name, worker_pids
from tests.team.workers import call, close_all, pinned_clients, pinned_mcp

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

SLACK_S = 3.0  # two shared cores, a test process driving both workers
NAMES = ("dev", "qa")


async def presence(http: httpx.AsyncClient, room_id: str) -> list[dict[str, bool]]:
    """`waiting` per name as the agents, statuses and handoff routes show it."""
    agents = (await http.get(f"/api/rooms/{room_id}/agents")).json()["agents"]
    statuses = (await http.get(f"/api/rooms/{room_id}/statuses")).json()["statuses"]
    handoff = (await http.get(f"/api/rooms/{room_id}/handoff", params={"reader": "lead"})).json()
    return waiting_by_name(agents, statuses, handoff)


class Watch:
    """Asks worker `pid` about the room over and over, on one pinned connection
    (never idle long enough to be closed; pinned again if it slips), keeping the
    latest answer and when it was asked."""

    def __init__(self, base: str, pid: int, room_id: str) -> None:
        self.base, self.pid, self.room_id = base, pid, room_id
        self.latest: tuple[float, float, list[dict[str, bool]]] = (0.0, 0.0, [])
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            group = await pinned_clients(self.base, {self.pid}, 1)
            pinned = group[self.pid][0]
            try:
                while not pinned.connection.moved:  # moved: another worker answered
                    asked = time.monotonic()
                    seen = await presence(pinned.http, self.room_id)
                    if not pinned.connection.moved:
                        self.latest = (asked, time.monotonic(), seen)
                    await asyncio.sleep(0.05)
            finally:
                await close_all(group)

    async def until(
        self, expected: dict[str, bool], seconds: float, since: float | None = None
    ) -> tuple[float, float]:
        """Until an answer asked after `since` (default: now) shows `expected` in
        every view: (when that answer was asked, seconds from `since` to it)."""
        since = time.monotonic() if since is None else since
        while True:
            asked, answered, seen = self.latest
            if asked > since and seen == [expected] * 4:
                return asked, answered - since
            assert time.monotonic() - since < seconds, (
                f"worker {self.pid} still showed {seen} {seconds} s later, not {expected}"
            )
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, httpx.TransportError):
            await self.task


async def park(base: str, pid: int, room_id: str, since_id: int) -> list[asyncio.Task[Any]]:
    """dev waits in the room, qa on its inbox, both on worker `pid`."""

    async def wait(tool: str, **arguments: Any) -> dict[str, Any]:
        async with pinned_mcp(base, pid) as (client, _, _):
            return await call(client, tool, since_id=since_id, timeout=60, **arguments)

    return [
        asyncio.create_task(wait("wait_for_messages", room_id=room_id, addressed_to="dev")),
        asyncio.create_task(wait("check_inbox", agent_name="qa")),
    ]


async def test_a_wait_parked_on_one_worker_shows_as_waiting_on_the_other(
    team_server: Callable[[int], ServerProcess],
) -> None:
    two = team_server(2)
    parker, asker = sorted(worker_pids(two.home))
    base = two.url
    room_id = httpx.post(f"{base}/api/rooms", json={"project": "team", "name": "presence"})
    room_id = room_id.json()["id"]
    for name in NAMES:
        registered = httpx.post(
            f"{base}/api/rooms/{room_id}/agents", json={"agent_name": name, "task_id": "t"}
        )
        assert registered.status_code == 200, registered.text
        status = httpx.post(
            f"{base}/api/rooms/{room_id}/statuses", json={"sender": name, "status": "on it"}
        )
        assert status.status_code == 200, status.text
    nobody = dict.fromkeys(NAMES, False)
    everybody = dict.fromkeys(NAMES, True)
    bound = PUBLISH_EVERY_S + SLACK_S
    at_parker, at_asker = Watch(base, parker, room_id), Watch(base, asker, room_id)
    try:
        await at_asker.until(nobody, 60)
        waits = await park(base, parker, room_id, 0)
        # Parked: the parker's own memory says so (at most one poll after it was).
        parked_at, _ = await at_parker.until(everybody, 60)
        _, began = await at_asker.until(everybody, bound, since=parked_at)
        async with pinned_mcp(base, asker) as (client, _, connection):
            statuses = await call(client, "get_team_status", room_id=room_id)
            agents = await call(client, "list_agents", room_id=room_id)
            assert not connection.moved
        assert {s["sender"]: s["waiting"] for s in statuses["statuses"]} == everybody
        assert {a["agent_name"]: a["waiting"] for a in agents["agents"]} == everybody

        go = httpx.post(
            f"{base}/api/rooms/{room_id}/messages",
            json={"sender": "lead", "content": "go", "to": list(NAMES)},
        )
        assert go.status_code in (200, 201), go.text
        for result in await asyncio.wait_for(asyncio.gather(*waits), 30):
            assert [m["id"] for m in result["messages"]] == [go.json()["id"]]
        _, ended = await at_asker.until(nobody, bound)  # from the waits' return
        print(f"\nwaiting seen across workers {began:.2f} s after it began, {ended:.2f} s after")

        # The parking worker dies with its waits: they stop counting once its beat is stale.
        waits = await park(base, parker, room_id, go.json()["id"])
        parked_at, _ = await at_parker.until(everybody, 60)
        await at_asker.until(everybody, bound, since=parked_at)
        await at_parker.stop()
        os.kill(parker, signal.SIGKILL)
        _, gone = await at_asker.until(nobody, STALE_AFTER_S + SLACK_S)
        print(f"a killed worker's waits stopped counting {gone:.2f} s after the kill")
    finally:
        await at_parker.stop()
        await at_asker.stop()
    for outcome in await asyncio.gather(*waits, return_exceptions=True):
        assert isinstance(outcome, BaseException)  # the connection died with the worker
