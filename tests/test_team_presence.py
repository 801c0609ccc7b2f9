"""Presence on the team server (SPEC §12, §13): an agent parked in a named wait on
one worker shows as `waiting` through every worker, within the publication
bound, and stops showing when the wait returns or its worker dies.

Clients are pinned to workers by connection (tests/team.py): the waits run on
one worker, the questions go to the other.
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

from chatnut.store.postgres.parked import PUBLISH_EVERY_S, STALE_AFTER_S
from tests.helpers import ServerProcess, waiting_by_name, worker_pids
from tests.team import call, close_all, pinned_clients, pinned_mcp

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

SLACK_S = 3.0  # two shared cores, a test process driving both workers
NAMES = ("dev", "qa")


async def presence(http: httpx.AsyncClient, room_id: str) -> list[dict[str, bool]]:
    """`waiting` per name as the agents, statuses and handoff routes show it."""
    agents = (await http.get(f"/api/rooms/{room_id}/agents")).json()["agents"]
    statuses = (await http.get(f"/api/rooms/{room_id}/statuses")).json()["statuses"]
    handoff = (await http.get(f"/api/rooms/{room_id}/handoff", params={"reader": "lead"})).json()
    return waiting_by_name(agents, statuses, handoff)


async def until_shown(
    base: str, pid: int, room_id: str, expected: dict[str, bool], seconds: float
) -> float:
    """Asks worker `pid` until every route shows `expected`; the seconds that took.
    Only answers of that worker count: when the pin slips, it pins again."""
    began = time.monotonic()
    seen: list[dict[str, bool]] = []
    while time.monotonic() - began < seconds:
        group = await pinned_clients(base, {pid}, 1)
        pinned = group[pid][0]
        try:
            while time.monotonic() - began < seconds:
                seen = await presence(pinned.http, room_id)
                if pinned.connection.moved:
                    break  # answered by another worker: pin again
                if seen == [expected] * 4:
                    return time.monotonic() - began
                await asyncio.sleep(0.05)
        finally:
            await close_all(group)
    raise AssertionError(f"worker {pid} showed {seen} for {seconds} s, never {expected}")


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

    waits = await park(base, parker, room_id, 0)
    await until_shown(base, parker, room_id, everybody, 60)  # parked (its own memory)
    began = await until_shown(base, asker, room_id, everybody, bound)
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
    ended = await until_shown(base, asker, room_id, nobody, bound)
    print(f"\nwaiting seen across workers after {began:.2f} s, its end after {ended:.2f} s")

    # The parking worker dies with its waits: they stop counting once its beat is stale.
    waits = await park(base, parker, room_id, go.json()["id"])
    await until_shown(base, parker, room_id, everybody, 60)
    await until_shown(base, asker, room_id, everybody, bound)
    os.kill(parker, signal.SIGKILL)
    gone = await until_shown(base, asker, room_id, nobody, STALE_AFTER_S + SLACK_S)
    print(f"a killed worker's waits stopped counting after {gone:.2f} s")
    for outcome in await asyncio.gather(*waits, return_exceptions=True):
        assert isinstance(outcome, BaseException)  # the connection died with the worker
