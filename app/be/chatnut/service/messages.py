"""Posting, reading, waiting and read cursors."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from typing import Any

from chatnut import validation as check
from chatnut.errors import InvalidInput, NotFound
from chatnut.hub import Event
from chatnut.service.common import ServiceCore, Write, now_iso, require_live, require_room
from chatnut.store import coordination
from chatnut.store import queries as q


class MessageRules(ServiceCore):
    async def post_message(
        self,
        room_id: str,
        sender: str,
        content: str,
        message_type: str = "message",
        reply_to: int | None = None,
        metadata: dict[str, Any] | None = None,
        to: str | list[str] | None = None,
    ) -> dict[str, Any]:
        check.room_id(room_id)
        check.text("sender", sender, max_chars=check.MAX_SENDER)
        check.content(content, self.max_message_bytes)
        check.choice("message_type", message_type, check.MESSAGE_TYPES)
        if reply_to is not None:
            check.integer("reply_to", reply_to, minimum=1)
        addressed = check.recipients(to)
        meta = dict(metadata or {})
        if reply_to is not None:
            meta["reply_to"] = reply_to
        mentioned = check.mentioned_names(content)

        def write(conn: sqlite3.Connection) -> Write:
            room = require_room(conn, room_id)
            require_live(room, "posting")
            if reply_to is not None and not q.message_in_room(conn, room_id, reply_to):
                raise InvalidInput(f"reply_to {reply_to} is not a message in room {room_id!r}")
            registered = q.agents_named(conn, room_id, mentioned)
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
                meta or None,
                addressed,
                audience,
            )
            if audience:
                coordination.add_recipients(conn, message["id"], room_id, audience)
            event = Event("message", room_id, message, frozenset(audience))
            return {**message, "mentions": mentions}, [event]

        result: dict[str, Any] = await self.db.write(write)
        self.seen(room_id, sender)
        return result

    def _check_read(
        self,
        room_id: str,
        since_id: int | None,
        limit: int,
        message_type: str | None,
        addressed_to: str | None = None,
    ) -> str | None:
        check.room_id(room_id)
        if since_id is not None:
            check.integer("since_id", since_id, minimum=0)
        check.limit(limit)
        if message_type is not None:
            check.choice("message_type", message_type, check.MESSAGE_TYPES)
        return None if addressed_to is None else check.addressee("addressed_to", addressed_to)

    async def read_messages(
        self,
        room_id: str,
        since_id: int | None = None,
        limit: int = 100,
        message_type: str | None = None,
        addressed_to: str | None = None,
        *,
        note_presence: bool = True,
    ) -> dict[str, Any]:
        """`note_presence=False`: an onlooker's read (REST, feeds), where the name
        is a filter, not the caller — it must not make that name look present."""
        name = self._check_read(room_id, since_id, limit, message_type, addressed_to)
        page = await self._read_after(room_id, since_id, limit, message_type, name)
        if name is not None and note_presence:
            self.seen(room_id, name)
        return page

    async def _read_after(
        self,
        room_id: str,
        since_id: int | None,
        limit: int,
        message_type: str | None,
        addressed_to: str | None = None,
    ) -> dict[str, Any]:
        """A page after since_id, and `next_since_id`: the last id it scanned."""
        after = since_id or 0

        def read(conn: sqlite3.Connection) -> dict[str, Any]:
            require_room(conn, room_id)
            if addressed_to is None and message_type is None:
                messages, has_more = q.message_page(conn, room_id, limit=limit, after=since_id)
                scanned = messages[-1]["id"] if messages else after
                return {"messages": messages, "has_more": has_more, "next_since_id": scanned}
            # A filter skips messages: say how far it looked, so the next call
            # does not look again (the bound is read first; see coordination.py).
            upto = q.max_message_id(conn)
            if addressed_to is not None:
                messages, has_more = coordination.addressed_page(
                    conn,
                    addressed_to,
                    room_id=room_id,
                    after=after,
                    upto=upto,
                    limit=limit,
                    message_type=message_type,
                )
            else:
                messages, has_more = q.message_page(
                    conn,
                    room_id,
                    limit=limit,
                    after=since_id,
                    before=upto + 1,
                    message_type=message_type,
                )
            scanned = messages[-1]["id"] if has_more else max(upto, after)
            return {"messages": messages, "has_more": has_more, "next_since_id": scanned}

        page: dict[str, Any] = await self.db.read(read)
        return page

    async def read_every_room_after(self, since_id: int, limit: int) -> dict[str, Any]:
        """Messages of every room after a global id (the browser's one shared feed)."""
        check.integer("since_id", since_id, minimum=0)
        check.limit(limit)
        messages, has_more = await self.db.read(
            lambda conn: q.message_page(conn, None, limit=limit, after=since_id)
        )
        return {"messages": messages, "has_more": has_more}

    async def newest_message_id(self) -> int:
        newest: int = await self.db.read(q.max_message_id)
        return newest

    async def read_messages_before(
        self, room_id: str, before_id: int | None, limit: int
    ) -> dict[str, Any]:
        """The newest page below before_id (REST paging backwards, for the web UI)."""
        self._check_read(room_id, None, limit, None)
        if before_id is not None:
            check.integer("before_id", before_id, minimum=1)

        def read(conn: sqlite3.Connection) -> tuple[list[dict[str, Any]], bool]:
            require_room(conn, room_id)
            return q.message_page(conn, room_id, limit=limit, before=before_id, newest=True)

        messages, has_more = await self.db.read(read)
        return {"messages": messages, "has_more": has_more}

    async def wait_for_messages(
        self,
        room_id: str,
        since_id: int,
        timeout: float = 30,
        limit: int = 100,
        message_type: str | None = None,
        addressed_to: str | None = None,
    ) -> dict[str, Any]:
        name = self._check_read(room_id, since_id, limit, message_type, addressed_to)
        seconds = check.wait_timeout(timeout)
        scanned = since_id  # the newest message this wait has seen, wanted or not

        def wanted(event: Event) -> bool:
            nonlocal scanned
            if event.kind == "room":
                return bool(event.data["action"] == "deleted")
            if event.kind != "message":
                return False
            scanned = max(scanned, event.data["id"])
            return (
                event.data["id"] > since_id
                and (message_type is None or event.data["message_type"] == message_type)
                and (name is None or name in event.audience)
            )

        # Subscribe before reading the backlog: a post committed in between is
        # then either in the backlog or in the buffer, never in neither.
        with self.hub.subscribe(room_id, capacity=limit + 1, accept=wanted) as sub:
            backlog = await self._read_after(room_id, since_id, limit, message_type, name)
            if name is not None:
                self.seen(room_id, name)
            if backlog["messages"] or seconds == 0:
                return {**backlog, "timed_out": not backlog["messages"]}
            with self.presence.parked(room_id, name) if name else contextlib.nullcontext():
                try:
                    async with asyncio.timeout(seconds):
                        await sub.wait()
                except TimeoutError:
                    events = []
                else:
                    events = sub.drain()
            if name is not None:
                self.seen(room_id, name)
            looked = max(scanned, backlog["next_since_id"])
            if not events:
                # Timed out, or the server is stopping: answer now rather than be
                # cut off. The agent waits again, as after any timeout.
                return {
                    "messages": [],
                    "has_more": False,
                    "next_since_id": looked,
                    "timed_out": True,
                }
            if any(e.kind == "room" for e in events):
                raise NotFound(f"Room {room_id!r} was deleted while waiting")
            messages = [e.data for e in events][:limit]
            has_more = sub.overflowed or len(events) > limit
            return {
                "messages": messages,
                "has_more": has_more,
                "next_since_id": messages[-1]["id"] if has_more else looked,
                "timed_out": False,
            }

    async def mark_read(
        self, room_id: str, reader: str, last_read_message_id: int
    ) -> dict[str, Any]:
        check.room_id(room_id)
        check.text("reader", reader, max_chars=check.MAX_SENDER)
        check.integer("last_read_message_id", last_read_message_id, minimum=0)

        def write(conn: sqlite3.Connection) -> Write:
            require_room(conn, room_id)
            # A cursor past the newest message would silently swallow future posts
            # as "read"; "mark everything read" (a huge id) stops at the newest one.
            target = min(last_read_message_id, q.max_message_id(conn))
            stands = q.advance_cursor(conn, room_id, reader, target, now_iso())
            cursor = {"room_id": room_id, "reader": reader, "last_read_message_id": stands}
            return cursor, [Event("read", room_id, cursor)]

        result: dict[str, Any] = await self.db.write(write)
        self.seen(room_id, reader)
        return result
