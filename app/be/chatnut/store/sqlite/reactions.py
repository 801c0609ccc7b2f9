"""Reactions on SQLite: toggled on the engine's single writer, each toggle
publishing a `reaction` event for its room in the same commit."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from chatnut import errors
from chatnut.clock import now_iso
from chatnut.hub import Event
from chatnut.shapes.messages import Reaction
from chatnut.shapes.reactions import Toggled
from chatnut.store.reaction_rows import grouped, reaction_event_data
from chatnut.store.sqlite import queries as q
from chatnut.store.sqlite.engine import Engine


def reactions_of(
    conn: sqlite3.Connection, message_ids: Sequence[int], room_id: str | None = None
) -> dict[int, Any]:
    if not message_ids:
        return {}
    marks = ", ".join("?" for _ in message_ids)
    in_room = "" if room_id is None else " AND room_id = ?"
    rows = conn.execute(
        f"SELECT message_id, emoji, name FROM reactions WHERE message_id IN ({marks}){in_room}"
        " ORDER BY message_id, created_at, name",
        [*message_ids, *([] if room_id is None else [room_id])],
    ).fetchall()
    return grouped(rows)


class Reactions:
    engine: Engine

    async def reactions(
        self, message_ids: Sequence[int], room_id: str | None = None
    ) -> dict[int, list[Reaction]]:
        ids = list(message_ids)
        found: dict[int, list[Reaction]] = await self.engine.read(
            lambda c: reactions_of(c, ids, room_id)
        )
        return found

    async def toggle_reaction(
        self, room_id: str, message_id: int, emoji: str, name: str
    ) -> Toggled:
        def write(conn: sqlite3.Connection) -> tuple[Toggled, list[Any]]:
            if q.room_by_id(conn, room_id) is None:
                raise errors.room_missing(room_id)
            if not q.message_in_room(conn, room_id, message_id):
                raise errors.message_missing(message_id, room_id)
            removed = conn.execute(
                "DELETE FROM reactions WHERE message_id = ? AND emoji = ? AND name = ?",
                (message_id, emoji, name),
            ).rowcount
            if not removed:
                conn.execute(
                    "INSERT INTO reactions (message_id, emoji, name, room_id, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (message_id, emoji, name, room_id, now_iso()),
                )
            data = reaction_event_data(room_id, message_id, reactions_of(conn, [message_id]))
            answer: Toggled = {**data, "emoji": emoji, "name": name, "reacted": not removed}
            return answer, [Event("reaction", room_id, data)]

        answer: Toggled = await self.engine.write(write)
        return answer
