"""The SQL of chatnut: rooms, messages, read cursors, statuses, agents, search.

Plain functions over a `sqlite3.Connection` with `sqlite3.Row` rows; they run
on the store's threads (engine.py), return plain dicts, and know nothing of rules
or transports — the service decides what may be written, these only write it.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from chatnut.shapes.messages import Message
from chatnut.shapes.rooms import Room, RoomSummary
from chatnut.shapes.team import Agent, Status
from chatnut.store import rows
from chatnut.store.base import PREVIEW_CHARS

# Re-exported: the row shapes are shared by both backends (store/rows.py).
from chatnut.store.rows import MESSAGE_COLUMNS as MESSAGE_COLUMNS
from chatnut.store.rows import ROOM_COLUMNS as ROOM_COLUMNS
from chatnut.store.rows import agent_dict, status_dict
from chatnut.store.rows import message_dict as message_dict
from chatnut.store.rows import room_dict as room_dict

# -- rooms ------------------------------------------------------------------


def room_by_id(conn: sqlite3.Connection, room_id: str) -> Room | None:
    row = conn.execute(f"SELECT {ROOM_COLUMNS} FROM rooms WHERE id = ?", (room_id,)).fetchone()
    return room_dict(row) if row else None


def room_by_name(conn: sqlite3.Connection, project: str, name: str) -> Room | None:
    row = conn.execute(
        f"SELECT {ROOM_COLUMNS} FROM rooms WHERE project = ? AND name = ?", (project, name)
    ).fetchone()
    return room_dict(row) if row else None


def insert_room(conn: sqlite3.Connection, room: Room) -> None:
    conn.execute(
        "INSERT INTO rooms (id, name, project, branch, description, status, created_at,"
        " archived_at, metadata) VALUES (?, ?, ?, ?, ?, 'live', ?, NULL, ?)",
        (
            room["id"],
            room["name"],
            room["project"],
            room["branch"],
            room["description"],
            room["created_at"],
            None if room.get("metadata") is None else json.dumps(room["metadata"]),
        ),
    )


def archive_room(conn: sqlite3.Connection, room_id: str, archived_at: str) -> None:
    conn.execute(
        "UPDATE rooms SET status = 'archived', archived_at = ? WHERE id = ?", (archived_at, room_id)
    )


def delete_room(conn: sqlite3.Connection, room_id: str) -> int:
    """Delete a room; cascades take its messages, cursors, statuses and agents."""
    count = conn.execute("SELECT count(*) FROM messages WHERE room_id = ?", (room_id,)).fetchone()
    conn.execute("DELETE FROM rooms WHERE id = ?", (room_id,))
    return int(count[0])


def _room_filter(project: str | None, status: str) -> tuple[str, list[Any]]:
    clauses, params = [], []
    if status != "all":
        clauses.append("r.status = ?")
        params.append(status)
    if project is not None:
        clauses.append("r.project = ?")
        params.append(project)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def list_rooms(conn: sqlite3.Connection, project: str | None, status: str) -> list[Room]:
    where, params = _room_filter(project, status)
    rows = conn.execute(
        f"SELECT {', '.join('r.' + c.strip() for c in ROOM_COLUMNS.split(','))} FROM rooms r"
        f"{where} ORDER BY r.created_at DESC, r.id",
        params,
    ).fetchall()
    return [room_dict(row) for row in rows]


SUMMARY_SELECT = f"""
    SELECT {", ".join("r." + c.strip() for c in ROOM_COLUMNS.split(","))},
           coalesce(s.message_count, 0) AS message_count,
           m.id AS last_id, m.sender AS last_sender,
           substr(m.content, 1, {PREVIEW_CHARS}) AS last_content,
           m.message_type AS last_type, m.created_at AS last_created_at,
           m.recipients AS last_to,
           c.last_read_message_id AS cursor
    FROM rooms r
    LEFT JOIN room_stats s ON s.room_id = r.id
    LEFT JOIN messages m ON m.id = s.last_message_id
    LEFT JOIN read_cursors c ON c.room_id = r.id AND c.reader = ?
