"""The SQL of chatnut on PostgreSQL: the reads, and the row shapes every read returns.

The same results as store/sqlite/queries.py, in PostgreSQL's dialect
(`$n` parameters, ILIKE for case-insensitive substrings over pg_trgm).
Rows are asyncpg Records; these turn them into the plain dicts the service
hands out.
"""

from __future__ import annotations

from typing import Any

from chatnut.shapes.rooms import RoomSummary
from chatnut.store import rows
from chatnut.store.base import PREVIEW_CHARS, SEARCH_HIT_CAP, SEARCH_ROOM_LIMIT, SearchFilter

# Re-exported: the row shapes are shared by both backends (store/rows.py).
from chatnut.store.rows import MESSAGE_COLUMNS as MESSAGE_COLUMNS
from chatnut.store.rows import ROOM_COLUMNS as ROOM_COLUMNS
from chatnut.store.rows import message_dict as message_dict
from chatnut.store.rows import room_dict as room_dict
from chatnut.validation import AGENT_NAME

ROOM_COLUMNS_R = ", ".join("r." + c.strip() for c in ROOM_COLUMNS.split(","))
M_COLUMNS = ", ".join("m." + c for c in MESSAGE_COLUMNS.split(", "))


EVENTS_AFTER = """
    SELECT e.seq, e.kind, e.room_id, e.data,
           m.id, m.sender, m.content, m.message_type, m.created_at, m.metadata,
           m.recipients, m.addressees, m.principal, m.edited_at, m.deleted_at
    FROM events e LEFT JOIN messages m ON m.id = e.message_id
    WHERE e.seq > $1 ORDER BY e.seq LIMIT $2
"""

ROOM_BY_ID = f"SELECT {ROOM_COLUMNS} FROM rooms WHERE id = $1"
ROOM_BY_NAME = f"SELECT {ROOM_COLUMNS} FROM rooms WHERE project = $1 AND name = $2"
NEWEST_MESSAGE_ID = "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM message_ids"
# The newest id this snapshot can see. Not the sequence: a post takes its id
# before it commits, so the sequence may name a message no reader sees yet; a
# read bounded by it would report that id as looked at, and whoever it is
# addressed to would never read it. Ids become visible in order (the write
# lock), so nothing at or below this bound can still appear.
NEWEST_VISIBLE_ID = "SELECT coalesce(max(id), 0) FROM messages"
# A room's statuses (most recently updated first) and registered agents (by name).
STATUSES = (
    "SELECT room_id, sender, status, updated_at, principal FROM room_status WHERE room_id = $1"
    " ORDER BY updated_at DESC, sender"
)
AGENTS = (
    "SELECT room_id, agent_name, task_id, registered_at, principal FROM agent_registry"
    " WHERE room_id = $1 ORDER BY agent_name"
)
ARCHIVE = "UPDATE rooms SET status = 'archived', archived_at = $1 WHERE id = $2"


