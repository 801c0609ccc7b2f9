"""Editing and deleting a message on PostgreSQL. Each is written under the
write lock (event seq order is commit order) and appends an `edit` event that,
like a post's, points at the message row instead of carrying the text: the
events table never holds a copy of what a delete took away, and every
process reads the message as it stands when it hears of the change.

What a delete empties is invisible to every query, dump and copy at once,
but the old row version stays in the table's pages until vacuum prunes it.
So a delete vacuums `messages` right after its commit: cheap with few dead
rows (only pages that changed since the last vacuum are read), bounded in
time, and best effort — if it cannot finish (a long transaction still sees
the old version), autovacuum does it later. The server's WAL and backups
are the operator's (docs/editing-messages.md)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from chatnut import errors
from chatnut.hub import Event
from chatnut.shapes.messages import Message
from chatnut.store.edit_rows import EDIT_EVENT, check_changeable
from chatnut.store.postgres import queries as q
from chatnut.store.postgres.events import EventStream
from chatnut.store.rows import tombstone_metadata

log = logging.getLogger(__name__)

RECLAIM_WITHIN_S = 10.0
_BY_ID = f"SELECT {q.MESSAGE_COLUMNS} FROM messages WHERE id = $1"
_EMIT = """
    WITH e AS (
        INSERT INTO events (seq, kind, room_id, message_id)
        VALUES (nextval('event_seqs'), $1, $2, $3) RETURNING seq
    )
    SELECT seq, pg_notify('chatnut_events',
        json_build_object('seq', seq, 'kind', $1::text, 'room', $2::text)::text) FROM e
"""
_CHANGED = (
    f"SELECT {q.MESSAGE_COLUMNS} FROM messages WHERE id = ANY ($1::bigint[]) AND room_id = $2"
    " AND (edited_at IS NOT NULL OR deleted_at IS NOT NULL) ORDER BY id"
)


class Edits:
    _pool: Any
    _read: Callable[..., Awaitable[Any]]
    _write: Callable[..., Awaitable[Any]]
    _events: EventStream | None

    async def message_by_id(self, message_id: int) -> Message | None:
        row = await self._read(lambda conn: conn.fetchrow(_BY_ID, message_id))
        return None if row is None else q.message_dict(row)

    async def _change(
        self, message_id: int, doing: str, update: Callable[[Any, Any], Awaitable[Any]]
    ) -> Message:
        """Lock the row, refuse what cannot change, update it, append its event."""

        async def write(conn: Any) -> tuple[tuple[int, Message], list[Any]]:
            row = await conn.fetchrow(_BY_ID + " FOR UPDATE", message_id)
            check_changeable(row, message_id, doing)
            await update(conn, row)
            message = q.message_dict(await conn.fetchrow(_BY_ID, message_id))
            seq = await conn.fetchval(_EMIT, EDIT_EVENT, message["room_id"], message_id)
            return (seq, message), []

        seq, message = await self._write(write)
        assert self._events is not None
        await self._events.committed(seq, Event(EDIT_EVENT, message["room_id"], message))
        return message

    async def edit_message(self, message_id: int, content: str, at: str) -> Message:
        async def update(conn: Any, row: Any) -> None:
            room = await conn.fetchrow(q.ROOM_BY_ID, row["room_id"])
            if room is not None and room["status"] != "live":
                raise errors.room_archived(q.room_dict(room), "editing a message")
            await conn.execute(
                "UPDATE messages SET content = $2, edited_at = $3 WHERE id = $1",
                message_id,
                content,
                at,
            )

        return await self._change(message_id, "edited", update)

    async def delete_message(self, message_id: int, at: str) -> Message:
        async def update(conn: Any, row: Any) -> None:
            await conn.execute(
                "UPDATE messages SET content = '', metadata = $2, edited_at = NULL,"
                " deleted_at = $3 WHERE id = $1",
                message_id,
                tombstone_metadata(row["metadata"]),
                at,
            )

        deleted = await self._change(message_id, "deleted again", update)
        await self._reclaim()
        return deleted

    async def _reclaim(self) -> None:
        # FREEZE makes the vacuum wait for a page another session has pinned
        # (a reader mid-scan, the checkpointer writing it out) where a plain
        # vacuum would skip pruning it and leave the old text there. Pages
        # already frozen are skipped, so after the first it touches only the
        # pages changed since.
        try:
            async with asyncio.timeout(RECLAIM_WITHIN_S), self._pool.acquire() as conn:
                await conn.execute("VACUUM (FREEZE) messages")
        except Exception as exc:  # the delete stands; autovacuum finishes the job
            log.warning("vacuuming messages after a delete did not finish: %s", exc)

    async def changed_messages(self, room_id: str, message_ids: Sequence[int]) -> list[Message]:
        if not message_ids:
            return []
        ids = list(message_ids)
        rows = await self._read(lambda conn: conn.fetch(_CHANGED, ids, room_id))
        return [q.message_dict(r) for r in rows]
