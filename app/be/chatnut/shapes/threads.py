"""Threads: a message and its replies, the reply counts a page shows."""

from __future__ import annotations

from typing import Generic

from typing_extensions import TypedDict

from chatnut.shapes.messages import M, Replies


class Thread(TypedDict, Generic[M]):
    room_id: str
    parent: M
    # Oldest first, after the id the read asked to start after.
    replies: list[M]
    has_more: bool
    reply_count: int


class ReplyCounts(TypedDict):
    room_id: str
    # By message id (as a string: a JSON object's keys), only those with replies.
    replies: dict[str, Replies]
