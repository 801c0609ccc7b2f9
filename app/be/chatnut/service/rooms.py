"""Rooms: creating (with the team's chatroom.json), listing, archiving, clearing, deleting."""

from __future__ import annotations

import json
import logging
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from chatnut import validation as check
from chatnut.errors import InvalidInput
from chatnut.hub import Event
from chatnut.service.common import (
    ServiceCore,
    Write,
    now_iso,
    require_named_room,
    require_room,
    room_event,
    room_missing,
)
from chatnut.store import queries as q

log = logging.getLogger(__name__)


class RoomRules(ServiceCore):
    async def init_room(
        self,
        project: str,
        name: str,
        branch: str | None = None,
        description: str | None = None,
        team_name: str | None = None,
    ) -> dict[str, Any]:
        self._check_named(project, name)
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
            return (room, True), [room_event(room, "created")]

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

    async def get_room(self, room_id: str, reader: str | None = None) -> dict[str, Any]:
        check.room_id(room_id)
        rows = await self.room_summaries(status="all", reader=reader, room_id=room_id)
        if not rows:
            raise room_missing(room_id)
        return rows[0]

    @staticmethod
    def _check_named(project: str, name: str) -> None:
        check.text("project", project, max_chars=check.MAX_NAME)
        check.text("name", name, max_chars=check.MAX_NAME)

    async def archive_room(self, project: str, name: str) -> dict[str, Any]:
        self._check_named(project, name)

        def write(conn: sqlite3.Connection) -> Write:
            room = require_named_room(conn, project, name)
            if room["status"] == "archived":  # idempotent: archiving twice keeps the first time
                return room, []
            stamp = now_iso()
            q.archive_room(conn, room["id"], stamp)
            room = {**room, "status": "archived", "archived_at": stamp}
            return room, [room_event(room, "archived")]

        room = await self.db.write(write)
        return {
            "name": room["name"],
            "project": room["project"],
            "archived_at": room["archived_at"],
        }

    async def archive_room_by_id(self, room_id: str) -> dict[str, Any]:
        check.room_id(room_id)
        room = await self.db.read(lambda conn: require_room(conn, room_id))
        return await self.archive_room(room["project"], room["name"])

    async def delete_room(self, room_id: str) -> dict[str, Any]:
        check.room_id(room_id)

        def write(conn: sqlite3.Connection) -> Write:
            room = require_room(conn, room_id)
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
            return result, [room_event(room, "deleted")]

        result: dict[str, Any] = await self.db.write(write)
        return result

    async def clear_room(self, project: str, name: str) -> dict[str, Any]:
        self._check_named(project, name)

        def write(conn: sqlite3.Connection) -> Write:
            room = require_named_room(conn, project, name)
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
        room = await self.db.read(lambda conn: require_room(conn, room_id))
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
                events.append(room_event(room, "archived"))
            return archived, events

        archived: list[str] = await self.db.write(write)
        return archived
