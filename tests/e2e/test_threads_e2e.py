"""Threads and "mark unread" against the real server process, on both backends:
a reply reaches the page's one feed as it is posted and its thread reads it;
a cursor moved back reaches the name's open pages as the room's new unread."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest

from tests.e2e.rooms import make_room, post
from tests.sse_client import open_stream

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]


async def test_a_reply_reaches_the_feed_and_its_thread(http: httpx.AsyncClient) -> None:
    room = await make_room(http, "p", "t")
    parent = (await post(http, room, "question"))["id"]
    async with open_stream(http, "/api/stream?room=*&reader=ana&html=true") as stream:
        await stream.until("ready")
        reply = (await post(http, room, "**answer**", reply_to=parent))["id"]
        event = (await stream.next_named("message")).json()
        assert event["id"] == reply
        assert event["metadata"]["reply_to"] == parent
        assert "<strong>answer</strong>" in event["html"]
    thread = (await http.get(f"/api/rooms/{room}/messages/{parent}/thread")).json()
    assert [m["id"] for m in thread["replies"]] == [reply]
    page = (await http.get(f"/api/rooms/{room}/messages")).json()["messages"]
    assert [m.get("replies", {}).get("count") for m in page] == [1, None]


async def test_mark_unread_reaches_the_names_open_pages(http: httpx.AsyncClient) -> None:
    room = await make_room(http, "p", "u")
    ids = [(await post(http, room, f"m{i}"))["id"] for i in range(4)]
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
        row: dict[str, Any] = {}
        with anyio.fail_after(10):
            while not (row.get("id") == room and row.get("unread_count") == 3):
                row = (await stream.next_named("room")).json()
        assert row["last_read_message_id"] == ids[1] - 1
