"""The SQLite store's reads for coordination and the web page.

Each is one read closure on a reader connection, so what it returns is one
snapshot. The SQL lives in coordination.py and pages.py; the reads that
report how far they looked take an `upto` bound (the newest id, read before
the page): a message committed while the page is read is then above the
bound and returned next time instead of skipped.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from chatnut import errors
from chatnut.clock import now_iso
from chatnut.hub import Event
from chatnut.shapes.coordination import HandoffSnapshot, InboxPage
from chatnut.shapes.messages import Message, Messages
from chatnut.shapes.rooms import ProjectTotals, Room, RoomSummary
from chatnut.store.rows import inbox_message
from chatnut.store.sqlite import coordination, pages
from chatnut.store.sqlite import queries as q
from chatnut.store.sqlite.engine import Engine

Row = dict[str, Any]


def _room(conn: sqlite3.Connection, room_id: str) -> Room:
    room = q.room_by_id(conn, room_id)
    if room is None:
        raise errors.room_missing(room_id)
    return room


def _read_event(room_id: str, reader: str, cursor: int) -> Event:
    data = {"room_id": room_id, "reader": reader, "last_read_message_id": cursor}
    return Event("read", room_id, data)


class Reads:
    engine: Engine

    async def read_page(
        self,
        room_id: str,
        *,
        after: int,
        limit: int,
        message_type: str | None,
        addressed_to: str | None,
    ) -> Messages:
        def read(conn: sqlite3.Connection) -> Messages:
            _room(conn, room_id)
            if addressed_to is None and message_type is None:
                messages, has_more = q.message_page(conn, room_id, limit=limit, after=after)
                scanned = messages[-1]["id"] if messages else after
                return {"messages": messages, "has_more": has_more, "next_since_id": scanned}
            # A filter skips messages: say how far it looked, so the next call
            # does not look again (the bound is read first).
            upto = q.max_message_id(conn)
            if addressed_to is not None:
                rows, has_more = coordination.addressed_page(
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
                messages, has_more = q.message_page(
                    conn,
                    room_id,
                    limit=limit,
                    after=after,
                    before=upto + 1,
                    message_type=message_type,
                )
            scanned = messages[-1]["id"] if has_more else max(upto, after)
            return {"messages": messages, "has_more": has_more, "next_since_id": scanned}

        page: Messages = await self.engine.read(read)
        return page

    async def message_window(
        self, room_id: str, around: int, limit: int
    ) -> tuple[list[Message], bool, bool]:
        def read(conn: sqlite3.Connection) -> tuple[list[Message], bool, bool]:
            _room(conn, room_id)
            return pages.message_window(conn, room_id, around, limit)

        window: tuple[list[Message], bool, bool] = await self.engine.read(read)
        return window

    async def inbox_page(self, name: str, *, after: int, limit: int, newest: bool) -> InboxPage:
        def read(conn: sqlite3.Connection) -> InboxPage:
            upto = q.max_message_id(conn)
            rows, has_more = coordination.addressed_page(
                conn, name, room_id=None, after=after, upto=upto, limit=limit, newest=newest
            )
            messages = [inbox_message(r) for r in rows]
            scanned = messages[-1]["id"] if has_more and not newest else max(upto, after)
            return {"messages": messages, "has_more": has_more, "next_since_id": scanned}

        page: InboxPage = await self.engine.read(read)
        return page

    async def handoff(self, room_id: str, reader: str, recent: int) -> HandoffSnapshot:
        def read(conn: sqlite3.Connection) -> HandoffSnapshot:
            room = _room(conn, room_id)
            upto = q.max_message_id(conn)  # everything below is read as of this id
            cursor = coordination.read_cursor(conn, room_id, reader)
            statuses = q.statuses(conn, room_id)
            agents = q.agents(conn, room_id)
            names = {str(r["sender"]).lower() for r in statuses}
            names |= {str(r["agent_name"]).lower() for r in agents}
            found: HandoffSnapshot = {
                "room": room,
                "statuses": statuses,
                "agents": agents,
                "latest_summary": coordination.latest_summary(conn, room_id, upto),
                "unread_count": coordination.count_between(conn, room_id, cursor, upto),
                "unread": [],
                "recent": [],
                "next_since_id": upto,
                "saved": coordination.presence_of(conn, room_id, sorted(names)),
            }
            if recent:
                found["unread"] = q.message_page(
                    conn, room_id, limit=recent, after=cursor, before=upto + 1
                )[0]
                found["recent"] = q.message_page(
                    conn, room_id, limit=recent, before=upto + 1, newest=True
                )[0]
            return found

        found: HandoffSnapshot = await self.engine.read(read)
        return found

    async def presence_of(self, room_id: str, names: Sequence[str]) -> dict[str, str]:
        wanted = list(names)
        saved: dict[str, str] = await self.engine.read(
            lambda conn: coordination.presence_of(conn, room_id, wanted)
        )
        return saved

    async def save_presence(self, rows: Sequence[tuple[str, str, str]]) -> None:
        given = list(rows)

        def write(conn: sqlite3.Connection) -> tuple[None, list[Any]]:
            coordination.save_presence(conn, given)
            return None, []

        await self.engine.write(write)

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
        page: tuple[list[RoomSummary], bool] = await self.engine.read(
            lambda conn: pages.sidebar_page(
                conn,
                reader,
                project=project,
                status=status,
                unread_only=unread_only,
                name_contains=name_contains,
                offset=offset,
                limit=limit,
            )
        )
        return page

    async def sidebar_totals(
        self, reader: str | None, room_ids: Sequence[str]
    ) -> tuple[list[ProjectTotals], dict[str, int]]:
        ids = list(room_ids)

        def read(conn: sqlite3.Connection) -> tuple[list[ProjectTotals], dict[str, int]]:
            conn.execute("BEGIN")  # one snapshot for both queries
            try:
                projects = pages.sidebar_totals(conn, reader)
                rooms = pages.unread_of_rooms(conn, reader, ids) if reader else {}
                return projects, rooms
            finally:
                conn.execute("COMMIT")

        totals: tuple[list[ProjectTotals], dict[str, int]] = await self.engine.read(read)
        return totals

    async def catch_up(
        self, reader: str, *, project: str | None = None, first_visit: bool = False
    ) -> int:
        def write(conn: sqlite3.Connection) -> tuple[int, list[Any]]:
            moved = pages.catch_up(conn, reader, now_iso(), project, first_visit)
            if first_visit:  # the page asks before opening its feed: nobody to tell
                return len(moved), []
            return len(moved), [_read_event(room_id, reader, cursor) for room_id, cursor in moved]

        moved: int = await self.engine.write(write)
        return moved
