"""Threads and moving a read cursor back, on SQLite.

Replies are found by (room, parent) in the partial expression index of
migrations/0015_threads.sql: a query names the index's expression and its
`json_valid` guard exactly as the index does, or SQLite would not use it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from chatnut import errors
from chatnut.clock import now_iso
from chatnut.hub import Event
from chatnut.shapes.messages import Message, ReadCursor, Replies
from chatnut.shapes.threads import Thread
from chatnut.store.rows import MESSAGE_COLUMNS, message_dict
from chatnut.store.sqlite import queries as q
from chatnut.store.sqlite.engine import Engine
from chatnut.store.thread_rows import reply_counts

PARENT = "json_extract(metadata, '$.reply_to')"
IS_REPLY = f"json_valid(metadata) AND {PARENT} IS NOT NULL"


def counts_of(
    conn: sqlite3.Connection, room_id: str, parent_ids: Sequence[int]
) -> dict[int, Replies]:
    if not parent_ids:
        return {}
    marks = ", ".join("?" for _ in parent_ids)
    rows = conn.execute(
        f"""
        SELECT g.parent, g.count, g.last_id, m.created_at AS last_at, m.sender AS last_sender
        FROM (
            SELECT {PARENT} AS parent, count(*) AS count, max(id) AS last_id
            FROM messages
            WHERE room_id = ? AND {IS_REPLY} AND {PARENT} IN ({marks})
            GROUP BY {PARENT}
        ) g JOIN messages m ON m.id = g.last_id
        """,
        [room_id, *parent_ids],
    ).fetchall()
    return reply_counts(rows)


def replies_of(
    conn: sqlite3.Connection, room_id: str, parent_id: int, after: int, limit: int
) -> tuple[list[Message], bool]:
    rows = conn.execute(
        f"SELECT {MESSAGE_COLUMNS} FROM messages"
        f" WHERE room_id = ? AND {IS_REPLY} AND {PARENT} = ? AND id > ? ORDER BY id LIMIT ?",
        (room_id, parent_id, after, limit + 1),
    ).fetchall()
    return [message_dict(r) for r in rows[:limit]], len(rows) > limit


class Threads:
    engine: Engine

    async def reply_counts(self, room_id: str, parent_ids: Sequence[int]) -> dict[int, Replies]:
        ids = sorted(set(parent_ids))
        found: dict[int, Replies] = await self.engine.read(lambda c: counts_of(c, room_id, ids))
        return found

    async def thread_page(
        self, room_id: str, parent_id: int, *, after: int, limit: int
    ) -> Thread[Message]:
        def read(conn: sqlite3.Connection) -> Thread[Message]:
            if q.room_by_id(conn, room_id) is None:
                raise errors.room_missing(room_id)
            row = conn.execute(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ? AND room_id = ?",
                (parent_id, room_id),
            ).fetchone()
            if row is None:
                raise errors.message_missing(parent_id, room_id)
            replies, has_more = replies_of(conn, room_id, parent_id, after, limit)
            counted = counts_of(conn, room_id, [parent_id]).get(parent_id)
            return {
                "room_id": room_id,
                "parent": message_dict(row),
                "replies": replies,
                "has_more": has_more,
                "reply_count": counted["count"] if counted else 0,
            }

        page: Thread[Message] = await self.engine.read(read)
        return page

    async def mark_unread(self, room_id: str, reader: str, message_id: int) -> ReadCursor:
        def write(conn: sqlite3.Connection) -> tuple[ReadCursor, list[Event]]:
            if q.room_by_id(conn, room_id) is None:
                raise errors.room_missing(room_id)
            if not q.message_in_room(conn, room_id, message_id):
                raise errors.message_missing(message_id, room_id)
            # Back only: the receipts' read trigger fires on a forward move alone,
            # so a directed message already read stays read for its sender.
            conn.execute(
                "UPDATE read_cursors SET last_read_message_id = ?, updated_at = ?"
                " WHERE room_id = ? AND reader = ? AND last_read_message_id > ?",
                (message_id - 1, now_iso(), room_id, reader, message_id - 1),
            )
            row = conn.execute(
                "SELECT last_read_message_id FROM read_cursors WHERE room_id = ? AND reader = ?",
                (room_id, reader),
            ).fetchone()
            cursor: ReadCursor = {
                "room_id": room_id,
                "reader": reader,
                "last_read_message_id": int(row[0]) if row else 0,
            }
            return cursor, [Event("read", room_id, cursor)]

        cursor: ReadCursor = await self.engine.write(write)
        return cursor
