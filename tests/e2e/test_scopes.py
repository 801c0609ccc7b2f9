"""A token scoped to one project learns nothing of another, on the real server and
both backends: the other project's rooms are answered exactly as unknown ones."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.helpers import TOKEN, ServerProcess
from tests.identity import bearer, make_token, mcp_as, start_server
from tests.sse_client import open_stream

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends, pytest.mark.e2e]


@dataclass
class World:
    server: ServerProcess
    scoped: str  # member "ann", scoped to proja
    room_a: str
    room_b: str
    answers: list[str] = field(default_factory=list)

    def saw(self, text: str) -> str:
        self.answers.append(text)
        return text


@pytest.fixture
def world(home: Path, database_url: str | None) -> Iterator[World]:
    scoped = make_token(home, database_url, "ann", "--project", "proja")
    server = start_server(home, database_url)
    with httpx.Client(base_url=server.url, headers=bearer(TOKEN), timeout=30) as admin:
        room_a = admin.post("/api/rooms", json={"project": "proja", "name": "open-room"}).json()
        room_b = admin.post("/api/rooms", json={"project": "projb", "name": "hidden-room"}).json()
        for room, words in ((room_a, "zebra in a"), (room_b, "zebra in b")):
            admin.post(
                f"/api/rooms/{room['id']}/agents", json={"agent_name": "bee-agent", "task_id": "t"}
            )
            admin.post(
                f"/api/rooms/{room['id']}/messages",
                json={"sender": "lead", "content": f"{words} @ann", "to": "ann"},
            )
    yield World(server, scoped, room_a["id"], room_b["id"])
    server.stop()


def _leaks(world: World) -> list[str]:
    return [
        text
        for text in world.answers
        if world.room_b in text
        or any(word in text for word in ("projb", "hidden-room", "zebra in b"))
    ]


async def test_another_projects_rooms_do_not_exist_for_a_scoped_token(world: World) -> None:
    a, b = world.room_a, world.room_b
    unknown = "00000000-0000-0000-0000-000000000000"
    async with mcp_as(world.server, world.scoped) as ann:
        rooms = await ann.ok("list_rooms", status="all")
        assert [r["id"] for r in rooms["rooms"]] == [a]
        assert (await ann.ok("list_projects"))["projects"] == ["proja"]
        assert (await ann.ok("list_rooms", project="projb"))["rooms"] == []
        found = await ann.ok("search", query="zebra")
        assert [m["room_id"] for m in found["messages"]] == [a]
        assert [r["room_id"] for r in found["message_rooms"]] == [a]
        assert (await ann.ok("search", query="room", project="projb"))["rooms"] == []
        inbox = await ann.ok("check_inbox", agent_name="ann")
        assert [m["room"]["id"] for m in inbox["messages"]] == [a]
        world.saw(str([rooms, found, inbox]))
        for tool, arguments in [
            ("read_messages", {}),
            ("wait_for_messages", {"since_id": 0, "timeout": 0}),
            ("get_handoff", {"reader": "ann"}),
            ("get_team_status", {}),
            ("list_agents", {}),
            ("post_message", {"sender": "ann", "content": "x"}),
            ("update_status", {"sender": "ann", "status": "x"}),
            ("register_agent", {"agent_name": "ann", "task_id": "t"}),
            ("mark_read", {"reader": "ann", "last_read_message_id": 1}),
        ]:
            hidden = await ann.error(tool, room_id=b, **arguments)
            missing = await ann.error(tool, room_id=unknown, **arguments)
            assert hidden == missing.replace(unknown, b), tool  # exactly an unknown room
        for tool in ("archive_room", "clear_room"):
            hidden = await ann.error(tool, project="projb", name="hidden-room")
            missing = await ann.error(tool, project="projc", name="hidden-room")
            assert hidden == missing.replace("projc", "projb"), tool
        refused = await ann.error("init_room", project="projb", name="new")
        assert (
            refused == "this token is ann's, for the projects proja; it cannot make rooms in projb"
        )
    with httpx.Client(base_url=world.server.url, headers=bearer(world.scoped), timeout=30) as http:
        for path in [
            "/api/rooms?status=all",
            "/api/projects",
            "/api/search?q=zebra",
            "/api/sidebar?status=all",
            "/api/sidebar/totals",
            "/api/status",
            "/api/inbox?agent_name=ann",
            f"/api/rooms/{a}/messages",
        ]:
            answer = http.get(path)
            assert answer.status_code == 200, (path, answer.text)
            world.saw(answer.text)
        totals = http.get("/api/sidebar/totals").json()
        assert [p["project"] for p in totals["projects"]] == ["proja"] and totals["live"] == 1
        assert "rooms" not in http.get("/api/status").json()  # no whole-server counts
        for path in [f"/api/rooms/{b}", f"/api/rooms/{b}/messages", f"/api/rooms/{b}/export"]:
            hidden = http.get(path)
            missing = http.get(path.replace(b, unknown))
            assert hidden.status_code == missing.status_code == 404, path
            assert hidden.text == missing.text.replace(unknown, b), path
    assert _leaks(world) == []


async def test_a_scoped_tokens_feeds_carry_only_its_projects_rooms(world: World) -> None:
    async with (
        httpx.AsyncClient(
            base_url=world.server.url, headers=bearer(world.scoped), timeout=30
        ) as ann,
        httpx.AsyncClient(base_url=world.server.url, headers=bearer(TOKEN), timeout=30) as admin,
        open_stream(ann, "/api/stream?room=*&reader=ann&last_event_id=0") as stream,
    ):
        before_ready = await stream.until("ready")
        for event in before_ready:
            world.saw(event.data)
        snapshot = before_ready[0].json()
        assert [r["id"] for r in snapshot["rooms"]] == [world.room_a]
        # A post in each project: the scoped feed hears of A's only.
        for room, text in ((world.room_b, "zebra in b again"), (world.room_a, "after")):
            posted = await admin.post(
                f"/api/rooms/{room}/messages", json={"sender": "lead", "content": text}
            )
            assert posted.status_code == 200
        async with asyncio.timeout(10):
            while True:
                event = await stream.next()
                world.saw(event.data)
                if event.event == "message" and event.json()["content"] == "after":
                    break
    assert _leaks(world) == []
