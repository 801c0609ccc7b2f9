"""The page's REST at a team's scale: a window of messages around an
id, the sidebar a page at a time with its totals from the server, and a
reader's first visit (the feed's bounded snapshot: test_feeds.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from chatnut.store.base import SEARCH_HIT_CAP
from tests.unit.rest import assert_error, make_room, post, sidebar

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]


async def test_a_window_around_an_id_is_centred_and_says_what_lies_beyond(
    api: httpx.AsyncClient,
) -> None:
    room = (await make_room(api))["id"]
    ids = [await post(api, room, f"m{i}") for i in range(30)]
    page = (
        await api.get(f"/api/rooms/{room}/messages", params={"around": ids[10], "limit": 10})
    ).json()
    assert [m["id"] for m in page["messages"]] == ids[5:15]
    assert (page["has_older"], page["has_newer"]) == (True, True)
    first = (
        await api.get(f"/api/rooms/{room}/messages", params={"around": ids[1], "limit": 10})
    ).json()
    assert [m["id"] for m in first["messages"]] == ids[0:6]
    assert (first["has_older"], first["has_newer"]) == (False, True)
    last = (
        await api.get(
            f"/api/rooms/{room}/messages", params={"around": ids[-1], "limit": 10, "html": True}
        )
    ).json()
    assert [m["id"] for m in last["messages"]] == ids[-6:]
    assert last["has_newer"] is False and last["messages"][-1]["html"] == "<p>m29</p>\n"
    assert_error(
        await api.get(f"/api/rooms/{room}/messages", params={"around": 0}), 422, "invalid_input"
    )


async def test_the_sidebar_pages_filters_and_counts_on_the_server(api: httpx.AsyncClient) -> None:
    rooms = [(await make_room(api, f"room-{i}", "alpha"))["id"] for i in range(5)]
    other = (await make_room(api, "beta-room", "beta"))["id"]
    await post(api, rooms[0], "oldest activity")
    await post(api, other, "beta talks")
    await post(api, rooms[3], "newest activity")
    first = await sidebar(api, reader="ana", project="alpha", limit=2)
    assert [r["id"] for r in first["rooms"]] == [rooms[3], rooms[0]]
    assert first["has_more"] is True and first["rooms"][0]["unread_count"] == 1
    rest = await sidebar(api, reader="ana", project="alpha", limit=10, offset=2)
    assert len(rest["rooms"]) == 3 and rest["has_more"] is False
    named = await sidebar(api, q="ROOM-4")
    assert [r["name"] for r in named["rooms"]] == ["room-4"]
    assert (await sidebar(api, q="%"))["rooms"] == []  # a plain character, not a wildcard

    cursor = {"reader": "ana", "last_read_message_id": 99}
    await api.post(f"/api/rooms/{rooms[0]}/read", json=cursor)
    unread = await sidebar(api, reader="ana", unread_only=True)
    assert {r["id"] for r in unread["rooms"]} == {rooms[3], other}
    await api.post(f"/api/rooms/{other}/archive")
    totals = (await api.get("/api/sidebar/totals", params={"reader": "ana"})).json()
    assert totals["projects"] == [
        {"project": "alpha", "live": 5, "archived": 0, "unread": 1, "unread_rooms": 1},
        # An archived room never counts as unread.
        {"project": "beta", "live": 0, "archived": 1, "unread": 0, "unread_rooms": 0},
    ]
    assert (totals["live"], totals["archived"], totals["unread"]) == (5, 1, 1)
    assert_error(await api.get("/api/sidebar", params={"limit": 501}), 422, "invalid_input")


async def test_sidebar_pages_walk_every_room_in_the_room_lists_order(
    api: httpx.AsyncClient,
) -> None:
    # The pages are read from the activity index; stitched together they must
    # give exactly the full room list's order: newest activity first, rooms
    # without messages after them by creation, archived rooms where they fall.
    rooms = [(await make_room(api, f"r{i}", "alpha" if i % 2 else "beta"))["id"] for i in range(9)]
    for i in (4, 1, 7, 2):
        await post(api, rooms[i], f"to r{i}")
    await post(api, rooms[1], "r1 again")  # the newest activity now
    assert (await api.post(f"/api/rooms/{rooms[7]}/archive")).status_code == 200
    for status, project in (("all", None), ("live", None), ("live", "alpha"), ("archived", None)):
        params: dict[str, Any] = {"status": status, "reader": "ana"}
        if project:
            params["project"] = project
        listed = (await api.get("/api/rooms", params=params)).json()["rooms"]
        walked: list[str] = []
        for offset in range(0, 12, 2):
            page = await sidebar(api, **params, limit=2, offset=offset)
            walked += [r["id"] for r in page["rooms"]]
            assert page["has_more"] is (len(walked) < len(listed))
        assert walked == [r["id"] for r in listed], (status, project)
    newest = await sidebar(api, status="all", limit=3)
    assert [r["id"] for r in newest["rooms"]] == [rooms[1], rooms[2], rooms[7]]


async def test_a_first_visit_catches_the_reader_up(api: httpx.AsyncClient) -> None:
    room = (await make_room(api))["id"]
    for i in range(3):
        await post(api, room, f"old {i}")
    caught = await api.post("/api/catch-up", json={"reader": "new-human"})
    assert caught.json() == {"reader": "new-human", "rooms": 1}
    assert (await sidebar(api, reader="new-human"))["rooms"][0]["unread_count"] == 0
    await post(api, room, "after the visit")
    assert (await sidebar(api, reader="new-human"))["rooms"][0]["unread_count"] == 1
    refused = await api.post("/api/catch-up", json={"reader": ""})
    assert_error(refused, 422, "invalid_input", "reader")
    assert (await sidebar(api, reader=""))["rooms"][0]["unread_count"] == 4  # nothing written


async def test_search_pages_through_every_hit_with_filters(api: httpx.AsyncClient) -> None:
    room = (await make_room(api, "hay", "alpha"))["id"]
    other = (await make_room(api, "stack", "beta"))["id"]
    for i in range(45):
        await post(api, room, f"needle {i}")
    bob = await api.post(
        f"/api/rooms/{other}/messages", json={"sender": "Bob", "content": "needle from bob"}
    )
    assert bob.status_code == 200
    first = (await api.get("/api/search", params={"q": "needle"})).json()
    assert (first["total"], first["has_more"], len(first["messages"])) == (46, True, 20)
    seen = [m["id"] for m in first["messages"]]
    offset = 20
    while True:
        page = (await api.get("/api/search", params={"q": "needle", "offset": offset})).json()
        seen += [m["id"] for m in page["messages"]]
        offset += len(page["messages"])
        if not page["has_more"]:
            break
    assert len(seen) == len(set(seen)) == 46  # every hit reachable, once
    by_sender = (await api.get("/api/search", params={"q": "needle", "sender": "bob"})).json()
    assert [m["sender"] for m in by_sender["messages"]] == ["Bob"]
    assert first["room_names"][other] == {"name": "stack", "project": "beta"}
    in_room = (await api.get("/api/search", params={"q": "needle", "room_id": other})).json()
    assert in_room["total"] == 1 and in_room["message_rooms"] == [
        {"room_id": other, "match_count": 1}
    ]
    future = (await api.get("/api/search", params={"q": "needle", "after": "2999-01-01"})).json()
    assert future["total"] == 0
    past = (await api.get("/api/search", params={"q": "needle", "before": "2000-01-01"})).json()
    assert past["total"] == 0
    refused = await api.get("/api/search", params={"q": "needle", "after": "yesterday"})
    assert_error(refused, 422, "invalid_input", "after")


async def test_search_reaches_every_hit_past_the_counted_thousand(api: httpx.AsyncClient) -> None:
    room = (await make_room(api, "haystack", "alpha"))["id"]
    count = SEARCH_HIT_CAP + 30
    ids: list[int] = []
    for start in range(0, count, 50):
        batch = range(start, min(start + 50, count))
        ids += await asyncio.gather(*(post(api, room, f"needle {i}") for i in batch))
    first = (await api.get("/api/search", params={"q": "needle"})).json()
    assert (first["total"], first["capped"], first["has_more"]) == (SEARCH_HIT_CAP, True, True)
    # The last page of the counted window still says more follow, past the cap.
    end = await api.get("/api/search", params={"q": "needle", "offset": SEARCH_HIT_CAP - 20})
    assert end.json()["has_more"] is True
    seen = [m["id"] for m in first["messages"]]
    pages = 1
    while True:
        page = (await api.get("/api/search", params={"q": "needle", "before_id": seen[-1]})).json()
        assert page["rooms"] == []  # room-name hits come with the first page only
        seen += [m["id"] for m in page["messages"]]
        pages += 1
        if not page["has_more"]:
            break
    assert seen == sorted(ids, reverse=True)  # every hit, newest first, once
    assert pages == -(-count // 20)
    assert page["capped"] is False and page["total"] == len(page["messages"])
    for bad in ("0", "-3", "x"):
        refused = await api.get("/api/search", params={"q": "needle", "before_id": bad})
        assert_error(refused, 422, "invalid_input", "before_id")