"""
# Newest activity first; rooms without messages by creation.
SUMMARY_ORDER = " ORDER BY coalesce(m.id, 0) DESC, r.created_at DESC, r.id"


def room_summaries(
    conn: sqlite3.Connection,
    project: str | None,
    status: str,
    reader: str | None,
    room_id: str | None = None,
) -> list[RoomSummary]:
    """Rooms with message_count, last_message preview and (for a reader) unread_count.

    Counts come from `room_stats`, kept by triggers, so listing 10 000 rooms
    never counts messages; unread is a range count above the reader's cursor.
    """
    where, params = _room_filter(project, status)
    if room_id is not None:
        where += (" AND " if where else " WHERE ") + "r.id = ?"
        params.append(room_id)
    rows = conn.execute(SUMMARY_SELECT + where + SUMMARY_ORDER, [reader or "", *params]).fetchall()
    return [summary_dict(conn, row, reader) for row in rows]


def summary_dict(conn: sqlite3.Connection, row: sqlite3.Row, reader: str | None) -> RoomSummary:
    # The unread count is a range count above the cursor here (PostgreSQL's
    # query selects it with the row).
    unread = None
    if reader is not None:
        unread = _unread(conn, row["id"], row["cursor"], row["message_count"])
    return rows.summary_dict(row, unread)


def _unread(conn: sqlite3.Connection, room_id: str, cursor: int | None, total: int) -> int:
    if not cursor:
        return int(total)
    row = conn.execute(
        "SELECT count(*) FROM messages WHERE room_id = ? AND id > ?", (room_id, cursor)
    ).fetchone()
    return int(row[0])


def list_projects(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT DISTINCT project FROM rooms ORDER BY project")]


def idle_live_rooms(conn: sqlite3.Connection, cutoff: str) -> list[str]:
    """Live rooms whose newest activity (last message, else creation) is older than cutoff."""
    rows = conn.execute(
        """
        SELECT r.id FROM rooms r
        LEFT JOIN room_stats s ON s.room_id = r.id
        LEFT JOIN messages m ON m.id = s.last_message_id
        WHERE r.status = 'live' AND coalesce(m.created_at, r.created_at) < ?
        """,
        (cutoff,),
    ).fetchall()
    return [r[0] for r in rows]


# -- messages ---------------------------------------------------------------


def insert_message(
    conn: sqlite3.Connection,
    room_id: str,
    sender: str,
    content: str,
    message_type: str,
    created_at: str,
    metadata: dict[str, Any] | None,
    recipients: list[str] | None = None,
    addressees: list[str] | None = None,
    principal: str | None = None,
) -> dict[str, Any]:
    """`recipients`: the `to` names; `addressees`: those and the registered @mentions."""
    cur = conn.execute(
        "INSERT INTO messages (room_id, sender, content, message_type, created_at, metadata,"
        " recipients, addressees, principal) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            room_id,
            sender,
            content,
            message_type,
            created_at,
            None if metadata is None else json.dumps(metadata, ensure_ascii=False),
            json.dumps(recipients, ensure_ascii=False) if recipients else None,
            json.dumps(addressees, ensure_ascii=False) if addressees else None,
            principal,
        ),
    )
    message: dict[str, Any] = {
        "id": cur.lastrowid,
        "room_id": room_id,
        "sender": sender,
        "content": content,
        "message_type": message_type,
        "created_at": created_at,
        "metadata": metadata,
    }
    if recipients:
        message["to"] = recipients
    if principal:
        message["principal"] = principal
    return message


def message_in_room(conn: sqlite3.Connection, room_id: str, message_id: int) -> bool:
    row = conn.execute(
        "SELECT 1 FROM messages WHERE id = ? AND room_id = ?", (message_id, room_id)
    ).fetchone()
    return row is not None


def message_page(
    conn: sqlite3.Connection,
    room_id: str | None,
    *,
    limit: int,
    after: int | None = None,
    before: int | None = None,
    message_type: str | None = None,
    newest: bool = False,
) -> tuple[list[Message], bool]:
    """Up to `limit` messages between the bounds, returned oldest first.

    `newest` takes the page from the top of the range (paging backwards) instead
    of the bottom; `has_more` says the range holds more than the page. With no
    room, the range spans every room (ids are global, so it is one key range).
    """
    clauses, params = [], []
    for clause, value in (
        ("room_id = ?", room_id),
        ("id > ?", after),
        ("id < ?", before),
        ("message_type = ?", message_type),
    ):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    sql = f"SELECT {MESSAGE_COLUMNS} FROM messages{where}"
    sql += f" ORDER BY id {'DESC' if newest else 'ASC'} LIMIT ?"
    params.append(limit + 1)
    rows = conn.execute(sql, params).fetchall()
    page = [message_dict(r) for r in rows[:limit]]
    if newest:
        page.reverse()
    return page, len(rows) > limit


def clear_messages(conn: sqlite3.Connection, room_id: str) -> int:
    cur = conn.execute("DELETE FROM messages WHERE room_id = ?", (room_id,))
    # Like the original: cursors point at ids that no longer exist and statuses
    # describe the cleared conversation; registrations stay (the team is the same).
    conn.execute("DELETE FROM read_cursors WHERE room_id = ?", (room_id,))
    conn.execute("DELETE FROM room_status WHERE room_id = ?", (room_id,))
    return cur.rowcount


def max_message_id(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'messages'").fetchone()
    return int(row[0]) if row else 0


# -- read cursors -----------------------------------------------------------


def advance_cursor(
    conn: sqlite3.Connection, room_id: str, reader: str, message_id: int, now: str
) -> int:
    """Move the cursor forward only; returns where it stands afterwards."""
    conn.execute(
        """
        INSERT INTO read_cursors (room_id, reader, last_read_message_id, updated_at)
        VALUES (?, ?, ?, ?)
        ON CONFLICT (room_id, reader) DO UPDATE SET
            last_read_message_id = excluded.last_read_message_id,
            updated_at = excluded.updated_at
        WHERE excluded.last_read_message_id > read_cursors.last_read_message_id
        """,
        (room_id, reader, message_id, now),
    )
    row = conn.execute(
        "SELECT last_read_message_id FROM read_cursors WHERE room_id = ? AND reader = ?",
        (room_id, reader),
    ).fetchone()
    return int(row[0])


# -- statuses ---------------------------------------------------------------


def upsert_status(
    conn: sqlite3.Connection,
    room_id: str,
    sender: str,
    status: str,
    now: str,
    principal: str | None = None,
) -> Status:
    conn.execute(
        """
        INSERT INTO room_status (room_id, sender, status, updated_at, principal)
        VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (room_id, sender) DO UPDATE SET
            status = excluded.status, updated_at = excluded.updated_at,
            principal = excluded.principal
        """,
        (room_id, sender, status, now, principal),
    )
    row = {"room_id": room_id, "sender": sender, "status": status, "updated_at": now}
    return status_dict({**row, "principal": principal})


def statuses(conn: sqlite3.Connection, room_id: str) -> list[Status]:
    rows = conn.execute(
        "SELECT room_id, sender, status, updated_at, principal FROM room_status"
        " WHERE room_id = ? ORDER BY updated_at DESC, sender",
        (room_id,),
    ).fetchall()
    return [status_dict(r) for r in rows]


# -- agent registrations ----------------------------------------------------


def upsert_agent(
    conn: sqlite3.Connection,
    room_id: str,
    agent_name: str,
    task_id: str,
    now: str,
    principal: str | None = None,
) -> Agent:
    conn.execute(
        """
        INSERT INTO agent_registry (room_id, agent_name, task_id, registered_at, principal)
        VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (room_id, agent_name) DO UPDATE SET
            task_id = excluded.task_id, registered_at = excluded.registered_at,
            principal = excluded.principal
        """,
        (room_id, agent_name, task_id, now, principal),
    )
    row = {"room_id": room_id, "agent_name": agent_name, "task_id": task_id, "registered_at": now}
    return agent_dict({**row, "principal": principal})


def agents(conn: sqlite3.Connection, room_id: str) -> list[Agent]:
    rows = conn.execute(
        "SELECT room_id, agent_name, task_id, registered_at, principal FROM agent_registry"
        " WHERE room_id = ? ORDER BY agent_name",
        (room_id,),
    ).fetchall()
    return [agent_dict(r) for r in rows]


def agents_named(conn: sqlite3.Connection, room_id: str, names: list[str]) -> dict[str, str]:
    """Registered task ids for the given lower-cased names."""
    if not names:
        return {}
    marks = ", ".join("?" for _ in names)
    rows = conn.execute(
        f"SELECT agent_name, task_id FROM agent_registry WHERE room_id = ?"
        f" AND lower(agent_name) IN ({marks})",
        (room_id, *names),
    ).fetchall()
    return {r[0].lower(): r[1] for r in rows}
