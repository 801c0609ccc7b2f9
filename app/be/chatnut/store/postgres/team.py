"""The PostgreSQL store's statuses and agent registrations (writes under the write lock,
through PostgresStore._write, like every write)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from chatnut import errors
from chatnut.clock import now_iso

Row = dict[str, Any]
PendingEvent = tuple[str, str, dict[str, Any]]


class Team:
    _read: Callable[..., Awaitable[Any]]
    _write: Callable[..., Awaitable[Any]]
    _room_or_missing: Callable[[Any, str], Awaitable[Row]]

    async def set_status(self, room_id: str, sender: str, status: str) -> Row:
        async def write(conn: Any) -> tuple[Any, list[PendingEvent]]:
            room = await self._room_or_missing(conn, room_id)
            if room["status"] != "live":
                raise errors.room_archived(room, "updating status")
            now = now_iso()
            await conn.execute(
                """
                INSERT INTO room_status (room_id, sender, status, updated_at)
                VALUES ($1, $2, $3, $4)
                ON CONFLICT (room_id, sender) DO UPDATE SET
                    status = excluded.status, updated_at = excluded.updated_at
                """,
                room_id,
                sender,
                status,
                now,
            )
            row = {"room_id": room_id, "sender": sender, "status": status, "updated_at": now}
            return row, [("status", room_id, row)]

        row: Row = await self._write(write)
        return row

    async def statuses(self, room_id: str) -> list[Row]:
        return await self._rows_of_room(
            room_id,
            "SELECT room_id, sender, status, updated_at FROM room_status WHERE room_id = $1"
            " ORDER BY updated_at DESC, sender",
        )

    async def register_agent(self, room_id: str, agent_name: str, task_id: str) -> Row:
        async def write(conn: Any) -> tuple[Any, list[PendingEvent]]:
            room = await self._room_or_missing(conn, room_id)
            if room["status"] != "live":
                raise errors.room_archived(room, "registering agents")
            now = now_iso()
            await conn.execute(
                """
                INSERT INTO agent_registry (room_id, agent_name, task_id, registered_at)
                VALUES ($1, $2, $3, $4)
                ON CONFLICT (room_id, agent_name) DO UPDATE SET
                    task_id = excluded.task_id, registered_at = excluded.registered_at
                """,
                room_id,
                agent_name,
                task_id,
                now,
            )
            row = {
                "room_id": room_id,
                "agent_name": agent_name,
                "task_id": task_id,
                "registered_at": now,
            }
            return row, [("agent", room_id, row)]

        row: Row = await self._write(write)
        return row

    async def agents(self, room_id: str) -> list[Row]:
        return await self._rows_of_room(
            room_id,
            "SELECT room_id, agent_name, task_id, registered_at FROM agent_registry"
            " WHERE room_id = $1 ORDER BY agent_name",
        )

    async def _rows_of_room(self, room_id: str, sql: str) -> list[Row]:
        async def read(conn: Any) -> Any:
            await self._room_or_missing(conn, room_id)
            return await conn.fetch(sql, room_id)

        return [dict(r) for r in await self._read(read)]
