"""REST routes for the page's sidebar at a team's scale: one page of rooms at
a time, the totals the page cannot add up itself, and a reader's first visit."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from chatnut import validation as check
from chatnut.api import caller_of, service_of
from chatnut.service.pages import SIDEBAR_MAX_PAGE
from chatnut.shapes.errors import REFUSALS
from chatnut.shapes.rooms import CaughtUp, SidebarPage, SidebarTotals

router = APIRouter(prefix="/api", responses=REFUSALS)

Reader = Annotated[str | None, Query(max_length=check.MAX_SENDER)]


class CatchUp(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reader: str = Field(min_length=1, max_length=check.MAX_SENDER)
    # Only this project's rooms ("Mark all read" on a project).
    project: str | None = Field(default=None, min_length=1, max_length=check.MAX_NAME)
    # The page's first visit in a browser: a name that already has cursors
    # (read on another device) keeps them.
    first_visit: bool = False


@router.get("/sidebar", summary="One page of room summaries, newest activity first")
async def sidebar(
    request: Request,
    reader: Reader = None,
    project: Annotated[str | None, Query(max_length=check.MAX_NAME)] = None,
    status: Literal["live", "archived", "all"] = "live",
    unread_only: bool = False,
    q: Annotated[str | None, Query(max_length=check.MAX_NAME, description="name contains")] = None,
    offset: Annotated[int, Query(ge=0, le=check.MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=SIDEBAR_MAX_PAGE)] = 100,
) -> SidebarPage:
    return await service_of(request).sidebar_page(
        reader,
        project=project,
        status=status,
        unread_only=unread_only,
        name_contains=q or None,
        offset=offset,
        limit=limit,
        caller=caller_of(request),
    )


@router.get("/sidebar/totals", summary="Rooms and unread messages per project, and overall")
async def sidebar_totals(request: Request, reader: Reader = None) -> SidebarTotals:
    return await service_of(request).sidebar_totals(reader, caller=caller_of(request))


@router.post("/catch-up", summary="Mark every room (of a project) read for a reader")
async def catch_up(request: Request, body: CatchUp) -> CaughtUp:
    return await service_of(request).catch_up(
        body.reader,
        project=body.project,
        first_visit=body.first_visit,
        caller=caller_of(request),
    )
