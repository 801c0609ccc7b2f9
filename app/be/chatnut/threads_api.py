"""REST routes for threads and the reader's place: a message's thread, the reply
counts of the messages a page shows, and "mark unread from here"."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from chatnut import validation as check
from chatnut.api import caller_of, service_of
from chatnut.errors import InvalidInput
from chatnut.render import as_rendered, with_html_async
from chatnut.shapes.errors import REFUSALS
from chatnut.shapes.messages import ReadCursor, RenderedMessage
from chatnut.shapes.threads import ReplyCounts, Thread
from chatnut.store.thread_rows import MAX_REPLY_COUNT_IDS, THREAD_PAGE

router = APIRouter(prefix="/api", responses=REFUSALS)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UnreadFrom(_Body):
    reader: str = Field(min_length=1, max_length=check.MAX_SENDER)
    message_id: int = Field(ge=1, le=check.MAX_ID)


@router.get("/rooms/{room_id}/messages/{message_id}/thread", summary="A message and its replies")
async def thread(
    request: Request,
    room_id: str,
    message_id: Annotated[int, Path(ge=1, le=check.MAX_ID)],
    after: Annotated[int, Query(ge=0, le=check.MAX_ID, description="replies after this id")] = 0,
    limit: Annotated[int, Query(ge=1, le=check.MAX_LIMIT)] = THREAD_PAGE,
    html: Annotated[bool, Query(description="add each message's rendered `html`")] = False,
) -> Thread[RenderedMessage]:
    """{room_id, parent, replies, has_more, reply_count}: the replies (messages whose
    `reply_to` is this message) after `after`, oldest first."""
    found = await service_of(request).read_thread(
        room_id, message_id, after=after, limit=limit, caller=caller_of(request)
    )
    both = [found["parent"], *found["replies"]]
    parent, *replies = await with_html_async(both) if html else as_rendered(both)
    return {**found, "parent": parent, "replies": replies}


@router.get("/rooms/{room_id}/replies", summary="Reply counts of several messages of a room")
async def reply_counts(
    request: Request,
    room_id: str,
    ids: Annotated[str, Query(max_length=MAX_REPLY_COUNT_IDS * 17, description="1,2,3")],
) -> ReplyCounts:
    """{room_id, replies: {message id: {count, last_id, last_at, last_sender}}} for
    those of `ids` (comma-separated, at most 500) that are this room's and have any."""
    try:
        wanted = [int(part) for part in ids.split(",") if part.strip()]
    except ValueError:
        raise InvalidInput("ids must be message ids separated by commas") from None
    return await service_of(request).room_reply_counts(room_id, wanted, caller=caller_of(request))


@router.post("/rooms/{room_id}/unread", summary="Mark unread from a message on")
async def mark_unread(request: Request, room_id: str, body: UnreadFrom) -> ReadCursor:
    """Move `reader`'s cursor back to just before `message_id` (never forward):
    {room_id, reader, last_read_message_id}. Receipts already read stay read."""
    return await service_of(request).mark_unread(
        room_id, body.reader, body.message_id, caller=caller_of(request)
    )
