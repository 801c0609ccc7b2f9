"""Receipts of directed messages through the MCP tools and REST, on both backends:
delivered (an addressed read, wait, inbox or handoff by that name), read (its
cursor passed the message), acked (ack_message), and what still awaits acks."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from chatnut.service import ChatService
from tests.mcp_client import CheckedClient, all_messages, new_room

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]

UNSET = {"delivered_at": None, "read_at": None, "acked_at": None}


async def post(mcp: CheckedClient, room: str, **fields: Any) -> dict[str, Any]:
    return await mcp.ok("post_message", room_id=room, sender="lead", **fields)


async def test_receipts_go_delivered_read_acked_per_name(mcp: CheckedClient) -> None:
    room = await new_room(mcp)
    asked = await post(mcp, room, content="review #12", to=["Dev", "qa"], ack_required=True)
    plain = await post(mcp, room, content="no one in particular")
    assert asked["metadata"] == {"ack_required": True}

    # An onlooker's read shows the receipts and stamps nothing.
    page = await all_messages(mcp, room)
    by_id = {m["id"]: m for m in page}
    assert by_id[asked["id"]]["receipts"] == {"dev": UNSET, "qa": UNSET}
    assert "receipts" not in by_id[plain["id"]]  # absent on a message with no `to`

    # dev's own addressed read delivers it to dev, not to qa.
    mine = await mcp.ok("read_messages", room_id=room, addressed_to="DEV")
    receipt = mine["messages"][0]["receipts"]
    assert receipt["dev"]["delivered_at"] is not None and receipt["qa"] == UNSET
    first_delivery = receipt["dev"]["delivered_at"]
    again = await mcp.ok("read_messages", room_id=room, addressed_to="dev")
    assert again["messages"][0]["receipts"]["dev"]["delivered_at"] == first_delivery

    # qa's inbox delivers it to qa and lists it as awaiting qa's ack.
    inbox = await mcp.ok("check_inbox", agent_name="qa")
    assert inbox["messages"][0]["receipts"]["qa"]["delivered_at"] is not None
    assert inbox["awaiting_ack"] == [
        {
            "message_id": asked["id"],
            "room_id": room,
            "sender": "lead",
            "created_at": asked["created_at"],
        }
    ]

    # Read: the name's cursor passed it (readers match case-insensitively).
    await mcp.ok("mark_read", room_id=room, reader="Dev", last_read_message_id=asked["id"])
    waited = await mcp.ok(
        "wait_for_messages", room_id=room, since_id=0, timeout=0, addressed_to="dev"
    )
    assert waited["messages"][0]["receipts"]["dev"]["read_at"] is not None

    acked = await mcp.ok("ack_message", room_id=room, message_id=asked["id"], agent_name="DEV")
    assert acked["agent_name"] == "dev" and acked["acked_at"] is not None
    twice = await mcp.ok("ack_message", room_id=room, message_id=asked["id"], agent_name="dev")
    assert twice == acked  # idempotent: the first time stands
    handoff = await mcp.ok("get_handoff", room_id=room, reader="dev")
    assert "awaiting_ack" not in handoff  # dev acked; nothing awaits dev here
    handoff_qa = await mcp.ok("get_handoff", room_id=room, reader="qa")
    assert [a["message_id"] for a in handoff_qa["awaiting_ack"]] == [asked["id"]]


async def test_a_wait_woken_by_a_directed_post_delivers_it(mcp: CheckedClient) -> None:
    room = await new_room(mcp)
    waiting = asyncio.create_task(
        mcp.ok("wait_for_messages", room_id=room, since_id=0, timeout=10, addressed_to="dev")
    )
    await asyncio.sleep(0)  # let the wait subscribe; the backlog read covers a race anyway
    posted = await post(mcp, room, content="for dev", to="dev")
    woke = await asyncio.wait_for(waiting, 10)
    assert woke["messages"][0]["id"] == posted["id"]
    assert woke["messages"][0]["receipts"]["dev"]["delivered_at"] is not None


async def test_bad_ack_inputs_are_refused_in_one_line_with_nothing_written(
    mcp: CheckedClient, service: ChatService
) -> None:
    room = await new_room(mcp)
    other = await new_room(mcp, "other")
    asked = await post(mcp, room, content="x", to="dev", ack_required=True)
    assert "ack_required needs `to`" in await mcp.error(
        "post_message", room_id=room, sender="lead", content="y", ack_required=True
    )
    assert len(await all_messages(mcp, room)) == 1  # the refused post was not stored
    assert "not in the `to`" in await mcp.error(
        "ack_message", room_id=room, message_id=asked["id"], agent_name="qa"
    )
    assert "not in room" in await mcp.error(
        "ack_message", room_id=other, message_id=asked["id"], agent_name="dev"
    )
    assert "not found" in await mcp.error(
        "ack_message", room_id="nope", message_id=asked["id"], agent_name="dev"
    )
    assert "message_id" in await mcp.error(
        "ack_message", room_id=room, message_id=True, agent_name="dev"
    )
    assert "agent_name" in await mcp.error(
        "ack_message", room_id=room, message_id=asked["id"], agent_name=" "
    )
    receipts = await service.store.receipts([asked["id"]])
    assert receipts == {asked["id"]: {"dev": UNSET}}  # nothing was stamped


async def test_rest_lists_receipts_and_what_awaits_acks_with_overdue(
    api: httpx.AsyncClient,
) -> None:
    room = (await api.post("/api/rooms", json={"project": "p", "name": "r"})).json()["id"]
    asked = (
        await api.post(
            f"/api/rooms/{room}/messages",
            json={
                "sender": "ana",
                "content": "sign off?",
                "to": ["dev", "qa"],
                "ack_required": True,
            },
        )
    ).json()
    message = f"/api/rooms/{room}/messages/{asked['id']}"
    assert (await api.get(f"{message}/receipts")).json()["receipts"] == {"dev": UNSET, "qa": UNSET}

    listed = (await api.get(f"/api/rooms/{room}/awaiting-acks?overdue_after=0")).json()
    assert [(a["name"], a["overdue"]) for a in listed["awaiting"]] == [("dev", True), ("qa", True)]
    fresh = (await api.get(f"/api/rooms/{room}/awaiting-acks?overdue_after=3600")).json()
    assert not any(a["overdue"] for a in fresh["awaiting"])
    assert fresh["awaiting"][0]["preview"] == "sign off?"

    acked = await api.post(f"{message}/ack", json={"agent_name": "qa"})
    assert acked.status_code == 200 and acked.json()["acked_at"]
    by_name = (await api.get("/api/awaiting-acks?name=QA")).json()
    assert by_name["awaiting"] == []
    dev = (await api.get("/api/awaiting-acks?name=dev")).json()["awaiting"]
    assert [a["message_id"] for a in dev] == [asked["id"]]

    refused = await api.get(f"/api/rooms/{room}/awaiting-acks?overdue_after=-1")
    assert refused.status_code == 422 and "overdue_after" in refused.json()["error"]["message"]
    outsider = await api.post(f"{message}/ack", json={"agent_name": "zed"})
    assert outsider.status_code == 422
    assert (await api.get("/api/awaiting-acks")).status_code == 422
    after = (await api.get(f"{message}/receipts")).json()["receipts"]
    assert after["dev"] == UNSET and "zed" not in after


async def test_push_calls_refuse_bad_input_in_one_line_and_keep_the_cursor(
    api: httpx.AsyncClient,
) -> None:
    room = (await api.post("/api/rooms", json={"project": "p", "name": "r"})).json()["id"]
    first = await api.post("/api/push/dev/next", json={"holder": "b1", "timeout": 0})
    assert first.json()["held"] is True
    posted = (
        await api.post(
            f"/api/rooms/{room}/messages", json={"sender": "ana", "content": "x", "to": "dev"}
        )
    ).json()
    # Another bridge for the same name is told so, and given nothing.
    assert (await api.post("/api/push/dev/next", json={"holder": "b2", "timeout": 0})).json() == {
        "held": False,
        "messages": [],
        "next_since_id": 0,
        "has_more": False,
    }
    bad = [
        ("/api/push/dev/next", {"holder": "no spaces", "timeout": 0}, "holder"),
        ("/api/push/dev/next", {"holder": "b1", "after": -1}, "after"),
        ("/api/push/%20/next", {"holder": "b1", "timeout": 0}, "agent_name"),
        ("/api/push/dev/done", {"holder": "b1", "through": -5}, "through"),
        (
            "/api/push/dev/done",
            {"holder": "b1", "through": 1, "pushed": [posted["id"] + 9]},
            "pushed",
        ),
        ("/api/push/dev/done", {"holder": "b1", "through": posted["id"], "extra": 1}, "extra"),
    ]
    for path, body, named in bad:
        answer = await api.post(path, json=body)
        assert answer.status_code == 422, (path, body, answer.text)
        message = answer.json()["error"]["message"]
        assert named in message and "\n" not in message, (path, body, message)
    # Nothing moved: the first bridge still gets the message after its cursor.
    again = (await api.post("/api/push/dev/next", json={"holder": "b1", "timeout": 0})).json()
    assert [m["id"] for m in again["messages"]] == [posted["id"]]
    receipts = f"/api/rooms/{room}/messages/{posted['id']}/receipts"
    assert (await api.get(receipts)).json()["receipts"]["dev"] == UNSET
    # A stranger cannot confirm for the holder.
    stolen = (
        await api.post(
            "/api/push/dev/done",
            json={"holder": "b2", "through": posted["id"], "pushed": [posted["id"]]},
        )
    ).json()
    assert stolen == {"advanced": False}
    assert (await api.get(receipts)).json()["receipts"]["dev"] == UNSET
