"""Receipt events across the workers of a two-worker PostgreSQL team server: an
ack made on one worker reaches the room's streams on every worker (the stamp's
event goes through the database's event log and NOTIFY, like every event)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import httpx
import pytest

from tests.e2e.test_receipt_feed import make_room, next_receipt, post
from tests.helpers import ServerProcess
from tests.sse_client import open_stream

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def worker_of(client: httpx.AsyncClient) -> int:
    """The pid of the worker holding this client's (kept-alive) connection: the
    next request on the client, a stream too, goes over the same connection."""
    return int((await client.get("/api/status")).json()["pid"])


async def test_an_ack_on_one_worker_reaches_streams_on_every_worker(
    team_server: Callable[[int], ServerProcess],
) -> None:
    server = team_server(2)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        room = await make_room(http, "team")
        asked = await post(http, room, "all hands?", to=["dev"], ack_required=True)
        acker = await worker_of(http)
        async with contextlib.AsyncExitStack() as stack:
            # Fresh connections, spread by the kernel over both workers, until
            # some stream is on a worker other than the one that will ack.
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
            assert workers - {acker}, "every stream landed on the acking worker"
            acked = await http.post(
                f"/api/rooms/{room}/messages/{asked['id']}/ack", json={"agent_name": "dev"}
            )
            assert acked.status_code == 200, acked.text
            assert await worker_of(http) == acker  # the ack went over that connection
            for stream in streams:
                [row] = (await next_receipt(stream)).json()["receipts"]
                assert row == {
                    "message_id": asked["id"],
                    "name": "dev",
                    "delivered_at": acked.json()["delivered_at"],
                    "read_at": None,
                    "acked_at": acked.json()["acked_at"],
                }
