"""Posting, reading, waiting and read cursors."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from chatnut import metrics
from chatnut import validation as check
from chatnut.errors import NotFound, Revoked
from chatnut.hub import Event, message_of
from chatnut.principals import ANYONE, Caller
from chatnut.service.budget import chunk_of, fitting, newest_fitting, read_forward
from chatnut.service.common import ServiceCore
from chatnut.service.identities import REVOKED
from chatnut.service.reactions import with_reactions
from chatnut.service.receipts import ack_flag, with_receipts
from chatnut.shapes.messages import (
    M,
    Messages,
    NewestPage,
    Page,
    PostedMessage,
    ReadCursor,
    WaitedMessages,
)


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
        ack_required: bool = False,
        idempotency_key: str | None = None,
        *,
        caller: Caller = ANYONE,
    ) -> PostedMessage:
        """`metadata` comes from the transport (the REST routes' `source`), never
        from the caller. With `idempotency_key`, a retry (same key, sender and
        room, within a day) returns the first try's message instead of posting
        it again."""
        check.room_id(room_id)
        check.person("sender", sender)
        key = check.idempotency_key(idempotency_key)
        caller.needs("member", "posting")
        caller.acting_as(sender)
        await self.in_scope(room_id, caller)
        check.content(content, self.max_message_bytes)
        check.choice("message_type", message_type, check.MESSAGE_TYPES)
        if reply_to is not None:
            check.integer("reply_to", reply_to, minimum=1)
        addressed = check.recipients(to)
        meta = dict(metadata or {})
        if ack_flag(ack_required, addressed):
            meta["ack_required"] = True  # stored with the message: its receipts read it
        if reply_to is not None:
            meta["reply_to"] = reply_to
        result = await self.store.post_message(
            room_id,
            sender,
            content,
            message_type,
            meta or None,
            reply_to=reply_to,
            mentioned=check.mentioned_names(content),
            to=addressed,
            idempotency_key=key,
            principal=caller.principal,
        )
        self.seen(room_id, sender)
        metrics.POSTS.inc()
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
        caller: Caller = ANYONE,
    ) -> Messages:
        """`note_presence=False`: an onlooker's read (REST, feeds), where the name
        is a filter, not the caller — it must not make that name look present.
        Reading is not acting as anyone: a principal reading what is addressed
        to another name reads it as a filter, and that name is not marked present."""
        name = self._check_read(room_id, since_id, limit, message_type, addressed_to)
        await self.in_scope(room_id, caller)
        page = await self._read_after(room_id, since_id, limit, message_type, name)
        if name is not None and note_presence and caller.owns(name):
            self.seen(room_id, name)
        delivered_to = name if note_presence else None
        return {**page, "messages": await with_receipts(self.store, page["messages"], delivered_to)}

    async def _read_after(
        self,
        room_id: str,
        since_id: int | None,
        limit: int,
        message_type: str | None,
        addressed_to: str | None = None,
    ) -> Messages:
        """A page after since_id within the answer budget, and `next_since_id`: the
        last id it scanned."""

        async def fetch(after: int, count: int) -> Messages:
            return await self.store.read_page(
                room_id,
                after=after,
                limit=count,
                message_type=message_type,
                addressed_to=addressed_to,
            )

        return await self._within_budget(fetch, since_id or 0, limit)

    async def _within_budget(
        self, fetch: Callable[[int, int], Awaitable[Page[M]]], after: int, limit: int
    ) -> Page[M]:
        return await read_forward(
            fetch, after, limit, self.max_answer_bytes, chunk_of(self.max_message_bytes)
        )

    async def read_every_room_after(
        self, since_id: int, limit: int, *, caller: Caller = ANYONE
    ) -> NewestPage:
        """Messages of every room after a global id (the browser's one shared feed);
        a scoped caller's of its projects' rooms (the page may then be short)."""
        check.integer("since_id", since_id, minimum=0)
        check.limit(limit)

        visible = await self.visible_rooms(caller)

        async def fetch(after: int, count: int) -> Messages:
            messages, has_more = await self.store.message_page(None, limit=count, after=after)
            last = messages[-1]["id"] if messages else after
            if visible is not None:
                messages = [m for m in messages if m["room_id"] in visible]
            return {"messages": messages, "has_more": has_more, "next_since_id": last}

        page = await self._within_budget(fetch, since_id, limit)
        return {"messages": page["messages"], "has_more": page["has_more"]}

    async def newest_message_id(self) -> int:
        return await self.store.newest_message_id()

    async def read_messages_before(
        self, room_id: str, before_id: int | None, limit: int, *, caller: Caller = ANYONE
    ) -> NewestPage:
        """The newest page below before_id (REST paging backwards, for the web UI)."""
        self._check_read(room_id, None, limit, None)
        await self.in_scope(room_id, caller)
        if before_id is not None:
            check.integer("before_id", before_id, minimum=1)

        # One chunk at most: a page going backwards ends at its oldest message.
        count = min(limit, chunk_of(self.max_message_bytes))
        messages, has_more = await self.store.message_page(
            room_id, limit=count, before=before_id, newest=True
        )
        messages, cut = newest_fitting(messages, self.max_answer_bytes)
        messages = await with_reactions(self.store, messages)
        return {"messages": messages, "has_more": has_more or cut}

    async def wait_for_messages(
        self,
        room_id: str,
        since_id: int,
        timeout: float = 30,
        limit: int = 100,
        message_type: str | None = None,
        addressed_to: str | None = None,
        *,
        caller: Caller = ANYONE,
    ) -> WaitedMessages:
        name = self._check_read(room_id, since_id, limit, message_type, addressed_to)
        if name is not None:
            caller.acting_as(name)  # a named wait records that name's presence
        seconds = check.wait_timeout(timeout)
        await self.in_scope(room_id, caller)
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
                messages = await with_receipts(self.store, backlog["messages"], name)
                return {**backlog, "messages": messages, "timed_out": not messages}
            presence = self.presence.parked(room_id, name) if name else contextlib.nullcontext()
            with (
                self._parked(room_id),
                presence,
                self.tokens_cache.watch(caller, sub.close) as watch,
            ):
                try:
                    async with asyncio.timeout(seconds):
                        await sub.wait()
                except TimeoutError:
                    events = []
                else:
                    events = sub.drain()
            if watch.revoked:
                raise Revoked(REVOKED)
            if name is not None:
                self.seen(room_id, name)
            if sub.resynced:  # this process missed events: the answer comes from the tables
                page = await self._read_after(room_id, since_id, limit, message_type, name)
                metrics.woke(page["messages"])
                messages = await with_receipts(self.store, page["messages"], name)
                return {**page, "messages": messages, "timed_out": not messages}
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
            messages = [message_of(e) for e in events][:limit]
            kept = fitting(messages, self.max_answer_bytes, some=True)
            has_more = sub.overflowed or len(events) > limit or kept < len(messages)
            messages = await with_receipts(self.store, messages[:kept], name)
            metrics.woke(messages)
            return {
                "messages": messages,
                "has_more": has_more,
                "next_since_id": messages[-1]["id"] if has_more else looked,
                "timed_out": False,
            }

    async def mark_read(
        self, room_id: str, reader: str, last_read_message_id: int, *, caller: Caller = ANYONE
    ) -> ReadCursor:
        check.room_id(room_id)
        check.person("reader", reader)
        caller.acting_as(reader)
        check.integer("last_read_message_id", last_read_message_id, minimum=0)
        await self.in_scope(room_id, caller)

        result = await self.store.mark_read(room_id, reader, last_read_message_id)
        self.seen(room_id, reader)
        return result
