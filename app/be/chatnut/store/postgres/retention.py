"""Retention on PostgreSQL, as SQLite's (store/sqlite/retention.py).

A purge deletes the messages; cascades and the statement trigger keep
addressee rows, receipts, room_stats and the trigram index in step. It
moves the room's purge horizon and writes a `purged` event, so every
worker's open feeds drop the purged messages. A restore puts each message
back with its id, addressee rows and receipts as they were (and lowers the
horizon below them); it writes no event: other processes read messages from
the table, never from the events.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from chatnut.shapes.admin import RetentionRule
from chatnut.store.base import Row
from chatnut.store.postgres import queries as q
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
            gone = await conn.fetch(
                "DELETE FROM messages WHERE room_id = $1 AND id = ANY($2::bigint[]) RETURNING id",
                room_id,
                list(ids),
            )
            if not gone:
                return 0, []
            top = max(r["id"] for r in gone)
            return len(gone), [await _record_purge(conn, room_id, top, len(gone))]

        deleted: int = await self._write(write)
        return deleted

    async def purges_after(self, mark: int, room_id: str | None) -> list[Row]:
        sql = (
            "SELECT p.room_id, r.project, r.name AS room, p.through_id FROM room_purges p "
            "JOIN rooms r ON r.id = p.room_id WHERE p.mark >= $1"
        )
        if room_id is None:
            rows = await self._read(lambda conn: conn.fetch(sql + " ORDER BY p.room_id", mark))
        else:
            rows = await self._read(
                lambda conn: conn.fetch(sql + " AND p.room_id = $2", mark, room_id)
            )
        return [dict(r) for r in rows]

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
                # Below the room's purge horizon again: lower it, so a resumed feed
                # is never told this message is gone.
                await conn.execute(
                    "UPDATE room_purges SET through_id = least(through_id, $1 - 1) "
                    "WHERE room_id = $2",
                    message["id"],
                    message["room_id"],
                )
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
            await conn.execute("DELETE FROM room_purges WHERE through_id < 1")
            return restored, []

        restored: int = await self._write(write)
        return restored


async def _record_purge(conn: Any, room_id: str, top: int, count: int) -> tuple[str, str, Row]:
    """Move the room's purge horizon; the `purged` event that tells every worker's feeds.

    As far as is true (store/sqlite/retention.py): just below the room's oldest
    message still there, or the highest id deleted when none is left; never
    back. Under the write lock, so the mark (the id counter) is at least every
    message id a stream has sent.
    """
    oldest = await conn.fetchval("SELECT min(id) FROM messages WHERE room_id = $1", room_id)
    through = top if oldest is None else oldest - 1
    row = await conn.fetchrow(
        "INSERT INTO room_purges (room_id, through_id, mark) VALUES ($1, $2, "
        f"({q.NEWEST_MESSAGE_ID})) ON CONFLICT (room_id) DO UPDATE SET "
        "through_id = greatest(room_purges.through_id, excluded.through_id), mark = excluded.mark "
        "RETURNING through_id, (SELECT project FROM rooms WHERE id = $1) AS project, "
        "(SELECT name FROM rooms WHERE id = $1) AS name",
        room_id,
        through,
    )
    data = {
        "room_id": room_id,
        "project": row["project"],
        "room": row["name"],
        "through_id": row["through_id"],
        "messages": count,
    }
    return "purged", room_id, data
