"""Every answer that carries messages is bounded in bytes, not only in count.

`limit` alone let one call answer 130 MB (1 000 messages of 64 KB, which MCP
carries twice: as text and as structured content) and eight such calls took
the server past 1.7 GB. So a page of messages stops early once its contents
pass the answer budget (`max_answer_bytes`), always with at least one message
so a reader moves on, and says so the usual way: `has_more` is true and
`next_since_id` is the last message it holds. The store is asked in chunks of
at most READ_CHUNK_BYTES of the largest possible messages, so a read never
holds much more than it answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from chatnut.shapes.messages import M, Message, Page

DEFAULT_ANSWER_BYTES = 1024 * 1024
# What one chunk read from the store may hold at most, with every message at
# the largest size allowed.
READ_CHUNK_BYTES = 8 * 1024 * 1024
# A message's fields besides its content, as JSON: ids, names, times, metadata.
MESSAGE_OVERHEAD = 512


def message_size(message: Message) -> int:
    return len(str(message["content"]).encode()) + MESSAGE_OVERHEAD


def chunk_of(max_message_bytes: int) -> int:
    """How many messages to ask the store for at once."""
    return max(1, READ_CHUNK_BYTES // (max_message_bytes + MESSAGE_OVERHEAD))


def fitting(messages: Sequence[Message], budget: int, *, some: bool) -> int:
    """How many of `messages` (from the start) fit in `budget` bytes; with `some`,
    at least one, whatever its size."""
    used = 0
    for n, message in enumerate(messages):
        used += message_size(message)
        if used > budget and (n > 0 or not some):
            return n
    return len(messages)


def newest_fitting(messages: list[M], budget: int) -> tuple[list[M], bool]:
    """The newest of `messages` (oldest first) that fit, at least one; and whether
    any older ones were left out."""
    kept = fitting(messages[::-1], budget, some=True)
    return messages[len(messages) - kept :], kept < len(messages)


async def read_forward(
    fetch: Callable[[int, int], Awaitable[Page[M]]], after: int, limit: int, budget: int, chunk: int
) -> Page[M]:
    """Up to `limit` messages after `after` within `budget` bytes, from
    `fetch(after, limit)` pages ({messages, has_more, next_since_id}), asked in
    chunks; the answer is shaped like one such page."""
    messages: list[M] = []
    used = 0
    while True:
        page = await fetch(after, min(limit - len(messages), chunk))
        got = page["messages"]
        kept = fitting(got, budget - used, some=not messages)
        messages += got[:kept]
        used += sum(message_size(m) for m in got[:kept])
        if kept < len(got):  # over the budget: stop at the last message that fits
            return {
                **page,
                "messages": messages,
                "has_more": True,
                "next_since_id": messages[-1]["id"],
            }
        after = page["next_since_id"]
        if not page["has_more"] or len(messages) >= limit:
            return {**page, "messages": messages}
