"""The rules of chatnut (SPEC §5), in one place, for every transport.

MCP tools, REST routes and the CLI all call this class, so they cannot
disagree. Methods take plain values, check them (validation.py), read through
the store's readers or write through its single writer, and return plain
dicts. Writes return their events; the store publishes them to the hub after
the commit (db.py). Failures are domain errors (errors.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from chatnut import __version__
from chatnut import validation as check
from chatnut.errors import InvalidInput, NotFound, RoomArchived
from chatnut.hub import Event, Hub
from chatnut.store import queries as q
from chatnut.store.db import Database

log = logging.getLogger(__name__)

Write = tuple[Any, Sequence[Event]]


def now_iso() -> str:
    """ISO-8601 UTC with milliseconds, with the original's `+00:00` suffix."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _room_missing(room_id: str) -> NotFound:
    return NotFound(
        f"Room {room_id!r} not found — use init_room to create it or list_rooms to find it"
    )


def _named_room_missing(project: str, name: str) -> NotFound:
    return NotFound(f"Room {name!r} in project {project!r} not found")


def _require_room(conn: sqlite3.Connection, room_id: str) -> dict[str, Any]:
    room = q.room_by_id(conn, room_id)
    if room is None:
        raise _room_missing(room_id)
    return room


def _require_live(room: dict[str, Any], action: str) -> None:
    if room["status"] != "live":
        raise RoomArchived(
            f"Room {room['name']!r} in project {room['project']!r} is archived — {action} is"
            " closed; call init_room with a new name to start a new room"
        )


def _room_event(room: dict[str, Any], action: str) -> Event:
    return Event("room", room["id"], {"action": action, "room": room})


