"""A reader's per-room settings (notification level, muted, starred), on SQLite."""

from __future__ import annotations

import sqlite3

from chatnut import errors
from chatnut.clock import now_iso
from chatnut.shapes.rooms import RoomPref
from chatnut.store.rows import room_pref_dict
from chatnut.store.sqlite.engine import Engine

_COLUMNS = "p.room_id, r.project, p.level, p.muted, p.starred, p.updated_at"


class RoomPrefs:
    engine: Engine

    async def room_prefs(self, reader: str) -> list[RoomPref]:
        rows = await self.engine.read(
            lambda conn: conn.execute(
                f"SELECT {_COLUMNS} FROM room_prefs p JOIN rooms r ON r.id = p.room_id"
                " WHERE p.reader = ? ORDER BY p.room_id",
                (reader,),
            ).fetchall()
        )
        return [room_pref_dict(row) for row in rows]

    async def set_room_prefs(
        self,
        reader: str,
        room_id: str,
        *,
        level: str | None,
        muted: bool | None,
        starred: bool | None,
    ) -> RoomPref:
        def write(conn: sqlite3.Connection) -> tuple[RoomPref, list[object]]:
            if conn.execute("SELECT 1 FROM rooms WHERE id = ?", (room_id,)).fetchone() is None:
                raise errors.room_missing(room_id)
            conn.execute(
                """
                INSERT INTO room_prefs (reader, room_id, level, muted, starred, updated_at)
                VALUES (?1, ?2, coalesce(?3, 'mentions'), coalesce(?4, 0), coalesce(?5, 0), ?6)
                ON CONFLICT (reader, room_id) DO UPDATE SET
                    level = coalesce(?3, level),
                    muted = coalesce(?4, muted),
                    starred = coalesce(?5, starred),
                    updated_at = ?6
                """,
                (reader, room_id, level, muted, starred, now_iso()),
            )
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM room_prefs p JOIN rooms r ON r.id = p.room_id"
                " WHERE p.reader = ? AND p.room_id = ?",
                (reader, room_id),
            ).fetchone()
            return room_pref_dict(row), []

        result: RoomPref = await self.engine.write(write)
        return result
