"""What every part of the service shares: the clock, room lookups that fail in
words, and the attributes the parts rely on (set once by ChatService)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chatnut import validation as check
from chatnut.errors import NotFound, RoomArchived
from chatnut.hub import Event, Hub
from chatnut.service.presence import Presence
from chatnut.store import coordination
from chatnut.store import queries as q
from chatnut.store.db import Database

# What a write function hands the store: its result and the events to publish.
Write = tuple[Any, Sequence[Event]]


def now_iso() -> str:
    """ISO-8601 UTC with milliseconds, with the original's `+00:00` suffix."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def room_missing(room_id: str) -> NotFound:
    return NotFound(
        f"Room {room_id!r} not found — use init_room to create it or list_rooms to find it"
    )


def require_named_room(conn: sqlite3.Connection, project: str, name: str) -> dict[str, Any]:
    room = q.room_by_name(conn, project, name)
    if room is None:
        raise NotFound(f"Room {name!r} in project {project!r} not found")
    return room


def require_room(conn: sqlite3.Connection, room_id: str) -> dict[str, Any]:
    room = q.room_by_id(conn, room_id)
    if room is None:
        raise room_missing(room_id)
    return room


def require_live(room: dict[str, Any], action: str) -> None:
    if room["status"] != "live":
        raise RoomArchived(
            f"Room {room['name']!r} in project {room['project']!r} is archived — {action} is"
            " closed; call init_room with a new name to start a new room"
        )


def room_event(room: dict[str, Any], action: str) -> Event:
    return Event("room", room["id"], {"action": action, "room": room})


class ServiceCore:
    """The state every rule needs; ChatService fills it in."""

    db: Database
    hub: Hub
    db_path: Path
    max_message_bytes: int
    teams_dir: Path | None
    web_url: Callable[[str | None], str]
    on_room_created: Callable[[str], None] | None
    version_info: Callable[[], dict[str, Any]]
    presence: Presence

    def seen(self, room_id: str, name: str) -> None:
        """Note that `name` just made a call on this room (SPEC §13 presence)."""
        self.presence.note(room_id, name, now_iso())

    async def with_presence(
        self, room_id: str, rows: list[dict[str, Any]], key: str
    ) -> list[dict[str, Any]]:
        """Agents or statuses with `last_seen_at` and `waiting` (null/false if never seen)."""
        names = sorted({str(row[key]).strip().lower() for row in rows})
        saved = (
            await self.db.read(lambda conn: coordination.presence_of(conn, room_id, names))
            if names
            else {}
        )
        return [self._present(room_id, row, key, saved) for row in rows]

    def _present(
        self, room_id: str, row: dict[str, Any], key: str, saved: dict[str, str]
    ) -> dict[str, Any]:
        name = str(row[key]).strip().lower()
        return {
            **row,
            "last_seen_at": self.presence.last_seen(room_id, name, saved.get(name)),
            "waiting": self.presence.waiting(room_id, name),
        }

    async def _rows_of_room(
        self, room_id: str, query: Callable[[sqlite3.Connection, str], list[dict[str, Any]]]
    ) -> list[dict[str, Any]]:
        check.room_id(room_id)

        def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            require_room(conn, room_id)
            return query(conn, room_id)

        rows: list[dict[str, Any]] = await self.db.read(read)
        return rows
