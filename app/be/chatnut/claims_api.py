"""REST routes for claims on files and tasks (service/claims.py), and the git
guard's question: are any of these files claimed by someone else?

A claim that is not granted is an answer, not an error: 200 with
`granted: false` and the conflicts, as the MCP tool answers.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from chatnut import validation as check
from chatnut.api import caller_of, service_of
from chatnut.guard.report import refusal_text
from chatnut.service.claims import (
    MAX_CHECKED_PATHS,
    MAX_CLAIM_PATHS,
    MAX_NOTE,
    MAX_TTL_S,
)
from chatnut.shapes.claims import Claimed, Claims, PathConflicts, Released
from chatnut.shapes.errors import REFUSALS

router = APIRouter(prefix="/api", responses=REFUSALS)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewClaim(_Body):
    agent_name: str = Field(min_length=1, max_length=check.MAX_SENDER)
    paths: list[str] = Field(default=[], max_length=MAX_CLAIM_PATHS)
    task: str | None = Field(default=None, max_length=check.MAX_NAME)
    ttl_s: int = Field(default=900, ge=1, le=MAX_TTL_S)
    exclusive: StrictBool = True
    note: str | None = Field(default=None, max_length=MAX_NOTE)


class Release(_Body):
    agent_name: str = Field(min_length=1, max_length=check.MAX_SENDER)
    claim_id: str | None = Field(default=None, max_length=64)
    paths: list[str] | None = Field(default=None, max_length=MAX_CLAIM_PATHS)


class PathCheck(_Body):
    project: str = Field(min_length=1, max_length=check.MAX_NAME)
    agent_name: str | None = Field(
        default=None, max_length=check.MAX_SENDER, description="whose own claims do not count"
    )
    paths: list[str] = Field(max_length=MAX_CHECKED_PATHS, description="file paths from the root")


@router.get("/claims", summary="Live claims of a room's project, a project, or all")
async def claims(
    request: Request,
    room_id: Annotated[str | None, Query(max_length=64)] = None,
    project: Annotated[str | None, Query(max_length=check.MAX_NAME)] = None,
) -> Claims:
    return await service_of(request).list_claims(room_id, project, caller=caller_of(request))


@router.post("/rooms/{room_id}/claims", summary="Claim files or a task (granted or not)")
async def claim(request: Request, room_id: str, body: NewClaim) -> Claimed:
    return await service_of(request).claim(
        room_id,
        body.agent_name,
        body.paths,
        body.task,
        body.ttl_s,
        body.exclusive,
        body.note,
        caller=caller_of(request),
    )


@router.post("/rooms/{room_id}/claims/release", summary="End claims, one claim, or some paths")
async def release(request: Request, room_id: str, body: Release) -> Released:
    return await service_of(request).release(
        room_id, body.agent_name, body.claim_id, body.paths, caller=caller_of(request)
    )


@router.post(
    "/claims/check",
    summary="Which of these files others claim exclusively (git guard)",
    # With format=text, the refusal's lines as plain text instead.
    response_model=PathConflicts,
)
async def check_paths(
    request: Request, body: PathCheck, format: Literal["json", "text"] = "json"
) -> Any:
    """Reads only; a POST because a commit's file list is too long for a URL.
    `format=text`: the lines of the refusal to print (two a claim in the way),
    empty when nothing is."""
    found = await service_of(request).check_paths(
        body.project, body.agent_name, body.paths, caller=caller_of(request)
    )
    if format == "text":
        return PlainTextResponse(refusal_text(found["conflicts"]))
    return found
