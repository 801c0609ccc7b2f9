"""A reader's own settings per room (notification level, muted, starred) live
on the server under the reader's name, so a second device sees them."""

from __future__ import annotations

import httpx
import pytest

from tests.unit.rest import assert_error, make_room

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]


async def prefs(api: httpx.AsyncClient, reader: str) -> dict[str, dict[str, object]]:
    answer = await api.get("/api/room-prefs", params={"reader": reader})
    assert answer.status_code == 200, answer.text
    assert answer.json()["reader"] == reader
    return {
        r["room_id"]: {k: r[k] for k in ("project", "level", "muted", "starred")}
        for r in answer.json()["rooms"]
    }


async def change(api: httpx.AsyncClient, room_id: str, **body: object) -> httpx.Response:
    return await api.put(f"/api/rooms/{room_id}/prefs", json=body)


async def test_settings_are_kept_per_reader_and_room_and_changed_one_at_a_time(
    api: httpx.AsyncClient,
) -> None:
    one = (await make_room(api, "one", "alpha"))["id"]
    two = (await make_room(api, "two", "beta"))["id"]
    assert await prefs(api, "alice") == {}
    starred = await change(api, one, reader="alice", starred=True)
    assert starred.status_code == 200, starred.text
    assert starred.json()["level"] == "mentions" and starred.json()["starred"] is True
    assert (await change(api, two, reader="alice", muted=True, level="none")).status_code == 200
    # Changing one setting keeps the others.
    assert (await change(api, one, reader="alice", level="mentions")).status_code == 200
    want = {
        one: {"project": "alpha", "level": "mentions", "muted": False, "starred": True},
        two: {"project": "beta", "level": "none", "muted": True, "starred": False},
    }
    assert await prefs(api, "alice") == want
    # Another reader's settings are their own.
    assert await prefs(api, "bob") == {}
    assert (await change(api, one, reader="bob", muted=True)).status_code == 200
    assert await prefs(api, "alice") == want
    assert await prefs(api, "bob") == {
        one: {"project": "alpha", "level": "mentions", "muted": True, "starred": False}
    }
    # The starred rooms come with their summaries (unread for the reader), for
    # the sidebar's Starred section.
    await api.post(f"/api/rooms/{one}/messages", json={"sender": "bot", "content": "hi"})
    starred_rooms = (await api.get("/api/room-prefs", params={"reader": "alice"})).json()
    assert [(r["id"], r["name"], r["unread_count"]) for r in starred_rooms["starred_rooms"]] == [
        (one, "one", 1)
    ]
    await api.post(f"/api/rooms/{two}/messages", json={"sender": "bot", "content": "hush"})
    assert starred_rooms["muted_unread"] == {two: 0}
    later = (await api.get("/api/room-prefs", params={"reader": "alice"})).json()
    assert later["muted_unread"] == {two: 1}
    # Unstarring and unmuting are changes like any other.
    assert (await change(api, one, reader="alice", starred=False)).status_code == 200
    assert (await prefs(api, "alice"))[one]["starred"] is False


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"reader": "alice", "level": "loud"}, 422, "level"),
        ({"reader": "alice"}, 422, "give at least one of level, muted, starred"),
        ({"reader": "alice", "muted": "maybe"}, 422, "muted"),
        ({"reader": "", "muted": True}, 422, "reader"),
        ({"reader": "alice", "starred": True, "colour": "red"}, 422, "colour"),
    ],
)
async def test_bad_changes_are_refused_and_nothing_is_written(
    api: httpx.AsyncClient, body: dict[str, object], status: int, message: str
) -> None:
    room = (await make_room(api, "one", "alpha"))["id"]
    answer = await change(api, room, **body)
    assert answer.status_code == status, answer.text
    assert message in answer.text
    assert await prefs(api, "alice") == {}


async def test_an_unknown_room_is_refused_in_one_line(api: httpx.AsyncClient) -> None:
    answer = await change(api, "nosuchroom", reader="alice", starred=True)
    assert_error(answer, 404, "not_found", "nosuchroom")
    assert await prefs(api, "alice") == {}


async def test_a_deleted_room_takes_its_settings_with_it(api: httpx.AsyncClient) -> None:
    keep = (await make_room(api, "keep", "alpha"))["id"]
    gone = (await make_room(api, "gone", "alpha"))["id"]
    for room in (keep, gone):
        assert (await change(api, room, reader="alice", starred=True)).status_code == 200
    assert (await api.post(f"/api/rooms/{gone}/archive")).status_code == 200
    assert (await api.delete(f"/api/rooms/{gone}")).status_code == 200
    assert set(await prefs(api, "alice")) == {keep}
