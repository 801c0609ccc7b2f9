"""Every tool of the agent contract through the SDK's in-memory client: results, rules and refusals.

Each refusal asserts the tool error names the problem and that nothing was written.
Every successful result is validated against the tool's declared output schema
by the `mcp` fixture.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from chatnut.mcp_server import plain_schema
from tests.mcp_client import CheckedClient, all_messages, new_room

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]

ROOM_FIELDS = {
    "id",
    "name",
    "project",
    "branch",
    "description",
    "status",
    "created_at",
    "archived_at",
    "metadata",
}


async def test_tools_list_is_the_contract(mcp: CheckedClient) -> None:
    tools = (await mcp.client.list_tools()).tools
    assert sorted(t.name for t in tools) == sorted(
        [
            "post_message",
            "read_messages",
            "wait_for_messages",
            "init_room",
            "list_rooms",
            "archive_room",
            "delete_room",
            "clear_room",
            "mark_read",
            "search",
            "list_projects",
            "ping",
            "update_status",
            "get_team_status",
            "register_agent",
            "list_agents",
            "check_inbox",
            "get_handoff",
            "ack_message",
            "claim",
            "release",
            "list_claims",
        ]
    )
    by_name = {t.name: t for t in tools}
    for name in (
        "read_messages",
        "wait_for_messages",
        "list_rooms",
        "search",
        "list_projects",
        "ping",
        "get_team_status",
        "list_agents",
        "check_inbox",
        "get_handoff",
        "list_claims",
    ):
        assert by_name[name].annotations is not None and by_name[name].annotations.read_only_hint
    for name in (
        "post_message",
        "init_room",
        "delete_room",
        "clear_room",
        "ack_message",
        "claim",
        "release",
    ):
        assert by_name[name].annotations is not None
        assert not by_name[name].annotations.read_only_hint
    schema = by_name["read_messages"].input_schema
    assert schema["properties"]["limit"]["maximum"] == 1000
    assert schema["properties"]["limit"]["minimum"] == 1
    assert schema["additionalProperties"] is False
    # The original's parameter names and defaults, exactly.
    post = by_name["post_message"].input_schema
    assert post["required"] == ["room_id", "sender", "content"]
    assert post["properties"]["message_type"]["default"] == "message"
    wait = by_name["wait_for_messages"].input_schema
    assert wait["required"] == ["room_id", "since_id"]
    assert wait["properties"]["timeout"]["default"] == 30
    # Nullable result fields are declared nullable.
    room_schema = by_name["init_room"].output_schema
    assert room_schema is not None
    assert room_schema["properties"]["archived_at"] == {"type": ["string", "null"]}
    # Written plainly: nothing for a validating client to resolve or try in turn.
    listed = json.dumps([t.output_schema for t in tools])
    assert "$ref" not in listed and "$defs" not in listed and "anyOf" not in listed
    # Short descriptions: the whole list stays small in an agent's context. It
    # was 15 923 bytes of compact JSON (`python -m bench.tools_list`) for the
    # 18 tools before push, receipts and claims, which may add 3 KB together;
    # the retry key on posts and `principal` and `reactions` on messages (each
    # declared in the fewest bytes) add under 256 more, and `edited_at` and
    # `deleted` on messages under 256 again.
    dumped = {"tools": [t.model_dump(by_alias=True, exclude_none=True) for t in tools]}
    compact = len(json.dumps(dumped, separators=(",", ":")).encode())
    assert compact <= 15_923 + 3 * 1024 + 2 * 256, compact


async def test_init_room_is_idempotent_and_returns_web_url(mcp: CheckedClient) -> None:
    first = await mcp.ok(
        "init_room", project="alpha", name="planning", branch="main", description="Sprint planning"
    )
    assert set(first) == ROOM_FIELDS | {"web_url"}
    assert first["status"] == "live" and first["branch"] == "main"
    assert first["web_url"].endswith(f"?room={first['id']}")
    again = await mcp.ok("init_room", project="alpha", name="planning", description="other")
    assert again["id"] == first["id"]
    assert again["description"] == "Sprint planning"
    other_project = await mcp.ok("init_room", project="beta", name="planning")
    assert other_project["id"] != first["id"]
    rooms = (await mcp.ok("list_rooms", status="all"))["rooms"]
    assert len(rooms) == 2


async def test_init_room_on_archived_name_returns_it_and_posting_is_refused(
    mcp: CheckedClient,
) -> None:
    room_id = await new_room(mcp)
    await mcp.ok("archive_room", project="alpha", name="planning")
    again = await mcp.ok("init_room", project="alpha", name="planning")
    assert again["id"] == room_id and again["status"] == "archived"
    error = await mcp.error("post_message", room_id=room_id, sender="a", content="hi")
    assert "archived" in error and "new name" in error
    assert await all_messages(mcp, room_id) == []


async def test_init_room_writes_chatroom_json_for_existing_team(
    mcp: CheckedClient, tmp_path: Path
) -> None:
    team = tmp_path / "teams" / "red-team"
    team.mkdir()
    room = await mcp.ok("init_room", project="alpha", name="r", team_name="red-team")
    written = json.loads((team / "chatroom.json").read_text())
    assert written == {
        "room_id": room["id"],
        "project": "alpha",
        "name": "r",
        "web_url": room["web_url"],
    }
    await mcp.ok("init_room", project="alpha", name="r2", team_name="no-such-team")
    assert not (tmp_path / "teams" / "no-such-team").exists()


@pytest.mark.parametrize("team", ["../evil", "..", "a/b", "a\\b", "~root", "x\x00y"])
async def test_init_room_refuses_team_name_traversal(
    mcp: CheckedClient, tmp_path: Path, team: str
) -> None:
    error = await mcp.error("init_room", project="alpha", name="r", team_name=team)
    assert "team_name" in error
    assert (await mcp.ok("list_rooms", status="all"))["rooms"] == []
    assert not list(tmp_path.rglob("chatroom.json"))


async def test_unknown_argument_error_lists_valid_ones(mcp: CheckedClient) -> None:
    error = await mcp.error("list_rooms", projct="alpha")
    assert "projct" in error and "project" in error and "status" in error


async def test_missing_argument_is_named(mcp: CheckedClient) -> None:
    error = await mcp.error("post_message", room_id="x", sender="a")
    assert "content" in error and "required" in error


@pytest.mark.parametrize("tool", ["read_messages", "get_team_status", "list_agents", "delete_room"])
async def test_unknown_room_is_named(mcp: CheckedClient, tool: str) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    error = await mcp.error(tool, room_id=missing)
    assert missing in error and "not found" in error


async def test_unknown_room_on_writes_is_named(mcp: CheckedClient) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    for tool, args in [
        ("post_message", {"sender": "a", "content": "x"}),
        ("update_status", {"sender": "a", "status": "busy"}),
        ("register_agent", {"agent_name": "a", "task_id": "t"}),
        ("mark_read", {"reader": "a", "last_read_message_id": 0}),
        ("wait_for_messages", {"since_id": 0, "timeout": 0}),
    ]:
        error = await mcp.error(tool, room_id=missing, **args)
        assert missing in error, (tool, error)
    assert (await mcp.ok("list_rooms", status="all"))["rooms"] == []


async def test_list_rooms_filters_by_project_and_status(mcp: CheckedClient) -> None:
    await new_room(mcp, "one", "alpha")
    await new_room(mcp, "two", "alpha")
    await new_room(mcp, "three", "beta")
    await mcp.ok("archive_room", project="alpha", name="two")
    live = (await mcp.ok("list_rooms"))["rooms"]
    assert sorted(r["name"] for r in live) == ["one", "three"]
    assert all(set(r) == ROOM_FIELDS for r in live)
    archived = (await mcp.ok("list_rooms", status="archived"))["rooms"]
    assert [r["name"] for r in archived] == ["two"] and archived[0]["archived_at"]
    alpha_all = (await mcp.ok("list_rooms", project="alpha", status="all"))["rooms"]
    assert sorted(r["name"] for r in alpha_all) == ["one", "two"]
    assert "status" in await mcp.error("list_rooms", status="dead")


async def test_archive_room_result_and_refusals(mcp: CheckedClient) -> None:
    await new_room(mcp)
    result = await mcp.ok("archive_room", project="alpha", name="planning")
    assert set(result) == {"name", "project", "archived_at"} and result["archived_at"]
    again = await mcp.ok("archive_room", project="alpha", name="planning")
    assert again["archived_at"] == result["archived_at"]
    error = await mcp.error("archive_room", project="alpha", name="nope")
    assert "nope" in error and "not found" in error


async def test_delete_room_only_when_archived_and_cascades(mcp: CheckedClient) -> None:
    room_id = await new_room(mcp)
    await mcp.ok("post_message", room_id=room_id, sender="a", content="one")
    await mcp.ok("post_message", room_id=room_id, sender="a", content="two")
    await mcp.ok("update_status", room_id=room_id, sender="a", status="busy")
    await mcp.ok("register_agent", room_id=room_id, agent_name="a", task_id="t")
    error = await mcp.error("delete_room", room_id=room_id)
    assert "archive" in error
    assert len(await all_messages(mcp, room_id)) == 2
    await mcp.ok("archive_room", project="alpha", name="planning")
    deleted = await mcp.ok("delete_room", room_id=room_id)
    assert deleted == {"id": room_id, "name": "planning", "project": "alpha", "deleted_messages": 2}
    assert "not found" in await mcp.error("read_messages", room_id=room_id)
    assert (await mcp.ok("search", query="one"))["messages"] == []


async def test_clear_room_deletes_messages_and_keeps_room(mcp: CheckedClient) -> None:
    room_id = await new_room(mcp)
    for i in range(3):
        await mcp.ok("post_message", room_id=room_id, sender="a", content=f"needle {i}")
    cleared = await mcp.ok("clear_room", project="alpha", name="planning")
    assert cleared == {
        "name": "planning",
        "project": "alpha",
        "room_id": room_id,
        "deleted_count": 3,
    }
    assert await all_messages(mcp, room_id) == []
    assert (await mcp.ok("search", query="needle"))["message_rooms"] == []
    after = await mcp.ok("post_message", room_id=room_id, sender="a", content="fresh")
    assert after["id"] > 3  # ids are never reused
    assert "not found" in await mcp.error("clear_room", project="alpha", name="ghost")


async def test_search_finds_rooms_and_substrings_with_snippets(mcp: CheckedClient) -> None:
    alpha = await new_room(mcp, "auth-refactor", "alpha")
    beta = await new_room(mcp, "release", "beta")
    await mcp.ok(
        "post_message",
        room_id=alpha,
        sender="sec",
        content="The TOKEN rotation must happen before the refactor lands.",
    )
    await mcp.ok("post_message", room_id=alpha, sender="pm", content="tokens everywhere")
    await mcp.ok("post_message", room_id=beta, sender="qa", content="no match here")
    found = await mcp.ok("search", query="token")
    assert found["message_rooms"] == [{"room_id": alpha, "match_count": 2}]
    assert {m["sender"] for m in found["messages"]} == {"sec", "pm"}
    snippet = next(m for m in found["messages"] if m["sender"] == "sec")["snippet"]
    assert "TOKEN rotation" in snippet
    assert [r["name"] for r in (await mcp.ok("search", query="refac"))["rooms"]] == [
        "auth-refactor"
    ]
    # Substring inside a word, two characters, and a project filter.
    assert (await mcp.ok("search", query="oken"))["message_rooms"][0]["match_count"] == 2
    assert (await mcp.ok("search", query="qa"))["message_rooms"] == []  # sender, not content
    two = await mcp.ok("search", query="no")
    assert {r["room_id"] for r in two["message_rooms"]} == {beta}
    assert (await mcp.ok("search", query="token", project="beta"))["message_rooms"] == []
    # LIKE wildcards and FTS syntax are plain text.
    assert (await mcp.ok("search", query="%"))["messages"] == []
    assert (await mcp.ok("search", query='"token" OR x'))["messages"] == []
    assert "query" in await mcp.error("search", query="")
    assert "query" in await mcp.error("search", query="q" * 501)


async def test_list_projects(mcp: CheckedClient) -> None:
    assert await mcp.ok("list_projects") == {"projects": []}
    await new_room(mcp, "a", "zeta")
    await new_room(mcp, "b", "alpha")
    await new_room(mcp, "c", "alpha")
    assert await mcp.ok("list_projects") == {"projects": ["alpha", "zeta"]}


async def test_ping(mcp: CheckedClient, service: Any) -> None:
    pong = await mcp.ok("ping")
    assert pong["status"] == "ok" and pong["version"] == "0.5.0"
    assert pong["db_path"] == str(service.db_path)
    assert "web_url" in pong
    assert "latest" not in pong  # nothing known: nothing claimed
    service.version_info = lambda: {"latest": "9.9.9", "update_available": True}
    pong = await mcp.ok("ping")
    assert pong["latest"] == "9.9.9" and pong["update_available"] is True


async def test_status_upsert_and_team_status(mcp: CheckedClient) -> None:
    room_id = await new_room(mcp)
    first = await mcp.ok("update_status", room_id=room_id, sender="dev", status="reading")
    assert set(first) == {"room_id", "sender", "status", "updated_at"}
    await mcp.ok("update_status", room_id=room_id, sender="dev", status="writing tests")
    await mcp.ok("update_status", room_id=room_id, sender="qa", status="idle")
    team = (await mcp.ok("get_team_status", room_id=room_id))["statuses"]
    # Newest first, as the original orders them.
    assert [(s["sender"], s["status"]) for s in team] == [("qa", "idle"), ("dev", "writing tests")]
    assert "status" in await mcp.error(
        "update_status", room_id=room_id, sender="dev", status="s" * 501
    )
    await mcp.ok("archive_room", project="alpha", name="planning")
    assert "archived" in await mcp.error(
        "update_status", room_id=room_id, sender="dev", status="late"
    )
    team = (await mcp.ok("get_team_status", room_id=room_id))["statuses"]
    assert [s["status"] for s in team] == ["idle", "writing tests"]


async def test_register_agent_upserts_case_insensitively(mcp: CheckedClient) -> None:
    room_id = await new_room(mcp)
    first = await mcp.ok(
        "register_agent", room_id=room_id, agent_name="  Security ", task_id=" t1 "
    )
    assert first["agent_name"] == "security" and first["task_id"] == "t1"
    await mcp.ok("register_agent", room_id=room_id, agent_name="SECURITY", task_id="t2")
    agents = (await mcp.ok("list_agents", room_id=room_id))["agents"]
    assert [(a["agent_name"], a["task_id"]) for a in agents] == [("security", "t2")]
    assert set(agents[0]) == {"room_id", "agent_name", "task_id", "registered_at"} | {
        "last_seen_at",
        "waiting",
    }
    error = await mcp.error("register_agent", room_id=room_id, agent_name="two words", task_id="t")
    assert "agent_name" in error
    await mcp.ok("archive_room", project="alpha", name="planning")
    assert "archived" in await mcp.error(
        "register_agent", room_id=room_id, agent_name="late", task_id="t"
    )
    assert len((await mcp.ok("list_agents", room_id=room_id))["agents"]) == 1


@pytest.mark.parametrize(
    ("tool", "args", "named"),
    [
        ("init_room", {"project": "", "name": "x"}, "project"),
        ("init_room", {"project": "p", "name": "n" * 201}, "name"),
        ("init_room", {"project": "p\x00", "name": "x"}, "NUL"),
        ("init_room", {"project": "p", "name": "x", "description": "d" * 2001}, "description"),
        ("init_room", {"project": 5, "name": "x"}, "project"),
    ],
)
async def test_init_room_refuses_bad_input(
    mcp: CheckedClient, tool: str, args: dict[str, Any], named: str
) -> None:
    assert named in await mcp.error(tool, **args)
    assert (await mcp.ok("list_rooms", status="all"))["rooms"] == []


OPEN_OBJECT = {"type": "object", "additionalProperties": True}


def test_plain_schemas_accept_and_refuse_exactly_what_the_generated_ones_do() -> None:
    generated = {
        "$defs": {
            "Room": {
                "title": "Room",
                "type": "object",
                "properties": {
                    "archived_at": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                    "metadata": {"anyOf": [OPEN_OBJECT, {"type": "null"}]},
                },
                "required": ["archived_at", "metadata"],
            }
        },
        "type": "object",
        "properties": {"rooms": {"type": "array", "items": {"$ref": "#/$defs/Room"}}},
        "required": ["rooms"],
    }
    plain = plain_schema(generated)
    samples = [
        {"rooms": [{"archived_at": None, "metadata": None}]},
        {"rooms": [{"archived_at": "2026", "metadata": {"a": 1}}]},
        {"rooms": [{"archived_at": 5, "metadata": None}]},
        {"rooms": [{"archived_at": None, "metadata": "text"}]},
        {"rooms": [{"archived_at": None}]},
        {"rooms": "none"},
    ]
    for sample in samples:
        verdicts = []
        for schema in (generated, plain):
            try:
                jsonschema.validate(sample, schema)
                verdicts.append(True)
            except jsonschema.ValidationError:
                verdicts.append(False)
        assert verdicts[0] == verdicts[1], sample
    assert [s for s in samples if jsonschema.Draft202012Validator(plain).is_valid(s)] == samples[:2]
