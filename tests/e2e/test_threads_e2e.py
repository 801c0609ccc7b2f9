"""Threads and "mark unread" against the real server process, on both backends:
a reply reaches the page's one feed as it is posted and its thread reads it;
a cursor moved back reaches the name's open pages as the room's new unread."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import httpx
import pytest

from tests.helpers import ServerProcess
from tests.sse_client import Stream, open_stream

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]


@pytest.fixture
async def http(server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        yield client


async def post(
    http: httpx.AsyncClient, room: str, content: str, reply_to: int | None = None
) -> int:
    body: dict[str, object] = {"sender": "ana", "content": content}
    if reply_to is not None:
        body["reply_to"] = reply_to
    answer = await http.post(f"/api/rooms/{room}/messages", json=body)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["id"])


async def next_named(stream: Stream, name: str, room: str) -> dict[str, object]:
    with anyio.fail_after(10):
        while True:
            event = await stream.next()
            data = event.json() if event.data else {}
            if event.event == name and room in (data.get("room_id"), data.get("id")):
                return dict(data)


async def test_a_reply_reaches_the_feed_and_its_thread(http: httpx.AsyncClient) -> None:
    room = (await http.post("/api/rooms", json={"project": "p", "name": "t"})).json()["id"]
    parent = await post(http, room, "question")
    async with open_stream(http, "/api/stream?room=*&reader=ana&html=true") as stream:
        await stream.until("ready")
        reply = await post(http, room, "**answer**", reply_to=parent)
        event = await next_named(stream, "message", room)
        assert event["id"] == reply
        metadata = event["metadata"]
        assert isinstance(metadata, dict) and metadata["reply_to"] == parent
        assert "<strong>answer</strong>" in str(event["html"])
    thread = (await http.get(f"/api/rooms/{room}/messages/{parent}/thread")).json()
    assert [m["id"] for m in thread["replies"]] == [reply]
    page = (await http.get(f"/api/rooms/{room}/messages")).json()["messages"]
    assert [m.get("replies", {}).get("count") for m in page] == [1, None]


async def test_mark_unread_reaches_the_names_open_pages(http: httpx.AsyncClient) -> None:
    room = (await http.post("/api/rooms", json={"project": "p", "name": "u"})).json()["id"]
    ids = [await post(http, room, f"m{i}") for i in range(4)]
    read = await http.post(
        f"/api/rooms/{room}/read", json={"reader": "bo", "last_read_message_id": ids[-1]}
    )
    assert read.status_code == 200, read.text
    async with open_stream(http, "/api/stream?room=*&reader=bo") as stream:
        await stream.until("ready")
        moved = await http.post(
            f"/api/rooms/{room}/unread", json={"reader": "bo", "message_id": ids[1]}
        )
        assert moved.status_code == 200, moved.text
        while True:
            row = await next_named(stream, "room", room)
            if row.get("unread_count") == 3:
                break
        assert row["last_read_message_id"] == ids[1] - 1
