"""Retention purges reach open streams, on both backends, against the real server.

A purge publishes `purged` ({room_id, through_id}: the room's messages up to
that id are gone) on the room and combined feeds, with the sidebar's new
counts; a stream resuming with a Last-Event-ID from before the purge is told
of it and is never sent a purged message; a restore lowers the horizon again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.e2e.test_retention_cli import LONG_AGO
from tests.helpers import TOKEN, ServerProcess
from tests.identity import bearer, make_token
from tests.sse_client import SSE, Stream, open_stream

pytestmark = [pytest.mark.anyio, pytest.mark.e2e, pytest.mark.both_backends]


@pytest.fixture
def retaining(home: Path, database_url: str | None) -> Iterator[ServerProcess]:
    db = ["--db", database_url] if database_url else []
    process = ServerProcess(home, extra_args=[*db, "--retain-days", "30"])
    process.start()
    yield process
    process.stop()


async def backdate(home: Path, database_url: str | None, ids: list[int]) -> None:
    """Make these messages a year old, in the database the server reads them from."""
    if database_url is None:
        conn = sqlite3.connect(home / "chatnut.db", timeout=10)
        with conn:
            conn.executemany(
                "UPDATE messages SET created_at = ? WHERE id = ?", [(LONG_AGO, i) for i in ids]
            )
        conn.close()
        return
    pg = await asyncpg.connect(database_url)
    try:
        await pg.execute(
            "UPDATE messages SET created_at = $1 WHERE id = ANY($2::bigint[])", LONG_AGO, ids
        )
    finally:
        await pg.close()


async def post(http: httpx.AsyncClient, room: str, text: str) -> dict[str, Any]:
    answer = await http.post(f"/api/rooms/{room}/messages", json={"sender": "ana", "content": text})
    assert answer.status_code == 200, answer.text
    posted: dict[str, Any] = answer.json()
    return posted


async def run_retention(http: httpx.AsyncClient) -> dict[str, Any]:
    answer = await http.post("/api/admin/retention/run", json={})
    assert answer.status_code == 200, answer.text
    done: dict[str, Any] = answer.json()
    return done


async def next_named(stream: Stream, name: str) -> SSE:
    """The next `name` event, passing over the others (the sidebar's deltas)."""
    while True:
        event = await stream.next()
        if event.event == name:
            return event


async def resumed(http: httpx.AsyncClient, url: str, last: int) -> list[SSE]:
    """What a stream resuming after message `last` sends before `ready`."""
    headers = {"Last-Event-ID": str(last)}
    async with open_stream(http, url, headers=headers) as stream:
        return await stream.until("ready")


async def test_a_purge_reaches_open_streams_and_resumes_do_not_bring_it_back(
    retaining: ServerProcess, home: Path, database_url: str | None
) -> None:
    async with httpx.AsyncClient(base_url=retaining.url, timeout=30) as http:
        made = await http.post("/api/rooms", json={"project": "demo", "name": "plan"})
        room = made.json()["id"]
        other = (await http.post("/api/rooms", json={"project": "demo", "name": "other"})).json()
        old = [await post(http, room, f"old {n}") for n in range(3)]
        kept = await post(http, room, "new")
        elsewhere = await post(http, other["id"], "old elsewhere, kept")
        await backdate(home, database_url, [m["id"] for m in old])
        room_url = f"/api/rooms/{room}/stream"
        combined_url = "/api/stream?room=*&reader=bob"
        async with (
            httpx.AsyncClient(base_url=retaining.url, timeout=30) as room_http,
            httpx.AsyncClient(base_url=retaining.url, timeout=30) as combined_http,
            open_stream(room_http, room_url) as room_stream,
            open_stream(combined_http, combined_url) as combined,
        ):
            backlog = await room_stream.until("ready")
            assert [int(e.id or 0) for e in backlog if e.event == "message"] == [
                *(m["id"] for m in old),
                kept["id"],
            ]
            await combined.until("ready")

            done = await run_retention(http)
            assert done["messages"] == 3 and done["rooms"] == [
                {"project": "demo", "room": "plan", "messages": 3}
            ]
            want = {
                "room_id": room,
                "project": "demo",
                "room": "plan",
                "through_id": old[-1]["id"],
                "messages": 3,
            }
            purged = await room_stream.next()
            assert (purged.event, purged.json(), purged.id) == ("purged", want, None)
            assert (await next_named(combined, "purged")).json() == want
            summary = (await next_named(combined, "room")).json()
            assert (summary["id"], summary["message_count"]) == (room, 1)

        # A resume from before the purge is told of it, and gets none of them.
        for url in (room_url, combined_url):
            events = await resumed(http, url, old[0]["id"])
            purges = [e.json() for e in events if e.event == "purged"]
            assert purges == [{k: v for k, v in want.items() if k != "messages"}]
            sent = [int(e.id or 0) for e in events if e.event == "message"]
            assert sent == [kept["id"], elsewhere["id"]] if url == combined_url else [kept["id"]]
        # One from after it (it saw a message posted since) is not told again.
        later = await post(http, room, "after the purge")
        for url in (room_url, combined_url):
            events = await resumed(http, url, later["id"])
            assert [e.event for e in events if e.event in ("purged", "message")] == []

        # A restore lowers the horizon: a resume never calls a restored message gone.
        answer = await http.post("/api/admin/retention/import", json={"file": done["file"]})
        assert answer.json()["restored"] == 3
        events = await resumed(http, room_url, old[0]["id"])
        assert all(e.json()["through_id"] < old[0]["id"] for e in events if e.event == "purged")
        sent = [int(e.id or 0) for e in events if e.event == "message"]
        assert sent == [old[1]["id"], old[2]["id"], kept["id"], later["id"]]


async def test_a_scoped_token_hears_only_of_its_projects_purges(
    home: Path, database_url: str | None
) -> None:
    scoped = make_token(home, database_url, "ann", "--project", "demo")
    db = ["--db", database_url] if database_url else []
    process = ServerProcess(
        home, extra_args=[*db, "--retain-days", "30"], env={"CHATNUT_TOKEN": TOKEN}
    )
    process.start()
    try:
        async with (
            httpx.AsyncClient(base_url=process.url, timeout=30, headers=bearer(TOKEN)) as admin,
            httpx.AsyncClient(base_url=process.url, timeout=30, headers=bearer(scoped)) as ann,
        ):
            hidden = (
                await admin.post("/api/rooms", json={"project": "secret", "name": "x"})
            ).json()
            shown = (await admin.post("/api/rooms", json={"project": "demo", "name": "y"})).json()
            gone = await post(admin, hidden["id"], "old secret")
            seen = await post(admin, shown["id"], "old shown")
            await backdate(home, database_url, [gone["id"], seen["id"]])
            assert (await run_retention(admin))["messages"] == 2
            # Resuming the combined feed from before both purges.
            for http, rooms in ((admin, {hidden["id"], shown["id"]}), (ann, {shown["id"]})):
                events = await resumed(http, "/api/stream?room=*", gone["id"])
                assert {e.json()["room_id"] for e in events if e.event == "purged"} == rooms
    finally:
        process.stop()
