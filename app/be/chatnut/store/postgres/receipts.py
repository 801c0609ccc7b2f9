"""Receipts of directed messages and the push cursors, on PostgreSQL.

The receipt rows are made and stamped `read_at` by triggers
(migrations/0007_receipts_and_delivery.sql). A stamp publishes a `receipt`
event for its room, so it is written under the write lock (event seq order is
commit order) and only when there is something to stamp; reads and the push
cursor's writes publish nothing and take no lock.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from chatnut import errors
from chatnut.clock import now_iso
from chatnut.shapes.coordination import Ack
from chatnut.shapes.messages import Receipt
from chatnut.shapes.receipts import Awaiting
from chatnut.store.base import PREVIEW_CHARS, RECEIPT_EVENT_ROWS
from chatnut.store.postgres import queries as q
from chatnut.store.rows import (
    RECEIPT_EVENT_COLUMNS,
    ack_dict,
    awaiting_dict,
    receipt_changes,
    receipt_dict,
)

Row = dict[str, Any]
STAMPS = ("delivered_at", "read_at", "acked_at")
_AWAITING = f"""
    SELECT r.message_id, r.room_id, r.name, m.sender, r.created_at, r.delivered_at,
           r.read_at, left(m.content, {PREVIEW_CHARS}) AS preview
    FROM receipts r JOIN messages m ON m.id = r.message_id
"""


PendingEvent = tuple[str, str, Mapping[str, Any]]


async def receipt_events(conn: Any, keys: Sequence[tuple[int, str]], more: bool = False) -> Any:
    """`receipt` events for these (message id, name) receipts as they stand now."""
    rows = await conn.fetch(
        f"SELECT {RECEIPT_EVENT_COLUMNS} FROM receipts"
        " WHERE (message_id, name) IN (SELECT * FROM unnest($1::bigint[], $2::text[]))"
        " ORDER BY message_id DESC",
        [k[0] for k in keys],
        [k[1] for k in keys],
    )
    return [("receipt", room_id, data) for room_id, data in receipt_changes(rows, more)]


async def unread_receipts(
    conn: Any, room_id: str, reader: str, through: int
) -> tuple[list[tuple[int, str]], bool]:
    """The receipts a cursor move to `through` is about to stamp read (the newest
    RECEIPT_EVENT_ROWS of them, and whether there are more), by the partial index."""
    rows = await conn.fetch(
        "SELECT message_id, name FROM receipts WHERE room_id = $1 AND name = lower(btrim($2))"
        " AND message_id <= $3 AND read_at IS NULL ORDER BY message_id DESC LIMIT $4",
        room_id,
        reader,
        through,
        RECEIPT_EVENT_ROWS + 1,
    )
    keys = [(int(r["message_id"]), r["name"]) for r in rows]
    return keys[:RECEIPT_EVENT_ROWS], len(keys) > RECEIPT_EVENT_ROWS


class Receipts:
    _read: Callable[..., Awaitable[Any]]
    _write: Callable[..., Awaitable[Any]]

    async def receipts(
        self, message_ids: Sequence[int], room_id: str | None = None
    ) -> dict[int, dict[str, Receipt]]:
        found: dict[int, dict[str, Receipt]] = {}
        if not message_ids:
            return found
        rows = await self._read(
            lambda conn: conn.fetch(
                "SELECT message_id, name, delivered_at, read_at, acked_at FROM receipts"
                " WHERE message_id = ANY ($1::bigint[]) AND ($2::text IS NULL OR room_id = $2)"
                ' ORDER BY message_id, name COLLATE "C"',
                list(message_ids),
                room_id,
            )
        )
        for row in rows:
            found.setdefault(int(row["message_id"]), {})[row["name"]] = receipt_dict(row)
        return found

    async def mark_delivered(self, name: str, message_ids: Sequence[int]) -> None:
        if not message_ids:
            return
        ids = list(message_ids)
        fresh = await self._read(
            lambda conn: conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM receipts WHERE name = $1"
                " AND message_id = ANY ($2::bigint[]) AND delivered_at IS NULL)",
                name,
                ids,
            )
        )
        if not fresh:  # the common case takes no lock
            return

        async def write(conn: Any) -> tuple[None, list[PendingEvent]]:
            rows = await conn.fetch(
                "UPDATE receipts SET delivered_at = $1 WHERE name = $2"
                " AND message_id = ANY ($3::bigint[]) AND delivered_at IS NULL"
                " RETURNING message_id",
                now_iso(),
                name,
                ids,
            )
            keys = [(int(r["message_id"]), name) for r in rows]
            return None, (await receipt_events(conn, keys)) if keys else []

        await self._write(write)

    async def ack_message(self, room_id: str, message_id: int, name: str) -> Ack:
        async def write(conn: Any) -> tuple[Any, list[PendingEvent]]:
            stamp = now_iso()
            changed = await conn.fetchrow(
                "UPDATE receipts SET acked_at = $1, delivered_at = coalesce(delivered_at, $1)"
                " WHERE message_id = $2 AND name = $3 AND room_id = $4 AND acked_at IS NULL"
                " RETURNING 1",
                stamp,
                message_id,
                name,
                room_id,
            )
            row = await conn.fetchrow(
                "SELECT delivered_at, read_at, acked_at FROM receipts"
                " WHERE message_id = $1 AND name = $2 AND room_id = $3",
                message_id,
                name,
                room_id,
            )
            if row is not None:
                events = await receipt_events(conn, [(message_id, name)]) if changed else []
                return row, events
            if await conn.fetchrow(q.ROOM_BY_ID, room_id) is None:
                raise errors.room_missing(room_id)
            found = await conn.fetchval(
                "SELECT 1 FROM messages WHERE id = $1 AND room_id = $2", message_id, room_id
            )
            if found is None:
                raise errors.message_missing(message_id, room_id)
            raise errors.not_addressee(name, message_id)

        return ack_dict(room_id, message_id, name, await self._write(write))

    async def awaiting_acks(
        self, *, room_id: str | None, name: str | None, limit: int
    ) -> list[Awaiting]:
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
        return [awaiting_dict(r) for r in rows]

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
