"""Rooms: one room, the lists of them, what archiving, clearing and deleting
answer, and the summaries the page's sidebar and `/api/rooms` show."""

from __future__ import annotations

from typing import Any, NotRequired

from typing_extensions import TypedDict

from chatnut.shapes.messages import Message


class Room(TypedDict):
    id: str
    name: str
    project: str
    branch: str | None
    description: str | None
    status: str
    created_at: str
    archived_at: str | None
    metadata: dict[str, Any] | None


class InitializedRoom(Room):
    web_url: str


class Rooms(TypedDict):
    rooms: list[Room]


class Archived(TypedDict):
    name: str
    project: str
    archived_at: str | None


class Deleted(TypedDict):
    id: str
    name: str
    project: str
    deleted_messages: int


class Cleared(TypedDict):
    name: str
    project: str
    room_id: str
    deleted_count: int


class Projects(TypedDict):
    projects: list[str]


# -- summaries: REST and the page's sidebar --------------------------------------


class LastMessage(TypedDict):
    # The newest message of a room, as its sidebar row previews it.
    id: int
    sender: str
    preview: str
    message_type: str
    created_at: str
    to: NotRequired[list[str]]  # only when it was addressed


class RoomSummary(Room):
    message_count: int
    last_message: LastMessage | None
    # Only when the summary was read for a reader.
    unread_count: NotRequired[int]
    last_read_message_id: NotRequired[int]


class RoomSummaries(TypedDict):
    rooms: list[RoomSummary]


class SidebarPage(TypedDict):
    rooms: list[RoomSummary]
    has_more: bool
    offset: int


class ProjectTotals(TypedDict):
    project: str
    live: int
    archived: int
    unread: int  # messages in live rooms above the reader's cursor
    unread_rooms: int


class SidebarTotals(TypedDict):
    projects: list[ProjectTotals]
    live: int
    archived: int
    unread: int
    unread_rooms: int
    rooms: dict[str, int]  # the unread of the rooms asked about, by id


class CaughtUp(TypedDict):
    reader: str
    rooms: int  # how many rooms' cursors moved


# -- a reader's own settings per room ---------------------------------------------


class RoomPref(TypedDict):
    room_id: str
    project: str
    level: str  # all, mentions or none: what notifies the reader
    muted: bool
    starred: bool
    updated_at: str


class ReaderRoomPref(RoomPref):
    reader: str


class RoomPrefs(TypedDict):
    reader: str
    rooms: list[RoomPref]
    starred_rooms: list[RoomSummary]  # the live starred rooms' summaries
    muted_unread: dict[str, int]  # the live muted rooms' unread, by id


class RoomExport(TypedDict):
    # A room exported as JSON (the Markdown export is the same, as text).
    room: RoomSummary
    messages: list[Message]
