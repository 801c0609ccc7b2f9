"""Search: room names by LIKE, message content through the FTS5 trigram index.

Substring semantics like the original's `LIKE '%q%'` (case-insensitive); the
trigram index cannot serve one- or two-character queries, which scan the
newest messages instead, capped like every other query. The page's search
looks for several substrings at once and narrows by sender, room, addressee,
code and dates (service/search_query.py parses them).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from chatnut.shapes.rooms import Room
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
from chatnut.validation import AGENT_NAME, MENTION


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def mentions(content: str | None, name: str) -> bool:
    """Whether the text @mentions `name` (lower-cased), as a post's mentions are found."""
    return any(m.group(1).lower() == name for m in MENTION.finditer(content or ""))


def _folded(text: str | None) -> str | None:
    return None if text is None else text.casefold()


def _holds(content: str | None, folded: str) -> bool:
    return folded in (content or "").casefold()


def register_functions(conn: sqlite3.Connection) -> None:
    conn.create_function("chatnut_mentions", 2, mentions, deterministic=True)
    conn.create_function("chatnut_fold", 1, _folded, deterministic=True)
    conn.create_function("chatnut_holds", 2, _holds, deterministic=True)


def _scanned(term: str) -> tuple[str, Any]:
    """A term checked row by row, matching as the trigram index would: LIKE folds
    ASCII only, so other text is folded in Python (short terms keep LIKE, as the
    original's search always had them)."""
    if len(term) < 3 or term.isascii():
        return "m.content LIKE ? ESCAPE '\\'", f"%{_escape_like(term)}%"
    return "chatnut_holds(m.content, ?)", term.casefold()


def search(conn: sqlite3.Connection, query: str, project: str | None) -> SearchResult:
    """The original's search: rooms, per-room hit counts, the newest message hits."""
    return search_result(search_page(conn, (query,), SearchFilter(project=project)))


def _addressed(name: str) -> tuple[str, list[Any], bool]:
    """Messages addressed to `name` (lower-cased, as recipients are stored: SQLite's
    lower() is ASCII only) or @mentioning it: the clause, its parameters, and
    whether the clause names its few candidates through indexes (the recipients'
    key; the trigram index for "@name"), so that a search starts from them."""
    recipients = "SELECT message_id FROM message_recipients WHERE name = ?"
    if not AGENT_NAME.match(name):
        return f"m.id IN ({recipients})", [name], True  # no mention can spell it
    exact = f"(m.id IN ({recipients}) OR chatnut_mentions(m.content, ?))"
    if len(name) < 2:  # "@x" is too short for a trigram
        return exact, [name, name], False
    mentioning = "SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?"
    return (
        f"m.id IN ({recipients} UNION {mentioning}) AND {exact}",
        [name, f'"@{name}"', name, name],
        True,
    )


def _hit_clauses(where: SearchFilter) -> tuple[str, list[Any], bool]:
    """The narrowing as SQL, its parameters, and whether it picks few enough
    messages through indexes (a room, an addressee) to start from them."""
    narrow = where.room_id is not None or where.room_name is not None
    clauses: list[str] = ["m.deleted_at IS NULL"]  # a tombstone is no hit, even by sender
    params: list[Any] = []
    # SQLite's lower() folds ASCII only: another name is folded in Python.
    ascii_sender = where.sender is None or where.sender.isascii()
    for clause, value in (
        ("r.project = ?", where.project),
        ("m.room_id = ?", where.room_id),
        (
            "lower(m.sender) = lower(?)" if ascii_sender else "chatnut_fold(m.sender) = ?",
            where.sender if ascii_sender else _folded(where.sender),
        ),
        ("m.created_at >= ?", where.after),
        ("m.created_at < ?", where.before),
        ("m.id < ?", where.before_id),
        (
            "m.room_id IN (SELECT id FROM rooms WHERE chatnut_fold(name) = ?)",
            _folded(where.room_name),
        ),
    ):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    if where.to is not None:
        clause, values, indexed = _addressed(where.to.lower())
        clauses.append(clause)
        params += values
        narrow = narrow or indexed
    if where.has_code:
        clauses.append("m.content LIKE '%`%`%'")
    return "".join(f" AND {c}" for c in clauses), params, narrow


def _rooms(conn: sqlite3.Connection, likes: list[str], project: str | None) -> list[Room]:
    sql = f"SELECT {ROOM_COLUMNS} FROM rooms WHERE 1"
    params: list[Any] = []
    for like in likes:
        sql += " AND name LIKE ? ESCAPE '\\'"
        params.append(like)
    if project is not None:
        sql += " AND project = ?"
        params.append(project)
    sql += " ORDER BY created_at DESC LIMIT ?"
    params.append(SEARCH_ROOM_LIMIT)
    return [room_dict(r) for r in conn.execute(sql, params)]


def search_page(conn: sqlite3.Connection, terms: Sequence[str], where: SearchFilter) -> SearchPage:
    """Rooms by name, then a page of message hits from `where.offset` among the
    newest SEARCH_HIT_CAP, with per-room counts and the total (capped)."""
    likes = [f"%{_escape_like(term)}%" for term in terms]
    first_page = not where.offset and where.before_id is None
    rooms = _rooms(conn, likes, where.project) if first_page and likes else []

    extra, extra_params, narrow = _hit_clauses(where)
    # A quoted FTS5 phrase over trigrams is exactly "contains this substring";
    # trigrams cannot index one or two characters, which are scanned instead.
    # A search within rooms, or for an addressee, starts from those few
    # messages and checks the terms on each: a common term would otherwise walk
    # its hits over every room.
    indexed = [] if narrow else [term for term in terms if len(term) >= 3]
    checks = [_scanned(term) for term in terms if term not in indexed]
    text = "".join(f" AND {clause}" for clause, _ in checks)
    scanned = [value for _, value in checks]
    if indexed:
        hits_sql = f"""
            SELECT m.id, m.room_id
            FROM messages_fts f
            JOIN messages m ON m.id = f.rowid
            JOIN rooms r ON r.id = m.room_id
            WHERE messages_fts MATCH ?{text}{extra}
            ORDER BY f.rowid DESC LIMIT ?
        """
        match = " ".join('"' + term.replace('"', '""') + '"' for term in indexed)
        params: list[Any] = [match, *scanned]
    else:
        # Nothing to index on, or a narrow search: scan newest first, capped.
        hits_sql = f"""
            SELECT m.id, m.room_id
            FROM messages m
            JOIN rooms r ON r.id = m.room_id
            WHERE 1{text}{extra}
            ORDER BY m.id DESC LIMIT ?
        """
        params = [*scanned]
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
    messages = [hit_dict(row, terms[0] if terms else "") for row in rows]
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
