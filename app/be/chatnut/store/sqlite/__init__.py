"""The SQLite store: the Store interface over one WAL-mode file.

Each method is a closure run by the engine (engine.py): writes on the single
batching writer, inside a savepoint of their batch, returning their result
and events; reads on a reader connection. The SQL lives in queries.py and
search.py, the schema in migrations/ (migrate.py applies it).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chatnut import errors
from chatnut.clock import now_iso
from chatnut.hub import Event
from chatnut.shapes.health import Stats
from chatnut.shapes.messages import Message, PostedMessage, ReadCursor
from chatnut.shapes.rooms import Cleared, Deleted, Room, RoomSummary
from chatnut.shapes.search import SearchPage, SearchResult
from chatnut.shapes.team import Agent, Status
from chatnut.store.base import OnCommit, SearchFilter, Store
from chatnut.store.sqlite import coordination, idempotency
from chatnut.store.sqlite import queries as q
from chatnut.store.sqlite.claims import Claims
from chatnut.store.sqlite.edits import Edits
from chatnut.store.sqlite.engine import Engine
from chatnut.store.sqlite.identities import Identities
from chatnut.store.sqlite.migrate import current_version, newest_version
from chatnut.store.sqlite.reactions import Reactions
from chatnut.store.sqlite.reads import Reads
from chatnut.store.sqlite.receipts import Receipts, receipt_events, unread_receipts
from chatnut.store.sqlite.retention import Retention
from chatnut.store.sqlite.room_prefs import RoomPrefs
from chatnut.store.sqlite.search import search as search_messages
from chatnut.store.sqlite.search import search_page
from chatnut.store.sqlite.threads import Threads

Write = tuple[Any, Sequence[Event]]


def room_or_missing(conn: sqlite3.Connection, room_id: str) -> Room:
    room = q.room_by_id(conn, room_id)
    if room is None:
        raise errors.room_missing(room_id)
    return room


def _named_room(conn: sqlite3.Connection, project: str, name: str) -> Room:
    room = q.room_by_name(conn, project, name)
    if room is None:
        raise errors.named_room_missing(project, name)
    return room


def _live(room: Room, action: str) -> Room:
    if room["status"] != "live":
        raise errors.room_archived(room, action)
    return room


def room_event(room: Room, action: str) -> Event:
    return Event("room", room["id"], {"action": action, "room": room})


class SqliteStore(
    Reads, Receipts, Reactions, Threads, Edits, Claims, RoomPrefs, Identities, Retention, Store
):
    def __init__(
        self,
        path: Path,
        *,
        durability: str = "normal",
        on_commit: OnCommit | None = None,
        owner: dict[str, Any] | None = None,
    ) -> None:
        self.path = path
        self.location = str(path)
        self.engine = Engine(path, durability=durability, on_commit=on_commit, owner=owner)

    async def open(self) -> list[str]:
        return await self.engine.open()

    async def close(self) -> None:
        await self.engine.close()

    async def check(self) -> None:
        await self.engine.read(lambda conn: conn.execute("SELECT 1").fetchone())

    async def readiness(self) -> str | None:
        try:
            version = await self.engine.read(current_version)
        except Exception:
            return "database"
        return None if version == newest_version() else "migrations"

    def pool_usage(self) -> tuple[int, int]:
        return self.engine.pool_usage()

    # -- rooms --------------------------------------------------------------

    async def room(self, room_id: str) -> Room | None:
        room: Room | None = await self.engine.read(lambda conn: q.room_by_id(conn, room_id))
        return room

    async def create_room(self, room: Room) -> tuple[Room, bool]:
        def write(conn: sqlite3.Connection) -> Write:
            existing = q.room_by_name(conn, room["project"], room["name"])
            if existing is not None:
                return (existing, False), []
            q.insert_room(conn, room)
            return (room, True), [room_event(room, "created")]

        created: tuple[Room, bool] = await self.engine.write(write)
        return created

    async def archive_room(self, project: str, name: str) -> Room:
        def write(conn: sqlite3.Connection) -> Write:
            room = _named_room(conn, project, name)
            if room["status"] == "archived":  # idempotent: archiving twice keeps the first time
                return room, []
            stamp = now_iso()
            q.archive_room(conn, room["id"], stamp)
            room = {**room, "status": "archived", "archived_at": stamp}
            return room, [room_event(room, "archived")]

        room: Room = await self.engine.write(write)
        return room

    async def archive_idle_rooms(self, cutoff: str) -> list[str]:
        def write(conn: sqlite3.Connection) -> Write:
            archived, events = [], []
            stamp = now_iso()
            for room_id in q.idle_live_rooms(conn, cutoff):
                q.archive_room(conn, room_id, stamp)
                archived.append(room_id)
                events.append(room_event(room_or_missing(conn, room_id), "archived"))
            return archived, events

        archived: list[str] = await self.engine.write(write)
        return archived

    async def delete_room(self, room_id: str) -> Deleted:
        def write(conn: sqlite3.Connection) -> Write:
            room = room_or_missing(conn, room_id)
            if room["status"] != "archived":
                raise errors.room_still_live(room)
            deleted = q.delete_room(conn, room_id)
            result: Deleted = {
                "id": room_id,
                "name": room["name"],
                "project": room["project"],
                "deleted_messages": deleted,
            }
            return result, [room_event(room, "deleted")]

        result: Deleted = await self.engine.write(write)
        return result

    async def clear_room(self, project: str, name: str) -> Cleared:
        def write(conn: sqlite3.Connection) -> Write:
            room = _named_room(conn, project, name)
            deleted = q.clear_messages(conn, room["id"])
            result: Cleared = {
                "name": name,
                "project": project,
                "room_id": room["id"],
                "deleted_count": deleted,
            }
            return result, [Event("cleared", room["id"], result)]

        result: Cleared = await self.engine.write(write)
        return result

    async def list_rooms(self, project: str | None, status: str) -> list[Room]:
        rooms: list[Room] = await self.engine.read(lambda c: q.list_rooms(c, project, status))
        return rooms

    async def room_summaries(
        self, project: str | None, status: str, reader: str | None, room_id: str | None = None
    ) -> list[RoomSummary]:
        rows: list[RoomSummary] = await self.engine.read(
            lambda c: q.room_summaries(c, project, status, reader, room_id)
        )
        return rows

    async def list_projects(self) -> list[str]:
        projects: list[str] = await self.engine.read(q.list_projects)
        return projects

    # -- messages -----------------------------------------------------------

    async def post_message(
        self,
        room_id: str,
        sender: str,
        content: str,
        message_type: str,
        metadata: dict[str, Any] | None,
        *,
        reply_to: int | None,
        mentioned: Sequence[str],
        to: Sequence[str] = (),
        idempotency_key: str | None = None,
        principal: str | None = None,
    ) -> PostedMessage:
        names, addressed = list(mentioned), list(to)

        def write(conn: sqlite3.Connection) -> Write:
            room = room_or_missing(conn, room_id)
            if idempotency_key is not None:
                first = idempotency.first_message(conn, room_id, sender, idempotency_key)
                if first is not None:  # a retry: the first try's message, nothing new
                    known = q.agents_named(conn, room_id, names)
                    return {
                        **first,
                        "mentions": [{"name": n, "task_id": known[n]} for n in sorted(known)],
                    }, []
            _live(room, "posting")
            if reply_to is not None and not q.message_in_room(conn, room_id, reply_to):
                raise errors.reply_outside(reply_to, room_id)
            registered = q.agents_named(conn, room_id, names)
            # Sorted by name, as the original returns them.
            mentions = [{"name": n, "task_id": registered[n]} for n in sorted(registered)]
            # Addressed to: the `to` names, then the registered agents it @mentions.
            # Only `to` is returned (as `to`): an @mention alone leaves the
            # message exactly as the original returned it.
            audience = addressed + [n for n in sorted(registered) if n not in addressed]
            message = q.insert_message(
                conn,
                room_id,
                sender,
                content,
                message_type,
                now_iso(),
                metadata,
                addressed,
                audience,
                principal,
            )
            if audience:
                coordination.add_recipients(conn, message["id"], room_id, audience)
            if idempotency_key is not None:
                idempotency.remember(conn, room_id, sender, idempotency_key, message["id"])
            event = Event("message", room_id, message, frozenset(audience))
            return {**message, "mentions": mentions}, [event]

        posted: PostedMessage = await self.engine.write(write)
        return posted

    async def message_page(
        self,
        room_id: str | None,
        *,
        limit: int,
        after: int | None = None,
        before: int | None = None,
        message_type: str | None = None,
        newest: bool = False,
    ) -> tuple[list[Message], bool]:
        def read(conn: sqlite3.Connection) -> tuple[list[Message], bool]:
            if room_id is not None:
                room_or_missing(conn, room_id)
            return q.message_page(
                conn,
                room_id,
                limit=limit,
                after=after,
                before=before,
                message_type=message_type,
                newest=newest,
            )

        page: tuple[list[Message], bool] = await self.engine.read(read)
        return page

    async def newest_message_id(self) -> int:
        newest: int = await self.engine.read(q.max_message_id)
        return newest

    async def mark_read(self, room_id: str, reader: str, message_id: int) -> ReadCursor:
        def write(conn: sqlite3.Connection) -> Write:
            room_or_missing(conn, room_id)
            # A cursor past the newest message would silently swallow future posts
            # as "read"; "mark everything read" (a huge id) stops at the newest one.
            target = min(message_id, q.max_message_id(conn))
            # What the cursor's trigger is about to stamp read, for the receipt event.
            unread, more = unread_receipts(conn, room_id, reader, target)
            stands = q.advance_cursor(conn, room_id, reader, target, now_iso())
            cursor: ReadCursor = {
                "room_id": room_id,
                "reader": reader,
                "last_read_message_id": stands,
            }
            stamped = receipt_events(conn, unread, more) if unread and stands >= target else []
            return cursor, [Event("read", room_id, cursor), *stamped]

        cursor: ReadCursor = await self.engine.write(write)
        return cursor

    # -- the team -----------------------------------------------------------

    async def set_status(
        self, room_id: str, sender: str, status: str, *, principal: str | None = None
    ) -> Status:
        def write(conn: sqlite3.Connection) -> Write:
            _live(room_or_missing(conn, room_id), "updating status")
            row = q.upsert_status(conn, room_id, sender, status, now_iso(), principal)
            return row, [Event("status", room_id, row)]

        row: Status = await self.engine.write(write)
        return row

    async def statuses(self, room_id: str) -> list[Status]:
        def read(conn: sqlite3.Connection) -> list[Status]:
            room_or_missing(conn, room_id)
            return q.statuses(conn, room_id)

        rows: list[Status] = await self.engine.read(read)
        return rows

    async def register_agent(
        self, room_id: str, agent_name: str, task_id: str, *, principal: str | None = None
    ) -> Agent:
        def write(conn: sqlite3.Connection) -> Write:
            _live(room_or_missing(conn, room_id), "registering agents")
            row = q.upsert_agent(conn, room_id, agent_name, task_id, now_iso(), principal)
            return row, [Event("agent", room_id, row)]

        row: Agent = await self.engine.write(write)
        return row

    async def agents(self, room_id: str) -> list[Agent]:
        def read(conn: sqlite3.Connection) -> list[Agent]:
            room_or_missing(conn, room_id)
            return q.agents(conn, room_id)

        rows: list[Agent] = await self.engine.read(read)
        return rows

    # -- search and counts --------------------------------------------------

    async def search(self, query: str, project: str | None) -> SearchResult:
        result: SearchResult = await self.engine.read(lambda c: search_messages(c, query, project))
        return result

    async def search_page(self, terms: Sequence[str], where: SearchFilter) -> SearchPage:
        result: SearchPage = await self.engine.read(lambda c: search_page(c, terms, where))
        return result

    async def stats(self) -> Stats:
        def read(conn: sqlite3.Connection) -> Stats:
            rooms = conn.execute("SELECT count(*) FROM rooms").fetchone()[0]
            messages = conn.execute("SELECT coalesce(sum(message_count), 0) FROM room_stats")
            return {"rooms": int(rooms), "messages": int(messages.fetchone()[0])}

        counts: Stats = await self.engine.read(read)
        return counts
