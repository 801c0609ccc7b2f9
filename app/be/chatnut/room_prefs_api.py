"""REST routes for a reader's own settings per room (notification level,
muted, starred): all of them in one answer for the page's sidebar, and a
change to one room's."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from chatnut import validation as check
from chatnut.api import caller_of, service_of
from chatnut.shapes.errors import REFUSALS
from chatnut.shapes.rooms import ReaderRoomPref, RoomPrefs

router = APIRouter(prefix="/api", responses=REFUSALS)


class RoomPrefsChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reader: str = Field(min_length=1, max_length=check.MAX_SENDER)
    level: Literal["all", "mentions", "none"] | None = None
    muted: bool | None = None
    starred: bool | None = None


@router.get("/room-prefs", summary="A reader's settings of every room (level, muted, starred)")
async def room_prefs(
    request: Request,
    reader: Annotated[str, Query(min_length=1, max_length=check.MAX_SENDER)],
) -> RoomPrefs:
    return await service_of(request).room_prefs(reader, caller=caller_of(request))


@router.put("/rooms/{room_id}/prefs", summary="Change a reader's settings of one room")
async def set_room_prefs(request: Request, room_id: str, body: RoomPrefsChange) -> ReaderRoomPref:
    return await service_of(request).set_room_prefs(
        body.reader,
        room_id,
        level=body.level,
        muted=body.muted,
        starred=body.starred,
        caller=caller_of(request),
    )
