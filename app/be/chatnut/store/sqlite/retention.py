"""Retention on SQLite: the override rules, and moving old messages out and back in.

A purged message takes its addressee rows and receipts with it (triggers on
`messages` keep the search index, room_stats and receipts in step); a
restored one comes back with the same id, its addressee rows and its
receipts as they were, so a purge then a restore leaves every table equal.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from chatnut.shapes.admin import RetentionRule
from chatnut.store.base import Row
from chatnut.store.rows import retention_rule_dict

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
            deleted = 0
            for message_id in ids:
                deleted += conn.execute(
                    "DELETE FROM messages WHERE room_id = ? AND id = ?", (room_id, message_id)
                ).rowcount
            return deleted, []

        deleted: int = await self.engine.write(write)
        return deleted

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
                for row in entry.get("message_recipients", []):
                    _insert(conn, "message_recipients", row, "OR IGNORE")
                for row in entry.get("receipts", []):
                    _insert(conn, "receipts", row, "OR REPLACE")
            return restored, []

        restored: int = await self.engine.write(write)
        return restored
