"""Idempotency keys on PostgreSQL: a retried post finds the message its first try
stored, whichever worker or host took either.

Each keyed post takes the write lock first (every post takes it: the
ordering rule), then looks its key up, posts, and remembers the key, all in
the post batch's transaction: a second worker's retry waits for the lock,
and by then the first one's key is committed and found.
"""

from __future__ import annotations

from typing import Any

from chatnut.clock import now_iso
from chatnut.store.base import idempotency_cutoff
from chatnut.store.postgres import queries as q

WRITE_LOCK = "SELECT pg_advisory_xact_lock(7365616)"  # store/postgres/__init__.py
FIRST = (
    "SELECT k.message_id FROM idempotency_keys k JOIN messages m ON m.id = k.message_id"
    " WHERE k.room_id = $1 AND k.sender = $2 AND k.key = $3 AND k.created_at > $4"
)
FORGET_OLD = "DELETE FROM idempotency_keys WHERE created_at <= $1"
REMEMBER = (
    "INSERT INTO idempotency_keys (room_id, sender, key, message_id, created_at)"
    " VALUES ($1, $2, $3, $4, $5)"
    " ON CONFLICT (room_id, sender, key) DO UPDATE"
    " SET message_id = EXCLUDED.message_id, created_at = EXCLUDED.created_at"
)
MESSAGE = f"SELECT {q.MESSAGE_COLUMNS} FROM messages WHERE id = $1"
MENTIONS = (
    "SELECT lower(agent_name) AS name, task_id FROM agent_registry"
    " WHERE room_id = $1 AND lower(agent_name) = ANY ($2)"
    ' ORDER BY lower(agent_name) COLLATE "C"'
)


async def post_once(conn: Any, post: str, args: tuple[Any, ...], key: str) -> Any:
    """The `chatnut_post` row, or {"outcome": "replay", "message_id"} for a key seen."""
    room_id, sender = args[0], args[1]
    await conn.execute(WRITE_LOCK)
    first = await conn.fetchval(FIRST, room_id, sender, key, idempotency_cutoff())
    if first is not None:
        return {"outcome": "replay", "message_id": first}
    row = await conn.fetchrow(post, *args)
    if row["outcome"] == "ok":
        await conn.execute(FORGET_OLD, idempotency_cutoff())
        await conn.execute(REMEMBER, room_id, sender, key, row["message_id"], now_iso())
    return row


async def first_message(pool: Any, message_id: int, room_id: str, mentioned: list[str]) -> Any:
    """The first try's message as post_message returned it: with its mentions."""
    async with pool.acquire() as conn:
        row = await conn.fetchrow(MESSAGE, message_id)
        mentions = await conn.fetch(MENTIONS, room_id, mentioned)
    return {
        **q.message_dict(row),
        "mentions": [{"name": m["name"], "task_id": m["task_id"]} for m in mentions],
    }
