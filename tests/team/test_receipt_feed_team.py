"""Receipt events across the workers of a two-worker PostgreSQL team server: an
ack made on one worker reaches the room's streams on every worker (the stamp's
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


async def test_an_ack_on_one_worker_reaches_streams_on_every_worker(
    team_server: Callable[[int], ServerProcess],
) -> None:
    server = team_server(2)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        room = await make_room(http, "acks", "team")
        asked = await post(http, room, "all hands?", to=["dev"], ack_required=True)
        acker = await worker_of(http)
        async with contextlib.AsyncExitStack() as stack:
            path = f"/api/rooms/{room}/stream"
            streams = await streams_beside(stack, server.url, path, acker)
            acked = await http.post(
                f"/api/rooms/{room}/messages/{asked['id']}/ack", json={"agent_name": "dev"}
            )
            assert acked.status_code == 200, acked.text
            assert await worker_of(http) == acker  # the ack went over that connection
            for stream in streams:
                [row] = (await stream.next_named("receipt")).json()["receipts"]
                assert row == {
                    "message_id": asked["id"],
                    "name": "dev",
                    "delivered_at": acked.json()["delivered_at"],
                    "read_at": None,
                    "acked_at": acked.json()["acked_at"],
                }
