"""Retention on SQLite: the override rules, and moving old messages out and back in.

A purged message takes its addressee rows and receipts with it (triggers on
`messages` keep the search index, room_stats and receipts in step); a
restored one comes back with the same id, its addressee rows and its
receipts as they were, so a purge then a restore leaves every table equal
(but `room_purges`, the feeds' record of how far each room was purged).
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from chatnut.hub import Event
from chatnut.shapes.admin import RetentionRule
from chatnut.store.base import Row
from chatnut.store.rows import retention_rule_dict
from chatnut.store.sqlite import queries as q

MESSAGE_TABLES = ("messages", "message_recipients", "receipts")


def _rows(cursor: sqlite3.Cursor) -> list[Row]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def _insert(conn: sqlite3.Connection, table: str, row: Row, conflict: str) -> int:
    """Insert the row's known columns only (an import file names no column of its own)."""
    names = [c for c in _columns(conn, table) if c in row]
    sql = (
        f"INSERT {conflict} INTO {table} ({', '.join(names)}) "
        f"VALUES ({', '.join('?' for _ in names)})"
    )
    return conn.execute(sql, [row[n] for n in names]).rowcount


class Retention:
    engine: Any

    @asynccontextmanager
    async def solo_turn(self, key: int) -> AsyncIterator[bool]:
        yield True  # one server process per SQLite file: always its turn

    async def retention_rules(self) -> list[RetentionRule]:
        def read(conn: sqlite3.Connection) -> list[RetentionRule]:
            return [
                retention_rule_dict(r)
                for r in conn.execute(
                    "SELECT project, room, days, updated_at FROM retention_rules "
                    "ORDER BY project, room"
                )
            ]

        rules: list[RetentionRule] = await self.engine.read(read)
        return rules

    async def set_retention_rule(
        self, project: str, room: str, days: int | None, at: str
    ) -> RetentionRule:
        def write(conn: sqlite3.Connection) -> tuple[RetentionRule, list[Any]]:
            conn.execute(
                "INSERT INTO retention_rules (project, room, days, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (project, room) DO UPDATE SET days = excluded.days, "
                "updated_at = excluded.updated_at",
                (project, room, days, at),
            )
            return {"project": project, "room": room, "days": days, "updated_at": at}, []

        rule: RetentionRule = await self.engine.write(write)
        return rule

    async def expired_messages(self, room_id: str, cutoff: str, limit: int) -> list[Row]:
        def read(conn: sqlite3.Connection) -> list[Row]:
            messages = _rows(
                conn.execute(
                    "SELECT * FROM messages WHERE room_id = ? AND created_at < ? "
                    "ORDER BY id LIMIT ?",
                    (room_id, cutoff, limit),
                )
            )
            return [
                {
                    "message": message,
                    **{
                        table: _rows(
                            conn.execute(
                                f"SELECT * FROM {table} WHERE message_id = ? ORDER BY name",
                                (message["id"],),
                            )
                        )
                        for table in MESSAGE_TABLES[1:]
                    },
                }
                for message in messages
            ]

        found: list[Row] = await self.engine.read(read)
        return found

    async def count_expired(self, room_id: str, cutoff: str) -> int:
        count: int = await self.engine.read(
            lambda conn: conn.execute(
                "SELECT count(*) FROM messages WHERE room_id = ? AND created_at < ?",
                (room_id, cutoff),
            ).fetchone()[0]
        )
        return count

    async def purge_messages(self, room_id: str, ids: Sequence[int]) -> int:
        def write(conn: sqlite3.Connection) -> tuple[int, list[Any]]:
            gone = [
                message_id
                for message_id in ids
                if conn.execute(
                    "DELETE FROM messages WHERE room_id = ? AND id = ?", (room_id, message_id)
                ).rowcount
            ]
            if not gone:
                return 0, []
            return len(gone), [_record_purge(conn, room_id, max(gone), len(gone))]

        deleted: int = await self.engine.write(write)
        return deleted

    async def purges_after(self, mark: int, room_id: str | None) -> list[Row]:
        def read(conn: sqlite3.Connection) -> list[Row]:
            sql = (
                "SELECT p.room_id, r.project, r.name AS room, p.through_id FROM room_purges p "
                "JOIN rooms r ON r.id = p.room_id WHERE p.mark >= ?"
            )
            if room_id is None:
                return _rows(conn.execute(sql + " ORDER BY p.room_id", (mark,)))
            return _rows(conn.execute(sql + " AND p.room_id = ?", (mark, room_id)))

        found: list[Row] = await self.engine.read(read)
        return found

    async def restore_messages(self, entries: Sequence[Row]) -> int:
        def write(conn: sqlite3.Connection) -> tuple[int, list[Any]]:
            restored = 0
            for entry in entries:
                message = entry["message"]
                if (
                    conn.execute(
                        "SELECT 1 FROM rooms WHERE id = ?", (message["room_id"],)
                    ).fetchone()
                    is None
                ):
                    continue  # its room was deleted since: nothing to put it back into
                if not _insert(conn, "messages", message, "OR IGNORE"):
                    continue  # already there (a second import of the same file)
                restored += 1
                # Below the room's purge horizon again: lower it, so a resumed feed
                # is never told this message is gone.
                conn.execute(
                    "UPDATE room_purges SET through_id = min(through_id, ? - 1) WHERE room_id = ?",
                    (message["id"], message["room_id"]),
                )
                for row in entry.get("message_recipients", []):
                    _insert(conn, "message_recipients", row, "OR IGNORE")
                for row in entry.get("receipts", []):
                    _insert(conn, "receipts", row, "OR REPLACE")
            conn.execute("DELETE FROM room_purges WHERE through_id < 1")
            return restored, []

        restored: int = await self.engine.write(write)
        return restored


def _record_purge(conn: sqlite3.Connection, room_id: str, top: int, count: int) -> Event:
    """Move the room's purge horizon and make the `purged` event that tells the feeds.

    The horizon is as far as is true: just below the room's oldest message
    still there (a merged-in history may keep an old message with a low id
    past a purge of newer ones), or the highest id deleted when none is left;
    never back from where an earlier purge left it.
    """
    (oldest,) = conn.execute(
        "SELECT min(id) FROM messages WHERE room_id = ?", (room_id,)
    ).fetchone()
    through = top if oldest is None else oldest - 1
    conn.execute(
        "INSERT INTO room_purges (room_id, through_id, mark) VALUES (?, ?, ?) "
        "ON CONFLICT (room_id) DO UPDATE SET through_id = max(through_id, excluded.through_id), "
        "mark = excluded.mark",
        (room_id, through, q.max_message_id(conn)),
    )
    row = conn.execute(
        "SELECT r.project, r.name, p.through_id FROM rooms r "
        "JOIN room_purges p ON p.room_id = r.id WHERE r.id = ?",
        (room_id,),
    ).fetchone()
    data = {
        "room_id": room_id,
        "project": row[0],
        "room": row[1],
        "through_id": row[2],
        "messages": count,
    }
    return Event("purged", room_id, data)
