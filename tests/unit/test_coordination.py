"""Coordination through the SDK's in-memory client: directed posts, addressed reads
and waits, the inbox, summaries, the handoff and presence.

Every successful result is checked against its tool's declared output schema
(CheckedClient); every refusal is one line and writes nothing.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from chatnut.service import ChatService
from chatnut.service.coordination import BODY_CUT, HANDOFF_MAX_BYTES
from tests.mcp_client import CheckedClient, all_messages, new_room

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]


async def post(mcp: CheckedClient, room_id: str, content: str, **extra: Any) -> dict[str, Any]:
    sender = extra.pop("sender", "lead")
    return await mcp.ok("post_message", room_id=room_id, sender=sender, content=content, **extra)


async def until_waiting(mcp: CheckedClient, room_id: str, name: str) -> None:
    """Until list_agents says `name` is parked in a named wait (the wait's own signal)."""
    while True:
        agents = (await mcp.ok("list_agents", room_id=room_id))["agents"]
        if any(a["agent_name"] == name and a["waiting"] for a in agents):
            return
        await asyncio.sleep(0.005)


async def test_to_is_stored_returned_and_read_back(mcp: CheckedClient) -> None:
    room_id = await new_room(mcp)
    one = await post(mcp, room_id, "for alice", to="Alice")
    two = await post(mcp, room_id, "for both", to=["bob", " ALICE ", "alice"])
    plain = await post(mcp, room_id, "for everyone")
    assert one["to"] == ["alice"]  # a string is a list of one; names are lower-cased
    assert two["to"] == ["bob", "alice"]  # each once, in the order given
    assert "to" not in plain  # an unaddressed message is exactly the original's shape
    stored = await all_messages(mcp, room_id)
    assert [m.get("to") for m in stored] == [["alice"], ["bob", "alice"], None]


async def test_a_registered_mention_addresses_without_changing_the_message(
    mcp: CheckedClient,
) -> None:
    room_id = await new_room(mcp)
    await mcp.ok("register_agent", room_id=room_id, agent_name="qa", task_id="t-qa")
    mentioned = await post(mcp, room_id, "@QA please check; @ghost too")
    assert "to" not in mentioned and mentioned["mentions"] == [{"name": "qa", "task_id": "t-qa"}]
    for name, expected in (("qa", [mentioned["id"]]), ("ghost", [])):
        page = await mcp.ok("read_messages", room_id=room_id, addressed_to=name)
        assert [m["id"] for m in page["messages"]] == expected


async def test_addressed_read_filters_and_reports_how_far_it_looked(mcp: CheckedClient) -> None:
    room_id = await new_room(mcp)
    first = await post(mcp, room_id, "q1", to="dev")
    for i in range(5):
        await post(mcp, room_id, f"noise {i}")
    second = await post(mcp, room_id, "q2", to=["qa", "DEV"], message_type="summary")
    last = await post(mcp, room_id, "trailing noise")

    page = await mcp.ok("read_messages", room_id=room_id, addressed_to="Dev")
    assert [m["id"] for m in page["messages"]] == [first["id"], second["id"]]
    assert page["has_more"] is False and page["next_since_id"] == last["id"]

    limited = await mcp.ok("read_messages", room_id=room_id, addressed_to="dev", limit=1)
    assert [m["id"] for m in limited["messages"]] == [first["id"]]
    assert limited["has_more"] is True and limited["next_since_id"] == first["id"]

    rest = await mcp.ok(
        "read_messages", room_id=room_id, addressed_to="dev", since_id=limited["next_since_id"]
    )
    assert [m["id"] for m in rest["messages"]] == [second["id"]]

    summaries = await mcp.ok(
        "read_messages", room_id=room_id, addressed_to="dev", message_type="summary"
    )
    assert [m["id"] for m in summaries["messages"]] == [second["id"]]
    nothing = await mcp.ok("read_messages", room_id=room_id, addressed_to="nobody")
    assert nothing["messages"] == [] and nothing["next_since_id"] == last["id"]


async def test_every_read_and_wait_result_has_next_since_id(mcp: CheckedClient) -> None:
    room_id = await new_room(mcp)
    empty = await mcp.ok("read_messages", room_id=room_id, since_id=7)
    assert empty == {"messages": [], "has_more": False, "next_since_id": 7}
    posted = [await post(mcp, room_id, f"m{i}") for i in range(3)]
    page = await mcp.ok("read_messages", room_id=room_id, limit=2)
    assert page["next_since_id"] == posted[1]["id"] and page["has_more"] is True
    waited = await mcp.ok("wait_for_messages", room_id=room_id, since_id=posted[1]["id"])
    assert waited["next_since_id"] == posted[2]["id"] and waited["timed_out"] is False
    typed = await mcp.ok("read_messages", room_id=room_id, message_type="summary")
    assert typed["messages"] == [] and typed["next_since_id"] == posted[2]["id"]


async def test_addressed_wait_sleeps_through_other_traffic(
    mcp: CheckedClient, service: ChatService
) -> None:
    room_id = await new_room(mcp)
    await mcp.ok("register_agent", room_id=room_id, agent_name="dev", task_id="t")
    start = await post(mcp, room_id, "before")
    waiting = asyncio.create_task(
        mcp.ok(
            "wait_for_messages",
            room_id=room_id,
            since_id=start["id"],
            timeout=30,
            addressed_to="DEV",
        )
    )
    await until_waiting(mcp, room_id, "dev")
    skipped = [await post(mcp, room_id, f"unrelated {i}", to="qa") for i in range(50)]
    await until_waiting(mcp, room_id, "dev")  # still parked after all 50
    assert not waiting.done()
    addressed = await post(mcp, room_id, "your turn", to="dev")
    result = await asyncio.wait_for(waiting, 5)
    assert [m["id"] for m in result["messages"]] == [addressed["id"]]
    assert result["timed_out"] is False
    assert result["next_since_id"] == addressed["id"] > skipped[-1]["id"]


async def test_addressed_wait_times_out_past_what_it_skipped(mcp: CheckedClient) -> None:
    room_id = await new_room(mcp)
    noise = await post(mcp, room_id, "noise")
    result = await mcp.ok(
        "wait_for_messages", room_id=room_id, since_id=0, timeout=0.05, addressed_to="dev"
    )
    assert result == {
        "messages": [],
        "has_more": False,
        "next_since_id": noise["id"],
        "timed_out": True,
    }


async def test_inbox_spans_live_rooms_and_leaves_out_archived(mcp: CheckedClient) -> None:
    rooms = [await new_room(mcp, f"r{i}") for i in range(3)]
    got = [await post(mcp, room_id, f"to dev in r{i}", to="dev") for i, room_id in enumerate(rooms)]
    await post(mcp, rooms[0], "not for dev", to="qa")
    old = await new_room(mcp, "old")
    await post(mcp, old, "in a room archived later", to="dev")
    await mcp.ok("archive_room", project="alpha", name="old")

    inbox = await mcp.ok("check_inbox", agent_name="Dev")
    assert [m["id"] for m in inbox["messages"]] == [m["id"] for m in got]
    assert [m["room"] for m in inbox["messages"]] == [
        {"id": room_id, "project": "alpha", "name": f"r{i}"} for i, room_id in enumerate(rooms)
    ]
    assert inbox["has_more"] is False and inbox["timed_out"] is False
    paged = await mcp.ok("check_inbox", agent_name="dev", limit=2)
    assert paged["has_more"] is True and paged["next_since_id"] == got[1]["id"]
    rest = await mcp.ok("check_inbox", agent_name="dev", since_id=paged["next_since_id"])
    assert [m["id"] for m in rest["messages"]] == [got[2]["id"]]


async def test_inbox_long_poll_is_woken_by_a_post_in_any_room(mcp: CheckedClient) -> None:
    rooms = [await new_room(mcp, f"r{i}") for i in range(3)]
    since = (await mcp.ok("check_inbox", agent_name="dev"))["next_since_id"]
    waiting = asyncio.create_task(
        mcp.ok("check_inbox", agent_name="dev", since_id=since, timeout=30)
    )
    await until_parked_in_inbox(mcp, rooms[2])
    await post(mcp, rooms[0], "noise for qa", to="qa")
    assert not waiting.done()
    addressed = await post(mcp, rooms[2], "for dev", to="dev")
    result = await asyncio.wait_for(waiting, 5)
    assert [m["id"] for m in result["messages"]] == [addressed["id"]]
    assert result["messages"][0]["room"]["name"] == "r2" and result["timed_out"] is False


async def until_parked_in_inbox(mcp: CheckedClient, room_id: str) -> None:
    # An inbox wait counts as waiting in every room the name is registered in.
    await mcp.ok("register_agent", room_id=room_id, agent_name="dev", task_id="t")
    await until_waiting(mcp, room_id, "dev")


async def test_handoff_gathers_a_room_for_a_resuming_reader(mcp: CheckedClient) -> None:
    room_id = await new_room(mcp)
    await mcp.ok("register_agent", room_id=room_id, agent_name="dev", task_id="t-dev")
    await mcp.ok("update_status", room_id=room_id, sender="dev", status="coding")
    early = [await post(mcp, room_id, f"early {i}") for i in range(3)]
    await mcp.ok("mark_read", room_id=room_id, reader="dev", last_read_message_id=early[-1]["id"])
    summary = await post(mcp, room_id, "## State\nAll good.", message_type="summary")
    later = [await post(mcp, room_id, f"later {i}", sender="qa") for i in range(4)]
    big = await post(mcp, room_id, "x" * (BODY_CUT + 10))

    handoff = await mcp.ok("get_handoff", room_id=room_id, reader="dev", recent=3)
    assert handoff["room"]["id"] == room_id and handoff["room"]["status"] == "live"
    assert handoff["latest_summary"]["id"] == summary["id"]
    assert handoff["latest_summary"]["truncated"] is False
    assert handoff["unread_count"] == 6  # summary, 4 later, big
    # The 3 oldest unread (the summary is shown once, as the summary) ...
    assert [m["id"] for m in handoff["unread"]] == [m["id"] for m in later[:2]]
    # ... and the 3 newest.
    assert [m["id"] for m in handoff["recent"]] == [later[2]["id"], later[3]["id"], big["id"]]
    cut = handoff["recent"][-1]
    assert cut["truncated"] is True and len(cut["content"]) == BODY_CUT
    assert handoff["complete"] is False  # a body was cut
    assert handoff["next_since_id"] == big["id"]
    assert [(s["sender"], s["status"]) for s in handoff["statuses"]] == [("dev", "coding")]
    assert handoff["agents"][0]["agent_name"] == "dev"
    assert handoff["agents"][0]["last_seen_at"] is not None  # the handoff itself is a call


async def test_handoff_stays_under_its_size_and_says_what_it_left_out(
    mcp: CheckedClient, service: ChatService
) -> None:
    service.max_message_bytes = 256 * 1024
    room_id = await new_room(mcp, "huge")
    for i in range(40):
        await mcp.ok("update_status", room_id=room_id, sender=f"agent-{i}", status="s" * 500)
        await mcp.ok("register_agent", room_id=room_id, agent_name=f"agent-{i}", task_id="t" * 200)
    await post(mcp, room_id, "\x01" * 200_000, message_type="summary")  # escapes to 6x
    for _ in range(30):
        await post(mcp, room_id, "é" * 60_000)

    handoff = await mcp.ok("get_handoff", room_id=room_id, reader="newcomer", recent=100)
    size = len(json.dumps(handoff, ensure_ascii=False, separators=(",", ":")).encode())
    assert size <= HANDOFF_MAX_BYTES, size
    assert handoff["complete"] is False
    assert handoff["unread_count"] == 31
    omitted = handoff["omitted"]
    assert omitted["recent"] + len(handoff["recent"]) == 0  # all 30 are in unread
    assert omitted["unread"] + len(handoff["unread"]) == 30
    assert omitted["unread"] > 0 and omitted["statuses"] + len(handoff["statuses"]) == 40
    assert handoff["latest_summary"]["truncated"] is True


async def test_presence_of_agents_and_statuses(mcp: CheckedClient, service: ChatService) -> None:
    room_id = await new_room(mcp)
    # A lead registers its teammates: that is no sign of the teammates' life.
    for name in ("dev", "never"):
        await mcp.ok("register_agent", room_id=room_id, agent_name=name, task_id="t")
    agents = (await mcp.ok("list_agents", room_id=room_id))["agents"]
    assert [(a["last_seen_at"], a["waiting"]) for a in agents] == [(None, False)] * 2

    await mcp.ok("update_status", room_id=room_id, sender="Dev", status="on it")
    agents = {a["agent_name"]: a for a in (await mcp.ok("list_agents", room_id=room_id))["agents"]}
    assert agents["never"]["last_seen_at"] is None and agents["never"]["waiting"] is False
    assert agents["dev"]["last_seen_at"] is not None and agents["dev"]["waiting"] is False

    waiting = asyncio.create_task(
        mcp.ok("wait_for_messages", room_id=room_id, since_id=0, timeout=30, addressed_to="dev")
    )
    await until_waiting(mcp, room_id, "dev")
    team = (await mcp.ok("get_team_status", room_id=room_id))["statuses"]
    assert team[0]["sender"] == "Dev" and team[0]["waiting"] is True
    await post(mcp, room_id, "wake", to="dev")
    await asyncio.wait_for(waiting, 5)
    team = (await mcp.ok("get_team_status", room_id=room_id))["statuses"]
    assert team[0]["waiting"] is False and team[0]["last_seen_at"] >= agents["dev"]["last_seen_at"]


async def test_presence_is_saved_and_outlives_the_process_memory(
    mcp: CheckedClient, service: ChatService
) -> None:
    room_id = await new_room(mcp)
    await mcp.ok("register_agent", room_id=room_id, agent_name="dev", task_id="t")
    await mcp.ok("read_messages", room_id=room_id, addressed_to="dev")
    seen = (await mcp.ok("list_agents", room_id=room_id))["agents"][0]["last_seen_at"]
    assert await service.save_presence() == 1
    assert await service.save_presence() == 0  # saved at most once a minute per name
    service.presence = type(service.presence)()  # a restarted server's memory
    agents = (await mcp.ok("list_agents", room_id=room_id))["agents"]
    assert agents[0]["last_seen_at"] == seen


BAD_CALLS = [
    ("post_message", {"to": ""}, "to must not be empty"),
    ("post_message", {"to": ["ok", "   "]}, "to must not be empty"),
    ("post_message", {"to": [f"n{i}" for i in range(21)]}, "the limit is 20"),
    ("post_message", {"to": "x" * 101}, "to"),
    ("post_message", {"to": "a\x00b"}, "NUL"),
    ("post_message", {"to": 5}, "to"),
    ("post_message", {"message_type": "note"}, "message_type"),
    ("read_messages", {"addressed_to": ""}, "addressed_to must not be empty"),
    ("read_messages", {"addressed_to": "x" * 101}, "addressed_to"),
    ("wait_for_messages", {"since_id": 0, "addressed_to": "a\x00"}, "NUL"),
    ("wait_for_messages", {"since_id": 0, "addressed_to": 3}, "addressed_to"),
    ("check_inbox", {"agent_name": ""}, "agent_name"),
    ("check_inbox", {"agent_name": "dev", "since_id": -1}, "since_id"),
    ("check_inbox", {"agent_name": "dev", "limit": 0}, "limit"),
    ("check_inbox", {"agent_name": "dev", "timeout": -1}, "timeout"),
    ("check_inbox", {"agent_name": "dev", "room_id": "x"}, "room_id"),
    ("get_handoff", {"reader": "dev", "recent": 101}, "recent"),
    ("get_handoff", {"reader": "dev", "recent": -1}, "recent"),
    ("get_handoff", {"reader": " "}, "reader must not be empty"),
    ("get_handoff", {"reader": "dev", "room_id": "no-such-room"}, "not found"),
]


@pytest.mark.parametrize(("tool", "change", "named"), BAD_CALLS)
async def test_bad_new_inputs_are_refused_in_one_line_and_write_nothing(
    mcp: CheckedClient, service: ChatService, tool: str, change: dict[str, Any], named: str
) -> None:
    room_id = await new_room(mcp)
    base: dict[str, Any] = {
        "post_message": {"room_id": room_id, "sender": "a", "content": "hi"},
        "read_messages": {"room_id": room_id},
        "wait_for_messages": {"room_id": room_id},
        "check_inbox": {},
        "get_handoff": {"room_id": room_id},
    }[tool]
    error = await mcp.error(tool, **{**base, **change})
    assert named in error, error
    assert await all_messages(mcp, room_id) == []
    assert service.presence.take_unsaved() == []  # a refused call is no sign of life


async def test_parked_inboxes_count_against_the_wait_caps(
    mcp: CheckedClient, service: ChatService
) -> None:
    service.max_waits_per_room, service.max_waits = 1, 2
    room_id = await new_room(mcp)
    await mcp.ok("register_agent", room_id=room_id, agent_name="dev", task_id="t")
    first = asyncio.create_task(mcp.ok("check_inbox", agent_name="dev", timeout=30))
    await until_waiting(mcp, room_id, "dev")
    refused = await mcp.error("check_inbox", agent_name="DEV", timeout=30)
    assert "the limit is 1" in refused  # one parked inbox per name here
    other = asyncio.create_task(mcp.ok("check_inbox", agent_name="qa", timeout=30))
    while sum(service.parked_waits.values()) < 2:
        await asyncio.sleep(0.005)  # the second inbox is parking
    total = await mcp.error("wait_for_messages", room_id=room_id, since_id=0, timeout=30)
    assert "2 waits are already parked on this server" in total
    await post(mcp, room_id, "for both", to=["dev", "qa"])
    assert len((await asyncio.wait_for(first, 5))["messages"]) == 1
    assert len((await asyncio.wait_for(other, 5))["messages"]) == 1
    assert service.parked_waits == {}
