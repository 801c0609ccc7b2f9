"""The PostgreSQL store's statuses and agent registrations.

A registration is written under the write lock, like a post: which agents a
post's @mentions address is decided under that lock. A status orders nothing,
so it goes through side_stream.py's stream instead (PostgresStore._write_receipt).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from chatnut import errors
from chatnut.clock import now_iso
from chatnut.shapes.rooms import Room
from chatnut.shapes.team import Agent, Status
from chatnut.store.postgres import queries as q
from chatnut.store.rows import agent_dict, status_dict

Row = dict[str, Any]
PendingEvent = tuple[str, str, Mapping[str, Any]]
Shaped = TypeVar("Shaped", Status, Agent)


class Team:
    _read: Callable[..., Awaitable[Any]]
    _write: Callable[..., Awaitable[Any]]
    _write_receipt: Callable[..., Awaitable[Any]]
    _room_or_missing: Callable[[Any, str], Awaitable[Room]]

    async def set_status(
        self, room_id: str, sender: str, status: str, *, principal: str | None = None
    ) -> Status:
        return await self._upsert(
            room_id,
            "updating status",
            "room_status",
            "status",
            {"sender": sender, "status": status, "principal": principal},
            "updated_at",
            status_dict,
        )

    async def statuses(self, room_id: str) -> list[Status]:
        return [status_dict(r) for r in await self._rows_of_room(room_id, q.STATUSES)]

    async def register_agent(
        self, room_id: str, agent_name: str, task_id: str, *, principal: str | None = None
    ) -> Agent:
        return await self._upsert(
            room_id,
            "registering agents",
            "agent_registry",
            "agent",
            {"agent_name": agent_name, "task_id": task_id, "principal": principal},
            "registered_at",
            agent_dict,
        )

    async def agents(self, room_id: str) -> list[Agent]:
        return [agent_dict(r) for r in await self._rows_of_room(room_id, q.AGENTS)]

    async def _upsert(
        self,
        room_id: str,
        doing: str,
        table: str,
        kind: str,
        values: dict[str, str | None],
        stamp: str,
        shape: Callable[[Row], Shaped],
    ) -> Shaped:
        """One row per (room, first of `values`) in a live room: insert it, or replace
        the rest of `values` and the `stamp` time; publish it, shaped, as a `kind` event.

        Table and column names come from the callers above, never from a client.
        """
        key, *rest = values
        ordered = kind != "status"  # a registration decides what later posts address

        async def write(conn: Any) -> Shaped:
            if ordered:
                room = await self._room_or_missing(conn, room_id)
            else:
                # Off the write lock, the row lock keeps an archive from slipping in
                # between this check and the write (posts never update a room row).
                found = await conn.fetchrow(q.ROOM_BY_ID + " FOR SHARE", room_id)
                if found is None:
                    raise errors.room_missing(room_id)
                room = q.room_dict(found)
            if room["status"] != "live":
                raise errors.room_archived(room, doing)
            stamped = {"room_id": room_id, **values, stamp: now_iso()}
            principal = stamped.pop("principal", None)
            row = {**stamped, "principal": principal}
            columns = ", ".join(row)
            places = ", ".join(f"${n}" for n in range(1, len(row) + 1))
            updates = ", ".join(f"{c} = excluded.{c}" for c in [*rest, stamp])
            await conn.execute(
                f"INSERT INTO {table} ({columns}) VALUES ({places})"
                f" ON CONFLICT (room_id, {key}) DO UPDATE SET {updates}",
                *row.values(),
            )
            return shape(row)

        if not ordered:
            status: Shaped = await self._write_receipt(kind, room_id, write)
            return status

        async def under_lock(conn: Any) -> tuple[Any, list[PendingEvent]]:
            shown = await write(conn)
            return shown, [(kind, room_id, shown)]

        registered: Shaped = await self._write(under_lock)
        return registered

    async def _rows_of_room(self, room_id: str, sql: str) -> list[Any]:
        async def read(conn: Any) -> Any:
            await self._room_or_missing(conn, room_id)
            return await conn.fetch(sql, room_id)

        rows: list[Any] = await self._read(read)
        return rows
