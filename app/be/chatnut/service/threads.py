"""Threads and the reader's own place in a room, for the web page.

A thread is a message and the messages that reply to it (`reply_to`): the
page shows "N replies · last …" under a parent from `replies` (a field only
on messages that have any, so every other answer stays as it was) and reads
a thread whole in its pane. Agents read replies as they always have, with
`metadata.reply_to` on each.

Marking unread moves the reader's cursor back to just before a message, so
the room counts it and what follows as unread again on every device. It never
takes back a receipt: a directed message its reader already read stays read
for its sender (a receipt says what happened, the cursor where the reader
wants to resume).
"""

from __future__ import annotations

from collections.abc import Sequence

from chatnut import validation as check
from chatnut.errors import InvalidInput
from chatnut.principals import ANYONE, Caller
from chatnut.service.budget import fitting
from chatnut.service.common import ServiceCore
from chatnut.service.reactions import with_reactions
from chatnut.shapes.messages import Message, R, ReadCursor, Replies
from chatnut.shapes.threads import ReplyCounts, Thread
from chatnut.store.base import Store
from chatnut.store.thread_rows import MAX_REPLY_COUNT_IDS, THREAD_PAGE


async def with_replies(store: Store, room_id: str, messages: Sequence[R]) -> list[R]:
    """The messages, those with replies carrying `replies` {count, last_id,
    last_at, last_sender}: one read for the whole page. New dicts."""
    ids = [m["id"] for m in messages]
    if not ids:
        return list(messages)
    found: dict[int, Replies] = {}
    for start in range(0, len(ids), MAX_REPLY_COUNT_IDS):
        found.update(await store.reply_counts(room_id, ids[start : start + MAX_REPLY_COUNT_IDS]))
    page = []
    for message in messages:
        if message["id"] in found:
            message = message.copy()
            message["replies"] = found[message["id"]]
        page.append(message)
    return page


class ThreadRules(ServiceCore):
    async def read_thread(
        self,
        room_id: str,
        message_id: int,
        *,
        after: int = 0,
        limit: int = THREAD_PAGE,
        caller: Caller = ANYONE,
    ) -> Thread[Message]:
        """{room_id, parent, replies, has_more, reply_count}: a message and its
        replies after `after`, oldest first, within the answer budget."""
        check.room_id(room_id)
        check.integer("message_id", message_id, minimum=1)
        check.integer("after", after, minimum=0)
        check.limit(limit)
        await self.in_scope(room_id, caller)
        page = await self.store.thread_page(room_id, message_id, after=after, limit=limit)
        replies = page["replies"]
        kept = fitting(replies, self.max_answer_bytes, some=True)
        parent, *replies = await with_reactions(self.store, [page["parent"], *replies[:kept]])
        return {
            "room_id": room_id,
            "parent": parent,
            "replies": replies,
            "has_more": page["has_more"] or kept < len(page["replies"]),
            "reply_count": page["reply_count"],
        }

    async def room_reply_counts(
        self, room_id: str, message_ids: Sequence[int], *, caller: Caller = ANYONE
    ) -> ReplyCounts:
        """{room_id, replies: {message id: {count, last_id, last_at, last_sender}}}
        for those of these messages of the room that have replies: what a page
        reads again for the messages it shows when its feed resumes."""
        await self.in_scope(room_id, caller)
        await self.require_room(room_id)
        if len(message_ids) > MAX_REPLY_COUNT_IDS:
            raise InvalidInput(f"ask for at most {MAX_REPLY_COUNT_IDS} message ids at once")
        for i in message_ids:
            check.integer("message id", i, minimum=1)
        found = await self.store.reply_counts(room_id, message_ids)
        return {"room_id": room_id, "replies": {str(k): v for k, v in sorted(found.items())}}

    async def page_with_replies(self, room_id: str, messages: Sequence[R]) -> list[R]:
        """A page of the room's messages (already read, so in scope), each with
        replies carrying their count."""
        return await with_replies(self.store, room_id, messages)

    async def mark_unread(
        self, room_id: str, reader: str, message_id: int, *, caller: Caller = ANYONE
    ) -> ReadCursor:
        """ "Mark unread from here": `reader`'s cursor goes back to just before
        `message_id` (never forward): {room_id, reader, last_read_message_id}."""
        check.room_id(room_id)
        check.person("reader", reader)
        caller.acting_as(reader)
        check.integer("message_id", message_id, minimum=1)
        await self.in_scope(room_id, caller)
        return await self.store.mark_unread(room_id, reader, message_id)
