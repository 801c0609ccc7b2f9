"""Reactions through REST, agents' reads and the room's feed, on both backends.

A reaction is a toggle by a name; read results carry `reactions` only on the
messages that have any (a message without stays exactly as it was), and each
toggle is a `reaction` event on the room's feed with the message's reactions
as they now stand. Across the workers of a team server:
tests/team/test_reactions_team.py.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.rooms import make_room, post
from tests.helpers import ServerProcess
from tests.mcp_client import connect
from tests.sse_client import open_stream

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]


async def react(
    http: httpx.AsyncClient, room: str, message_id: int, emoji: str, name: str
) -> httpx.Response:
    return await http.post(
        f"/api/rooms/{room}/messages/{message_id}/reactions", json={"emoji": emoji, "name": name}
    )


async def test_toggles_show_in_rest_and_agent_reads_only_where_there_are_any(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    room = await make_room(http, "reacts", "toggle")
    first = await post(http, room, "deployed")
    plain = await post(http, room, "nobody reacts to this")
    async with connect(server.mcp_url) as dev:
        before = await dev.ok("read_messages", room_id=room)

    added = await react(http, room, first["id"], "👍", "Alice")
    assert added.status_code == 200, added.text
    assert added.json()["reacted"] is True
    assert (await react(http, room, first["id"], "👍", "bob")).json()["reacted"] is True
    assert (await react(http, room, first["id"], "✅", "bob")).status_code == 200
    expected = [
        {"emoji": "✅", "count": 1, "names": ["bob"]},  # the set's order, not reacting order
        {"emoji": "👍", "count": 2, "names": ["alice", "bob"]},
    ]
    got = await http.get(f"/api/rooms/{room}/messages/{first['id']}/reactions")
    assert got.json()["reactions"] == expected

    page = (await http.get(f"/api/rooms/{room}/messages")).json()["messages"]
    assert page[0]["reactions"] == expected
    assert "reactions" not in page[1]
    async with connect(server.mcp_url) as dev:
        after = await dev.ok("read_messages", room_id=room)
    assert after["messages"][0]["reactions"] == expected
    # A message nobody reacted to is exactly what it was before reactions existed.
    assert after["messages"][1] == before["messages"][1]
    assert after["messages"][1]["id"] == plain["id"]

    removed = await react(http, room, first["id"], "👍", "ALICE")  # names compare as mentions
    assert removed.json()["reacted"] is False
    assert removed.json()["reactions"][1] == {"emoji": "👍", "count": 1, "names": ["bob"]}
    await react(http, room, first["id"], "👍", "bob")
    await react(http, room, first["id"], "✅", "bob")
    async with connect(server.mcp_url) as dev:
        cleared = await dev.ok("read_messages", room_id=room)
    assert cleared == before  # every reaction taken away: byte-for-byte the old answer


async def test_each_toggle_is_a_reaction_event_on_the_room_feed(
    http: httpx.AsyncClient,
) -> None:
    room = await make_room(http, "reacts", "live")
    other = await make_room(http, "reacts", "elsewhere")
    message = await post(http, room, "ship it?")
    elsewhere = await post(http, other, "not here")
    async with open_stream(http, f"/api/rooms/{room}/stream") as stream:
        await stream.until("ready")
        await react(http, other, elsewhere["id"], "🎉", "carol")  # another room's: not heard
        await react(http, room, message["id"], "👀", "dev")
        event = await stream.next_named("reaction")
        assert event.id is None  # not a resume point: message ids stay the ids
        assert event.json() == {
            "room_id": room,
            "message_id": message["id"],
            "reactions": [{"emoji": "👀", "count": 1, "names": ["dev"]}],
        }
        await react(http, room, message["id"], "👀", "dev")
        assert (await stream.next_named("reaction")).json()["reactions"] == []

    # The page's combined feed carries them too.
    async with open_stream(http, "/api/stream?room=*&reader=ana") as every:
        await every.until("ready")
        await react(http, room, message["id"], "❌", "qa")
        assert (await every.next_named("reaction")).json()["message_id"] == message["id"]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"emoji": "💩", "name": "dev"}, "emoji must be one of"),
        ({"emoji": "👍", "name": "   "}, "name"),
        ({"emoji": "👍"}, "name"),
        ({"emoji": "👍", "name": "dev", "extra": 1}, "extra"),
    ],
)
async def test_bad_input_is_refused_in_one_line_and_writes_nothing(
    http: httpx.AsyncClient, body: dict[str, Any], named: str
) -> None:
    room = await make_room(http, "reacts", "bad")
    message = await post(http, room, "hello")
    response = await http.post(f"/api/rooms/{room}/messages/{message['id']}/reactions", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input" and named in error["message"]
    assert "\n" not in error["message"]
    got = await http.get(f"/api/rooms/{room}/messages/{message['id']}/reactions")
    assert got.json()["reactions"] == []


async def test_a_message_of_another_room_or_none_is_not_found(http: httpx.AsyncClient) -> None:
    room = await make_room(http, "reacts", "here")
    other = await make_room(http, "reacts", "there")
    message = await post(http, other, "theirs")
    for target in (message["id"], 999_999):
        response = await react(http, room, target, "👍", "dev")
        assert response.status_code == 404, response.text
        assert f"Message {target} is not in room" in response.json()["error"]["message"]
    assert "reactions" not in (await http.get(f"/api/rooms/{other}/messages")).json()["messages"][0]
    missing = await react(http, "nope-room", message["id"], "👍", "dev")
    assert missing.status_code == 404


async def test_the_batch_route_answers_only_this_rooms_messages_with_reactions(
    http: httpx.AsyncClient,
) -> None:
    room = await make_room(http, "reacts", "batch")
    other = await make_room(http, "reacts", "other")
    mine = await post(http, room, "one")
    quiet = await post(http, room, "two")
    theirs = await post(http, other, "three")
    await react(http, room, mine["id"], "🎉", "dev")
    await react(http, other, theirs["id"], "🎉", "dev")
    ids = f"{mine['id']},{quiet['id']},{theirs['id']}"
    got = (await http.get(f"/api/rooms/{room}/reactions?ids={ids}")).json()
    assert got == {
        "room_id": room,
        "reactions": {str(mine["id"]): [{"emoji": "🎉", "count": 1, "names": ["dev"]}]},
    }
    bad = await http.get(f"/api/rooms/{room}/reactions?ids=1,x")
    assert bad.status_code == 422
    assert bad.json()["error"]["message"] == "ids must be message ids separated by commas"
