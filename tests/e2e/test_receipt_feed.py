"""Receipt changes reach the feeds live, against the real server on both backends.

Every stamp — delivered (an agent's inbox), read (its cursor), acked — is a
`receipt` event on the room's feed and on the page's combined feed, with no
id (a resumed page reads the receipts it shows again, through the batch
route tested here too). Across the workers of a team server:
tests/team/test_receipt_feed_team.py.
"""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.rooms import make_room, post
from tests.helpers import ServerProcess
from tests.mcp_client import connect
from tests.sse_client import open_stream

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]

UNSET = {"delivered_at": None, "read_at": None, "acked_at": None}


async def test_delivered_read_and_acked_each_reach_the_room_feed(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    room = await make_room(http, "acks", "live")
    asked = await post(http, room, "ship it?", to=["dev", "qa"], ack_required=True)
    async with (
        open_stream(http, f"/api/rooms/{room}/stream") as stream,
        connect(server.mcp_url) as dev,
    ):
        await stream.until("ready")

        await dev.ok("check_inbox", agent_name="dev")
        delivered = await stream.next_named("receipt")
        assert delivered.id is None  # not a resume point: message ids stay the ids
        data = delivered.json()
        assert data["room_id"] == room and data["more"] is False
        [row] = data["receipts"]
        assert (row["message_id"], row["name"]) == (asked["id"], "dev")
        assert row["delivered_at"] is not None and row["read_at"] is None

        await dev.ok("mark_read", room_id=room, reader="Dev", last_read_message_id=asked["id"])
        [read] = (await stream.next_named("receipt")).json()["receipts"]
        assert read["name"] == "dev" and read["read_at"] is not None
        assert read["delivered_at"] == row["delivered_at"]  # set once, never moves

        acked = await dev.ok("ack_message", room_id=room, message_id=asked["id"], agent_name="dev")
        [ack] = (await stream.next_named("receipt")).json()["receipts"]
        assert ack == {
            "message_id": asked["id"],
            "name": "dev",
            "delivered_at": acked["delivered_at"],
            "read_at": acked["read_at"],
            "acked_at": acked["acked_at"],
        }

        # An ack again changes nothing, so nothing is sent; the next change is qa's.
        await dev.ok("ack_message", room_id=room, message_id=asked["id"], agent_name="dev")
        await post(http, room, "unrelated chatter")
        async with connect(server.mcp_url) as qa:
            await qa.ok("ack_message", room_id=room, message_id=asked["id"], agent_name="qa")
        [qa_ack] = (await stream.next_named("receipt")).json()["receipts"]
        assert qa_ack["name"] == "qa" and qa_ack["acked_at"] is not None
        assert qa_ack["delivered_at"] == qa_ack["acked_at"]  # an ack delivers too


async def test_the_pages_combined_feed_carries_receipts_of_every_room(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    room = await make_room(http, "acks", "combined")
    asked = await post(http, room, "for dev", to=["dev"], ack_required=True)
    async with open_stream(http, "/api/stream?room=*&html=true&reader=ana") as stream:
        await stream.until("ready")
        async with connect(server.mcp_url) as dev:
            await dev.ok("ack_message", room_id=room, message_id=asked["id"], agent_name="dev")
        event = await stream.next_named("receipt")
        assert event.json()["room_id"] == room
        assert [r["name"] for r in event.json()["receipts"]] == ["dev"]


async def test_a_cursor_passing_many_lists_the_newest_and_says_there_is_more(
    http: httpx.AsyncClient,
) -> None:
    room = await make_room(http, "acks", "many")
    ids = [(await post(http, room, f"#{i}", to=["dev"]))["id"] for i in range(203)]
    async with open_stream(http, f"/api/rooms/{room}/stream?last_event_id={ids[-1]}") as stream:
        await stream.until("ready")
        response = await http.post(
            f"/api/rooms/{room}/read", json={"reader": "dev", "last_read_message_id": ids[-1]}
        )
        assert response.status_code == 200, response.text
        data = (await stream.next_named("receipt")).json()
        assert data["more"] is True
        assert [r["message_id"] for r in data["receipts"]] == ids[::-1][:200]
        assert all(r["read_at"] is not None for r in data["receipts"])
    # Every one of them is read, the ones the event left out too.
    got = await http.get(f"/api/rooms/{room}/receipts", params={"ids": f"{ids[0]},{ids[1]}"})
    assert all(r["dev"]["read_at"] for r in got.json()["receipts"].values())


async def test_batch_receipts_of_a_rooms_messages(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    room = await make_room(http, "acks", "batch")
    other = await make_room(http, "acks", "other")
    one = await post(http, room, "one", to=["dev"])
    two = await post(http, room, "two", to=["qa", "dev"])
    plain = await post(http, room, "plain")
    elsewhere = await post(http, other, "elsewhere", to=["dev"])
    async with connect(server.mcp_url) as qa:
        await qa.ok("ack_message", room_id=room, message_id=two["id"], agent_name="qa")
    ids = f"{one['id']},{two['id']},{plain['id']},{elsewhere['id']}"
    got = await http.get(f"/api/rooms/{room}/receipts", params={"ids": ids})
    assert got.status_code == 200, got.text
    receipts = got.json()["receipts"]
    assert set(receipts) == {str(one["id"]), str(two["id"])}  # no `to`, another room: absent
    assert receipts[str(one["id"])] == {"dev": UNSET}
    assert receipts[str(two["id"])]["dev"] == UNSET
    assert receipts[str(two["id"])]["qa"]["acked_at"] is not None


@pytest.mark.parametrize(
    ("ids", "says"),
    [
        ("1,x", "ids must be message ids separated by commas"),
        ("0", "message id must be >= 1"),
        (",".join(["1"] * 501), "at most 500 message ids"),
    ],
)
async def test_batch_receipts_refuse_bad_ids_in_one_line(
    http: httpx.AsyncClient, ids: str, says: str
) -> None:
    room = await make_room(http, "acks", "bad")
    got = await http.get(f"/api/rooms/{room}/receipts", params={"ids": ids})
    assert got.status_code in (400, 422), got.text
    message = got.json()["error"]["message"]
    assert says in message and "\n" not in message
    missing = await http.get("/api/rooms/nope/receipts", params={"ids": "1"})
    assert missing.status_code == 404
