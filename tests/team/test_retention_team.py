"""A retention purge run by one worker of a PostgreSQL team server reaches the
streams on the other (its `purged` event goes through the database's event log
and NOTIFY, like every event), and a stream resuming on either worker from
before the purge is told of it and sent none of the purged messages."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_retention_feeds import backdate, next_named, post, resumed, run_retention
from tests.helpers import ServerProcess
from tests.sse_client import open_stream
from tests.team.test_receipt_feed_team import worker_of

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


@pytest.fixture
def team(home: Path, postgres_url: str) -> Iterator[ServerProcess]:
    process = ServerProcess(home, ["--db", postgres_url, "--workers", "2", "--retain-days", "30"])
    process.start()
    yield process
    process.stop()


async def test_a_purge_on_one_worker_reaches_streams_on_the_other(
    team: ServerProcess, home: Path, postgres_url: str
) -> None:
    async with httpx.AsyncClient(base_url=team.url, timeout=30) as http:
        room = (await http.post("/api/rooms", json={"project": "team", "name": "ops"})).json()["id"]
        old = [await post(http, room, f"old {n}") for n in range(2)]
        kept = await post(http, room, "new")
        await backdate(home, postgres_url, [m["id"] for m in old])
        purger = await worker_of(http)
        async with contextlib.AsyncExitStack() as stack:
            # Fresh connections, spread by the kernel over both workers, until
            # some stream is on the worker that will not run the purge.
            streams, workers = [], set()
            for _ in range(20):
                client = await stack.enter_async_context(
                    httpx.AsyncClient(base_url=team.url, timeout=30)
                )
                workers.add(await worker_of(client))
                url = f"/api/rooms/{room}/stream" if len(streams) % 2 else "/api/stream?room=*"
                stream = await stack.enter_async_context(open_stream(client, url))
                await stream.until("ready")
                streams.append(stream)
                if len(workers) == 2 and len(streams) >= 4:
                    break
            assert workers - {purger}, "every stream landed on the purging worker"
            done = await run_retention(http)
            assert done["messages"] == 2
            assert await worker_of(http) == purger  # the run went over that connection
            want = {
                "room_id": room,
                "project": "team",
                "room": "ops",
                "through_id": old[-1]["id"],
                "messages": 2,
            }
            for stream in streams:
                assert (await next_named(stream, "purged")).json() == want

        # Resumes from before the purge, on whichever worker takes them.
        resumed_on = set()
        for _ in range(12):
            async with httpx.AsyncClient(base_url=team.url, timeout=30) as client:
                resumed_on.add(await worker_of(client))
                events = await resumed(client, f"/api/rooms/{room}/stream", old[0]["id"])
            assert [e.json()["through_id"] for e in events if e.event == "purged"] == [
                old[-1]["id"]
            ]
            assert [int(e.id or 0) for e in events if e.event == "message"] == [kept["id"]]
            if len(resumed_on) == 2:
                break
        assert len(resumed_on) == 2, "every resume landed on one worker"
