"""Search: rooms by name and messages by content."""

from __future__ import annotations

from typing import NotRequired

from typing_extensions import TypedDict

from chatnut.shapes.rooms import Room


class RoomMatches(TypedDict):
    room_id: str
    match_count: int


class MessageHit(TypedDict):
    id: int
    room_id: str
    sender: str
    created_at: str
    snippet: str  # the content around the first match


class SearchResult(TypedDict):
    # The search tool's answer: rooms, per-room hit counts, the newest hits.
    rooms: list[Room]
    message_rooms: list[RoomMatches]
    messages: list[MessageHit]


class RoomName(TypedDict):
    name: str
    project: str


class SearchPage(SearchResult):
    # The page's search: a page of hits from `offset` among the newest ones.
    room_names: dict[str, RoomName]  # of the rooms the hits and counts name, by id
    offset: int
    total: int  # hits counted, up to the cap
    capped: bool  # more hits than were counted
    has_more: bool
    # The text looked for (the query without its operators), for highlighting:
    # only on the page's answer, not the store's.
    terms: NotRequired[list[str]]
