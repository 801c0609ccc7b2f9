"""The SQL behind the web page at a team's scale: a room's messages
around one id, one page of the sidebar, the sidebar's totals, and a reader's
first visit. Each answer is bounded by what one screen shows, never by the
number of rooms or messages.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from chatnut.shapes.messages import Message
from chatnut.shapes.rooms import ProjectTotals, RoomSummary
from chatnut.store.sqlite.queries import (
    MESSAGE_COLUMNS,
    SUMMARY_SELECT,
    message_dict,
    summary_dict,
)

# A room has unread messages for a reader exactly when its newest id is above
# the reader's cursor: one comparison per room, no counting.
HAS_UNREAD = "coalesce(s.last_message_id, 0) > coalesce(c.last_read_message_id, 0)"


def message_window(
    conn: sqlite3.Connection, room_id: str, around: int, limit: int
) -> tuple[list[Message], bool, bool]:
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


# The sidebar's order (SUMMARY_ORDER's, as SQLite sorts NULL lowest) written so
# the room_stats activity index (0006_sidebar_activity) can drive it.
PAGE_ORDER = " ORDER BY s.last_message_id DESC, r.created_at DESC, r.id"


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
) -> tuple[list[RoomSummary], bool]:
    """One page of room summaries, newest activity first; `has_more` if more follow.

    Two steps: the page's room ids, then their summaries. The first reads only
    narrow rows; without a selective filter it walks the activity index newest
    first (CROSS JOIN keeps room_stats outermost: SQLite's planner would
    otherwise start from the status index and sort every room), so the first
    page of 10 000 rooms reads about a page of rows.
    """
    clauses: list[str] = []
    params: list[Any] = []
    if status != "all":
        clauses.append("r.status = ?")
        params.append(status)
    if project is not None:
        clauses.append("r.project = ?")
        params.append(project)
    cursors = ""
    if unread_only:
        cursors = " LEFT JOIN read_cursors c ON c.room_id = r.id AND c.reader = ?"
        params.insert(0, reader or "")
        clauses.append(HAS_UNREAD)
    if name_contains:
        # instr, not LIKE: the user's % and _ are plain characters.
        clauses.append("instr(lower(r.name), lower(?)) > 0")
        params.append(name_contains)
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    # A selective filter leaves few rows to sort: let the planner pick.
    join = " JOIN " if unread_only or name_contains else " CROSS JOIN "
    ids = [
        row[0]
        for row in conn.execute(
            f"SELECT r.id FROM room_stats s{join}rooms r ON r.id = s.room_id{cursors}"
            f"{where}{PAGE_ORDER} LIMIT ? OFFSET ?",
            [*params, limit + 1, offset],
        )
    ]
    if not ids:
        return [], False
    shown = ids[:limit]
    rows = conn.execute(
        SUMMARY_SELECT + f" WHERE r.id IN ({', '.join('?' * len(shown))})" + PAGE_ORDER,
        [reader or "", *shown],
    ).fetchall()
    return [summary_dict(conn, row, reader) for row in rows], len(ids) > limit


def sidebar_totals(conn: sqlite3.Connection, reader: str | None) -> list[ProjectTotals]:
    """Per project: live and archived rooms, and unread messages in live rooms.

    Archived rooms never count as unread (one rule, everywhere). Rooms are
    counted from the (status, project) index alone; unread ones are those whose
    newest id is above the reader's cursor, and their messages are counted
    from the cursor up (all of them when the reader has no cursor there).
    """
    projects: dict[str, ProjectTotals] = {}
    for row in conn.execute(
        "SELECT project, status, count(*) FROM rooms GROUP BY project, status ORDER BY project"
    ):
        found = projects.setdefault(
            row[0],
            {"project": row[0], "live": 0, "archived": 0, "unread": 0, "unread_rooms": 0},
        )
        found["live" if row[1] == "live" else "archived"] += int(row[2])
    if reader is not None:
        for row in conn.execute(
            f"""
            SELECT r.project, count(*) AS rooms,
                   sum(CASE WHEN coalesce(c.last_read_message_id, 0) = 0 THEN s.message_count
                            ELSE (SELECT count(*) FROM messages x
                                  WHERE x.room_id = s.room_id AND x.id > c.last_read_message_id)
                       END) AS unread
            FROM room_stats s
            JOIN rooms r ON r.id = s.room_id
            LEFT JOIN read_cursors c ON c.room_id = s.room_id AND c.reader = ?
            WHERE r.status = 'live' AND {HAS_UNREAD}
            GROUP BY r.project
            """,
            (reader,),
        ):
            if row[0] in projects:
                projects[row[0]]["unread"] = int(row["unread"] or 0)
                projects[row[0]]["unread_rooms"] = int(row["rooms"])
    return list(projects.values())


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


def catch_up(
    conn: sqlite3.Connection, reader: str, now: str, project: str | None, first_visit: bool
) -> list[tuple[str, int]]:
    """Move the reader's cursor in every room (of `project`) to its newest message;
    returns (room id, cursor) of the rooms moved. `first_visit`: nothing moves
    when the reader already has a cursor anywhere (it keeps its place)."""
    rows = conn.execute(
        """
        INSERT INTO read_cursors (room_id, reader, last_read_message_id, updated_at)
        SELECT s.room_id, ?1, s.last_message_id, ?2 FROM room_stats s
        WHERE s.last_message_id IS NOT NULL
          AND (?3 IS NULL OR s.room_id IN (SELECT id FROM rooms WHERE project = ?3))
          AND NOT (?4 AND EXISTS (SELECT 1 FROM read_cursors WHERE reader = ?1))
        ON CONFLICT (room_id, reader) DO UPDATE SET
            last_read_message_id = excluded.last_read_message_id,
            updated_at = excluded.updated_at
        WHERE excluded.last_read_message_id > read_cursors.last_read_message_id
        RETURNING room_id, last_read_message_id
        """,
        (reader, now, project, first_visit),
    ).fetchall()
    return [(row[0], int(row[1])) for row in rows]
