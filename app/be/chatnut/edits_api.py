"""REST routes for editing and deleting a message from the page, and for the
page's read-again of the messages it shows (service/edits.py has the rules)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from chatnut import validation as check
from chatnut.api import caller_of, service_of
from chatnut.errors import InvalidInput
from chatnut.render import as_rendered, with_html_async
from chatnut.service.edits import MAX_CHANGED_IDS
from chatnut.shapes.errors import REFUSALS
from chatnut.shapes.messages import Changes, Message, RenderedMessage

router = APIRouter(prefix="/api", responses=REFUSALS)

Html = Annotated[bool, Query(description="add the message's rendered `html`")]
Name = Annotated[
    str | None,
    Query(max_length=check.MAX_SENDER, description="without a token: the message's sender"),
]


class MessageEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content: str = Field(min_length=1)
    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=check.MAX_SENDER,
        description="without a token: the message's sender",
    )


async def _shown(message: Message, html: bool) -> RenderedMessage:
    return (await with_html_async([message]) if html else as_rendered([message]))[0]


@router.patch("/messages/{message_id}", summary="Edit a message")
async def edit(
    request: Request, message_id: int, body: MessageEdit, html: Html = False
) -> RenderedMessage:
    """Replace the content of your own message (or any, as an admin): the message
    as it now stands, with `edited_at`."""
    message = await service_of(request).edit_message(
        message_id, body.content, body.name, caller=caller_of(request)
    )
    return await _shown(message, html)


@router.delete("/messages/{message_id}", summary="Delete a message")
async def delete(
    request: Request, message_id: int, name: Name = None, html: Html = False
) -> RenderedMessage:
    """Delete your own message (or any, as an admin) for good: its tombstone,
    `{…, content: "", deleted: true}`."""
    message = await service_of(request).delete_message(message_id, name, caller=caller_of(request))
    return await _shown(message, html)


@router.get("/rooms/{room_id}/edits", summary="Which of several messages were edited or deleted")
async def room_edits(
    request: Request,
    room_id: str,
    ids: Annotated[str, Query(max_length=MAX_CHANGED_IDS * 17, description="1,2,3")],
    html: Html = False,
) -> Changes[RenderedMessage]:
    """{room_id, messages: [...]}: those of `ids` (comma-separated, at most 500)
    that are this room's and were edited or deleted, as they now stand."""
    try:
        wanted = [int(part) for part in ids.split(",") if part.strip()]
    except ValueError:
        raise InvalidInput("ids must be message ids separated by commas") from None
    found = await service_of(request).room_edits(room_id, wanted, caller=caller_of(request))
    messages = found["messages"]
    shown = await with_html_async(messages) if html else as_rendered(messages)
    return {"room_id": found["room_id"], "messages": shown}
