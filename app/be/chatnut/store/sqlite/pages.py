"""The SQL behind the web page at a team's scale (SPEC §7): a room's messages
around one id, one page of the sidebar, the sidebar's totals, and a reader's
first visit. Each answer is bounded by what one screen shows, never by the
number of rooms or messages.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from chatnut.store.sqlite.queries import (
    MESSAGE_COLUMNS,
    SUMMARY_ORDER,
    SUMMARY_SELECT,
    message_dict,
    summary_dict,
)

# A room has unread messages for a reader exactly when its newest id is above
# the reader's cursor: one comparison per room, no counting.
HAS_UNREAD = "coalesce(s.last_message_id, 0) > coalesce(c.last_read_message_id, 0)"


def message_window(
    conn: sqlite3.Connection, room_id: str, around: int, limit: int
) -> tuple[list[dict[str, Any]], bool, bool]:
    """About `limit` messages of a room centred on `around` (which need not
    exist), oldest first, and whether older / newer ones remain beyond them."""
    half = limit // 2
    older = conn.execute(
        f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE room_id = ? AND id < ?"
        " ORDER BY id DESC LIMIT ?",
        (room_id, around, half + 1),
    ).fetchall()
    newer = conn.execute(
        f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE room_id = ? AND id >= ?"
        " ORDER BY id ASC LIMIT ?",
        (room_id, around, limit - half + 1),
    ).fetchall()
    has_older = len(older) > half
    has_newer = len(newer) > limit - half
    rows = [*reversed(older[:half]), *newer[: limit - half]]
    return [message_dict(r) for r in rows], has_older, has_newer


def sidebar_page(
    conn: sqlite3.Connection,
    reader: str | None,
    *,
    project: str | None,
    status: str,
    unread_only: bool,
    name_contains: str | None,
    offset: int,
    limit: int,
) -> tuple[list[dict[str, Any]], bool]:
    """One page of room summaries, newest activity first; `has_more` if more follow."""
    clauses: list[str] = []
    params: list[Any] = [reader or ""]
    if status != "all":
        clauses.append("r.status = ?")
        params.append(status)
    if project is not None:
        clauses.append("r.project = ?")
        params.append(project)
    if unread_only:
        clauses.append(HAS_UNREAD)
    if name_contains:
        # instr, not LIKE: the user's % and _ are plain characters.
        clauses.append("instr(lower(r.name), lower(?)) > 0")
        params.append(name_contains)
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    rows = conn.execute(
        SUMMARY_SELECT + where + SUMMARY_ORDER + " LIMIT ? OFFSET ?",
        [*params, limit + 1, offset],
    ).fetchall()
    return [summary_dict(conn, row, reader) for row in rows[:limit]], len(rows) > limit


def sidebar_totals(conn: sqlite3.Connection, reader: str | None) -> list[dict[str, Any]]:
    """Per project: live and archived rooms, and unread messages in live rooms.

    Archived rooms never count as unread (one rule, everywhere). Messages are
    counted only in rooms that have unread ones, from the reader's cursor up.
    """
    rows = conn.execute(
        f"""
        SELECT r.project,
               sum(r.status = 'live') AS live,
               sum(r.status != 'live') AS archived,
               sum(CASE WHEN r.status = 'live' AND {HAS_UNREAD} THEN
                   CASE WHEN coalesce(c.last_read_message_id, 0) = 0
                        THEN s.message_count
                        ELSE (SELECT count(*) FROM messages x
                              WHERE x.room_id = r.id AND x.id > c.last_read_message_id)
                   END ELSE 0 END) AS unread,
               sum(r.status = 'live' AND {HAS_UNREAD}) AS unread_rooms
        FROM rooms r
        LEFT JOIN room_stats s ON s.room_id = r.id
        LEFT JOIN read_cursors c ON c.room_id = r.id AND c.reader = ?
        GROUP BY r.project ORDER BY r.project
        """,
        (reader or "",),
    ).fetchall()
    return [
        {
            "project": row["project"],
            "live": int(row["live"] or 0),
            "archived": int(row["archived"] or 0),
            "unread": int(row["unread"] or 0) if reader is not None else 0,
            "unread_rooms": int(row["unread_rooms"] or 0) if reader is not None else 0,
        }
        for row in rows
    ]


def unread_of_rooms(conn: sqlite3.Connection, reader: str, room_ids: list[str]) -> dict[str, int]:
    """Unread messages of the given live rooms for a reader (archived: 0)."""
    counts = {}
    for room_id in room_ids:
        row = conn.execute(
            """
            SELECT r.status, coalesce(s.message_count, 0) AS total,
                   coalesce(c.last_read_message_id, 0) AS cursor
            FROM rooms r LEFT JOIN room_stats s ON s.room_id = r.id
            LEFT JOIN read_cursors c ON c.room_id = r.id AND c.reader = ?
            WHERE r.id = ?
            """,
            (reader, room_id),
        ).fetchone()
        if row is None:
            continue
        if row["status"] != "live":
            counts[room_id] = 0
        elif not row["cursor"]:
            counts[room_id] = int(row["total"])
        else:
            counts[room_id] = int(
                conn.execute(
                    "SELECT count(*) FROM messages WHERE room_id = ? AND id > ?",
                    (room_id, row["cursor"]),
                ).fetchone()[0]
            )
    return counts


def catch_up(conn: sqlite3.Connection, reader: str, now: str) -> int:
    """Move the reader's cursor in every room to its newest message; returns rooms moved."""
    cur = conn.execute(
        """
        INSERT INTO read_cursors (room_id, reader, last_read_message_id, updated_at)
        SELECT s.room_id, ?, s.last_message_id, ? FROM room_stats s
        WHERE s.last_message_id IS NOT NULL
        ON CONFLICT (room_id, reader) DO UPDATE SET
            last_read_message_id = excluded.last_read_message_id,
            updated_at = excluded.updated_at
        WHERE excluded.last_read_message_id > read_cursors.last_read_message_id
        """,
        (reader, now),
    )
    return cur.rowcount
