"""Receipts of directed messages: delivered, read, acked, per name in a message's `to`.

Delivered: the message was handed to that name — by a read or wait filtered
by `addressed_to` with its name, `check_inbox`, `get_handoff`, or its push
channel. Read: that name's read cursor passed it (the store stamps it when the
cursor moves). Acked: the name called `ack_message`. A message posted with
`ack_required` is listed as awaiting each of its `to` names' acks until they
do; an onlooker (REST) sees who is overdue after a time it names.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from chatnut import validation as check
from chatnut.errors import InvalidInput
from chatnut.principals import ANYONE, Caller
from chatnut.service.common import ServiceCore
from chatnut.service.reactions import with_reactions
from chatnut.shapes.coordination import Ack, AwaitingEntry
from chatnut.shapes.messages import M
from chatnut.shapes.receipts import (
    Awaiting,
    AwaitingAcks,
    AwaitingOverdue,
    MessageReceipts,
    RoomReceipts,
)
from chatnut.store.base import Store

# Awaiting-ack lists in tool results stay short (an inbox or a 24 KB handoff);
# REST pages up to MAX_AWAITING.
AWAITING_IN_RESULTS = 10
MAX_AWAITING = 500
DEFAULT_OVERDUE_S = 600
MAX_RECEIPT_IDS = 500


async def with_receipts(store: Store, messages: Sequence[M], delivered_to: str | None) -> list[M]:
    """The messages, each one with a `to` carrying `receipts` {name: {delivered_at,
    read_at, acked_at}}; those addressed to `delivered_to` are stamped delivered
    first; and those with reactions carrying `reactions` (every read result passes
    here). New dicts: a message may be an event's, shared with other subscribers."""
    shown = await with_reactions(store, messages)
    directed = [m["id"] for m in shown if m.get("to")]
    if not directed:
        return shown
    found = await store.receipts(directed)
    if delivered_to is not None:
        fresh = [
            i
            for i in directed
            if found.get(i, {}).get(delivered_to, {"delivered_at": 1})["delivered_at"] is None
        ]
        if fresh:
            await store.mark_delivered(delivered_to, fresh)
            found = await store.receipts(directed)
    for n, message in enumerate(shown):
        if message.get("to"):
            shown[n] = copy.copy(message)
            shown[n]["receipts"] = found.get(message["id"], {})
    return shown


def awaiting_entry(row: Awaiting) -> AwaitingEntry:
    """What a tool result lists per message awaiting the caller's ack: short."""
    return {
        "message_id": row["message_id"],
        "room_id": row["room_id"],
        "sender": row["sender"],
        "created_at": row["created_at"],
    }


async def awaiting_for(store: Store, name: str, room_id: str | None) -> list[AwaitingEntry]:
    """The first messages still awaiting `name`'s ack (in one room, or every live room)."""
    rows = await store.awaiting_acks(room_id=room_id, name=name, limit=AWAITING_IN_RESULTS)
    return [awaiting_entry(r) for r in rows]


def ack_flag(value: Any, addressed: list[str]) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(f"ack_required must be true or false, got {value!r}")
    if value and not addressed:
        raise InvalidInput("ack_required needs `to`: the names whose acks are awaited")
    return value


class ReceiptRules(ServiceCore):
    async def ack_message(
        self, room_id: str, message_id: int, agent_name: str, *, caller: Caller = ANYONE
    ) -> Ack:
        check.room_id(room_id)
        check.integer("message_id", message_id, minimum=1)
        name = check.addressee("agent_name", agent_name)
        caller.needs("member", "acknowledging a message")
        caller.acting_as(name)
        await self.in_scope(room_id, caller)
        receipt = await self.store.ack_message(room_id, message_id, name)
        self.seen(room_id, name)
        return receipt

    async def message_receipts(
        self, room_id: str, message_id: int, *, caller: Caller = ANYONE
    ) -> MessageReceipts:
        await self.in_scope(room_id, caller)
        await self.require_room(room_id)
        check.integer("message_id", message_id, minimum=1)
        found = await self.store.receipts([message_id])
        return {"room_id": room_id, "message_id": message_id, "receipts": found.get(message_id, {})}

    async def room_receipts(
        self, room_id: str, message_ids: Sequence[int], *, caller: Caller = ANYONE
    ) -> RoomReceipts:
        """The receipts of several of a room's messages at once: what a page reads
        for the directed messages it shows (on opening, and again on resuming)."""
        await self.in_scope(room_id, caller)
        await self.require_room(room_id)
        if len(message_ids) > MAX_RECEIPT_IDS:
            raise InvalidInput(f"ask for at most {MAX_RECEIPT_IDS} message ids at once")
        for i in message_ids:
            check.integer("message id", i, minimum=1)
        found = await self.store.receipts(sorted(set(message_ids)), room_id)
        return {"room_id": room_id, "receipts": {str(k): v for k, v in found.items()}}

    async def awaiting_acks(
        self,
        *,
        room_id: str | None = None,
        name: str | None = None,
        overdue_after: float = DEFAULT_OVERDUE_S,
        limit: int = 100,
        caller: Caller = ANYONE,
    ) -> AwaitingAcks:
        """Per room (optionally one name's) or per name across live rooms, each with
        `overdue`: posted more than `overdue_after` seconds ago and still not acked."""
        if room_id is not None:
            check.room_id(room_id)
        who = None if name is None else check.addressee("name", name)
        if room_id is None and who is None:
            raise InvalidInput("name a room or a name to list what awaits acks")
        if isinstance(overdue_after, bool) or not isinstance(overdue_after, int | float):
            raise InvalidInput(f"overdue_after must be seconds, got {overdue_after!r}")
        if not 0 <= overdue_after <= 30 * 86400:
            raise InvalidInput(f"overdue_after must be 0 to 2592000 seconds, got {overdue_after}")
        check.integer("limit", limit, minimum=1, maximum=MAX_AWAITING)
        if room_id is not None:
            await self.in_scope(room_id, caller)
        rows = await self.store.awaiting_acks(room_id=room_id, name=who, limit=limit)
        visible = await self.visible_rooms(caller)
        if visible is not None:
            rows = [r for r in rows if r["room_id"] in visible]
        now = datetime.now(UTC)
        awaiting: list[AwaitingOverdue] = [
            {
                **r,
                "overdue": (now - datetime.fromisoformat(r["created_at"])).total_seconds()
                > overdue_after,
            }
            for r in rows
        ]
        return {"overdue_after": overdue_after, "awaiting": awaiting}
