"""Admin routes under /api/admin/: principals' tokens, for `chatnut token … --url`.

Every route needs the admin role: the shared token, or a principal made with
`--role admin`. A new token's secret is in the creation answer only; lists
show its prefix.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from chatnut import validation as check
from chatnut.api import caller_of, service_of
from chatnut.shapes.admin import IssuedToken, RevokedTokens, TokenList
from chatnut.shapes.errors import REFUSALS

router = APIRouter(prefix="/api/admin", responses=REFUSALS)


class NewToken(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=check.MAX_SENDER)
    kind: Literal["agent", "person"] = "agent"
    role: Literal["reader", "member", "admin"] = "member"
    projects: list[str] = Field(default_factory=list, max_length=100)
    expires: str | None = Field(default=None, max_length=10, description="30d, 12h, 90m, 2w")
    owner: str | None = Field(default=None, max_length=check.MAX_SENDER)


@router.post("/tokens", summary="Make a token for a principal (its secret, shown once)")
async def create_token(request: Request, body: NewToken) -> IssuedToken:
    return await service_of(request).create_token(
        body.name,
        kind=body.kind,
        role=body.role,
        projects=body.projects,
        expires=body.expires,
        owner=body.owner,
        caller=caller_of(request),
    )


@router.get("/tokens", summary="Every token: prefix, principal, role, times (never a secret)")
async def list_tokens(request: Request) -> TokenList:
    return await service_of(request).list_tokens(caller=caller_of(request))


@router.delete("/tokens/{id_or_name}", summary="Revoke a token by id, or all of a name's")
async def revoke_tokens(request: Request, id_or_name: str) -> RevokedTokens:
    return await service_of(request).revoke_tokens(id_or_name, caller=caller_of(request))
