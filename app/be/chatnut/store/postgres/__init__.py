"""The PostgreSQL store: the Store interface over one database shared by many processes.

Ordering. Message ids must increase in the order commits become visible: a
reader that has seen id N must never later find an unseen committed id below
N. A plain sequence breaks that (A takes 41, B takes 42, B commits first; a
reader sees 42 and moves past 41 for good). So every write (but cursors and
statuses, below) takes one transaction-level advisory lock (WRITE_LOCK)
before it assigns anything — a message id, an event seq — and holds it until
its commit: ids are handed out and made visible in the same order. Writes
are serialised database-wide; reads are not. That is the simple end of the
choice (Synapse's stream writers instead let writes run in parallel and
advance a "visible up to" watermark past committed ids). The lock is held
through the commit's WAL flush, so one post at a time would cap a database
at one flush per post (about 230 a second on this machine's disk); batch.py
lets the posts queued in a process share one transaction. docs/benchmarks.md
(`python -m bench.pg_ceiling`) measures both and says where one primary
stops. `post_message` is one statement (the `chatnut_post` function: lock,
rules, insert, event, NOTIFY), so a post is one round trip; the posts that
queue up in one process while a commit is in flight share the next
transaction (batch.py: group commit).

Events. Each write under the lock appends to `events` and NOTIFYs; events.py delivers
every process's commits to this process's hub in seq order, exactly once,
catching up from the table after a lost connection — so `wait_for_messages`
and the SSE feeds work unchanged across workers.

Cursors and statuses. They order nothing a reader pages through, so they
take no part in the write lock: side_stream.py writes them in short
transactions of their own, with their own stream between processes.

Presence. Whether a name is parked in a wait is known to the process that
serves the wait; parked.py shares it with the others through two UNLOGGED
tables, off the write lock.

Outages. A call that cannot reach the database raises StorageUnavailable in
one line (a tool error, a 503); the pool reconnects on the next call and the
listener on its own, so the process recovers without a restart.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from chatnut import errors
from chatnut.clock import now_iso
from chatnut.errors import ChatnutError
from chatnut.hub import Event
from chatnut.shapes.health import Stats
from chatnut.shapes.messages import Message, PostedMessage, ReadCursor
from chatnut.shapes.rooms import Cleared, Deleted, Room, RoomSummary
from chatnut.store.base import (
    OnCommit,
    Store,
    StoreOpenError,
)
from chatnut.store.postgres import idempotency
from chatnut.store.postgres import queries as q
from chatnut.store.postgres.batch import PostBatcher
from chatnut.store.postgres.claims import Claims
from chatnut.store.postgres.driver import (
    is_outage,
    require_driver,
    safe_location,
    unavailable,
)
from chatnut.store.postgres.edits import Edits
from chatnut.store.postgres.events import EventStream
from chatnut.store.postgres.identities import Identities
from chatnut.store.postgres.migrate import migrate, newest_version
from chatnut.store.postgres.parked import Key, ParkedBoard
from chatnut.store.postgres.reactions import Reactions
from chatnut.store.postgres.reads import Reads
from chatnut.store.postgres.receipts import Receipts, receipt_events, unread_receipts
from chatnut.store.postgres.retention import Retention
from chatnut.store.postgres.room_prefs import RoomPrefs
from chatnut.store.postgres.search import Search
from chatnut.store.postgres.side_stream import CHANNEL as SIDE_CHANNEL
from chatnut.store.postgres.side_stream import SideStream
from chatnut.store.postgres.team import Team
from chatnut.store.postgres.threads import Threads

log = logging.getLogger(__name__)

T = TypeVar("T")
Change = TypeVar("Change", bound=Mapping[str, Any])
WRITE_LOCK = 7365616  # advisory lock key, also in migrations/0002_post_function.sql
POOL_SIZE = 10
LISTEN_APPLICATION = "chatnut-listen"  # how the LISTEN connection shows in pg_stat_activity
CONNECT_TIMEOUT_S = 5
COMMAND_TIMEOUT_S = 30
EMIT = "SELECT chatnut_emit($1, $2, $3)"
SCHEMA_VERSION = "SELECT coalesce(max(version), 0) FROM chatnut_migrations"

# A write: given the connection (in a transaction, holding the write lock),
# returns its value and the events to publish after the commit.
PendingEvent = tuple[str, str, Mapping[str, Any]]
WriteFn = Callable[[Any], Awaitable[tuple[Any, list[PendingEvent]]]]


def _room_event(room: Room, action: str) -> PendingEvent:
    return ("room", room["id"], {"action": action, "room": room})


def _count(status: str) -> int:
    """The row count of an asyncpg status string ("DELETE 12")."""
    return int(status.rsplit(" ", 1)[-1]) if status[-1:].isdigit() else 0


class PostgresStore(
    Reads,
    Search,
    Team,
    Receipts,
    Reactions,
    Threads,
    Edits,
    Claims,
    RoomPrefs,
    Identities,
    Retention,
    Store,
):
    def __init__(
        self,
        url: str,
        *,
        on_commit: OnCommit | None = None,
        on_resync: Callable[[], None] | None = None,
        keep_events: tuple[float, int] = (3600.0, 100_000),
        password: Callable[[], str | None] | None = None,
    ) -> None:
        self.url = url
        # Asked for each new connection, so a reload's new password is used from
        # then on; None: the URL's or libpq's (PGPASSWORD, PGPASSFILE).
        self._password = {} if password is None else {"password": password}
        self.location = safe_location(url)
        self.on_commit = on_commit
        self.on_resync = on_resync
        self.keep_events = keep_events
        self._pool: Any = None
        self._events: EventStream | None = None
        self._posts: PostBatcher | None = None
        self._parked = ParkedBoard()
        self._side = SideStream(on_commit)

    # -- life ---------------------------------------------------------------

    async def open(self) -> list[str]:
        driver = require_driver()
        try:
            self._pool = await driver.create_pool(
                self.url,
                **self._password,
                min_size=1,
                max_size=POOL_SIZE,
                timeout=CONNECT_TIMEOUT_S,
                command_timeout=COMMAND_TIMEOUT_S,
                server_settings={"application_name": "chatnut", "jit": "off"},
            )
            self._events = EventStream(
                self._pool,
                self._connect,
                self.on_commit,
                also_listen={SIDE_CHANNEL: self._side.notified},
                on_resync=self.on_resync,
                keep=self.keep_events,
            )
            self._posts = PostBatcher(self._pool)
            async with self._pool.acquire() as conn:
                applied = await migrate(conn, self.location)
                await self._events.start(conn)
            self._parked.start(self._pool)
        except StoreOpenError:
            await self.close()
            raise
        except Exception as exc:
            await self.close()
            text = " ".join(str(exc).split()) or type(exc).__name__
            raise StoreOpenError(f"cannot use the database {self.location}: {text}") from exc
        return applied

    async def _connect(self) -> Any:
        driver = require_driver()
        return await driver.connect(
            self.url,
            **self._password,
            timeout=CONNECT_TIMEOUT_S,
            server_settings={"application_name": LISTEN_APPLICATION},
        )

    async def close(self) -> None:
        if self._posts is not None:
            await self._posts.close()
            self._posts = None
        if self._events is not None:
            await self._events.close()
            self._events = None
        if self._pool is not None:
            await self._parked.close()
            try:
                await self._pool.close()
            except Exception:
                self._pool.terminate()
            self._pool = None

    async def check(self) -> None:
        await self._read(lambda conn: conn.fetchval("SELECT 1"))

    async def readiness(self) -> str | None:
        try:
            version = await self._read(lambda conn: conn.fetchval(SCHEMA_VERSION))
        except Exception:
            return "database"
        if version != newest_version():
            return "migrations"
        if self._events is None or not self._events.connected:
            return "listen"
        return None

    def pool_usage(self) -> tuple[int, int]:
        if self._pool is None:
            return 0, 0
        total = self._pool.get_size()
        return total - self._pool.get_idle_size(), total

    # -- parked waits of every process (parked.py) ----------------------------

    def share_parked(self, parked: Callable[[], set[Key]]) -> Callable[[], None]:
        return self._parked.share(parked)

    async def parked_elsewhere(self, room_id: str, names: Sequence[str]) -> set[str]:
        wanted = list(names)
        found: set[str] = await self._read(
            lambda conn: self._parked.elsewhere(conn, room_id, wanted)
        )
        return found

    # -- the two ways in ----------------------------------------------------

    async def _read(self, fn: Callable[[Any], Awaitable[T]]) -> T:
        try:
            async with self._pool.acquire() as conn:
                return await fn(conn)
        except ChatnutError:
            raise
        except Exception as exc:
            if is_outage(exc):
                raise unavailable(exc) from exc
            raise

    async def _write(self, fn: WriteFn) -> Any:
        assert self._events is not None
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", WRITE_LOCK)
                value, pending = await fn(conn)
                stamped = []
                for kind, room_id, data in pending:
                    seq = await conn.fetchval(EMIT, kind, room_id, json.dumps(data))
                    stamped.append((seq, Event(kind, room_id, data)))
        except ChatnutError:
            raise
        except Exception as exc:
            if is_outage(exc):
                raise unavailable(exc) from exc
            raise
        for seq, event in stamped:
            await self._events.committed(seq, event)
        return value

    async def _write_receipt(
        self,
        kind: str,
        room_id: str,
        fn: Callable[[Any], Awaitable[Change | None]],
        *,
        one_statement: bool = False,
    ) -> Change | None:
        """A cursor or a status: its own short transaction, off the write lock
        (side_stream.py says why), announced to every process as it commits. A
        `one_statement` write is its own transaction and announces itself; one
        that answers None wrote nothing, and nothing is published."""
        try:
            async with self._pool.acquire() as conn:
                if one_statement:
                    row = await fn(conn)
                else:
                    async with conn.transaction():
                        row = await fn(conn)
                        if row is not None:
                            await self._side.announce(conn, kind, room_id, row)
        except ChatnutError:
            raise
        except Exception as exc:
            if is_outage(exc):
                raise unavailable(exc) from exc
            if type(exc).__name__ == "ForeignKeyViolationError":
                raise errors.room_missing(room_id) from None  # deleted meanwhile
            raise
        if row is not None:
            self._side.committed(kind, room_id, row)
        return row

    async def _room_or_missing(self, conn: Any, room_id: str) -> Room:
        row = await conn.fetchrow(q.ROOM_BY_ID, room_id)
        if row is None:
            raise errors.room_missing(room_id)
        return q.room_dict(row)

    async def _named_room(self, conn: Any, project: str, name: str) -> Room:
        row = await conn.fetchrow(q.ROOM_BY_NAME, project, name)
        if row is None:
            raise errors.named_room_missing(project, name)
        return q.room_dict(row)

    # -- rooms --------------------------------------------------------------

    async def room(self, room_id: str) -> Room | None:
        row = await self._read(lambda conn: conn.fetchrow(q.ROOM_BY_ID, room_id))
        return None if row is None else q.room_dict(row)

    async def create_room(self, room: Room) -> tuple[Room, bool]:
        async def write(conn: Any) -> tuple[Any, list[PendingEvent]]:
            existing = await conn.fetchrow(q.ROOM_BY_NAME, room["project"], room["name"])
            if existing is not None:
                return (q.room_dict(existing), False), []
            await conn.execute(
                "INSERT INTO rooms (id, name, project, branch, description, status, created_at,"
                " archived_at, metadata) VALUES ($1, $2, $3, $4, $5, 'live', $6, NULL, $7)",
                room["id"],
                room["name"],
                room["project"],
                room["branch"],
                room["description"],
                room["created_at"],
                None if room.get("metadata") is None else json.dumps(room["metadata"]),
            )
            return (room, True), [_room_event(room, "created")]

        created: tuple[Room, bool] = await self._write(write)
        return created

    async def archive_room(self, project: str, name: str) -> Room:
        async def write(conn: Any) -> tuple[Any, list[PendingEvent]]:
            room = await self._named_room(conn, project, name)
            if room["status"] == "archived":  # idempotent: archiving twice keeps the first time
                return room, []
            stamp = now_iso()
            await conn.execute(q.ARCHIVE, stamp, room["id"])
            room = {**room, "status": "archived", "archived_at": stamp}
            return room, [_room_event(room, "archived")]

        room: Room = await self._write(write)
        return room

    async def archive_idle_rooms(self, cutoff: str) -> list[str]:
        async def write(conn: Any) -> tuple[Any, list[PendingEvent]]:
            ids = [r["id"] for r in await conn.fetch(q.IDLE_LIVE_ROOMS, cutoff)]
            stamp, pending = now_iso(), []
            for room_id in ids:
                await conn.execute(q.ARCHIVE, stamp, room_id)
                pending.append(_room_event(await self._room_or_missing(conn, room_id), "archived"))
            return ids, pending

        archived: list[str] = await self._write(write)
        return archived

    async def delete_room(self, room_id: str) -> Deleted:
        async def write(conn: Any) -> tuple[Any, list[PendingEvent]]:
            room = await self._room_or_missing(conn, room_id)
            if room["status"] != "archived":
                raise errors.room_still_live(room)
            deleted = await conn.fetchval(
                "SELECT count(*) FROM messages WHERE room_id = $1", room_id
            )
            await conn.execute("DELETE FROM rooms WHERE id = $1", room_id)
            result: Deleted = {
                "id": room_id,
                "name": room["name"],
                "project": room["project"],
                "deleted_messages": int(deleted),
            }
            return result, [_room_event(room, "deleted")]

        result: Deleted = await self._write(write)
        return result

    async def clear_room(self, project: str, name: str) -> Cleared:
        async def write(conn: Any) -> tuple[Any, list[PendingEvent]]:
            room = await self._named_room(conn, project, name)
            status = await conn.execute("DELETE FROM messages WHERE room_id = $1", room["id"])
            # Like the original: cursors point at ids that no longer exist and statuses
            # describe the cleared conversation; registrations stay (the team is the same).
            await conn.execute("DELETE FROM read_cursors WHERE room_id = $1", room["id"])
            await conn.execute("DELETE FROM room_status WHERE room_id = $1", room["id"])
            result: Cleared = {
                "name": name,
                "project": project,
                "room_id": room["id"],
                "deleted_count": _count(status),
            }
            return result, [("cleared", room["id"], result)]

        result: Cleared = await self._write(write)
        return result

    async def list_rooms(self, project: str | None, status: str) -> list[Room]:
        sql, params = q.list_rooms(project, status)
        rows = await self._read(lambda conn: conn.fetch(sql, *params))
        return [q.room_dict(r) for r in rows]

    async def room_summaries(
        self, project: str | None, status: str, reader: str | None, room_id: str | None = None
    ) -> list[RoomSummary]:
        sql, params = q.room_summaries(project, status, reader, room_id)
        rows = await self._read(lambda conn: conn.fetch(sql, *params))
        return [q.summary_dict(r, reader is not None) for r in rows]

    async def list_projects(self) -> list[str]:
        rows = await self._read(
            lambda conn: conn.fetch("SELECT DISTINCT project FROM rooms ORDER BY project")
        )
        return [r[0] for r in rows]

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
        assert self._events is not None and self._posts is not None
        meta = None if metadata is None else json.dumps(metadata, ensure_ascii=False)
        addressed = list(to)
        args = (
            room_id,
            sender,
            content,
            message_type,
            meta,
            reply_to,
            list(mentioned),
            addressed,
            principal,
        )
        row = await self._posts.post((*args, idempotency_key))
        outcome = row["outcome"]
        if outcome == "replay":  # a retry: the first try's message, nothing new
            first: PostedMessage = await idempotency.first_message(
                self._pool, row["message_id"], room_id, list(mentioned)
            )
            return first
        if outcome == "missing":
            raise errors.room_missing(room_id)
        room = {"name": row["room_name"], "project": row["room_project"]}
        if outcome == "archived":
            raise errors.room_archived(room, "posting")
        if outcome == "reply":
            assert reply_to is not None
            raise errors.reply_outside(reply_to, room_id)
        message: Message = {
            "id": row["message_id"],
            "room_id": room_id,
            "sender": sender,
            "content": content,
            "message_type": message_type,
            "created_at": row["created_at"],
            "metadata": metadata,
        }
        if addressed:
            message["to"] = addressed
        if principal:
            message["principal"] = principal
        audience = frozenset(row["audience"] or ())
        await self._events.committed(row["seq"], Event("message", room_id, message, audience))
        return {**message, "mentions": json.loads(row["mentions"])}

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
        sql, params = q.message_page(
            room_id,
            limit=limit,
            after=after,
            before=before,
            message_type=message_type,
            newest=newest,
        )

        async def read(conn: Any) -> Any:
            if room_id is not None:
                await self._room_or_missing(conn, room_id)
            return await conn.fetch(sql, *params)

        rows = await self._read(read)
        page = [q.message_dict(r) for r in rows[:limit]]
        if newest:
            page.reverse()
        return page, len(rows) > limit

    async def newest_message_id(self) -> int:
        # Visible, not taken: a feed that starts "from now" at an id still in
        # flight would drop that message when it arrives (see NEWEST_VISIBLE_ID).
        return int(await self._read(lambda conn: conn.fetchval(q.NEWEST_VISIBLE_ID)))

    async def mark_read(self, room_id: str, reader: str, message_id: int) -> ReadCursor:
        moved = await self._write_receipt(
            "read",
            room_id,
            lambda conn: self._side.move_cursor(conn, room_id, reader, message_id, now_iso()),
            one_statement=True,
        )
        if moved is not None:
            return moved
        # The move would stamp directed messages read: their `receipt` events go
        # through the events table, in order with the posts, so under the lock.

        async def write(conn: Any) -> tuple[Any, list[PendingEvent]]:
            await self._room_or_missing(conn, room_id)
            # A cursor past the newest message would silently swallow future posts
            # as "read"; "mark everything read" (a huge id) stops at the newest one.
            target = min(message_id, int(await conn.fetchval(q.NEWEST_MESSAGE_ID)))
            # What the cursor's trigger is about to stamp read, for the receipt event.
            unread, more = await unread_receipts(conn, room_id, reader, target)
            stands = await conn.fetchval(
                """
                INSERT INTO read_cursors AS c (room_id, reader, last_read_message_id, updated_at)
                VALUES ($1, $2, $3, $4)
                ON CONFLICT (room_id, reader) DO UPDATE SET
                    last_read_message_id = greatest(c.last_read_message_id,
                                                    excluded.last_read_message_id),
                    updated_at = CASE WHEN excluded.last_read_message_id
                                           > c.last_read_message_id
                                      THEN excluded.updated_at ELSE c.updated_at END
                RETURNING last_read_message_id
                """,
                room_id,
                reader,
                target,
                now_iso(),
            )
            cursor: ReadCursor = {
                "room_id": room_id,
                "reader": reader,
                "last_read_message_id": int(stands),
            }
            stamped = await receipt_events(conn, unread, more) if unread else []
            return cursor, [("read", room_id, cursor), *stamped]

        cursor: ReadCursor = await self._write(write)
        return cursor

    # -- search and counts --------------------------------------------------

    async def stats(self) -> Stats:
        row = await self._read(
            lambda conn: conn.fetchrow(
                "SELECT (SELECT count(*) FROM rooms) AS rooms,"
                " (SELECT coalesce(sum(message_count), 0) FROM room_stats) AS messages"
            )
        )
        return {"rooms": int(row["rooms"]), "messages": int(row["messages"])}
