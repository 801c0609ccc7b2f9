"""Per-agent and per-person tokens on the real server, on both backends: a token acts
as its principal only, with its role, and what it writes says whose it was."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.dump import PostgresDump, sqlite_dump
from tests.helpers import TOKEN, ServerProcess
from tests.identity import bearer, chatnut, make_token, mcp_as, start_server

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends, pytest.mark.e2e]

BIDI = "\u202e"  # RIGHT-TO-LEFT OVERRIDE
ZERO_WIDTH = "\u200b"  # ZERO WIDTH SPACE


@dataclass
class Team:
    server: ServerProcess
    home: Path
    database_url: str | None
    alice: str  # member, agent alice-claude
    rita: str  # reader, person rita

    async def dump(self) -> dict[str, str]:
        if self.database_url is None:
            return sqlite_dump(self.home / "chatnut.db")
        conn = await asyncpg.connect(self.database_url)
        try:
            return await PostgresDump(conn).take()
        finally:
            await conn.close()

    def rest(self, token: str) -> httpx.Client:
        return httpx.Client(base_url=self.server.url, headers=bearer(token), timeout=30)


@pytest.fixture
def team(home: Path, database_url: str | None) -> Iterator[Team]:
    alice = make_token(home, database_url, "alice-claude", "--owner", "alice")
    rita = make_token(home, database_url, "Rita", "--kind", "person", "--role", "reader")
    server = start_server(home, database_url)
    yield Team(server, home, database_url, alice, rita)
    server.stop()


def _room(team: Team) -> str:
    with team.rest(TOKEN) as http:
        room = http.post("/api/rooms", json={"project": "p", "name": "r"}).json()
        http.post(f"/api/rooms/{room['id']}/messages", json={"sender": "lead", "content": "hi"})
    return str(room["id"])


async def test_a_principal_token_writes_as_its_principal_and_says_so(team: Team) -> None:
    room = _room(team)
    async with mcp_as(team.server, team.alice) as alice:
        posted = await alice.ok("post_message", room_id=room, sender="Alice-Claude", content="x")
        assert posted["principal"] == "alice-claude"
        status = await alice.ok("update_status", room_id=room, sender="alice-claude", status="on")
        assert status["principal"] == "alice-claude"
        agent = await alice.ok(
            "register_agent", room_id=room, agent_name="alice-claude", task_id="t"
        )
        assert agent["principal"] == "alice-claude"
        messages = (await alice.ok("read_messages", room_id=room))["messages"]
    # The shared token's writes carry no principal: answers stay the original's.
    assert "principal" not in messages[0]
    assert messages[1]["principal"] == "alice-claude" and messages[1]["metadata"] is None
    with team.rest(team.alice) as http:
        # metadata.source is the server's to say: a terminal's post is "cli" whatever it claims.
        answer = http.post(
            f"/api/rooms/{room}/messages",
            json={"sender": "alice-claude", "content": "from a script", "source": "web"},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["metadata"] == {"source": "cli"}
        assert answer.json()["principal"] == "alice-claude"
        team_status = http.get(f"/api/rooms/{room}/statuses").json()["statuses"]
        assert team_status[0]["principal"] == "alice-claude"


# Every tool and route that writes with a name, given another name than the token's.
MCP_AS_BOB: list[tuple[str, dict[str, Any]]] = [
    ("post_message", {"sender": "bob", "content": "I am bob"}),
    ("update_status", {"sender": "bob", "status": "owned"}),
    ("register_agent", {"agent_name": "bob", "task_id": "t"}),
    ("mark_read", {"reader": "bob", "last_read_message_id": 1}),
    ("get_handoff", {"reader": "bob"}),
    ("wait_for_messages", {"since_id": 0, "addressed_to": "bob", "timeout": 0}),
    ("check_inbox", {"agent_name": "bob"}),
    ("ack_message", {"message_id": 1, "agent_name": "bob"}),
    ("claim", {"agent_name": "bob", "paths": ["src/"]}),
    ("release", {"agent_name": "bob"}),
]
REST_AS_BOB: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/api/rooms/{room}/messages", {"sender": "bob", "content": "I am bob"}),
    ("POST", "/api/rooms/{room}/statuses", {"sender": "bob", "status": "owned"}),
    ("POST", "/api/rooms/{room}/agents", {"agent_name": "bob", "task_id": "t"}),
    ("POST", "/api/rooms/{room}/read", {"reader": "bob", "last_read_message_id": 1}),
    ("POST", "/api/catch-up", {"reader": "bob"}),
    ("GET", "/api/rooms/{room}/handoff?reader=bob", None),
    ("GET", "/api/inbox?agent_name=bob", None),
    ("GET", "/api/rooms?reader=bob", None),
    ("GET", "/api/rooms/{room}?reader=bob", None),
    ("GET", "/api/sidebar?reader=bob", None),
    ("GET", "/api/sidebar/totals?reader=bob", None),
    ("GET", "/api/stream/rooms?reader=bob", None),
    ("GET", "/api/stream?reader=bob", None),
    ("POST", "/api/rooms/{room}/messages/1/ack", {"agent_name": "bob"}),
    ("POST", "/api/push/bob/next", {"holder": "h1", "timeout": 0}),
    ("POST", "/api/push/bob/done", {"holder": "h1", "through": 1}),
    ("POST", "/api/push/bob/release", {"holder": "h1"}),
    ("POST", "/api/rooms/{room}/claims", {"agent_name": "bob", "paths": ["src/"]}),
    ("POST", "/api/rooms/{room}/claims/release", {"agent_name": "bob"}),
]
REFUSAL = "this token is alice-claude's; it cannot act as bob"


async def test_a_token_cannot_act_as_another_name_and_nothing_is_written(team: Team) -> None:
    room = _room(team)
    before = await team.dump()
    async with mcp_as(team.server, team.alice) as alice:
        for tool, arguments in MCP_AS_BOB:
            in_room = {} if tool == "check_inbox" else {"room_id": room}
            message = await alice.error(tool, **in_room, **arguments)
            assert message == REFUSAL, (tool, message)
    with team.rest(team.alice) as http:
        for method, path, body in REST_AS_BOB:
            answer = http.request(method, path.format(room=room), json=body)
            assert answer.status_code == 403, (path, answer.text)
            assert answer.json()["error"] == {"code": "forbidden", "message": REFUSAL}, path
    assert await team.dump() == before
    # Reading a room is not acting as anyone: a filter by another name still reads.
    async with mcp_as(team.server, team.alice) as alice:
        read = await alice.ok("read_messages", room_id=room, addressed_to="bob")
        assert read["messages"] == []
    # The shared token is the admin's key: any name, as before, and no principal.
    async with mcp_as(team.server, TOKEN) as admin:
        posted = await admin.ok("post_message", room_id=room, sender="bob", content="ok")
        assert "principal" not in posted


async def test_roles_refuse_what_they_do_not_allow_naming_the_role(team: Team) -> None:
    room = _room(team)
    member_only: list[tuple[str, dict[str, Any]]] = [
        ("post_message", {"room_id": room, "sender": "rita", "content": "x"}),
        ("update_status", {"room_id": room, "sender": "rita", "status": "x"}),
        ("register_agent", {"room_id": room, "agent_name": "rita", "task_id": "t"}),
        ("init_room", {"project": "p", "name": "new"}),
        ("archive_room", {"project": "p", "name": "r"}),
    ]
    admin_only: list[tuple[str, dict[str, Any]]] = [
        ("delete_room", {"room_id": room}),
        ("clear_room", {"project": "p", "name": "r"}),
    ]
    before = await team.dump()
    async with mcp_as(team.server, team.rita) as rita:
        for tool, arguments in member_only + admin_only:
            message = await rita.error(tool, **arguments)
            needed = "admin" if (tool, arguments) in admin_only else "member"
            assert f"needs the {needed} role; this token is rita's (reader)" in message, tool
        # A reader reads, waits, searches and keeps its own cursor.
        assert (await rita.ok("read_messages", room_id=room))["messages"]
        await rita.ok("search", query="hi")
        await rita.ok("get_handoff", room_id=room, reader="rita")
    async with mcp_as(team.server, team.alice) as alice:
        for tool, arguments in admin_only:
            message = await alice.error(tool, **arguments)
            assert "needs the admin role; this token is alice-claude's (member)" in message
    with team.rest(team.alice) as http:
        for method, path in [
            ("POST", f"/api/rooms/{room}/clear"),
            ("DELETE", f"/api/rooms/{room}"),
            ("GET", "/api/admin/tokens"),
            ("DELETE", "/api/admin/tokens/rita"),
        ]:
            answer = http.request(method, path)
            assert answer.status_code == 403, (path, answer.text)
            assert "needs the admin role" in answer.json()["error"]["message"]
        refused = http.post("/api/admin/tokens", json={"name": "mallory", "role": "admin"})
        assert refused.status_code == 403
        # A sign-in link is for a person (or an admin): not for a member agent.
        link = http.post("/api/signin-link", json={})
        assert link.status_code == 403
        assert link.json()["error"]["message"] == (
            "a sign-in link is for a person's token (or an admin's);"
            " this token is alice-claude's (an agent, member)"
        )
    with team.rest(team.rita) as http:
        answer = http.post(
            f"/api/rooms/{room}/read", json={"reader": "rita", "last_read_message_id": 1}
        )
        assert answer.status_code == 200, answer.text
    after = await team.dump()
    changed = {table for table in after if after[table] != before.get(table)}
    # The reader's own cursor (and, on PostgreSQL, its event), and nothing else.
    assert changed - {"events", "sequence event_seqs"} == {"read_cursors"}


async def test_names_with_invisible_format_characters_are_refused(team: Team) -> None:
    room = _room(team)
    before = await team.dump()
    async with mcp_as(team.server, TOKEN) as admin:
        for tool, arguments in [
            ("post_message", {"room_id": room, "sender": f"bo{BIDI}b", "content": "x"}),
            (
                "post_message",
                {"room_id": room, "sender": "ann", "content": "x", "to": f"b{ZERO_WIDTH}ob"},
            ),
            ("register_agent", {"room_id": room, "agent_name": f"bob{ZERO_WIDTH}", "task_id": "t"}),
            ("update_status", {"room_id": room, "sender": f"{BIDI}bob", "status": "x"}),
            (
                "mark_read",
                {"room_id": room, "reader": f"b{ZERO_WIDTH}ob", "last_read_message_id": 1},
            ),
            ("get_handoff", {"room_id": room, "reader": f"b{BIDI}ob"}),
        ]:
            message = await admin.error(tool, **arguments)
            assert "invisible format character U+" in message, (tool, message)
    assert await team.dump() == before
    made = chatnut(
        team.home, team.database_url, "token", "create", f"eve{BIDI}", CHATNUT_TOKEN=TOKEN
    )
    assert made.returncode == 1
    assert "invisible format character U+202E" in made.stderr
    assert made.stderr.count("\n") == 1


async def test_no_secret_is_kept_and_a_revoked_token_is_refused_at_once(team: Team) -> None:
    room = _room(team)
    async with mcp_as(team.server, team.alice) as alice:
        await alice.ok("post_message", room_id=room, sender="alice-claude", content="x")
    listed = chatnut(team.home, team.database_url, "token", "list", "--json", CHATNUT_TOKEN=TOKEN)
    assert listed.returncode == 0, listed.stderr
    tokens = json.loads(listed.stdout)["tokens"]
    assert [t["principal"] for t in tokens] == ["alice-claude", "rita"]
    assert tokens[0]["prefix"] == team.alice[:12] and tokens[0]["owner"] == "alice"
    for secret in (team.alice, team.rita):
        assert secret.startswith("cnt_") and len(secret) >= 4 + 43
        assert secret not in listed.stdout
        assert secret not in "".join(team.server.output)
        assert secret not in (team.home / "chatnut.log").read_text()
        assert secret[12:] not in await _every_row(team)
    # Revoked through the running server's admin route: the next call is refused.
    revoked = chatnut(
        team.home, team.database_url, "token", "revoke", "alice-claude", CHATNUT_TOKEN=TOKEN
    )
    assert revoked.returncode == 0, revoked.stderr
    assert "revoked" in revoked.stdout
    with team.rest(team.alice) as http:
        answer = http.get("/api/rooms")
        assert answer.status_code == 401
        assert answer.json()["error"]["message"] == "this token is unknown, revoked or expired"
    with team.rest(team.rita) as http:
        assert http.get("/api/rooms").status_code == 200


async def _every_row(team: Team) -> str:
    """Every row of the tables that hold tokens and principals, as text."""
    if team.database_url is None:
        import sqlite3

        conn = sqlite3.connect(team.home / "chatnut.db")
        try:
            rows = [
                repr(r)
                for t in ("tokens", "principals")
                for r in conn.execute(f"SELECT * FROM {t}")
            ]
        finally:
            conn.close()
        return "\n".join(rows)
    pg = await asyncpg.connect(team.database_url)
    try:
        found = [
            repr(dict(r))
            for t in ("tokens", "principals")
            for r in await pg.fetch(f"SELECT * FROM {t}")
        ]
    finally:
        await pg.close()
    return "\n".join(found)