class ChatService:
    def __init__(
        self,
        db: Database,
        hub: Hub,
        *,
        db_path: Path,
        max_message_bytes: int = 65536,
        teams_dir: Path | None = None,
        web_url: Callable[[str | None], str] = lambda room_id: "",
        on_room_created: Callable[[str], None] | None = None,
        version_info: Callable[[], dict[str, Any]] = dict,
    ) -> None:
        self.db = db
        self.hub = hub
        self.db_path = db_path
        self.max_message_bytes = max_message_bytes
        self.teams_dir = teams_dir
        self.web_url = web_url
        self.on_room_created = on_room_created
        self.version_info = version_info

    # -- messages -------------------------------------------------------------

    async def post_message(
        self,
        room_id: str,
        sender: str,
        content: str,
        message_type: str = "message",
        reply_to: int | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        check.room_id(room_id)
        check.text("sender", sender, max_chars=check.MAX_SENDER)
        check.content(content, self.max_message_bytes)
        check.choice("message_type", message_type, check.MESSAGE_TYPES)
        if reply_to is not None:
            check.integer("reply_to", reply_to, minimum=1)
        meta = dict(metadata or {})
        if reply_to is not None:
            meta["reply_to"] = reply_to
        mentioned = check.mentioned_names(content)

        def write(conn: sqlite3.Connection) -> Write:
            room = _require_room(conn, room_id)
            _require_live(room, "posting")
            if reply_to is not None and not q.message_in_room(conn, room_id, reply_to):
                raise InvalidInput(f"reply_to {reply_to} is not a message in room {room_id!r}")
            message = q.insert_message(
                conn, room_id, sender, content, message_type, now_iso(), meta or None
            )
            registered = q.agents_named(conn, room_id, mentioned)
            # Sorted by name, as the original returns them.
            mentions = [{"name": n, "task_id": registered[n]} for n in sorted(registered)]
            return {**message, "mentions": mentions}, [Event("message", room_id, message)]

        result: dict[str, Any] = await self.db.write(write)
        return result

    def _check_read(
        self, room_id: str, since_id: int | None, limit: int, message_type: str | None
    ) -> None:
        check.room_id(room_id)
        if since_id is not None:
            check.integer("since_id", since_id, minimum=0)
        check.limit(limit)
        if message_type is not None:
            check.choice("message_type", message_type, check.MESSAGE_TYPES)

    async def read_messages(
        self,
        room_id: str,
        since_id: int | None = None,
        limit: int = 100,
        message_type: str | None = None,
    ) -> dict[str, Any]:
        self._check_read(room_id, since_id, limit, message_type)

        def read(conn: sqlite3.Connection) -> tuple[list[dict[str, Any]], bool]:
            _require_room(conn, room_id)
            return q.message_page(
                conn, room_id, limit=limit, after=since_id, message_type=message_type
            )

        messages, has_more = await self.db.read(read)
        return {"messages": messages, "has_more": has_more}

    async def read_messages_before(
        self, room_id: str, before_id: int | None, limit: int
    ) -> dict[str, Any]:
        """The newest page below before_id (REST paging backwards, for the web UI)."""
        self._check_read(room_id, None, limit, None)
        if before_id is not None:
            check.integer("before_id", before_id, minimum=1)

        def read(conn: sqlite3.Connection) -> tuple[list[dict[str, Any]], bool]:
            _require_room(conn, room_id)
            return q.message_page(conn, room_id, limit=limit, before=before_id, newest=True)

        messages, has_more = await self.db.read(read)
        return {"messages": messages, "has_more": has_more}

    async def wait_for_messages(
        self,
        room_id: str,
        since_id: int,
        timeout: float = 30,
        limit: int = 100,
        message_type: str | None = None,
    ) -> dict[str, Any]:
        self._check_read(room_id, since_id, limit, message_type)
        seconds = check.wait_timeout(timeout)

        def wanted(event: Event) -> bool:
            if event.kind == "room":
                return bool(event.data["action"] == "deleted")
            return (
                event.kind == "message"
                and event.data["id"] > since_id
                and (message_type is None or event.data["message_type"] == message_type)
            )

        # Subscribe before reading the backlog: a post committed in between is
        # then either in the backlog or in the buffer, never in neither.
        with self.hub.subscribe(room_id, capacity=limit + 1, accept=wanted) as sub:
            backlog = await self.read_messages(room_id, since_id, limit, message_type)
            if backlog["messages"] or seconds == 0:
                return {**backlog, "timed_out": not backlog["messages"]}
            try:
                async with asyncio.timeout(seconds):
                    await sub.wait()
            except TimeoutError:
                return {"messages": [], "has_more": False, "timed_out": True}
            events = sub.drain()
            if any(e.kind == "room" for e in events):
                raise NotFound(f"Room {room_id!r} was deleted while waiting")
            messages = [e.data for e in events]
            has_more = sub.overflowed or len(messages) > limit
            return {"messages": messages[:limit], "has_more": has_more, "timed_out": False}

    async def mark_read(
        self, room_id: str, reader: str, last_read_message_id: int
    ) -> dict[str, Any]:
        check.room_id(room_id)
        check.text("reader", reader, max_chars=check.MAX_SENDER)
        check.integer("last_read_message_id", last_read_message_id, minimum=0)

        def write(conn: sqlite3.Connection) -> Write:
            _require_room(conn, room_id)
            # A cursor past the newest message would silently swallow future posts
            # as "read"; "mark everything read" (a huge id) stops at the newest one.
            target = min(last_read_message_id, q.max_message_id(conn))
            stands = q.advance_cursor(conn, room_id, reader, target, now_iso())
            cursor = {"room_id": room_id, "reader": reader, "last_read_message_id": stands}
            return cursor, [Event("read", room_id, cursor)]

        result: dict[str, Any] = await self.db.write(write)
        return result

    # -- rooms ----------------------------------------------------------------

    async def init_room(
        self,
        project: str,
        name: str,
        branch: str | None = None,
        description: str | None = None,
        team_name: str | None = None,
    ) -> dict[str, Any]:
        check.text("project", project, max_chars=check.MAX_NAME)
        check.text("name", name, max_chars=check.MAX_NAME)
        check.optional_text("branch", branch, max_chars=check.MAX_NAME)
        check.optional_text("description", description, max_chars=check.MAX_DESCRIPTION)
        check.team_name(team_name)

        def write(conn: sqlite3.Connection) -> Write:
            existing = q.room_by_name(conn, project, name)
            if existing is not None:
                return (existing, False), []
            room = {
                "id": str(uuid.uuid4()),
                "name": name,
                "project": project,
                "branch": branch,
                "description": description,
                "status": "live",
                "created_at": now_iso(),
                "archived_at": None,
                "metadata": None,
            }
            q.insert_room(conn, room)
            return (room, True), [_room_event(room, "created")]

        room, created = await self.db.write(write)
        result = {**room, "web_url": self.web_url(room["id"])}
        if team_name is not None:
            self._write_team_file(team_name, result)
        if created and self.on_room_created is not None:
            self.on_room_created(result["web_url"])
        return result

    def _write_team_file(self, team_name: str, room: dict[str, Any]) -> None:
        if self.teams_dir is None:
            return
        team_dir = self.teams_dir / team_name
        if not team_dir.is_dir():
            return  # no such team: nothing to tell it (as the original does)
        payload = {key: room[key] for key in ("id", "project", "name", "web_url")}
        payload["room_id"] = payload.pop("id")
        target = team_dir / "chatroom.json"
        temp = team_dir / f".chatroom.json.{uuid.uuid4().hex}.tmp"
        try:
            temp.write_text(json.dumps(payload, indent=2) + "\n")
            temp.replace(target)  # atomic: a reader never sees half a file
        except OSError as exc:
            temp.unlink(missing_ok=True)
            log.warning("could not write %s: %s", target, exc)

    async def list_rooms(self, project: str | None = None, status: str = "live") -> dict[str, Any]:
        check.optional_text("project", project, max_chars=check.MAX_NAME)
        check.choice("status", status, check.ROOM_STATUSES)
        rooms = await self.db.read(lambda conn: q.list_rooms(conn, project, status))
        return {"rooms": rooms}

    async def room_summaries(
        self,
        project: str | None = None,
        status: str = "all",
        reader: str | None = None,
        room_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Rooms with counts, last message and unread count (REST and the sidebar)."""
        check.optional_text("project", project, max_chars=check.MAX_NAME)
        check.choice("status", status, check.ROOM_STATUSES)
        check.optional_text("reader", reader, max_chars=check.MAX_SENDER)
        rows: list[dict[str, Any]] = await self.db.read(
            lambda conn: q.room_summaries(conn, project, status, reader, room_id)
        )
        return rows

    async def get_room(self, room_id: str) -> dict[str, Any]:
        check.room_id(room_id)
        rows = await self.room_summaries(status="all", room_id=room_id)
        if not rows:
            raise _room_missing(room_id)
        return rows[0]

    @staticmethod
    def _check_named(project: str, name: str) -> None:
        check.text("project", project, max_chars=check.MAX_NAME)
        check.text("name", name, max_chars=check.MAX_NAME)

    async def archive_room(self, project: str, name: str) -> dict[str, Any]:
        self._check_named(project, name)

        def write(conn: sqlite3.Connection) -> Write:
            room = q.room_by_name(conn, project, name)
            if room is None:
                raise _named_room_missing(project, name)
            if room["status"] == "archived":  # idempotent: archiving twice keeps the first time
                return room, []
            stamp = now_iso()
            q.archive_room(conn, room["id"], stamp)
            room = {**room, "status": "archived", "archived_at": stamp}
            return room, [_room_event(room, "archived")]

        room = await self.db.write(write)
        return {
            "name": room["name"],
            "project": room["project"],
            "archived_at": room["archived_at"],
        }

    async def archive_room_by_id(self, room_id: str) -> dict[str, Any]:
        check.room_id(room_id)
        room = await self.db.read(lambda conn: _require_room(conn, room_id))
        return await self.archive_room(room["project"], room["name"])

    async def delete_room(self, room_id: str) -> dict[str, Any]:
        check.room_id(room_id)

        def write(conn: sqlite3.Connection) -> Write:
            room = _require_room(conn, room_id)
            if room["status"] != "archived":
                raise InvalidInput(
                    f"Room {room['name']!r} in project {room['project']!r} is live — only"
                    " archived rooms can be deleted; archive_room it first"
                )
            deleted = q.delete_room(conn, room_id)
            result = {
                "id": room_id,
                "name": room["name"],
                "project": room["project"],
                "deleted_messages": deleted,
            }
            return result, [_room_event(room, "deleted")]

        result: dict[str, Any] = await self.db.write(write)
        return result

    async def clear_room(self, project: str, name: str) -> dict[str, Any]:
        self._check_named(project, name)

        def write(conn: sqlite3.Connection) -> Write:
            room = q.room_by_name(conn, project, name)
            if room is None:
                raise _named_room_missing(project, name)
            deleted = q.clear_messages(conn, room["id"])
            result = {
                "name": name,
                "project": project,
                "room_id": room["id"],
                "deleted_count": deleted,
            }
            return result, [Event("cleared", room["id"], result)]

        result: dict[str, Any] = await self.db.write(write)
        return result

    async def clear_room_by_id(self, room_id: str) -> dict[str, Any]:
        check.room_id(room_id)
        room = await self.db.read(lambda conn: _require_room(conn, room_id))
        return await self.clear_room(room["project"], room["name"])

    async def archive_idle_rooms(self, idle_hours: float) -> list[str]:
        """Archive live rooms with no activity for idle_hours (only if the user configured it)."""
        cutoff = (datetime.now(UTC) - timedelta(hours=idle_hours)).isoformat(
            timespec="milliseconds"
        )

        def write(conn: sqlite3.Connection) -> Write:
            archived, events = [], []
            stamp = now_iso()
            for room_id in q.idle_live_rooms(conn, cutoff):
                q.archive_room(conn, room_id, stamp)
                room = q.room_by_id(conn, room_id)
                assert room is not None
                archived.append(room_id)
                events.append(_room_event(room, "archived"))
            return archived, events

        archived: list[str] = await self.db.write(write)
        return archived

    # -- search, projects, health ---------------------------------------------

    async def search(self, query: str, project: str | None = None) -> dict[str, Any]:
        check.text("query", query, max_chars=check.MAX_QUERY)
        check.optional_text("project", project, max_chars=check.MAX_NAME)
        result: dict[str, Any] = await self.db.read(lambda conn: q.search(conn, query, project))
        return result

    async def list_projects(self) -> dict[str, Any]:
        return {"projects": await self.db.read(q.list_projects)}

    async def ping(self) -> dict[str, Any]:
        await self.db.read(lambda conn: conn.execute("SELECT 1").fetchone())
        result: dict[str, Any] = {
            "status": "ok",
            "db_path": str(self.db_path),
            "version": __version__,
            "web_url": self.web_url(None),
        }
        result.update(self.version_info())
        return result

    async def stats(self) -> dict[str, int]:
        def read(conn: sqlite3.Connection) -> dict[str, int]:
            rooms = conn.execute("SELECT count(*) FROM rooms").fetchone()[0]
            messages = conn.execute("SELECT coalesce(sum(message_count), 0) FROM room_stats")
            return {"rooms": int(rooms), "messages": int(messages.fetchone()[0])}

        result: dict[str, int] = await self.db.read(read)
        return result

    # -- statuses and agents --------------------------------------------------

    async def update_status(self, room_id: str, sender: str, status: str) -> dict[str, Any]:
        check.room_id(room_id)
        check.text("sender", sender, max_chars=check.MAX_SENDER)
        check.text("status", status, max_chars=check.MAX_STATUS)

        def write(conn: sqlite3.Connection) -> Write:
            _require_live(_require_room(conn, room_id), "updating status")
            row = q.upsert_status(conn, room_id, sender, status, now_iso())
            return row, [Event("status", room_id, row)]

        result: dict[str, Any] = await self.db.write(write)
        return result

    async def _rows_of_room(
        self, room_id: str, query: Callable[[sqlite3.Connection, str], list[dict[str, Any]]]
    ) -> list[dict[str, Any]]:
        check.room_id(room_id)

        def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            _require_room(conn, room_id)
            return query(conn, room_id)

        rows: list[dict[str, Any]] = await self.db.read(read)
        return rows

    async def get_team_status(self, room_id: str) -> dict[str, Any]:
        return {"statuses": await self._rows_of_room(room_id, q.statuses)}

    async def register_agent(self, room_id: str, agent_name: str, task_id: str) -> dict[str, Any]:
        check.room_id(room_id)
        name = check.agent_name(agent_name)
        task_id = check.text("task_id", task_id, max_chars=check.MAX_NAME).strip()

        def write(conn: sqlite3.Connection) -> Write:
            _require_live(_require_room(conn, room_id), "registering agents")
            row = q.upsert_agent(conn, room_id, name, task_id, now_iso())
            return row, [Event("agent", room_id, row)]

        result: dict[str, Any] = await self.db.write(write)
        return result

    async def list_agents(self, room_id: str) -> dict[str, Any]:
        return {"agents": await self._rows_of_room(room_id, q.agents)}