def room_filter(
    project: str | None, status: str, room_id: str | None, first: int
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for clause, value in (
        ("r.status = ${}", None if status == "all" else status),
        ("r.project = ${}", project),
        ("r.id = ${}", room_id),
    ):
        if value is not None:
            clauses.append(clause.format(first + len(params)))
            params.append(value)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def list_rooms(project: str | None, status: str) -> tuple[str, list[Any]]:
    where, params = room_filter(project, status, None, 1)
    return f"SELECT {ROOM_COLUMNS_R} FROM rooms r{where} ORDER BY r.created_at DESC, r.id", params


def summary_select(with_unread: bool) -> str:
    """Room summaries' SELECT ... FROM (the reader is $1): counts from room_stats,
    unread as a range count above the reader's cursor."""
    unread = (
        """, CASE WHEN coalesce(c.last_read_message_id, 0) = 0
                  THEN coalesce(s.message_count, 0)
                  ELSE (SELECT count(*) FROM messages u
                        WHERE u.room_id = r.id AND u.id > c.last_read_message_id)
             END AS unread_count"""
        if with_unread
        else ""
    )
    return f"""
        SELECT {ROOM_COLUMNS_R},
               coalesce(s.message_count, 0) AS message_count,
               m.id AS last_id, m.sender AS last_sender,
               substr(m.content, 1, {PREVIEW_CHARS}) AS last_content,
               m.message_type AS last_type, m.created_at AS last_created_at,
               m.recipients AS last_to, c.last_read_message_id AS cursor{unread}
        FROM rooms r
        LEFT JOIN room_stats s ON s.room_id = r.id
        LEFT JOIN messages m ON m.id = s.last_message_id
        LEFT JOIN read_cursors c ON c.room_id = r.id AND c.reader = $1
    """


# Newest activity first; rooms without messages by creation.
SUMMARY_ORDER = " ORDER BY coalesce(m.id, 0) DESC, r.created_at DESC, r.id"


def room_summaries(
    project: str | None, status: str, reader: str | None, room_id: str | None
) -> tuple[str, list[Any]]:
    where, params = room_filter(project, status, room_id, 2)
    return summary_select(reader is not None) + where + SUMMARY_ORDER, [reader or "", *params]


def summary_dict(row: Any, with_unread: bool) -> RoomSummary:
    return rows.summary_dict(row, int(row["unread_count"]) if with_unread else None)


def message_page(
    room_id: str | None,
    *,
    limit: int,
    after: int | None,
    before: int | None,
    message_type: str | None,
    newest: bool,
) -> tuple[str, list[Any]]:
    clauses, params = [], []
    for clause, value in (
        ("room_id = ${}", room_id),
        ("id > ${}", after),
        ("id < ${}", before),
        ("message_type = ${}", message_type),
    ):
        if value is not None:
            params.append(value)
            clauses.append(clause.format(len(params)))
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    params.append(limit + 1)
    order = "DESC" if newest else "ASC"
    return (
        f"SELECT {MESSAGE_COLUMNS} FROM messages{where} ORDER BY id {order} LIMIT ${len(params)}",
        params,
    )


IDLE_LIVE_ROOMS = """
    SELECT r.id FROM rooms r
    LEFT JOIN room_stats s ON s.room_id = r.id
    LEFT JOIN messages m ON m.id = s.last_message_id
    WHERE r.status = 'live' AND coalesce(m.created_at, r.created_at) < $1
"""


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_rooms(likes: list[str], project: str | None) -> tuple[str, list[Any]]:
    params: list[Any] = [SEARCH_ROOM_LIMIT]
    clauses = []
    for like in likes:
        params.append(like)
        clauses.append(f" AND name ILIKE ${len(params)}")
    if project is not None:
        params.append(project)
        clauses.append(f" AND project = ${len(params)}")
    return (
        f"SELECT {ROOM_COLUMNS} FROM rooms WHERE true{''.join(clauses)}"
        " ORDER BY created_at DESC LIMIT $1",
        params,
    )


def _mention_pattern(name: str) -> str | None:
    """The regular expression of an @mention of `name`, as a post's mentions are
    found; None for a name no mention can spell (so it needs no escaping)."""
    if not AGENT_NAME.match(name):
        return None
    return rf"(^|[^\w])@{name}($|[^\w-])"


def search_hits(likes: list[str], where: SearchFilter) -> tuple[str, list[Any]]:
    """Newest hits first. pg_trgm's GIN index serves ILIKE '%q%' for 3+ characters;
    shorter queries scan the newest messages (as on SQLite), both capped."""
    params: list[Any] = [SEARCH_HIT_CAP + 1]  # one more: whether it is capped
    clauses = [" AND m.deleted_at IS NULL"]  # a tombstone is no hit, even by sender
    for clause, value in (
        *(("m.content ILIKE ${}", like) for like in likes),
        ("r.project = ${}", where.project),
        ("m.room_id = ${}", where.room_id),
        ("lower(m.sender) = lower(${})", where.sender),
        ("m.created_at >= ${}", where.after),
        ("m.created_at < ${}", where.before),
        ("m.id < ${}", where.before_id),
        ("m.room_id IN (SELECT id FROM rooms WHERE lower(name) = lower(${}))", where.room_name),
    ):
        if value is not None:
            params.append(value)
            clauses.append(" AND " + clause.format(len(params)))
    if where.to is not None:
        # Started from the few candidates (the recipients' key, the trigram
        # index for "@name"), then checked exactly.
        name = where.to.lower()
        params.append(name)
        recipients = f"SELECT message_id FROM message_recipients WHERE name = ${len(params)}"
        pattern = _mention_pattern(name)
        if pattern is None:
            clauses.append(f" AND m.id IN ({recipients})")
        else:
            params += [f"%@{escape_like(name)}%", pattern]
            mentioning = f"SELECT id FROM messages WHERE content ILIKE ${len(params) - 1}"
            # An array, not IN: the planner then fetches the candidates by key
            # instead of scanning every message through the regular expression.
            clauses.append(
                f" AND m.id = ANY(ARRAY({recipients} UNION {mentioning}))"
                f" AND (m.id IN ({recipients}) OR m.content ~* ${len(params)})"
            )
    if where.has_code:
        clauses.append(" AND m.content LIKE '%`%`%'")
    return (
        f"""
        SELECT m.id, m.room_id FROM messages m JOIN rooms r ON r.id = m.room_id
        WHERE true{"".join(clauses)}
        ORDER BY m.id DESC LIMIT $1
        """,
        params,
    )


SEARCH_SHOWN = (
    "SELECT id, room_id, sender, created_at, content FROM messages"
    " WHERE id = ANY($1) ORDER BY id DESC"
)
