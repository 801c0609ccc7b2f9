"""Messages: one message, the pages and waits that carry them, read cursors."""

from __future__ import annotations

from typing import Annotated, Any, Generic, NotRequired, TypeVar

from typing_extensions import TypedDict

from chatnut.shapes.plain import PLAIN_ARRAY, PLAIN_OBJECT


class Reaction(TypedDict):
    emoji: str
    count: int
    names: list[str]


class Receipt(TypedDict):
    delivered_at: str | None
    read_at: str | None
    acked_at: str | None


# In tools/list as a plain array and object (shapes/plain.py): every agent's
# context does not pay for them on each message.
Reactions = Annotated[list[Reaction], PLAIN_ARRAY]
Receipts = Annotated[dict[str, Receipt], PLAIN_OBJECT]


class Replies(TypedDict):
    count: int
    last_id: int
    last_at: str
    last_sender: str


class Message(TypedDict):
    id: int
    room_id: str
    sender: str
    content: str
    message_type: str
    created_at: str
    metadata: dict[str, Any] | None
    # Only on an addressed message: its addressees.
    to: NotRequired[list[str]]
    # Only on a message posted with a principal's token.
    principal: NotRequired[str]
    # Only on an addressed message: its addressees' receipts, by name.
    receipts: NotRequired[Receipts]
    # Only on a message someone reacted to from the page, grouped by emoji.
    reactions: NotRequired[Reactions]
    # Only on a message edited (when) or deleted (true, its content empty) from the page.
    edited_at: NotRequired[str]
    deleted: NotRequired[bool]


class Mention(TypedDict):
    name: str
    task_id: str


class PostedMessage(Message):
    mentions: list[Mention]


M = TypeVar("M", bound=Message)


class Page(TypedDict, Generic[M]):
    # A page read forwards: `next_since_id` is the last id it scanned.
    messages: list[M]
    has_more: bool
    next_since_id: int


class Messages(Page[Message]):
    pass


class WaitedMessages(Messages):
    timed_out: bool


class RenderedMessage(Message):
    # The page's safe rendering of `content`, only when a REST read asks for it.
    html: NotRequired[str]
    # Only on a message with replies, in the page's reads (the MCP tools' never).
    replies: NotRequired[Replies]


R = TypeVar("R", bound=RenderedMessage)


class MessagePage(TypedDict):
    # A REST page of a room: forwards (`next_since_id`), backwards (the newest
    # below an id: `has_more`), or a window around an id (`has_older`, `has_newer`).
    messages: list[RenderedMessage]
    has_more: NotRequired[bool]
    next_since_id: NotRequired[int]
    has_older: NotRequired[bool]
    has_newer: NotRequired[bool]


class MessageWindow(TypedDict):
    messages: list[Message]
    has_older: bool
    has_newer: bool


class NewestPage(TypedDict):
    # The newest messages below an id (or of a feed): `has_more` older ones.
    messages: list[Message]
    has_more: bool


class Changes(TypedDict, Generic[M]):
    # Those of some messages of a room that were edited or deleted, as they now stand.
    room_id: str
    messages: list[M]


class ReadCursor(TypedDict):
    room_id: str
    reader: str
    last_read_message_id: int
