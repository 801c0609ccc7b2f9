"""Edits and deletes across the workers of a two-worker PostgreSQL team server: a
change made on one worker reaches a room stream on the other (its event goes
through the event log and NOTIFY, pointing at the message row), and the event
log never holds the text a delete took away."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import asyncpg
import pytest

from tests.helpers import ServerProcess, worker_pids
from tests.sse_client import SSE, Stream, open_stream
from tests.team.workers import close_all, pinned_clients

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

SECRET = "hunter2-team-secret"


async def next_edit(stream: Stream, within: float = 10.0) -> SSE:
    with anyio.fail_after(within):
        while True:
            event = await stream.next()
            if event.event == "edit":
                return event


async def test_an_edit_on_one_worker_reaches_a_stream_on_the_other(
    team_server: Callable[[int], ServerProcess], postgres_url: str
) -> None:
    server = team_server(2)
    writer_pid, reader_pid = sorted(worker_pids(server.home))
    groups = await pinned_clients(server.url, {writer_pid, reader_pid}, 1)
    try:
        writer = groups[writer_pid][0].http
        reader = groups[reader_pid][0].http
        room = (await writer.post("/api/rooms", json={"project": "p", "name": "r"})).json()["id"]
        typo = await writer.post(
            f"/api/rooms/{room}/messages", json={"sender": "ana", "content": "at 5pm"}
        )
        leak = await writer.post(
            f"/api/rooms/{room}/messages", json={"sender": "ana", "content": f"key {SECRET}"}
        )
        typo_id, leak_id = typo.json()["id"], leak.json()["id"]
        async with open_stream(reader, f"/api/rooms/{room}/stream?html=true") as stream:
            await stream.until("ready")
            edited = await writer.patch(
                f"/api/messages/{typo_id}", json={"content": "at *6pm*", "name": "ana"}
            )
            assert edited.status_code == 200, edited.text
            data = (await next_edit(stream)).json()
            assert (data["id"], data["content"], data["edited_at"]) == (
                typo_id,
                "at *6pm*",
                edited.json()["edited_at"],
            )
            assert "<em>6pm</em>" in data["html"]
            deleted = await writer.delete(f"/api/messages/{leak_id}?name=ana")
            assert deleted.status_code == 200, deleted.text
            data = (await next_edit(stream)).json()
            assert (data["id"], data["content"], data["deleted"]) == (leak_id, "", True)
        assert await groups[reader_pid][0].pid_now() == reader_pid  # still the other worker
        assert await groups[writer_pid][0].pid_now() == writer_pid
    finally:
        await close_all(groups)
    conn = await asyncpg.connect(postgres_url)
    try:
        kinds = [r["kind"] for r in await conn.fetch("SELECT kind FROM events ORDER BY seq")]
        logged = await conn.fetchval("SELECT string_agg(x::text, E'\\n') FROM events AS x")
    finally:
        await conn.close()
    assert kinds.count("edit") == 2
    assert SECRET not in logged
