"""Retention on PostgreSQL, as SQLite's (store/sqlite/retention.py).

A purge deletes the messages; cascades and the statement trigger keep
addressee rows, receipts, room_stats and the trigram index in step. A
restore puts each message back with its id, addressee rows and receipts as
they were. Neither writes an event: other processes read messages from the
table, never from the events.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from chatnut.shapes.admin import RetentionRule
from chatnut.store.base import Row
from chatnut.store.rows import retention_rule_dict

MESSAGE_TABLES = ("messages", "message_recipients", "receipts")
COLUMNS = "SELECT column_name FROM information_schema.columns WHERE table_name = $1"


async def _insert(conn: Any, table: str, row: Row, conflict: str) -> int:
    """Insert the row's known columns only (an import file names no column of its own)."""
    known = [r["column_name"] for r in await conn.fetch(COLUMNS, table)]
    names = [c for c in known if c in row]
    sql = (
        f"INSERT INTO {table} ({', '.join(names)}) "
        f"VALUES ({', '.join(f'${i + 1}' for i in range(len(names)))}) {conflict}"
    )
    status: str = await conn.execute(sql, *[row[n] for n in names])
    return int(status.rsplit(" ", 1)[-1])


class Retention:
    _pool: Any
    _read: Callable[..., Awaitable[Any]]
    _write: Callable[..., Awaitable[Any]]

    @asynccontextmanager
    async def solo_turn(self, key: int) -> AsyncIterator[bool]:
        """A session advisory lock on a connection held for the block: the other
        workers' tries fail until it ends (or this connection dies)."""
        async with self._pool.acquire() as conn:
            mine = bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", key))
            try:
                yield mine
            finally:
                if mine:
                    await conn.execute("SELECT pg_advisory_unlock($1)", key)

    async def retention_rules(self) -> list[RetentionRule]:
        rows = await self._read(
            lambda conn: conn.fetch(
                "SELECT project, room, days, updated_at FROM retention_rules ORDER BY project, room"
            )
        )
        return [retention_rule_dict(r) for r in rows]

    async def set_retention_rule(
        self, project: str, room: str, days: int | None, at: str
    ) -> RetentionRule:
        async def write(conn: Any) -> tuple[RetentionRule, list[Any]]:
            await conn.execute(
                "INSERT INTO retention_rules (project, room, days, updated_at) "
                "VALUES ($1, $2, $3, $4) ON CONFLICT (project, room) "
                "DO UPDATE SET days = excluded.days, updated_at = excluded.updated_at",
                project,
                room,
                days,
                at,
            )
            return {"project": project, "room": room, "days": days, "updated_at": at}, []

        rule: RetentionRule = await self._write(write)
        return rule

    async def expired_messages(self, room_id: str, cutoff: str, limit: int) -> list[Row]:
        async def read(conn: Any) -> list[Row]:
            messages = await conn.fetch(
                "SELECT * FROM messages WHERE room_id = $1 AND created_at < $2 "
                "ORDER BY id LIMIT $3",
                room_id,
                cutoff,
                limit,
            )
            found = []
            for message in messages:
                entry: Row = {"message": dict(message)}
                for table in MESSAGE_TABLES[1:]:
                    rows = await conn.fetch(
                        f"SELECT * FROM {table} WHERE message_id = $1 ORDER BY name", message["id"]
                    )
                    entry[table] = [dict(r) for r in rows]
                found.append(entry)
            return found

        found: list[Row] = await self._read(read)
        return found

    async def count_expired(self, room_id: str, cutoff: str) -> int:
        count = await self._read(
            lambda conn: conn.fetchval(
                "SELECT count(*) FROM messages WHERE room_id = $1 AND created_at < $2",
                room_id,
                cutoff,
            )
        )
        return int(count)

    async def purge_messages(self, room_id: str, ids: Sequence[int]) -> int:
        async def write(conn: Any) -> tuple[int, list[Any]]:
            status = await conn.execute(
                "DELETE FROM messages WHERE room_id = $1 AND id = ANY($2::bigint[])",
                room_id,
                list(ids),
            )
            return int(status.rsplit(" ", 1)[-1]), []

        deleted: int = await self._write(write)
        return deleted

    async def restore_messages(self, entries: Sequence[Row]) -> int:
        async def write(conn: Any) -> tuple[int, list[Any]]:
            restored = 0
            for entry in entries:
                message = entry["message"]
                if (
                    await conn.fetchval("SELECT 1 FROM rooms WHERE id = $1", message["room_id"])
                    is None
                ):
                    continue  # its room was deleted since: nothing to put it back into
                if not await _insert(conn, "messages", message, "ON CONFLICT DO NOTHING"):
                    continue  # already there (a second import of the same file)
                restored += 1
                for row in entry.get("message_recipients", []):
                    await _insert(conn, "message_recipients", row, "ON CONFLICT DO NOTHING")
                for row in entry.get("receipts", []):
                    await _insert(
                        conn,
                        "receipts",
                        row,
                        "ON CONFLICT (message_id, name) DO UPDATE SET "
                        "delivered_at = excluded.delivered_at, read_at = excluded.read_at, "
                        "acked_at = excluded.acked_at, ack_required = excluded.ack_required",
                    )
            return restored, []

        restored: int = await self._write(write)
        return restored
