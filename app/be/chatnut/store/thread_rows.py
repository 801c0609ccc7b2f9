"""Threads as every caller sees them, whatever the backend.

A reply is a message whose metadata names its parent (`reply_to`). Each
store looks replies up by (room, parent) in an index of its own (SQLite's
0015, PostgreSQL's 0014 migration); this module shapes what they find.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chatnut.shapes.messages import Replies

# A page's messages are asked about at most this many at a time.
MAX_REPLY_COUNT_IDS = 500
# A thread pane reads its replies this many at a time by default.
THREAD_PAGE = 100


def reply_counts(rows: Iterable[Any]) -> dict[int, Replies]:
    """{parent id: {count, last_id, last_at, last_sender}} from rows of
    (parent, count, last_id, last_at, last_sender)."""
    return {
        int(row["parent"]): {
            "count": int(row["count"]),
            "last_id": int(row["last_id"]),
            "last_at": row["last_at"],
            "last_sender": row["last_sender"],
        }
        for row in rows
    }
