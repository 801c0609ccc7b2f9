"""The SQL of coordination: addressees, filtered reads, the inbox, handoff reads, presence.

Plain functions over a `sqlite3.Connection`, like queries.py. Every read that
reports where it stopped takes an `upto` bound (the newest message id, read
*before* the page): a message committed while the page is read is then above
the bound, so it is returned next time instead of being skipped.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from chatnut.shapes.messages import Message
from chatnut.store.sqlite.queries import MESSAGE_COLUMNS, message_dict

_M_COLUMNS = ", ".join("m." + c.strip() for c in MESSAGE_COLUMNS.split(","))


def add_recipients(
    conn: sqlite3.Connection, message_id: int, room_id: str, names: list[str]
) -> None:
    conn.executemany(
        "INSERT INTO message_recipients (name, message_id, room_id) VALUES (?, ?, ?)",
        [(name, message_id, room_id) for name in names],
    )


def addressed_page(
    conn: sqlite3.Connection,
    name: str,
    *,
    room_id: str | None,
    after: int,
    upto: int,
    limit: int,
    message_type: str | None = None,
    newest: bool = False,
) -> tuple[list[sqlite3.Row], bool]:
    """The rows of the messages addressed to `name` with after < id <= upto,
    oldest first (rows.message_dict shapes them).

    With a room: that room's (archived or not, like any read). Without: the
    inbox, every live room's, each row with its room's project and name
    (rows.inbox_message shapes them).
    `newest` takes the page from the top of the range (still returned oldest first).
    """
    clauses = ["x.name = ?", "x.message_id > ?", "x.message_id <= ?"]
    params: list[Any] = [name, after, upto]
    if room_id is not None:
        clauses.append("x.room_id = ?")
        params.append(room_id)
    if message_type is not None:
        clauses.append("m.message_type = ?")
        params.append(message_type)
    rooms = ""
    room_columns = ""
    if room_id is None:
        rooms = " JOIN rooms r ON r.id = x.room_id AND r.status = 'live'"
        room_columns = ", r.project AS room_project, r.name AS room_name"
    params.append(limit + 1)
    rows = conn.execute(
        f"SELECT {_M_COLUMNS}{room_columns} FROM message_recipients x"
        f" JOIN messages m ON m.id = x.message_id{rooms}"
        f" WHERE {' AND '.join(clauses)}"
        f" ORDER BY x.message_id {'DESC' if newest else 'ASC'} LIMIT ?",
        params,
    ).fetchall()
    if newest:
        rows = rows[:limit][::-1] + rows[limit:]
    return rows[:limit], len(rows) > limit


def latest_summary(conn: sqlite3.Connection, room_id: str, upto: int) -> Message | None:
    row = conn.execute(
        f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE room_id = ? AND message_type = 'summary'"
        " AND id <= ? ORDER BY id DESC LIMIT 1",
        (room_id, upto),
    ).fetchone()
    return message_dict(row) if row else None


def read_cursor(conn: sqlite3.Connection, room_id: str, reader: str) -> int:
    row = conn.execute(
        "SELECT last_read_message_id FROM read_cursors WHERE room_id = ? AND reader = ?",
        (room_id, reader),
    ).fetchone()
    return int(row[0]) if row else 0


def count_between(conn: sqlite3.Connection, room_id: str, after: int, upto: int) -> int:
    row = conn.execute(
        "SELECT count(*) FROM messages WHERE room_id = ? AND id > ? AND id <= ?",
        (room_id, after, upto),
    ).fetchone()
    return int(row[0])


def rooms_holding(conn: sqlite3.Connection, room_ids: list[str]) -> set[str]:
    """Which of these rooms still exist."""
    if not room_ids:
        return set()
    marks = ", ".join("?" for _ in room_ids)
    rows = conn.execute(f"SELECT id FROM rooms WHERE id IN ({marks})", room_ids).fetchall()
    return {r[0] for r in rows}


# -- presence ---------------------------------------------------------------


def presence_of(conn: sqlite3.Connection, room_id: str, names: list[str]) -> dict[str, str]:
    """Persisted last-seen times of these (lower-cased) names: the room's or the
    inbox's ('*'), whichever is newer."""
    if not names:
        return {}
    marks = ", ".join("?" for _ in names)
    rows = conn.execute(
        f"SELECT name, max(last_seen_at) FROM presence WHERE room_id IN (?, '*')"
        f" AND name IN ({marks}) GROUP BY name",
        (room_id, *names),
    ).fetchall()
    return {r[0]: r[1] for r in rows}


def save_presence(conn: sqlite3.Connection, rows: list[tuple[str, str, str]]) -> None:
    """Upsert (room_id, name, last_seen_at) rows; a time never moves back, and a
    room deleted since the call was noted gets no row."""
    conn.executemany(
        """
        INSERT INTO presence (room_id, name, last_seen_at)
        SELECT ?1, ?2, ?3 WHERE ?1 = '*' OR EXISTS (SELECT 1 FROM rooms WHERE id = ?1)
        ON CONFLICT (room_id, name) DO UPDATE SET last_seen_at = excluded.last_seen_at
        WHERE excluded.last_seen_at > presence.last_seen_at
        """,
        rows,
    )
