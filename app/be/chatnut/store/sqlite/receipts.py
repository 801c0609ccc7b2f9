"""Receipts of directed messages and the push cursors, on SQLite.

The receipt rows themselves are made and stamped `read_at` by triggers
(migrations/0009_receipts_and_delivery.sql); this mixin reads them and stamps
delivery and acks. Every write runs on the engine's single writer, and every
stamp publishes a `receipt` event for its room in the same commit.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from chatnut import errors
from chatnut.clock import now_iso
from chatnut.hub import Event
from chatnut.shapes.coordination import Ack
from chatnut.shapes.messages import Receipt
from chatnut.shapes.receipts import Awaiting
from chatnut.store.base import PREVIEW_CHARS, RECEIPT_EVENT_ROWS
from chatnut.store.rows import (
    RECEIPT_EVENT_COLUMNS,
    ack_dict,
    awaiting_dict,
    receipt_changes,
    receipt_dict,
)
from chatnut.store.sqlite import queries as q
from chatnut.store.sqlite.engine import Engine

STAMPS = ("delivered_at", "read_at", "acked_at")
_AWAITING = f"""
    SELECT r.message_id, r.room_id, r.name, m.sender, r.created_at, r.delivered_at,
           r.read_at, substr(m.content, 1, {PREVIEW_CHARS}) AS preview
    FROM receipts r JOIN messages m ON m.id = r.message_id
