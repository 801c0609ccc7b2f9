"""Edits and deletes across the workers of a two-worker PostgreSQL team server: a
change made on one worker reaches a room stream on the other (its event goes
through the event log and NOTIFY, pointing at the message row), and the event
log never holds the text a delete took away."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import asyncpg
import httpx
import pytest

from tests.helpers import ServerProcess, worker_pids
from tests.sse_client import SSE, Stream, open_stream
from tests.team.workers import Pinned, close_all, pinned_clients

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

SECRET = "hunter2-team-secret"


async def next_edit(stream: Stream, within: float = 10.0) -> SSE:
    with anyio.fail_after(within):
        while True:
            event = await stream.next()
            if event.event == "edit":
                return event


async def on_another_worker(
    groups: dict[int, list[Pinned]], streaming: Pinned, not_pid: int
) -> httpx.AsyncClient:
    """A client whose connection is on a worker other than `not_pid` right now
    (asked just before use: an idle pinned connection can slip to another worker)."""
    for clients in groups.values():
        for client in clients:
            if client is not streaming and await client.pid_now() != not_pid:
                return client.http
    raise AssertionError("every connection is on the streaming worker")


async def test_an_edit_on_one_worker_reaches_a_stream_on_the_other(
    team_server: Callable[[int], ServerProcess], postgres_url: str
) -> None:
    server = team_server(2)
    pids = worker_pids(server.home)
    groups = await pinned_clients(server.url, pids, 2)
    try:
        some = next(iter(groups.values()))[0].http
        room = (await some.post("/api/rooms", json={"project": "p", "name": "r"})).json()["id"]
        ids = []
        for content in ("at 5pm", f"key {SECRET}"):
            posted = await some.post(
                f"/api/rooms/{room}/messages", json={"sender": "ana", "content": content}
            )
            ids.append(posted.json()["id"])
        typo_id, leak_id = ids
        reader = next(iter(groups.values()))[1]
        stream_pid = await reader.pid_now()  # the same connection carries the stream next
        async with open_stream(reader.http, f"/api/rooms/{room}/stream?html=true") as stream:
            await stream.until("ready")
            assert not reader.connection.moved
            writer = await on_another_worker(groups, reader, stream_pid)
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
            writer = await on_another_worker(groups, reader, stream_pid)
            deleted = await writer.delete(f"/api/messages/{leak_id}?name=ana")
            assert deleted.status_code == 200, deleted.text
            data = (await next_edit(stream)).json()
            assert (data["id"], data["content"], data["deleted"]) == (leak_id, "", True)
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
