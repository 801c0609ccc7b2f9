"""Receipts of directed messages (delivered, read, acked per addressee) and
what still awaits an ack."""

from __future__ import annotations

from typing_extensions import TypedDict

from chatnut.shapes.messages import Receipt


class MessageReceipts(TypedDict):
    room_id: str
    message_id: int
    receipts: dict[str, Receipt]  # by addressee name


class RoomReceipts(TypedDict):
    room_id: str
    receipts: dict[str, dict[str, Receipt]]  # by message id, then name


class Awaiting(TypedDict):
    # A directed message posted with `ack_required`, not yet acked by `name`.
    message_id: int
    room_id: str
    name: str
    sender: str
    created_at: str
    delivered_at: str | None
    read_at: str | None
    preview: str


class AwaitingOverdue(Awaiting):
    overdue: bool  # posted longer ago than the answer's `overdue_after`


class AwaitingAcks(TypedDict):
    overdue_after: float
    awaiting: list[AwaitingOverdue]
