"""Posting, reading, waiting and read cursors through the SDK's in-memory client.

Each refusal asserts the tool error names the problem and that nothing was
written; every successful result is checked against the tool's output schema.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.mcp_client import CheckedClient, all_messages, new_room

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]

MESSAGE_FIELDS = {"id", "room_id", "sender", "content", "message_type", "created_at", "metadata"}


async def test_post_message_returns_message_and_mentions(mcp: CheckedClient) -> None:
    room_id = await new_room(mcp)
    await mcp.ok("register_agent", room_id=room_id, agent_name="Security", task_id="t-sec")
    await mcp.ok("register_agent", room_id=room_id, agent_name="architect", task_id="t-arch")
    posted = await mcp.ok(
        "post_message",
        room_id=room_id,
        sender="pm",
        content="@SECURITY and @architect, also @ghost and mail@example.com, @security again",
    )
    assert set(posted) == MESSAGE_FIELDS | {"mentions"}
    # Each registered name once, sorted by name (as the original returns them).
    assert posted["mentions"] == [
        {"name": "architect", "task_id": "t-arch"},
        {"name": "security", "task_id": "t-sec"},
    ]
    assert posted["message_type"] == "message" and posted["metadata"] is None
    stored = await all_messages(mcp, room_id)
    assert stored == [{k: posted[k] for k in MESSAGE_FIELDS}]


async def test_post_message_reply_to_is_stored_in_metadata(mcp: CheckedClient) -> None:
    room_id = await new_room(mcp)
    first = await mcp.ok("post_message", room_id=room_id, sender="a", content="question")
    reply = await mcp.ok(
        "post_message", room_id=room_id, sender="b", content="answer", reply_to=first["id"]
    )
    assert reply["metadata"] == {"reply_to": first["id"]}
    other = await new_room(mcp, "other")
    error = await mcp.error(
        "post_message", room_id=other, sender="b", content="x", reply_to=first["id"]
    )
    assert "reply_to" in error
    assert await all_messages(mcp, other) == []


async def test_message_ids_strictly_increase_across_rooms(mcp: CheckedClient) -> None:
    a, b = await new_room(mcp, "a"), await new_room(mcp, "b")
    ids = []
    for i in range(6):
        posted = await mcp.ok("post_message", room_id=(a, b)[i % 2], sender="s", content=f"m{i}")
        ids.append(posted["id"])
    assert ids == sorted(ids) and len(set(ids)) == 6


BAD_POSTS = [
    ({"sender": ""}, "sender"),
    ({"sender": "   "}, "sender"),
    ({"content": ""}, "content"),
    ({"content": "  \n "}, "content"),
    ({"message_type": "shout"}, "message_type"),
    ({"content": "a\x00b"}, "NUL"),
    ({"sender": "x\x00"}, "NUL"),
    ({"content": "bad \ud800 surrogate"}, "surrogate"),
    ({"content": "x" * (64 * 1024 + 1)}, "limit"),
    ({"content": "é" * (32 * 1024 + 1)}, "bytes"),
    ({"sender": "s" * 101}, "sender"),
    ({"sender": 42}, "sender"),
    ({"content": ["list"]}, "content"),
    ({"reply_to": 0}, "reply_to"),
    ({"reply_to": 999}, "reply_to"),
    ({"unknown_arg": 1}, "unknown_arg"),
]


@pytest.mark.parametrize(("change", "named"), BAD_POSTS)
async def test_post_message_refuses_bad_input_and_writes_nothing(
    mcp: CheckedClient, change: dict[str, Any], named: str
) -> None:
    room_id = await new_room(mcp)
    args = {"room_id": room_id, "sender": "alice", "content": "hello", **change}
    error = await mcp.error("post_message", **args)
    assert named in error
    assert await all_messages(mcp, room_id) == []


async def test_post_message_at_the_limit_is_accepted(mcp: CheckedClient) -> None:
    room_id = await new_room(mcp)
    content = "x" * (64 * 1024)
    posted = await mcp.ok("post_message", room_id=room_id, sender="a", content=content)
    assert (await all_messages(mcp, room_id))[0]["content"] == content == posted["content"]


async def test_read_messages_pages_with_since_id_and_has_more(mcp: CheckedClient) -> None:
    room_id = await new_room(mcp)
    ids = [
        (
            await mcp.ok(
                "post_message",
                room_id=room_id,
                sender="s",
                content=f"m{i}",
                message_type="system" if i == 2 else "message",
            )
        )["id"]
        for i in range(5)
    ]
    page = await mcp.ok("read_messages", room_id=room_id, limit=2)
    assert [m["id"] for m in page["messages"]] == ids[:2] and page["has_more"] is True
    page = await mcp.ok("read_messages", room_id=room_id, since_id=ids[1], limit=10)
    assert [m["id"] for m in page["messages"]] == ids[2:] and page["has_more"] is False
    system = await mcp.ok("read_messages", room_id=room_id, message_type="system")
    assert [m["id"] for m in system["messages"]] == [ids[2]]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        ({"since_id": -1}, "since_id"),
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"message_type": "chat"}, "message_type"),
        ({"since_id": "abc"}, "since_id"),
    ],
)
async def test_read_messages_refuses_bad_input(
    mcp: CheckedClient, args: dict[str, Any], named: str
) -> None:
    room_id = await new_room(mcp)
    assert named in await mcp.error("read_messages", room_id=room_id, **args)


async def test_wait_for_messages_returns_backlog_at_once(mcp: CheckedClient) -> None:
    room_id = await new_room(mcp)
    posted = await mcp.ok("post_message", room_id=room_id, sender="a", content="early")
    result = await mcp.ok("wait_for_messages", room_id=room_id, since_id=0, timeout=60)
    assert [m["id"] for m in result["messages"]] == [posted["id"]]
    assert result["timed_out"] is False and result["has_more"] is False


async def test_wait_for_messages_wakes_on_post(mcp: CheckedClient) -> None:
    room_id = await new_room(mcp)
    waiter = asyncio.create_task(
        mcp.ok("wait_for_messages", room_id=room_id, since_id=0, timeout=30)
    )
    # The post can only be seen through the hub if the waiter is already subscribed;
    # either way it must come back with exactly this message.
    posted = await mcp.ok("post_message", room_id=room_id, sender="b", content="wake up")
    result = await asyncio.wait_for(waiter, 10)
    assert [m["id"] for m in result["messages"]] == [posted["id"]]
    assert result["messages"][0]["content"] == "wake up" and result["timed_out"] is False


async def test_wait_for_messages_filters_by_type(mcp: CheckedClient) -> None:
    room_id = await new_room(mcp)
    waiter = asyncio.create_task(
        mcp.ok("wait_for_messages", room_id=room_id, since_id=0, timeout=30, message_type="system")
    )
    await mcp.ok("post_message", room_id=room_id, sender="b", content="chatter")
    system = await mcp.ok(
        "post_message", room_id=room_id, sender="b", content="done", message_type="system"
    )
    result = await asyncio.wait_for(waiter, 10)
    assert [m["id"] for m in result["messages"]] == [system["id"]]


async def test_wait_for_messages_times_out(mcp: CheckedClient) -> None:
    room_id = await new_room(mcp)
    result = await mcp.ok("wait_for_messages", room_id=room_id, since_id=0, timeout=0.05)
    assert result == {"messages": [], "has_more": False, "next_since_id": 0, "timed_out": True}


async def test_wait_for_messages_clamps_timeout_instead_of_refusing(mcp: CheckedClient) -> None:
    room_id = await new_room(mcp)
    posted = await mcp.ok("post_message", room_id=room_id, sender="a", content="x")
    result = await mcp.ok("wait_for_messages", room_id=room_id, since_id=0, timeout=3600)
    assert result["messages"][0]["id"] == posted["id"]
    assert "timeout" in await mcp.error(
        "wait_for_messages", room_id=room_id, since_id=0, timeout=-1
    )
    assert "since_id" in await mcp.error("wait_for_messages", room_id=room_id, since_id=-5)


@pytest.mark.sqlite_only
async def test_wait_for_messages_has_more_when_more_than_limit_arrive(
    mcp: CheckedClient, service: Any
) -> None:
    """Three posts committed in one batch wake a waiter with limit=2 once."""
    from chatnut.hub import Event
    from chatnut.service import now_iso
    from chatnut.store.sqlite import queries as q

    room_id = await new_room(mcp)
    waiter = asyncio.create_task(
        mcp.ok("wait_for_messages", room_id=room_id, since_id=0, timeout=30, limit=2)
    )
    while service.hub.subscriber_count(room_id) == 0:
        await asyncio.sleep(0)

    def three_posts(conn: Any) -> Any:
        posted = [
            q.insert_message(conn, room_id, "a", f"m{i}", "message", now_iso(), None)
            for i in range(3)
        ]
        return posted, [Event("message", room_id, m) for m in posted]

    posted = await service.store.engine.write(three_posts)
    result = await asyncio.wait_for(waiter, 10)
    assert [m["id"] for m in result["messages"]] == [p["id"] for p in posted[:2]]
    assert result["has_more"] is True and result["timed_out"] is False
    rest = await mcp.ok("read_messages", room_id=room_id, since_id=posted[1]["id"])
    assert [m["id"] for m in rest["messages"]] == [posted[2]["id"]]


async def test_mark_read_moves_forward_only(mcp: CheckedClient) -> None:
    room_id = await new_room(mcp)
    ids = [
        (await mcp.ok("post_message", room_id=room_id, sender="a", content=f"{i}"))["id"]
        for i in range(3)
    ]
    result = await mcp.ok("mark_read", room_id=room_id, reader="bob", last_read_message_id=ids[2])
    assert result == {"room_id": room_id, "reader": "bob", "last_read_message_id": ids[2]}
    back = await mcp.ok("mark_read", room_id=room_id, reader="bob", last_read_message_id=ids[0])
    assert back["last_read_message_id"] == ids[2]
    error = await mcp.error("mark_read", room_id=room_id, reader="bob", last_read_message_id=-1)
    assert "last_read_message_id" in error
    # "Everything read" with a huge id stops at the newest message, so a later
    # post still counts as unread.
    everything = await mcp.ok(
        "mark_read", room_id=room_id, reader="eve", last_read_message_id=10**9
    )
    assert everything["last_read_message_id"] == ids[2]
