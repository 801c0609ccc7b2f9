"""Search: room names by LIKE, message content through the FTS5 trigram index.

Substring semantics like the original's `LIKE '%q%'` (case-insensitive); the
trigram index cannot serve one- or two-character queries, which scan the
newest messages instead, capped like every other query.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from chatnut.shapes.search import RoomName, SearchPage, SearchResult
from chatnut.store.base import (
    SEARCH_HIT_CAP,
    SEARCH_MESSAGE_LIMIT,
    SEARCH_ROOM_LIMIT,
    SearchFilter,
    hit_dict,
    rank_rooms,
    search_result,
)
from chatnut.store.sqlite.queries import ROOM_COLUMNS, room_dict


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(conn: sqlite3.Connection, query: str, project: str | None) -> SearchResult:
    """The original's search: rooms, per-room hit counts, the newest message hits."""
    return search_result(search_page(conn, query, SearchFilter(project=project)))


def _hit_clauses(where: SearchFilter) -> tuple[str, list[Any]]:
    clauses, params = [], []
    for clause, value in (
        ("r.project = ?", where.project),
        ("m.room_id = ?", where.room_id),
        ("lower(m.sender) = lower(?)", where.sender),
        ("m.created_at >= ?", where.after),
        ("m.created_at < ?", where.before),
        ("m.id < ?", where.before_id),
    ):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    return "".join(f" AND {c}" for c in clauses), params


def search_page(conn: sqlite3.Connection, query: str, where: SearchFilter) -> SearchPage:
    """Rooms by name, then a page of message hits from `where.offset` among the
    newest SEARCH_HIT_CAP, with per-room counts and the total (capped)."""
    like = f"%{_escape_like(query)}%"
    room_sql = f"SELECT {ROOM_COLUMNS} FROM rooms WHERE name LIKE ? ESCAPE '\\'"
    room_params: list[Any] = [like]
    if where.project is not None:
        room_sql += " AND project = ?"
        room_params.append(where.project)
    room_sql += " ORDER BY created_at DESC LIMIT ?"
    room_params.append(SEARCH_ROOM_LIMIT)
    first_page = not where.offset and where.before_id is None
    rooms = [room_dict(r) for r in conn.execute(room_sql, room_params)] if first_page else []

    extra, extra_params = _hit_clauses(where)
    if len(query) >= 3:
        # A quoted FTS5 phrase over trigrams is exactly "contains this substring".
        phrase = '"' + query.replace('"', '""') + '"'
        hits_sql = f"""
            SELECT m.id, m.room_id
            FROM messages_fts f
            JOIN messages m ON m.id = f.rowid
            JOIN rooms r ON r.id = m.room_id
            WHERE messages_fts MATCH ?{extra}
            ORDER BY f.rowid DESC LIMIT ?
        """
        params: list[Any] = [phrase]
    else:
        # Trigrams cannot index one or two characters: scan newest first, capped.
        hits_sql = f"""
            SELECT m.id, m.room_id
            FROM messages m
            JOIN rooms r ON r.id = m.room_id
            WHERE m.content LIKE ? ESCAPE '\\'{extra}
            ORDER BY m.id DESC LIMIT ?
        """
        params = [like]
    params += [*extra_params, SEARCH_HIT_CAP + 1]
    hits = conn.execute(hits_sql, params).fetchall()
    capped = len(hits) > SEARCH_HIT_CAP
    hits = hits[:SEARCH_HIT_CAP]

    message_rooms = rank_rooms([(hit["id"], hit["room_id"]) for hit in hits])
    page = hits[where.offset : where.offset + SEARCH_MESSAGE_LIMIT]
    shown = [hit["id"] for hit in page]
    rows = (
        conn.execute(
            "SELECT id, room_id, sender, created_at, content FROM messages"
            f" WHERE id IN ({', '.join('?' for _ in shown)}) ORDER BY id DESC",
            shown,
        ).fetchall()
        if shown
        else []
    )
    messages = [hit_dict(row, query) for row in rows]
    named = sorted({m["room_id"] for m in messages} | {r["room_id"] for r in message_rooms})
    names: dict[str, RoomName] = {
        row["id"]: {"name": row["name"], "project": row["project"]}
        for row in conn.execute(
            f"SELECT id, name, project FROM rooms WHERE id IN ({', '.join('?' for _ in named)})",
            named,
        )
    }
    return {
        "rooms": rooms,
        "message_rooms": message_rooms,
        "messages": messages,
        "room_names": names,
        "offset": where.offset,
        "total": len(hits),
        "capped": capped,
        "has_more": where.offset + len(page) < len(hits) or (capped and bool(page)),
    }
