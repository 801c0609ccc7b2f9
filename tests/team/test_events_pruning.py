"""PostgreSQL's `events` table on a two-worker team server with a short keep setting:
it stays bounded under steady writes, and a worker held back (SIGSTOP) past the
pruned rows notices when it resumes and resyncs: its stream ends and resumes from the
tables with no gap, its parked wait answers from the tables, the gap is counted.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.helpers import ServerProcess, worker_pids
from tests.team.workers import close_all, pinned_clients, tool_call, wait_until_parked

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

KEEP_ROWS = 20
KEEP = {"CHATNUT_EVENTS_KEEP_SECONDS": "1", "CHATNUT_EVENTS_KEEP_ROWS": str(KEEP_ROWS)}


@pytest.fixture
def team(home: Path, postgres_url: str) -> Iterator[ServerProcess]:
    process = ServerProcess(home, ["--db", postgres_url, "--workers", "2"], env=KEEP)
    process.start()
    yield process
    process.stop()


@pytest.fixture
async def database(postgres_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(postgres_url)
    yield conn
    await conn.close()


async def until(condition: object, seconds: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await condition():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, what
        await asyncio.sleep(0.05)


async def test_events_stay_bounded_under_steady_writes(
    team: ServerProcess, database: asyncpg.Connection
) -> None:
    most = 0
    async with httpx.AsyncClient(base_url=team.url, timeout=30) as http:
        room = (await http.post("/api/rooms", json={"project": "ops", "name": "steady"})).json()
        for n in range(400):
            answer = await http.post(
                f"/api/rooms/{room['id']}/messages", json={"sender": "a", "content": f"{n}"}
            )
            assert answer.status_code == 200
            if n % 20 == 0:
                most = max(most, await database.fetchval("SELECT count(*) FROM events"))
    assert most < 250  # pruned as it went, not growing a row per write

    async def bounded() -> bool:
        return bool(await database.fetchval("SELECT count(*) FROM events") <= KEEP_ROWS)

    await until(bounded, 10, "the events table was not pruned back to its bound")
    assert await database.fetchval("SELECT pruned_through FROM events_horizon") >= 380


async def test_a_worker_held_back_past_the_pruned_rows_resyncs_with_no_gap(
    team: ServerProcess, database: asyncpg.Connection
) -> None:
    victim, other = sorted(worker_pids(team.home))
    pinned = await pinned_clients(team.url, {victim, other}, 2)
    try:
        on_victim, waiter = pinned[victim]
        on_other = pinned[other][0]
        room = await on_other.http.post("/api/rooms", json={"project": "ops", "name": "held"})
        room_id = room.json()["id"]
        first = await on_other.http.post(
            f"/api/rooms/{room_id}/messages", json={"sender": "a", "content": "before"}
        )
        since = first.json()["id"]
        wait = asyncio.create_task(
            tool_call(waiter.http, "wait_for_messages", room_id=room_id, since_id=since, timeout=60)
        )
        await wait_until_parked(team.url, {victim}, 1)
        seen: list[int] = []
        stream_ready, stream_ended = asyncio.Event(), asyncio.Event()

        async def follow() -> None:
            url = f"/api/rooms/{room_id}/stream?last_event_id={since}"
            async with on_victim.http.stream("GET", url) as response:
                event = ""
                async for line in response.aiter_lines():
                    if line.startswith("event:"):
                        event = line[6:].strip()
                        if event == "ready":
                            stream_ready.set()
                    elif line.startswith("data:") and event == "message":
                        seen.append(json.loads(line[5:])["id"])
            stream_ended.set()

        reader = asyncio.create_task(follow())
        await asyncio.wait_for(stream_ready.wait(), 30)
        before_seq = await database.fetchval("SELECT coalesce(max(seq), 0) FROM events")

        os.kill(victim, signal.SIGSTOP)
        try:
            posted = []
            for n in range(60):
                answer = await on_other.http.post(
                    f"/api/rooms/{room_id}/messages", json={"sender": "b", "content": f"{n}"}
                )
                posted.append(answer.json()["id"])

            async def pruned_past() -> bool:
                horizon = await database.fetchval("SELECT pruned_through FROM events_horizon")
                return bool(horizon > before_seq + 1)

            await until(pruned_past, 15, "the other worker did not prune past the held one")
        finally:
            os.kill(victim, signal.SIGCONT)

        answered = await asyncio.wait_for(wait, 30)
        # The wait answered from the tables: the first messages after its since_id, none skipped.
        assert [m["id"] for m in answered["messages"]] == posted[: len(answered["messages"])]
        assert answered["messages"] and answered["timed_out"] is False
        await asyncio.wait_for(stream_ended.wait(), 30)  # the held stream was ended...
        await reader
        assert seen == posted[: len(seen)]
        # ...and its client resumes from its Last-Event-ID (here on any worker).
        resume_from = seen[-1] if seen else since
        async with httpx.AsyncClient(base_url=team.url, timeout=30) as http:
            url = f"/api/rooms/{room_id}/stream"
            headers = {"last-event-id": str(resume_from)}
            async with http.stream("GET", url, headers=headers) as response:
                event = ""
                async for line in response.aiter_lines():
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:") and event == "message":
                        seen.append(json.loads(line[5:])["id"])
                        if len(seen) >= len(posted):
                            break
            assert seen == posted  # every message once, in order: no gap, no duplicate
            scrape = (await http.get(f"{team.url}/metrics")).text
        gaps = [line for line in scrape.splitlines() if line.startswith("chatnut_event_gaps_total")]
        assert gaps and float(gaps[0].split()[-1]) >= 1
    finally:
        await close_all(pinned)
