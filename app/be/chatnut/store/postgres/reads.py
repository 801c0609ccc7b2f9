"""The PostgreSQL store's reads for coordination and the web page.

As on SQLite, a read that reports how far it looked is one snapshot (a
read-only REPEATABLE READ transaction) whose bound `upto` is the newest
*visible* message id: ids become visible in order (the write lock), so
nothing at or below it can still appear later.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from chatnut import errors
from chatnut.clock import now_iso
from chatnut.shapes.coordination import HandoffSnapshot, InboxPage
from chatnut.shapes.messages import Message, Messages
from chatnut.shapes.rooms import ProjectTotals, Room, RoomSummary
from chatnut.store.postgres import queries as q
from chatnut.store.rows import agent_dict, inbox_message, status_dict

T = TypeVar("T")
Row = dict[str, Any]

HAS_UNREAD = "coalesce(s.last_message_id, 0) > coalesce(c.last_read_message_id, 0)"
# The sidebar's order (queries.SUMMARY_ORDER's) written so the room_stats activity
# index can drive it: rooms without messages last, by creation.
PAGE_ORDER = " ORDER BY s.last_message_id DESC NULLS LAST, r.created_at DESC, r.id"


async def _room(conn: Any, room_id: str) -> Room:
    row = await conn.fetchrow(q.ROOM_BY_ID, room_id)
    if row is None:
        raise errors.room_missing(room_id)
    return q.room_dict(row)


async def _page(
    conn: Any, room_id: str, *, limit: int, after: int | None = None, before: int | None = None,
    message_type: str | None = None, newest: bool = False,
) -> tuple[list[Message], bool]:  # fmt: skip
    sql, params = q.message_page(
        room_id, limit=limit, after=after, before=before, message_type=message_type, newest=newest
    )
    rows = await conn.fetch(sql, *params)
    page = [q.message_dict(r) for r in rows[:limit]]
    if newest:
        page.reverse()
    return page, len(rows) > limit


async def _addressed(
    conn: Any, name: str, *, room_id: str | None, after: int, upto: int, limit: int,
    message_type: str | None = None, newest: bool = False,
) -> tuple[list[Any], bool]:  # fmt: skip
    """The rows of the messages addressed to `name` with after < id <= upto, oldest
    first (the inbox, every live room's with its room's project and name, when
    room_id is None): rows.message_dict or rows.inbox_message shapes them."""
    clauses = ["x.name = $1", "x.message_id > $2", "x.message_id <= $3"]
    params: list[Any] = [name, after, upto]
    if room_id is not None:
        params.append(room_id)
        clauses.append(f"x.room_id = ${len(params)}")
    if message_type is not None:
        params.append(message_type)
        clauses.append(f"m.message_type = ${len(params)}")
    rooms = room_columns = ""
    if room_id is None:
        rooms = " JOIN rooms r ON r.id = x.room_id AND r.status = 'live'"
        room_columns = ", r.project AS room_project, r.name AS room_name"
    params.append(limit + 1)
    rows = await conn.fetch(
        f"SELECT {q.M_COLUMNS}{room_columns} FROM message_recipients x"
        f" JOIN messages m ON m.id = x.message_id{rooms}"
        f" WHERE {' AND '.join(clauses)}"
        f" ORDER BY x.message_id {'DESC' if newest else 'ASC'} LIMIT ${len(params)}",
        *params,
    )
    if newest:
        rows = rows[:limit][::-1] + rows[limit:]
    return rows[:limit], len(rows) > limit


async def _presence_of(conn: Any, room_id: str, names: list[str]) -> dict[str, str]:
    if not names:
        return {}
    rows = await conn.fetch(
        "SELECT name, max(last_seen_at) FROM presence WHERE room_id IN ($1, '*')"
        " AND name = ANY($2) GROUP BY name",
        room_id,
        names,
    )
    return {r[0]: r[1] for r in rows}


def _cursor(room_id: str, reader: str, cursor: int) -> dict[str, Any]:
    return {"room_id": room_id, "reader": reader, "last_read_message_id": int(cursor)}


class Reads:
    _read: Callable[..., Awaitable[Any]]
    _write: Callable[..., Awaitable[Any]]

    async def _snapshot(self, fn: Callable[[Any], Awaitable[T]]) -> T:
        async def read(conn: Any) -> T:
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                return await fn(conn)

        result: T = await self._read(read)
        return result

    async def read_page(
        self,
        room_id: str,
        *,
        after: int,
        limit: int,
        message_type: str | None,
        addressed_to: str | None,
    ) -> Messages:
        async def read(conn: Any) -> Messages:
            await _room(conn, room_id)
            if addressed_to is None and message_type is None:
                messages, has_more = await _page(conn, room_id, limit=limit, after=after)
                scanned = messages[-1]["id"] if messages else after
                return {"messages": messages, "has_more": has_more, "next_since_id": scanned}
            upto = int(await conn.fetchval(q.NEWEST_VISIBLE_ID))
            if addressed_to is not None:
                rows, has_more = await _addressed(
                    conn,
                    addressed_to,
                    room_id=room_id,
                    after=after,
                    upto=upto,
                    limit=limit,
                    message_type=message_type,
                )
                messages = [q.message_dict(r) for r in rows]
            else:
                messages, has_more = await _page(
                    conn,
                    room_id,
                    limit=limit,
                    after=after,
                    before=upto + 1,
                    message_type=message_type,
                )
            scanned = messages[-1]["id"] if has_more else max(upto, after)
            return {"messages": messages, "has_more": has_more, "next_since_id": scanned}

        return await self._snapshot(read)

    async def message_window(
        self, room_id: str, around: int, limit: int
    ) -> tuple[list[Message], bool, bool]:
        half = limit // 2

        async def read(conn: Any) -> tuple[list[Message], bool, bool]:
            await _room(conn, room_id)
            older = await conn.fetch(
                f"SELECT {q.MESSAGE_COLUMNS} FROM messages WHERE room_id = $1 AND id < $2"
                " ORDER BY id DESC LIMIT $3",
                room_id,
                around,
                half + 1,
            )
            newer = await conn.fetch(
                f"SELECT {q.MESSAGE_COLUMNS} FROM messages WHERE room_id = $1 AND id >= $2"
                " ORDER BY id ASC LIMIT $3",
                room_id,
                around,
                limit - half + 1,
            )
            rows = [*reversed(older[:half]), *newer[: limit - half]]
            return (
                [q.message_dict(r) for r in rows],
                len(older) > half,
                len(newer) > limit - half,
            )

        return await self._snapshot(read)

    async def inbox_page(self, name: str, *, after: int, limit: int, newest: bool) -> InboxPage:
        async def read(conn: Any) -> InboxPage:
            upto = int(await conn.fetchval(q.NEWEST_VISIBLE_ID))
            rows, has_more = await _addressed(
                conn, name, room_id=None, after=after, upto=upto, limit=limit, newest=newest
            )
            messages = [inbox_message(r) for r in rows]
            scanned = messages[-1]["id"] if has_more and not newest else max(upto, after)
            return {"messages": messages, "has_more": has_more, "next_since_id": scanned}

        return await self._snapshot(read)

    async def handoff(self, room_id: str, reader: str, recent: int) -> HandoffSnapshot:
        async def read(conn: Any) -> HandoffSnapshot:
            room = await _room(conn, room_id)
            upto = int(await conn.fetchval(q.NEWEST_VISIBLE_ID))
            cursor = int(
                await conn.fetchval(
                    "SELECT coalesce(max(last_read_message_id), 0) FROM read_cursors"
                    " WHERE room_id = $1 AND reader = $2",
                    room_id,
                    reader,
                )
            )
            statuses = [status_dict(r) for r in await conn.fetch(q.STATUSES, room_id)]
            agents = [agent_dict(r) for r in await conn.fetch(q.AGENTS, room_id)]
            names = {str(r["sender"]).lower() for r in statuses}
            names |= {str(r["agent_name"]).lower() for r in agents}
            summary = await conn.fetchrow(
                f"SELECT {q.MESSAGE_COLUMNS} FROM messages WHERE room_id = $1"
                " AND message_type = 'summary' AND id <= $2 ORDER BY id DESC LIMIT 1",
                room_id,
                upto,
            )
            unread_count = await conn.fetchval(
                "SELECT count(*) FROM messages WHERE room_id = $1 AND id > $2 AND id <= $3",
                room_id,
                cursor,
                upto,
            )
            found: HandoffSnapshot = {
                "room": room,
                "statuses": statuses,
                "agents": agents,
                "latest_summary": q.message_dict(summary) if summary else None,
                "unread_count": int(unread_count),
                "unread": [],
                "recent": [],
                "next_since_id": upto,
                "saved": await _presence_of(conn, room_id, sorted(names)),
            }
            if recent:
                found["unread"] = (
                    await _page(conn, room_id, limit=recent, after=cursor, before=upto + 1)
                )[0]
                found["recent"] = (
                    await _page(conn, room_id, limit=recent, before=upto + 1, newest=True)
                )[0]
            return found

        return await self._snapshot(read)

    async def presence_of(self, room_id: str, names: Sequence[str]) -> dict[str, str]:
        wanted = list(names)
        saved: dict[str, str] = await self._read(lambda conn: _presence_of(conn, room_id, wanted))
        return saved

    async def save_presence(self, rows: Sequence[tuple[str, str, str]]) -> None:
        given = list(rows)

        async def write(conn: Any) -> None:
            await conn.executemany(
                """
                INSERT INTO presence AS p (room_id, name, last_seen_at)
                SELECT $1, $2, $3 WHERE $1 = '*' OR EXISTS (SELECT 1 FROM rooms WHERE id = $1)
                ON CONFLICT (room_id, name) DO UPDATE SET last_seen_at = excluded.last_seen_at
                WHERE excluded.last_seen_at > p.last_seen_at
                """,
                given,
            )

        await self._read(write)

    async def sidebar_page(
        self,
        reader: str | None,
        *,
        project: str | None,
        status: str,
        unread_only: bool,
        name_contains: str | None,
        offset: int,
        limit: int,
    ) -> tuple[list[RoomSummary], bool]:
        # Two steps, as on SQLite: the page's room ids, walked newest first
        # from the room_stats activity index (0003_sidebar_activity), then the
        # summaries of those rooms only, so the first page of 10 000 rooms
        # reads about a page of rows instead of sorting every room.
        clauses: list[str] = []
        params: list[Any] = []
        for clause, value in (
            ("r.status = ${}", None if status == "all" else status),
            ("r.project = ${}", project),
            # strpos, not LIKE: the user's % and _ are plain characters.
            ("strpos(lower(r.name), lower(${})) > 0", name_contains or None),
        ):
            if value is not None:
                params.append(value)
                clauses.append(clause.format(len(params)))
        cursors = ""
        if unread_only:
            params.append(reader or "")
            cursors = f" LEFT JOIN read_cursors c ON c.room_id = r.id AND c.reader = ${len(params)}"
            clauses.append(HAS_UNREAD)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        params += [limit + 1, offset]
        ids_sql = (
            f"SELECT r.id FROM room_stats s JOIN rooms r ON r.id = s.room_id{cursors}{where}"
            f"{PAGE_ORDER} LIMIT ${len(params) - 1} OFFSET ${len(params)}"
        )
        summaries_sql = q.summary_select(reader is not None) + " WHERE r.id = ANY($2)" + PAGE_ORDER

        async def read(conn: Any) -> tuple[list[Any], bool]:
            ids = [row["id"] for row in await conn.fetch(ids_sql, *params)]
            if not ids:
                return [], False
            return await conn.fetch(summaries_sql, reader or "", ids[:limit]), len(ids) > limit

        rows, has_more = await self._snapshot(read)
        return [q.summary_dict(r, reader is not None) for r in rows], has_more

    async def sidebar_totals(
        self, reader: str | None, room_ids: Sequence[str]
    ) -> tuple[list[ProjectTotals], dict[str, int]]:
        ids = list(room_ids)

        async def read(conn: Any) -> tuple[list[ProjectTotals], dict[str, int]]:
            # Rooms are counted from the (status, project) index alone; unread
            # ones are those whose newest id is above the reader's cursor.
            projects: dict[str, ProjectTotals] = {}
            for row in await conn.fetch(
                "SELECT project, status, count(*) AS n FROM rooms"
                " GROUP BY project, status ORDER BY project"
            ):
                found = projects.setdefault(
                    row["project"],
                    {
                        "project": row["project"],
                        "live": 0,
                        "archived": 0,
                        "unread": 0,
                        "unread_rooms": 0,
                    },
                )
                found["live" if row["status"] == "live" else "archived"] += int(row["n"])
            if reader is not None:
                for row in await conn.fetch(
                    f"""
                    SELECT r.project, count(*) AS rooms,
                           sum(CASE WHEN coalesce(c.last_read_message_id, 0) = 0
                                    THEN s.message_count
                                    ELSE (SELECT count(*) FROM messages x
                                          WHERE x.room_id = s.room_id
                                          AND x.id > c.last_read_message_id) END) AS unread
                    FROM room_stats s
                    JOIN rooms r ON r.id = s.room_id
                    LEFT JOIN read_cursors c ON c.room_id = s.room_id AND c.reader = $1
                    WHERE r.status = 'live' AND {HAS_UNREAD}
                    GROUP BY r.project
                    """,
                    reader,
                ):
                    if row["project"] in projects:
                        projects[row["project"]]["unread"] = int(row["unread"] or 0)
                        projects[row["project"]]["unread_rooms"] = int(row["rooms"])
            counts: dict[str, int] = {}
            if reader:
                for row in await conn.fetch(
                    """
                    SELECT r.id, CASE WHEN r.status <> 'live' THEN 0
                        WHEN coalesce(c.last_read_message_id, 0) = 0
                            THEN coalesce(s.message_count, 0)
                        ELSE (SELECT count(*) FROM messages x WHERE x.room_id = r.id
                              AND x.id > c.last_read_message_id) END AS unread
                    FROM rooms r LEFT JOIN room_stats s ON s.room_id = r.id
                    LEFT JOIN read_cursors c ON c.room_id = r.id AND c.reader = $1
                    WHERE r.id = ANY($2)
                    """,
                    reader,
                    ids,
                ):
                    counts[row["id"]] = int(row["unread"])
            return list(projects.values()), counts

        return await self._snapshot(read)

    async def catch_up(
        self, reader: str, *, project: str | None = None, first_visit: bool = False
    ) -> int:
        async def move(conn: Any) -> list[Any]:
            rows: list[Any] = await conn.fetch(
                """
                INSERT INTO read_cursors AS c (room_id, reader, last_read_message_id, updated_at)
                SELECT s.room_id, $1, s.last_message_id, $2 FROM room_stats s
                WHERE s.last_message_id IS NOT NULL
                  AND ($3::text IS NULL OR s.room_id IN (SELECT id FROM rooms WHERE project = $3))
                  AND NOT ($4 AND EXISTS (SELECT 1 FROM read_cursors WHERE reader = $1))
                ON CONFLICT (room_id, reader) DO UPDATE SET
                    last_read_message_id = excluded.last_read_message_id,
                    updated_at = excluded.updated_at
                WHERE excluded.last_read_message_id > c.last_read_message_id
                RETURNING room_id, last_read_message_id
                """,
                reader,
                now_iso(),
                project,
                first_visit,
            )
            return rows

        if first_visit:  # the page asks before opening its feed: nobody to tell
            return len(await self._read(move))

        async def write(conn: Any) -> tuple[int, list[Any]]:
            rows = await move(conn)
            return len(rows), [
                ("read", r["room_id"], _cursor(r["room_id"], reader, r["last_read_message_id"]))
                for r in rows
            ]

        moved: int = await self._write(write)
        return moved
