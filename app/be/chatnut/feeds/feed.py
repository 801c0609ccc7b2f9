"""One generator behind every feed: a room's events, the sidebar's deltas, or both.

The order of work is what makes "every message exactly once, in order" hold:

1. subscribe to the hub (bounded buffer), so nothing committed from now on
   can be missed;
2. send the sidebar snapshot and/or the room's backlog after the resume point,
   read from the database in bounded batches while live events queue behind;
3. then follow the buffer, skipping any message the backlog already sent
   (ids only grow, so "id ≤ last sent" is exactly "already sent").

A client that falls more than the buffer behind is disconnected; it comes back
with Last-Event-ID and the backlog covers the gap. The server's shutdown
closes the hub, which ends every feed at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from chatnut import metrics
from chatnut.errors import NotFound
from chatnut.feeds.wire import encode, retry_hint
from chatnut.hub import ALL_ROOMS, Event, Subscription
from chatnut.principals import ANYONE, Caller
from chatnut.render import html_of, with_html, with_html_async
from chatnut.service import ChatService
from chatnut.store.edit_rows import EDIT_EVENT

EVERY_ROOM = "*"  # a room part that follows every room (the browser's shared feed)
BACKLOG_BATCH = 500
ROOM_BUFFER = 1024
SIDEBAR_BUFFER = 4096
SIDEBAR_KINDS = frozenset({"message", "cleared", "purged", "room", EDIT_EVENT})  # edit: the preview
# The snapshot is the newest-activity page of rooms, not all of them: what a
# page downloads on load and on every reconnect does not grow with the rooms
# (more come a page at a time from /api/sidebar). The totals it cannot add up
# itself come with it, and again at most once a second after changes.
SNAPSHOT_ROOMS = 100
TOTALS_EVERY_SECONDS = 1.0
# `receipt`: a directed message's receipts changed (delivered, read, acked). It
# has no id: a resumed page reads the receipts it shows again. `reaction`: a
# message's reactions as they now stand; no id either, and a resumed page reads
# the messages it shows again (their `reactions` come with them). `purged`:
# retention deleted the room's messages up to `through_id`; no id either, and a
# resumed stream is told again of each purge it may have missed.
# `edit`: a message edited or deleted, as it now stands; no id either (the
# backlog reads messages as they stand), and a resumed page reads again those
# it shows.
ROOM_KINDS = frozenset(
    {"message", "status", "agent", "cleared", "purged", "receipt", "reaction", EDIT_EVENT}
)


@dataclass(frozen=True)
class FeedSpec:
    """What one stream carries. `room_id`: one room, EVERY_ROOM or None (no room
    part); `after_id`: the resume point, None for "from now on"; `sidebar`: deltas."""

    room_id: str | None = None
    after_id: int | None = 0
    sidebar: bool = False
    project: str | None = None
    reader: str | None = None
    html: bool = False
    # The room feed reports its room's archive/deletion itself; the combined
    # feed leaves that to its sidebar deltas.
    room_events: bool = False
    # Only the messages addressed to this (lower-cased) name: `chatnut tail --to`.
    addressed_to: str | None = None
    # Who follows it: a token scoped to projects hears of their rooms only.
    caller: Caller = ANYONE


# One encoding per live message however many streams carry it. Small, as each
# entry may hold a maximum-size message: a fan-out uses its entry at once.
@lru_cache(maxsize=64)
def _live_message_chunk(event: Event, html: bool) -> bytes:
    message = event.data
    return encode("message", with_html(message) if html else message, message["id"])


async def _prepare(message: Mapping[str, Any], html: bool) -> None:
    """Render a big body on a worker thread first; the encoder then hits the cache."""
    if html:
        await html_of([message["content"]])


class _Feed:
    def __init__(self, service: ChatService, spec: FeedSpec) -> None:
        self.service = service
        self.spec = spec
        self.last_sent = spec.after_id or 0
        self.finished = False
        self.totals_due: float | None = None  # loop time when changed totals go out
        self.totals_rooms: set[str] = set()  # changed since the last totals
        # A scoped caller's rooms (None: every room), grown as its projects get rooms.
        self.visible: set[str] | None = None

    def _visible(self, event: Event) -> bool:
        if self.visible is None:
            return True
        if event.kind == "room":
            room = event.data["room"]
            if not self.spec.caller.sees(room["project"]):
                return False
            if event.data["action"] == "created":
                self.visible.add(room["id"])
            return True
        return event.room_id in self.visible

    def in_room(self, event: Event) -> bool:
        return self.spec.room_id == EVERY_ROOM or event.room_id == self.spec.room_id

    def accepts(self, event: Event) -> bool:
        spec = self.spec
        if not self._visible(event):
            return False
        if (
            spec.addressed_to is not None
            and event.kind == "message"
            and spec.addressed_to not in event.audience
        ):
            return False
        if self.in_room(event) and (
            event.kind in ROOM_KINDS or (spec.room_events and event.kind == "room")
        ):
            return True
        if not spec.sidebar:
            return False
        if event.kind == "read":
            return spec.reader is not None and event.data["reader"] == spec.reader
        return event.kind in SIDEBAR_KINDS

    async def backlog(self) -> AsyncIterator[bytes]:
        room_id = self.spec.room_id
        assert room_id is not None
        while True:
            try:
                if room_id == EVERY_ROOM:
                    page = await self.service.read_every_room_after(
                        self.last_sent, BACKLOG_BATCH, caller=self.spec.caller
                    )
                else:
                    page = await self.service.read_messages(
                        room_id,
                        self.last_sent,
                        BACKLOG_BATCH,
                        addressed_to=self.spec.addressed_to,
                        note_presence=False,
                        caller=self.spec.caller,
                    )
            except NotFound:
                yield self._gone(room_id)
                return
            messages = page["messages"]
            # Rendered once, off the loop when large; encoded from that result
            # (a cache lookup could miss if the batch is bigger than the cache).
            shown = await with_html_async(messages) if self.spec.html else messages
            for message in shown:
                yield encode("message", message, message["id"])
                self.last_sent = message["id"]
            if not page["has_more"]:
                return

    async def missed_purges(self) -> AsyncIterator[bytes]:
        """On a resume: the purges since the client's last message, as `purged`
        events, so what it still shows of them goes (none is sent again)."""
        room_id = self.spec.room_id
        after = self.spec.after_id
        if not after or room_id is None:
            return
        rows = await self.service.retention.purges_since(
            after, None if room_id == EVERY_ROOM else room_id
        )
        for row in rows:
            if self.visible is None or row["room_id"] in self.visible:
                yield encode("purged", row)

    def _gone(self, room_id: str) -> bytes:
        self.finished = True
        if self.spec.room_events:
            return encode("room", {"action": "deleted", "room": {"id": room_id}})
        return encode("room_deleted", {"id": room_id})  # the sidebar's shape of it

    async def room_part(self, event: Event) -> AsyncIterator[bytes]:
        if not self.in_room(event):
            return
        if event.kind == "message":
            if event.data["id"] > self.last_sent:
                await _prepare(event.data, self.spec.html)
                yield _live_message_chunk(event, self.spec.html)
                self.last_sent = event.data["id"]
        elif event.kind == EDIT_EVENT:
            await _prepare(event.data, self.spec.html)
            yield encode(EDIT_EVENT, with_html(event.data) if self.spec.html else event.data)
        elif event.kind in ROOM_KINDS:
            yield encode(event.kind, event.data)
        elif event.kind == "room" and self.spec.room_events:
            yield encode("room", event.data)
            if event.data["action"] == "deleted":
                self.finished = True

    async def sidebar_part(self, events: list[Event]) -> AsyncIterator[bytes]:
        # Coalesce: a burst of posts to one room is one delta, read once.
        changed: dict[str, None] = {}
        deleted = False
        for event in events:
            if event.kind == "room" and event.data["action"] == "deleted":
                deleted = True
                changed.pop(event.room_id, None)
                room = event.data["room"]
                if self.spec.project in (None, room["project"]):
                    yield encode("room_deleted", {"id": room["id"], "project": room["project"]})
            elif event.kind in SIDEBAR_KINDS or event.kind == "read":
                changed[event.room_id] = None
        for room_id in changed:
            rows = await self.service.room_summaries(
                self.spec.project, "all", self.spec.reader, room_id=room_id, caller=self.spec.caller
            )
            if rows:  # none: another project's room, or deleted since
                yield encode("room", rows[0])
        self.totals_rooms.update(changed)
        if (changed or deleted) and self.totals_due is None:
            self.totals_due = asyncio.get_running_loop().time() + TOTALS_EVERY_SECONDS

    async def totals(self) -> bytes:
        self.totals_due = None
        rooms, self.totals_rooms = sorted(self.totals_rooms), set()
        totals = await self.service.sidebar_totals(self.spec.reader, rooms, caller=self.spec.caller)
        return encode("totals", totals)

    async def _wait(self, sub: Subscription) -> bytes | None:
        """Wait for events; changed totals go out when due, even if none come."""
        if self.totals_due is None:
            await sub.wait()
            return None
        delay = self.totals_due - asyncio.get_running_loop().time()
        if delay > 0:
            try:
                async with asyncio.timeout(delay):
                    await sub.wait()
                    return None
            except TimeoutError:
                pass
        return await self.totals()

    async def follow(self, sub: Subscription) -> AsyncIterator[bytes]:
        while not self.finished:
            if sub.resynced:
                # This process missed events: sending what the buffer holds could
                # move the client's Last-Event-ID past a hole. It resumes from the
                # tables instead, where nothing is missing.
                return
            events = sub.drain()
            if not events:
                if sub.closed or sub.overflowed:
                    return
                chunk = await self._wait(sub)
                if chunk is not None:
                    yield chunk
                continue
            for event in events:
                async for chunk in self.room_part(event):
                    yield chunk
                if self.finished:
                    return
            if self.spec.sidebar:
                async for chunk in self.sidebar_part(events):
                    yield chunk
                due = self.totals_due
                if due is not None and asyncio.get_running_loop().time() >= due:
                    yield await self.totals()
            if sub.overflowed:
                return  # fell behind: the client resumes with Last-Event-ID


async def feed(service: ChatService, spec: FeedSpec) -> AsyncIterator[bytes]:
    """The bytes of one event stream, until the client leaves or the server stops."""
    state = _Feed(service, spec)
    state.visible = await service.visible_rooms(spec.caller)
    topic = ALL_ROOMS if spec.sidebar or spec.room_id == EVERY_ROOM else spec.room_id
    assert topic is not None
    capacity = SIDEBAR_BUFFER if spec.sidebar else ROOM_BUFFER
    yield retry_hint()
    metrics.SSE_STREAMS.inc()
    try:
        with (
            service.hub.subscribe(topic, capacity=capacity, accept=state.accepts) as sub,
            # A revoked token's stream ends at once (follow() stops on a closed sub).
            service.tokens_cache.watch(spec.caller, sub.close),
        ):
            if spec.sidebar:
                # Two independent reads, side by side on the store's readers: the
                # first rows of a page load wait for the slower one, not for both.
                page, totals = await asyncio.gather(
                    service.sidebar_page(
                        spec.reader,
                        project=spec.project,
                        status="all",
                        limit=SNAPSHOT_ROOMS,
                        caller=spec.caller,
                    ),
                    service.sidebar_totals(spec.reader, caller=spec.caller),
                )
                snapshot = {"rooms": page["rooms"], "has_more": page["has_more"], "totals": totals}
                yield encode("snapshot", snapshot)
            if spec.room_id == EVERY_ROOM and spec.after_id is None:
                # From now on: anything committed after this read is in the buffer.
                state.last_sent = await service.newest_message_id()
            elif spec.room_id is not None:
                async for chunk in state.missed_purges():
                    yield chunk
                async for chunk in state.backlog():
                    yield chunk
                if state.finished:
                    return
            # `ready` carries the resume point as its id too, so a browser that
            # reconnects before any message arrives still resumes from here.
            ready = {"room_id": spec.room_id, "last_event_id": state.last_sent}
            yield encode("ready", ready, state.last_sent)
            async for chunk in state.follow(sub):
                yield chunk
    finally:
        metrics.SSE_STREAMS.dec()
