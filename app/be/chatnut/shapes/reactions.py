"""Reactions: the page's small set of emoji on a message, grouped by emoji."""

from __future__ import annotations

from typing_extensions import TypedDict

from chatnut.shapes.messages import Reaction


class MessageReactions(TypedDict):
    room_id: str
    message_id: int
    reactions: list[Reaction]


class Toggled(MessageReactions):
    emoji: str
    name: str
    reacted: bool  # true: added; false: the same emoji again took it away


class RoomReactions(TypedDict):
    room_id: str
    reactions: dict[str, list[Reaction]]  # by message id
