"""Threads and moving a read cursor back, on PostgreSQL.

Replies are found by (room, parent) in the partial index of
migrations/0014_threads.sql, through its function `message_reply_to`: a
query names the function as the index does, so the planner uses it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from chatnut import errors
from chatnut.clock import now_iso
from chatnut.shapes.messages import Message, ReadCursor, Replies
from chatnut.shapes.threads import Thread
from chatnut.store.postgres import queries as q
from chatnut.store.rows import MESSAGE_COLUMNS, message_dict
from chatnut.store.thread_rows import reply_counts

PARENT = "message_reply_to(metadata)"

# The newest reply's row by its key, one per parent: a join (or a LATERAL it
# may flatten into one; LIMIT keeps it apart) let the planner, misjudging how
# many parents match, hash the whole table.
COUNTS = f"""
SELECT g.parent, g.count, g.last_id, m.created_at AS last_at, m.sender AS last_sender
FROM (
    SELECT {PARENT} AS parent, count(*) AS count, max(id) AS last_id
    FROM messages
    WHERE room_id = $1 AND {PARENT} = ANY ($2::bigint[])
    GROUP BY 1
) g CROSS JOIN LATERAL (
    SELECT created_at, sender FROM messages WHERE id = g.last_id LIMIT 1
) m
"""

REPLIES = (
    f"SELECT {MESSAGE_COLUMNS} FROM messages"
    f" WHERE room_id = $1 AND {PARENT} = $2 AND id > $3 ORDER BY id LIMIT $4"
)

# Back only: the receipts' read trigger fires on a forward move alone, so a
# directed message already read stays read for its sender.
MOVE_BACK = """
UPDATE read_cursors SET last_read_message_id = $3, updated_at = $4
WHERE room_id = $1 AND reader = $2 AND last_read_message_id > $3
"""


class Threads:
    _read: Callable[..., Awaitable[Any]]
    _write_receipt: Callable[..., Awaitable[Any]]

    async def reply_counts(self, room_id: str, parent_ids: Sequence[int]) -> dict[int, Replies]:
        if not parent_ids:
            return {}
        ids = sorted(set(parent_ids))
        rows = await self._read(lambda conn: conn.fetch(COUNTS, room_id, ids))
        return reply_counts(rows)

    async def thread_page(
        self, room_id: str, parent_id: int, *, after: int, limit: int
    ) -> Thread[Message]:
        async def read(conn: Any) -> Thread[Message]:
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                if await conn.fetchrow(q.ROOM_BY_ID, room_id) is None:
                    raise errors.room_missing(room_id)
                parent = await conn.fetchrow(
                    f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1 AND room_id = $2",
                    parent_id,
                    room_id,
                )
                if parent is None:
                    raise errors.message_missing(parent_id, room_id)
                rows = await conn.fetch(REPLIES, room_id, parent_id, after, limit + 1)
                counted = reply_counts(await conn.fetch(COUNTS, room_id, [parent_id]))
            found = counted.get(parent_id)
            return {
                "room_id": room_id,
                "parent": message_dict(parent),
                "replies": [message_dict(r) for r in rows[:limit]],
                "has_more": len(rows) > limit,
                "reply_count": found["count"] if found else 0,
            }

        page: Thread[Message] = await self._read(read)
        return page

    async def mark_unread(self, room_id: str, reader: str, message_id: int) -> ReadCursor:
        async def write(conn: Any) -> ReadCursor:
            if await conn.fetchrow(q.ROOM_BY_ID, room_id) is None:
                raise errors.room_missing(room_id)
            found = await conn.fetchval(
                "SELECT 1 FROM messages WHERE id = $1 AND room_id = $2", message_id, room_id
            )
            if found is None:
                raise errors.message_missing(message_id, room_id)
            await conn.execute(MOVE_BACK, room_id, reader, message_id - 1, now_iso())
            stands = await conn.fetchval(
                "SELECT last_read_message_id FROM read_cursors WHERE room_id = $1 AND reader = $2",
                room_id,
                reader,
            )
            return {
                "room_id": room_id,
                "reader": reader,
                "last_read_message_id": int(stands or 0),
            }

        cursor: ReadCursor = await self._write_receipt("read", room_id, write)
        return cursor