"""


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


def receipts_of(
    conn: sqlite3.Connection, message_ids: Sequence[int], room_id: str | None = None
) -> dict[int, dict[str, Receipt]]:
    found: dict[int, dict[str, Receipt]] = {}
    if not message_ids:
        return found
    in_room = "" if room_id is None else " AND room_id = ?"
    rows = conn.execute(
        f"SELECT message_id, name, {', '.join(STAMPS)} FROM receipts"
        f" WHERE message_id IN ({_marks(message_ids)}){in_room} ORDER BY message_id, name",
        [*message_ids, *([] if room_id is None else [room_id])],
    ).fetchall()
    for row in rows:
        found.setdefault(row["message_id"], {})[row["name"]] = receipt_dict(row)
    return found


def receipt_events(
    conn: sqlite3.Connection, keys: Sequence[tuple[int, str]], more: bool = False
) -> list[Event]:
    """`receipt` events for these (message id, name) receipts as they stand now."""
    rows = [
        conn.execute(
            f"SELECT {RECEIPT_EVENT_COLUMNS} FROM receipts WHERE message_id = ? AND name = ?",
            key,
        ).fetchone()
        for key in keys
    ]
    changes = receipt_changes([r for r in rows if r is not None], more)
    return [Event("receipt", room_id, data) for room_id, data in changes]


def unread_receipts(
    conn: sqlite3.Connection, room_id: str, reader: str, through: int
) -> tuple[list[tuple[int, str]], bool]:
    """The receipts a cursor move to `through` is about to stamp read (the newest
    RECEIPT_EVENT_ROWS of them, and whether there are more), by the partial index."""
    rows = conn.execute(
        "SELECT message_id, name FROM receipts WHERE room_id = ? AND name = lower(trim(?))"
        " AND message_id <= ? AND read_at IS NULL ORDER BY message_id DESC LIMIT ?",
        (room_id, reader, through, RECEIPT_EVENT_ROWS + 1),
    ).fetchall()
    keys = [(int(r["message_id"]), r["name"]) for r in rows]
    return keys[:RECEIPT_EVENT_ROWS], len(keys) > RECEIPT_EVENT_ROWS


class Receipts:
    engine: Engine

    async def receipts(
        self, message_ids: Sequence[int], room_id: str | None = None
    ) -> dict[int, dict[str, Receipt]]:
        ids = list(message_ids)
        found: dict[int, dict[str, Receipt]] = await self.engine.read(
            lambda c: receipts_of(c, ids, room_id)
        )
        return found

    async def mark_delivered(self, name: str, message_ids: Sequence[int]) -> None:
        ids = list(message_ids)
        if not ids:
            return

        def write(conn: sqlite3.Connection) -> tuple[None, list[Any]]:
            fresh = conn.execute(
                f"SELECT message_id FROM receipts WHERE name = ?"
                f" AND message_id IN ({_marks(ids)}) AND delivered_at IS NULL",
                [name, *ids],
            ).fetchall()
            if not fresh:
                return None, []
            keys = [(int(r["message_id"]), name) for r in fresh]
            conn.execute(
                f"UPDATE receipts SET delivered_at = ? WHERE name = ?"
                f" AND message_id IN ({_marks(keys)}) AND delivered_at IS NULL",
                [now_iso(), name, *(k[0] for k in keys)],
            )
            return None, receipt_events(conn, keys)

        await self.engine.write(write)

    async def ack_message(self, room_id: str, message_id: int, name: str) -> Ack:
        def write(conn: sqlite3.Connection) -> tuple[Ack, list[Any]]:
            if q.room_by_id(conn, room_id) is None:
                raise errors.room_missing(room_id)
            if not q.message_in_room(conn, room_id, message_id):
                raise errors.message_missing(message_id, room_id)
            stamp = now_iso()
            changed = conn.execute(
                "UPDATE receipts SET acked_at = ?, delivered_at = coalesce(delivered_at, ?)"
                " WHERE message_id = ? AND name = ? AND acked_at IS NULL",
                (stamp, stamp, message_id, name),
            ).rowcount
            row = conn.execute(
                f"SELECT {', '.join(STAMPS)} FROM receipts WHERE message_id = ? AND name = ?",
                (message_id, name),
            ).fetchone()
            if row is None:
                raise errors.not_addressee(name, message_id)
            events = receipt_events(conn, [(message_id, name)]) if changed else []
            return ack_dict(room_id, message_id, name, row), events

        receipt: Ack = await self.engine.write(write)
        return receipt

    async def awaiting_acks(
        self, *, room_id: str | None, name: str | None, limit: int
    ) -> list[Awaiting]:
        def read(conn: sqlite3.Connection) -> list[Awaiting]:
            if room_id is not None:
                if q.room_by_id(conn, room_id) is None:
                    raise errors.room_missing(room_id)
                where, params = "r.room_id = ?", [room_id]
                if name is not None:
                    where += " AND r.name = ?"
                    params.append(name)
                sql = _AWAITING
            else:
                where, params = "r.name = ?", [str(name)]
                sql = _AWAITING + " JOIN rooms o ON o.id = r.room_id AND o.status = 'live'"
            rows = conn.execute(
                f"{sql} WHERE {where} AND r.ack_required = 1 AND r.acked_at IS NULL"
                " ORDER BY r.message_id, r.name LIMIT ?",
                [*params, limit],
            ).fetchall()
            return [awaiting_dict(r) for r in rows]

        rows: list[Awaiting] = await self.engine.read(read)
        return rows

    async def delivery_lease(
        self, name: str, holder: str, *, now: float, until: float, start_id: int
    ) -> int | None:
        def write(conn: sqlite3.Connection) -> tuple[int | None, list[Any]]:
            conn.execute(
                "INSERT INTO delivery_cursors (name, last_id, holder, lease_until, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET"
                " holder = excluded.holder, lease_until = excluded.lease_until"
                " WHERE delivery_cursors.holder IS NULL OR delivery_cursors.holder = ?"
                " OR delivery_cursors.lease_until < ?",
                (name, start_id, holder, until, now_iso(), holder, now),
            )
            row = conn.execute(
                "SELECT last_id, holder FROM delivery_cursors WHERE name = ?", (name,)
            ).fetchone()
            return (int(row["last_id"]) if row["holder"] == holder else None), []

        cursor: int | None = await self.engine.write(write)
        return cursor

    async def delivery_advance(self, name: str, holder: str, through: int) -> bool:
        def write(conn: sqlite3.Connection) -> tuple[bool, list[Any]]:
            cur = conn.execute(
                "UPDATE delivery_cursors SET last_id = max(last_id, ?), updated_at = ?"
                " WHERE name = ? AND holder = ?",
                (through, now_iso(), name, holder),
            )
            return cur.rowcount > 0, []

        moved: bool = await self.engine.write(write)
        return moved

    async def delivery_release(self, name: str, holder: str) -> None:
        def write(conn: sqlite3.Connection) -> tuple[None, list[Any]]:
            conn.execute(
                "UPDATE delivery_cursors SET holder = NULL, lease_until = 0"
                " WHERE name = ? AND holder = ?",
                (name, holder),
            )
            return None, []

        await self.engine.write(write)
