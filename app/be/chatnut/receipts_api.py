"""REST routes for receipts, reactions and push: who got, read and acked a directed message,
what still awaits acks (per room, per name, overdue after a stated time), and
the three calls a name's channel bridge makes (bridge.py / push.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from chatnut import validation as check
from chatnut.api import _while_connected, caller_of, service_of
from chatnut.errors import InvalidInput
from chatnut.service.delivery import MAX_HOLDER, MAX_POLL_S
from chatnut.service.reactions import MAX_REACTION_IDS
from chatnut.service.receipts import DEFAULT_OVERDUE_S, MAX_AWAITING, MAX_RECEIPT_IDS
from chatnut.shapes.coordination import Ack, PushConfirmed, PushPage, PushReleased
from chatnut.shapes.errors import REFUSALS
from chatnut.shapes.reactions import MessageReactions, RoomReactions, Toggled
from chatnut.shapes.receipts import AwaitingAcks, MessageReceipts, RoomReceipts

router = APIRouter(prefix="/api", responses=REFUSALS)

OverdueAfter = Annotated[
    float,
    Query(ge=0, le=30 * 86400, description="seconds after posting an unacked message is overdue"),
]
Limit = Annotated[int, Query(ge=1, le=MAX_AWAITING)]
MessageId = Annotated[int, Field(ge=1, le=check.MAX_ID)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AckBody(_Body):
    agent_name: str = Field(min_length=1, max_length=check.MAX_SENDER)


class PushNext(_Body):
    holder: str = Field(min_length=1, max_length=MAX_HOLDER)
    after: int = Field(default=0, ge=0, le=check.MAX_ID)
    timeout: float = Field(default=MAX_POLL_S, ge=0)


class PushDone(_Body):
    holder: str = Field(min_length=1, max_length=MAX_HOLDER)
    through: int = Field(ge=0, le=check.MAX_ID)
    pushed: list[MessageId] = Field(default_factory=list, max_length=1000)


class PushRelease(_Body):
    holder: str = Field(min_length=1, max_length=MAX_HOLDER)


@router.get("/rooms/{room_id}/messages/{message_id}/receipts", summary="A message's receipts")
async def receipts(request: Request, room_id: str, message_id: int) -> MessageReceipts:
    """{name: {delivered_at, read_at, acked_at}} for each name in the message's `to`."""
    return await service_of(request).message_receipts(
        room_id, message_id, caller=caller_of(request)
    )


@router.get("/rooms/{room_id}/receipts", summary="Receipts of several messages of a room")
async def room_receipts(
    request: Request,
    room_id: str,
    ids: Annotated[str, Query(max_length=MAX_RECEIPT_IDS * 17, description="1,2,3")],
) -> RoomReceipts:
    """{room_id, receipts: {message id: {name: {delivered_at, read_at, acked_at}}}} for
    those of `ids` (comma-separated, at most 500) that are this room's directed messages."""
    try:
        wanted = [int(part) for part in ids.split(",") if part.strip()]
    except ValueError:
        raise InvalidInput("ids must be message ids separated by commas") from None
    return await service_of(request).room_receipts(room_id, wanted, caller=caller_of(request))


@router.post("/rooms/{room_id}/messages/{message_id}/ack", summary="Acknowledge a message")
async def ack(request: Request, room_id: str, message_id: int, body: AckBody) -> Ack:
    return await service_of(request).ack_message(
        room_id, message_id, body.agent_name, caller=caller_of(request)
    )


@router.get("/rooms/{room_id}/awaiting-acks", summary="Messages of a room still awaiting acks")
async def room_awaiting(
    request: Request,
    room_id: str,
    name: Annotated[str | None, Query(max_length=check.MAX_SENDER)] = None,
    overdue_after: OverdueAfter = DEFAULT_OVERDUE_S,
    limit: Limit = 100,
) -> AwaitingAcks:
    return await service_of(request).awaiting_acks(
        room_id=room_id,
        name=name,
        overdue_after=overdue_after,
        limit=limit,
        caller=caller_of(request),
    )


@router.get("/awaiting-acks", summary="Messages awaiting a name's acks in every live room")
async def name_awaiting(
    request: Request,
    name: Annotated[str, Query(min_length=1, max_length=check.MAX_SENDER)],
    overdue_after: OverdueAfter = DEFAULT_OVERDUE_S,
    limit: Limit = 100,
) -> AwaitingAcks:
    return await service_of(request).awaiting_acks(
        name=name, overdue_after=overdue_after, limit=limit, caller=caller_of(request)
    )


@router.post(
    "/push/{agent_name}/next",
    summary="A channel bridge's long-poll for what to push",
    # A long-poll whose client hung up answers a bare 499 (nobody reads it).
    response_model=PushPage,
)
async def push_next(request: Request, agent_name: str, body: PushNext) -> Any:
    work = service_of(request).push_next(
        agent_name,
        body.holder,
        after=body.after,
        timeout=body.timeout,
        caller=caller_of(request),
    )
    return await _while_connected(request, work)


@router.post("/push/{agent_name}/done", summary="Confirm what a channel bridge pushed")
async def push_done(request: Request, agent_name: str, body: PushDone) -> PushConfirmed:
    return await service_of(request).push_done(
        agent_name, body.holder, body.through, body.pushed, caller=caller_of(request)
    )


@router.post("/push/{agent_name}/release", summary="A channel bridge lets go of its name")
async def push_release(request: Request, agent_name: str, body: PushRelease) -> PushReleased:
    return await service_of(request).push_release(
        agent_name, body.holder, caller=caller_of(request)
    )


class ReactionBody(_Body):
    emoji: str = Field(min_length=1, max_length=8)
    name: str = Field(min_length=1, max_length=check.MAX_SENDER)


@router.post("/rooms/{room_id}/messages/{message_id}/reactions", summary="Toggle a reaction")
async def react(request: Request, room_id: str, message_id: int, body: ReactionBody) -> Toggled:
    """Add `name`'s `emoji` (one of ✅ 👀 👍 ❌ 🎉) to the message, or take it away if
    it is there: {room_id, message_id, reactions, emoji, name, reacted}."""
    return await service_of(request).toggle_reaction(
        room_id, message_id, body.emoji, body.name, caller=caller_of(request)
    )


@router.get("/rooms/{room_id}/reactions", summary="Reactions of several messages of a room")
async def room_reactions(
    request: Request,
    room_id: str,
    ids: Annotated[str, Query(max_length=MAX_REACTION_IDS * 17, description="1,2,3")],
) -> RoomReactions:
    """{room_id, reactions: {message id: [{emoji, count, names}]}} for those of `ids`
    (comma-separated, at most 500) that are this room's and have any."""
    try:
        wanted = [int(part) for part in ids.split(",") if part.strip()]
    except ValueError:
        raise InvalidInput("ids must be message ids separated by commas") from None
    return await service_of(request).room_reactions(room_id, wanted, caller=caller_of(request))


@router.get("/rooms/{room_id}/messages/{message_id}/reactions", summary="A message's reactions")
async def reactions(request: Request, room_id: str, message_id: int) -> MessageReactions:
    """{room_id, message_id, reactions: [{emoji, count, names}]}."""
    return await service_of(request).message_reactions(
        room_id, message_id, caller=caller_of(request)
    )
