"""Receipts of directed messages and the push cursors, on PostgreSQL.

The receipt rows are made and stamped `read_at` by triggers
(migrations/0007_receipts_and_delivery.sql). None of these writes assigns an
id or publishes an event, so none takes the write lock: each is one statement,
atomic on its own, and several workers may run them side by side.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from chatnut import errors
from chatnut.clock import now_iso
from chatnut.store.base import PREVIEW_CHARS
from chatnut.store.postgres import queries as q

Row = dict[str, Any]
STAMPS = ("delivered_at", "read_at", "acked_at")
_AWAITING = f"""
    SELECT r.message_id, r.room_id, r.name, m.sender, r.created_at, r.delivered_at,
           r.read_at, left(m.content, {PREVIEW_CHARS}) AS preview
    FROM receipts r JOIN messages m ON m.id = r.message_id
"""


class Receipts:
    _read: Callable[..., Awaitable[Any]]

    async def receipts(self, message_ids: Sequence[int]) -> dict[int, dict[str, Row]]:
        found: dict[int, dict[str, Row]] = {}
        if not message_ids:
            return found
        rows = await self._read(
            lambda conn: conn.fetch(
                "SELECT message_id, name, delivered_at, read_at, acked_at FROM receipts"
                ' WHERE message_id = ANY ($1::bigint[]) ORDER BY message_id, name COLLATE "C"',
                list(message_ids),
            )
        )
        for row in rows:
            found.setdefault(int(row["message_id"]), {})[row["name"]] = {s: row[s] for s in STAMPS}
        return found

    async def mark_delivered(self, name: str, message_ids: Sequence[int]) -> None:
        if not message_ids:
            return
        await self._read(
            lambda conn: conn.execute(
                "UPDATE receipts SET delivered_at = $1 WHERE name = $2"
                " AND message_id = ANY ($3::bigint[]) AND delivered_at IS NULL",
                now_iso(),
                name,
                list(message_ids),
            )
        )

    async def ack_message(self, room_id: str, message_id: int, name: str) -> Row:
        async def write(conn: Any) -> Any:
            stamp = now_iso()
            row = await conn.fetchrow(
                "UPDATE receipts SET acked_at = coalesce(acked_at, $1),"
                " delivered_at = coalesce(delivered_at, $1)"
                " WHERE message_id = $2 AND name = $3 AND room_id = $4"
                " RETURNING delivered_at, read_at, acked_at",
                stamp,
                message_id,
                name,
                room_id,
            )
            if row is not None:
                return row
            if await conn.fetchrow(q.ROOM_BY_ID, room_id) is None:
                raise errors.room_missing(room_id)
            found = await conn.fetchval(
                "SELECT 1 FROM messages WHERE id = $1 AND room_id = $2", message_id, room_id
            )
            if found is None:
                raise errors.message_missing(message_id, room_id)
            raise errors.not_addressee(name, message_id)

        row = await self._read(write)
        receipt = {s: row[s] for s in STAMPS}
        return {"room_id": room_id, "message_id": message_id, "agent_name": name, **receipt}

    async def awaiting_acks(
        self, *, room_id: str | None, name: str | None, limit: int
    ) -> list[Row]:
        async def read(conn: Any) -> Any:
            if room_id is not None:
                if await conn.fetchrow(q.ROOM_BY_ID, room_id) is None:
                    raise errors.room_missing(room_id)
                return await conn.fetch(
                    f"{_AWAITING} WHERE r.room_id = $1 AND ($2::text IS NULL OR r.name = $2)"
                    " AND r.ack_required AND r.acked_at IS NULL"
                    ' ORDER BY r.message_id, r.name COLLATE "C" LIMIT $3',
                    room_id,
                    name,
                    limit,
                )
            return await conn.fetch(
                f"{_AWAITING} JOIN rooms o ON o.id = r.room_id AND o.status = 'live'"
                " WHERE r.name = $1 AND r.ack_required AND r.acked_at IS NULL"
                " ORDER BY r.message_id LIMIT $2",
                name,
                limit,
            )

        rows = await self._read(read)
        return [{**dict(r), "message_id": int(r["message_id"])} for r in rows]

    async def delivery_lease(
        self, name: str, holder: str, *, now: float, until: float, start_id: int
    ) -> int | None:
        row = await self._read(
            lambda conn: conn.fetchrow(
                """
                INSERT INTO delivery_cursors AS d (name, last_id, holder, lease_until, updated_at)
                VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (name) DO UPDATE SET
                    holder = excluded.holder, lease_until = excluded.lease_until
                WHERE d.holder IS NULL OR d.holder = $3 OR d.lease_until < $6
                RETURNING d.last_id
                """,
                name,
                start_id,
                holder,
                until,
                now_iso(),
                now,
            )
        )
        return None if row is None else int(row["last_id"])

    async def delivery_advance(self, name: str, holder: str, through: int) -> bool:
        status = await self._read(
            lambda conn: conn.execute(
                "UPDATE delivery_cursors SET last_id = greatest(last_id, $1), updated_at = $2"
                " WHERE name = $3 AND holder = $4",
                through,
                now_iso(),
                name,
                holder,
            )
        )
        return bool(str(status).endswith(" 1"))

    async def delivery_release(self, name: str, holder: str) -> None:
        await self._read(
            lambda conn: conn.execute(
                "UPDATE delivery_cursors SET holder = NULL, lease_until = 0"
                " WHERE name = $1 AND holder = $2",
                name,
                holder,
            )
        )
