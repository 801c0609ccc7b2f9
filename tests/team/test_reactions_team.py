"""Reaction events across the workers of a two-worker PostgreSQL team server: a
toggle made on one worker reaches the room's streams on every worker (its
event goes through the database's event log and NOTIFY, like every event)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import httpx
import pytest

from tests.e2e.rooms import make_room, post
from tests.helpers import ServerProcess
from tests.team.workers import streams_beside, worker_of

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def test_a_reaction_on_one_worker_reaches_streams_on_every_worker(
    team_server: Callable[[int], ServerProcess],
) -> None:
    server = team_server(2)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        room = await make_room(http, "reacts", "team")
        message = await post(http, room, "shipped")
        reactor = await worker_of(http)
        async with contextlib.AsyncExitStack() as stack:
            path = f"/api/rooms/{room}/stream"
            streams = await streams_beside(stack, server.url, path, reactor)
            reacted = await http.post(
                f"/api/rooms/{room}/messages/{message['id']}/reactions",
                json={"emoji": "🎉", "name": "dev"},
            )
            assert reacted.status_code == 200, reacted.text
            assert await worker_of(http) == reactor  # the toggle went over that connection
            for stream in streams:
                assert (await stream.next_named("reaction")).json() == {
                    "room_id": room,
                    "message_id": message["id"],
                    "reactions": [{"emoji": "🎉", "count": 1, "names": ["dev"]}],
                }
