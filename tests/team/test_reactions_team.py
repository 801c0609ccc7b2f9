"""Reaction events across the workers of a two-worker PostgreSQL team server: a
toggle made on one worker reaches the room's streams on every worker (its
event goes through the database's event log and NOTIFY, like every event)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import httpx
import pytest

from tests.e2e.test_reactions import make_room, next_reaction, post
from tests.helpers import ServerProcess
from tests.sse_client import open_stream
from tests.team.test_receipt_feed_team import worker_of

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def test_a_reaction_on_one_worker_reaches_streams_on_every_worker(
    team_server: Callable[[int], ServerProcess],
) -> None:
    server = team_server(2)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        room = await make_room(http, "team")
        message = await post(http, room, "shipped")
        reactor = await worker_of(http)
        async with contextlib.AsyncExitStack() as stack:
            # Fresh connections, spread by the kernel over both workers, until
            # some stream is on a worker other than the one that will react.
            streams, workers = [], set()
            for _ in range(20):
                client = await stack.enter_async_context(
                    httpx.AsyncClient(base_url=server.url, timeout=30)
                )
                workers.add(await worker_of(client))
                stream = await stack.enter_async_context(
                    open_stream(client, f"/api/rooms/{room}/stream")
                )
                await stream.until("ready")
                streams.append(stream)
                if len(workers) == 2 and len(streams) >= 4:
                    break
            assert workers - {reactor}, "every stream landed on the reacting worker"
            reacted = await http.post(
                f"/api/rooms/{room}/messages/{message['id']}/reactions",
                json={"emoji": "🎉", "name": "dev"},
            )
            assert reacted.status_code == 200, reacted.text
            assert await worker_of(http) == reactor  # the toggle went over that connection
            for stream in streams:
                assert (await next_reaction(stream)).json() == {
                    "room_id": room,
                    "message_id": message["id"],
                    "reactions": [{"emoji": "🎉", "count": 1, "names": ["dev"]}],
                }
