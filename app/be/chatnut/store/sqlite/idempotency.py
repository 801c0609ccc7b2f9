"""Idempotency keys on SQLite: a retried post finds the message its first try stored.

Run inside the post's write transaction (one writer), so looking a key up and
remembering it cannot interleave with another post.
"""

from __future__ import annotations

import sqlite3

from chatnut.clock import now_iso
from chatnut.shapes.messages import Message
from chatnut.store.base import idempotency_cutoff
from chatnut.store.sqlite.queries import MESSAGE_COLUMNS, message_dict

_M_COLUMNS = ", ".join("m." + c.strip() for c in MESSAGE_COLUMNS.split(","))


def first_message(conn: sqlite3.Connection, room_id: str, sender: str, key: str) -> Message | None:
    """The message stored under this key within the window, if it still exists."""
    row = conn.execute(
        f"SELECT {_M_COLUMNS} FROM idempotency_keys k JOIN messages m ON m.id = k.message_id"
        " WHERE k.room_id = ? AND k.sender = ? AND k.key = ? AND k.created_at > ?",
        (room_id, sender, key, idempotency_cutoff()),
    ).fetchone()
    return None if row is None else message_dict(row)


def remember(
    conn: sqlite3.Connection, room_id: str, sender: str, key: str, message_id: int
) -> None:
    conn.execute("DELETE FROM idempotency_keys WHERE created_at <= ?", (idempotency_cutoff(),))
    conn.execute(
        "INSERT OR REPLACE INTO idempotency_keys (room_id, sender, key, message_id, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (room_id, sender, key, message_id, now_iso()),
    )
