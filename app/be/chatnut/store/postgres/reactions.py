"""Reactions on PostgreSQL. A toggle publishes a `reaction` event for its
room, so it is written under the write lock (event seq order is commit order),
and other workers' pages hear of it through the events table."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from chatnut import errors
from chatnut.clock import now_iso
from chatnut.shapes.messages import Reaction
from chatnut.shapes.reactions import Toggled
from chatnut.store.postgres import queries as q
from chatnut.store.reaction_rows import grouped, reaction_event_data

_OF = (
    "SELECT message_id, emoji, name FROM reactions WHERE message_id = ANY ($1::bigint[])"
    " AND ($2::text IS NULL OR room_id = $2)"
    ' ORDER BY message_id, created_at, name COLLATE "C"'
)


class Reactions:
    _read: Callable[..., Awaitable[Any]]
    _write: Callable[..., Awaitable[Any]]

    async def reactions(
        self, message_ids: Sequence[int], room_id: str | None = None
    ) -> dict[int, list[Reaction]]:
        if not message_ids:
            return {}
        ids = list(message_ids)
        rows = await self._read(lambda conn: conn.fetch(_OF, ids, room_id))
        return grouped(rows)

    async def toggle_reaction(
        self, room_id: str, message_id: int, emoji: str, name: str
    ) -> Toggled:
        async def write(conn: Any) -> tuple[Toggled, list[Any]]:
            if await conn.fetchrow(q.ROOM_BY_ID, room_id) is None:
                raise errors.room_missing(room_id)
            found = await conn.fetchval(
                "SELECT 1 FROM messages WHERE id = $1 AND room_id = $2", message_id, room_id
            )
            if found is None:
                raise errors.message_missing(message_id, room_id)
            removed = await conn.fetchval(
                "DELETE FROM reactions WHERE message_id = $1 AND emoji = $2 AND name = $3"
                " RETURNING 1",
                message_id,
                emoji,
                name,
            )
            if removed is None:
                await conn.execute(
                    "INSERT INTO reactions (message_id, emoji, name, room_id, created_at)"
                    " VALUES ($1, $2, $3, $4, $5)",
                    message_id,
                    emoji,
                    name,
                    room_id,
                    now_iso(),
                )
            rows = await conn.fetch(_OF, [message_id], room_id)
            data = reaction_event_data(room_id, message_id, grouped(rows))
            answer: Toggled = {**data, "emoji": emoji, "name": name, "reacted": removed is None}
            return answer, [("reaction", room_id, data)]

        answer: Toggled = await self._write(write)
        return answer
