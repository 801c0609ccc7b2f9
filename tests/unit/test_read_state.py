"""A reader's read state belongs to the name on the server: a second browser's
first visit keeps the cursors the name already has, and "Mark all read" (one
project, or everywhere) is an explicit action that the name's open pages hear."""

from __future__ import annotations

import httpx
import pytest

from chatnut.hub import ALL_ROOMS
from chatnut.service import ChatService
from tests.unit.rest import assert_error, make_room, post, sidebar

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]


async def unread(api: httpx.AsyncClient, reader: str) -> dict[str, int]:
    rooms = (await sidebar(api, reader=reader, status="all"))["rooms"]
    return {r["name"]: r["unread_count"] for r in rooms}


async def test_a_first_visit_keeps_the_cursors_a_name_already_has(api: httpx.AsyncClient) -> None:
    first = (await make_room(api, "one", "alpha"))["id"]
    second = (await make_room(api, "two", "alpha"))["id"]
    for i in range(3):
        await post(api, first, f"one {i}")
        await post(api, second, f"two {i}")
    # alice has read part of one room on her laptop...
    read = await api.post(
        f"/api/rooms/{first}/read", json={"reader": "alice", "last_read_message_id": 1}
    )
    assert read.status_code == 200, read.text
    before = await unread(api, "alice")
    assert before == {"one": 2, "two": 3}
    # ... and opens the page on her phone: nothing moves.
    visit = await api.post("/api/catch-up", json={"reader": "alice", "first_visit": True})
    assert visit.json() == {"reader": "alice", "rooms": 0}
    assert await unread(api, "alice") == before
    # A name with no cursor at all starts at "now".
    fresh = await api.post("/api/catch-up", json={"reader": "bob", "first_visit": True})
    assert fresh.json() == {"reader": "bob", "rooms": 2}
    assert await unread(api, "bob") == {"one": 0, "two": 0}


async def test_mark_all_read_for_one_project_or_everywhere(api: httpx.AsyncClient) -> None:
    rooms = {}
    for project, name in (("alpha", "a1"), ("alpha", "a2"), ("beta", "b1")):
        rooms[name] = (await make_room(api, name, project))["id"]
        await post(api, rooms[name], f"hello {name}")
    await api.post(
        f"/api/rooms/{rooms['b1']}/read", json={"reader": "ana", "last_read_message_id": 0}
    )
    marked = await api.post("/api/catch-up", json={"reader": "ana", "project": "alpha"})
    assert marked.json() == {"reader": "ana", "rooms": 2}
    assert await unread(api, "ana") == {"a1": 0, "a2": 0, "b1": 1}
    everywhere = await api.post("/api/catch-up", json={"reader": "ana"})
    assert everywhere.json() == {"reader": "ana", "rooms": 1}
    assert await unread(api, "ana") == {"a1": 0, "a2": 0, "b1": 0}


async def test_a_bad_mark_all_read_is_refused_and_writes_nothing(api: httpx.AsyncClient) -> None:
    room = (await make_room(api, "r", "alpha"))["id"]
    await post(api, room, "hi")
    for body in (
        {"reader": "ana", "project": ""},
        {"reader": "ana", "project": "x" * 500},
        {"reader": "ana", "first_visit": "maybe"},
    ):
        refused = await api.post("/api/catch-up", json=body)
        assert refused.status_code == 422, refused.text
    assert_error(
        await api.post("/api/catch-up", json={"reader": "ana", "project": ""}),
        422,
        "invalid_input",
        "project",
    )
    assert await unread(api, "ana") == {"r": 1}


async def test_mark_all_read_is_heard_by_the_names_open_pages(service: ChatService) -> None:
    room = await service.init_room("alpha", "heard")
    posted = await service.post_message(room["id"], "bot", "news")
    with service.hub.subscribe(ALL_ROOMS, capacity=100) as sub:
        await service.catch_up("ana", project="alpha")
        events = sub.drain()
        first = await service.catch_up("zed", first_visit=True)
        assert first["rooms"] == 1
        assert sub.drain() == []  # a first visit's page has no feed open yet
    assert [(e.kind, e.room_id, e.data) for e in events] == [
        (
            "read",
            room["id"],
            {"room_id": room["id"], "reader": "ana", "last_read_message_id": posted["id"]},
        )
    ]
