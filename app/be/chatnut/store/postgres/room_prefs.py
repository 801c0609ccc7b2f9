"""A reader's per-room settings (notification level, muted, starred), on PostgreSQL."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from chatnut import errors
from chatnut.clock import now_iso
from chatnut.shapes.rooms import RoomPref
from chatnut.store.rows import room_pref_dict

_COLUMNS = "p.room_id, r.project, p.level, p.muted, p.starred, p.updated_at"


class RoomPrefs:
    _read: Callable[..., Awaitable[Any]]
    _write: Callable[..., Awaitable[Any]]

    async def room_prefs(self, reader: str) -> list[RoomPref]:
        rows = await self._read(
            lambda conn: conn.fetch(
                f"SELECT {_COLUMNS} FROM room_prefs p JOIN rooms r ON r.id = p.room_id"
                " WHERE p.reader = $1 ORDER BY p.room_id",
                reader,
            )
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
        async def write(conn: Any) -> tuple[RoomPref, list[Any]]:
            if await conn.fetchval("SELECT 1 FROM rooms WHERE id = $1", room_id) is None:
                raise errors.room_missing(room_id)
            await conn.execute(
                """
                INSERT INTO room_prefs AS p (reader, room_id, level, muted, starred, updated_at)
                VALUES ($1, $2, coalesce($3, 'mentions'), coalesce($4, FALSE),
                        coalesce($5, FALSE), $6)
                ON CONFLICT (reader, room_id) DO UPDATE SET
                    level = coalesce($3, p.level),
                    muted = coalesce($4, p.muted),
                    starred = coalesce($5, p.starred),
                    updated_at = $6
                """,
                reader,
                room_id,
                level,
                muted,
                starred,
                now_iso(),
            )
            row = await conn.fetchrow(
                f"SELECT {_COLUMNS} FROM room_prefs p JOIN rooms r ON r.id = p.room_id"
                " WHERE p.reader = $1 AND p.room_id = $2",
                reader,
                room_id,
            )
            return room_pref_dict(row), []

        result: RoomPref = await self._write(write)
        return result
