"""Coordination for agent teams: the inbox across rooms, handoffs, presence.

Directed posts and the `addressed_to` filter live with posting and reading
(messages.py); this module holds what spans a room or several: one inbox for
a name over every live room, the bounded handoff a resuming agent reads
first, and the presence fields added to agents and statuses.
"""

from __future__ import annotations

import asyncio
import json
from contextlib import nullcontext
from typing import Any

from chatnut import metrics
from chatnut import validation as check
from chatnut.errors import Revoked
from chatnut.hub import ALL_ROOMS, Event
from chatnut.principals import ANYONE, Caller
from chatnut.service.budget import chunk_of, newest_fitting
from chatnut.service.claims import ClaimRules
from chatnut.service.identities import REVOKED
from chatnut.service.messages import MessageRules
from chatnut.service.presence import INBOX
from chatnut.service.receipts import awaiting_for, with_receipts
from chatnut.shapes.coordination import CutMessage, Handoff, HandoffSnapshot, Inbox, InboxPage
from chatnut.shapes.messages import Message
from chatnut.shapes.team import AgentSeen, StatusSeen

HANDOFF_MAX_BYTES = 24 * 1024  # the whole answer, as compact UTF-8 JSON
# A message body in a handoff: at most 2000 characters and 4 KB as JSON (so a
# body of escaped or many-byte characters is cut shorter); the summary twice that.
BODY_CUT = 2000
SUMMARY_CUT = 4000
BYTES_PER_CHAR = 2
MAX_RECENT = 100
# Dropped first when the answer is over its size, in this order: the oldest of
# the recent messages, the newest unread ones, the newest claims, the oldest
# statuses, agents.
_DROP_ORDER = (
    ("recent", 0),
    ("unread", -1),
    ("claims", -1),
    ("statuses", -1),
    ("agents", -1),
)


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def _cut(message: Message, chars: int) -> CutMessage:
    """The message with its body cut to `chars` characters and `chars * BYTES_PER_CHAR`
    bytes of JSON, and `truncated` saying whether it was cut."""
    content = message["content"]
    budget = chars * BYTES_PER_CHAR
    if len(content) <= chars and _size(content) <= budget:
        return {**message, "truncated": False}
    content = content[:chars]
    while _size(content) > budget:  # each halving at least halves the size
        content = content[: len(content) // 2]
    return {**message, "content": content, "truncated": True}


class CoordinationRules(MessageRules, ClaimRules):
    async def save_presence(self) -> int:
        """Write the presence times noted since the last save; returns how many."""
        rows = self.presence.take_unsaved()
        if rows:
            await self.store.save_presence(rows)
        # Tokens' last-used times ride the same timer (each at most once a minute).
        await self.tokens_cache.save_uses()
        return len(rows)

    # -- the inbox ------------------------------------------------------------

    async def check_inbox(
        self,
        agent_name: str,
        since_id: int = 0,
        timeout: float = 0,
        limit: int = 50,
        *,
        note_presence: bool = True,
        newest: bool = False,
        caller: Caller = ANYONE,
    ) -> Inbox:
        """`newest` (the web page's view, never waits): the newest `limit` after
        since_id instead of the oldest; `has_more` then says older ones exist."""
        name = check.addressee("agent_name", agent_name)
        caller.acting_as(name)
        check.integer("since_id", since_id, minimum=0)
        check.limit(limit)
        seconds = check.wait_timeout(timeout)

        async def fetch(after: int, count: int) -> InboxPage:
            page = await self.store.inbox_page(name, after=after, limit=count, newest=newest)
            if caller.scoped:  # another project's rooms are not there for it
                page["messages"] = [
                    m for m in page["messages"] if caller.sees(m["room"]["project"])
                ]
            return page

        async def read() -> InboxPage:
            if not newest:
                return await self._within_budget(fetch, since_id, limit)
            # The newest ones first: one chunk, the oldest of it left out if over.
            page = await fetch(since_id, min(limit, chunk_of(self.max_message_bytes)))
            messages, cut = newest_fitting(page["messages"], self.max_answer_bytes)
            return {**page, "messages": messages, "has_more": page["has_more"] or cut}

        def for_me(event: Event) -> bool:
            return (
                event.kind == "message" and event.data["id"] > since_id and name in event.audience
            )

        # Subscribed before the first read (no post falls between the two); a
        # wake-up only says "look again": the read adds each message's room and
        # leaves out rooms archived meanwhile.
        with self.hub.subscribe(ALL_ROOMS, capacity=1, accept=for_me) as sub:
            page = await read()
            if note_presence:
                self.seen(INBOX, name)
            if page["messages"] or seconds == 0 or newest:
                return await self._inbox_answer(page, name, note_presence, caller)
            deadline = asyncio.get_running_loop().time() + seconds
            parked = self.presence.parked(INBOX, name) if note_presence else nullcontext()
            # Counted with the room waits (the server's total cap); each name's
            # inbox is capped like one room.
            with (
                self._parked(f"inbox:{name}"),
                parked,
                self.tokens_cache.watch(caller, sub.close) as watch,
            ):
                while not sub.closed:
                    try:
                        async with asyncio.timeout_at(deadline):
                            await sub.wait()
                    except TimeoutError:
                        break
                    sub.drain()
                    page = await read()
                    if page["messages"]:
                        metrics.woke(page["messages"])
                        break
            if watch.revoked:
                raise Revoked(REVOKED)
            if note_presence:
                self.seen(INBOX, name)
            if not page["messages"]:
                page = await read()  # how far it looked, as of now
            return await self._inbox_answer(page, name, note_presence, caller)

    async def _inbox_answer(
        self, page: InboxPage, name: str, by_name: bool, caller: Caller = ANYONE
    ) -> Inbox:
        """The page with receipts (stamped delivered when `name` itself asked) and,
        when there are any, the messages still awaiting `name`'s ack."""
        messages = await with_receipts(self.store, page["messages"], name if by_name else None)
        answer: Inbox = {**page, "messages": messages, "timed_out": not messages}
        awaiting = await awaiting_for(self.store, name, None)
        visible = await self.visible_rooms(caller)
        if visible is not None:
            awaiting = [a for a in awaiting if a["room_id"] in visible]
        if awaiting:
            answer["awaiting_ack"] = awaiting
        return answer

    # -- the handoff ----------------------------------------------------------

    async def get_handoff(
        self,
        room_id: str,
        reader: str,
        recent: int = 20,
        *,
        note_presence: bool = True,
        caller: Caller = ANYONE,
    ) -> Handoff:
        check.room_id(room_id)
        check.person("reader", reader)
        caller.acting_as(reader)
        await self.in_scope(room_id, caller)
        check.integer("recent", recent, minimum=0, maximum=MAX_RECENT)

        found = await self.store.handoff(room_id, reader, recent)
        if note_presence:
            self.seen(room_id, reader)
        name = reader.strip().lower()
        delivered_to = name if note_presence else None
        unread = await with_receipts(self.store, found["unread"], delivered_to)
        recent_messages = await with_receipts(self.store, found["recent"], delivered_to)
        saved = found["saved"]
        names = {str(r["sender"]).strip().lower() for r in found["statuses"]}
        names |= {str(r["agent_name"]).strip().lower() for r in found["agents"]}
        elsewhere = await self.store.parked_elsewhere(room_id, sorted(names)) if names else set()
        statuses = [self.status_seen(room_id, r, saved, elsewhere) for r in found["statuses"]]
        agents = [self.agent_seen(room_id, r, saved, elsewhere) for r in found["agents"]]
        answer = _bounded(found, unread, recent_messages, statuses, agents)
        awaiting = await awaiting_for(self.store, name, room_id)
        if awaiting:
            answer["awaiting_ack"] = awaiting
        claims = await self.project_claims(found["room"]["project"])
        if claims:  # only where there are some: the answer is otherwise as it was
            answer["claims"] = claims
        return _fitted(answer)


def _bounded(
    found: HandoffSnapshot,
    unread: list[Message],
    recent: list[Message],
    statuses: list[StatusSeen],
    agents: list[AgentSeen],
) -> Handoff:
    """The handoff with long bodies cut, each message shown once (the summary,
    then the unread, then the recent ones)."""
    summary = found["latest_summary"]
    shown = {summary["id"]} if summary else set()
    unread = [m for m in unread if m["id"] not in shown]
    shown |= {m["id"] for m in unread}
    return {
        "room": found["room"],
        "statuses": statuses,
        "agents": agents,
        "latest_summary": _cut(summary, SUMMARY_CUT) if summary else None,
        "unread_count": found["unread_count"],
        "unread": [_cut(m, BODY_CUT) for m in unread],
        "recent": [_cut(m, BODY_CUT) for m in recent if m["id"] not in shown],
        "next_since_id": found["next_since_id"],
        "omitted": {"statuses": 0, "agents": 0, "unread": 0, "recent": 0},
        "complete": True,
    }


def _fitted(answer: Handoff) -> Handoff:
    """Leave out what does not fit HANDOFF_MAX_BYTES, and say so."""
    lists: dict[str, list[Any]] = {
        "recent": answer["recent"],
        "unread": answer["unread"],
        "statuses": answer["statuses"],
        "agents": answer["agents"],
    }
    if "claims" in answer:
        lists["claims"] = answer["claims"]
        answer["omitted"]["claims"] = 0
    # Each drop takes off the item and its comma; the margin covers the counts
    # in `omitted` growing a digit and `complete` turning false.
    total, target = _size(answer), HANDOFF_MAX_BYTES - 64
    for key, end in _DROP_ORDER:
        items = lists.get(key)
        while total > target and items:
            total -= _size(items.pop(end)) + (1 if items else 0)
            answer["omitted"][key] += 1
    summary = answer["latest_summary"]
    if total > target and summary is not None:
        # Only a summary of many-byte characters can still be over: cut it to fit.
        answer["latest_summary"] = _cut(summary, BODY_CUT // 4)
    cut = [answer["latest_summary"], *answer["unread"], *answer["recent"]]
    answer["complete"] = not any(answer["omitted"].values()) and not any(
        m is not None and m["truncated"] for m in cut
    )
    return answer
