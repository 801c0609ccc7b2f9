"""Coordination across rooms: the inbox, the handoff, acknowledgements."""

from __future__ import annotations

from typing import Annotated, NotRequired

from typing_extensions import TypedDict

from chatnut.shapes.claims import Claim
from chatnut.shapes.messages import Message, Page
from chatnut.shapes.plain import PLAIN_LIST, PLAIN_OBJECT, PLAIN_OR_NULL
from chatnut.shapes.rooms import Room
from chatnut.shapes.team import Agent, AgentSeen, Status, StatusSeen


class InboxRoom(TypedDict):
    id: str
    project: str
    name: str


class InboxMessage(Message):
    room: InboxRoom  # which room, as the inbox spans every live one


class InboxPage(Page[InboxMessage]):
    pass


class AwaitingEntry(TypedDict):
    # A message still awaiting the caller's ack, as a tool result lists it.
    message_id: int
    room_id: str
    sender: str
    created_at: str


class HandoffSnapshot(TypedDict):
    # What the store reads for a handoff, as of one snapshot: the service adds
    # presence (from `saved`, the persisted last-seen times), receipts and claims.
    room: Room
    statuses: list[Status]
    agents: list[Agent]
    latest_summary: Message | None
    unread_count: int
    unread: list[Message]  # after the reader's cursor
    recent: list[Message]  # the newest
    next_since_id: int
    saved: dict[str, str]


class CutMessage(Message):
    truncated: bool  # the body was cut to keep the handoff small


# The inbox's and the handoff's parts are the shapes other tools return, so
# tools/list declares them as plain objects (their full schemas again would
# cost every agent ~2.5 KB of context); SKILL.md describes each field.


class Inbox(TypedDict):
    messages: Annotated[list[InboxMessage], PLAIN_LIST]
    has_more: bool
    next_since_id: int
    timed_out: bool
    awaiting_ack: NotRequired[Annotated[list[AwaitingEntry], PLAIN_LIST]]


class Handoff(TypedDict):
    room: Annotated[Room, PLAIN_OBJECT]
    statuses: Annotated[list[StatusSeen], PLAIN_LIST]
    agents: Annotated[list[AgentSeen], PLAIN_LIST]
    latest_summary: Annotated[CutMessage | None, PLAIN_OR_NULL]
    unread_count: int
    unread: Annotated[list[CutMessage], PLAIN_LIST]
    recent: Annotated[list[CutMessage], PLAIN_LIST]
    next_since_id: int
    omitted: dict[str, int]  # how many of each list were left out to fit
    complete: bool
    awaiting_ack: NotRequired[Annotated[list[AwaitingEntry], PLAIN_LIST]]
    claims: NotRequired[Annotated[list[Claim], PLAIN_LIST]]


class Ack(TypedDict):
    room_id: str
    message_id: int
    agent_name: str
    delivered_at: str | None
    read_at: str | None
    acked_at: str


# -- push channels: a bridge that pushes a name's messages into its session -------


class PushPage(TypedDict):
    held: bool  # false: another bridge holds the name's lease (nothing returned)
    messages: list[InboxMessage]
    next_since_id: int
    has_more: bool


class PushConfirmed(TypedDict):
    advanced: bool  # false: this holder lost the lease, nothing was stamped


class PushReleased(TypedDict):
    released: bool
