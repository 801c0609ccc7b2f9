"""Admin routes for retention under /api/admin/retention, for `chatnut retention`
and `chatnut import`: the policy, a run now (or a dry run), and a restore.

Every route needs the admin role (the service checks it).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from chatnut.api import caller_of, service_of
from chatnut.shapes.admin import Restored, RetentionPolicy, RetentionRule, RetentionRun
from chatnut.shapes.errors import REFUSALS

router = APIRouter(prefix="/api/admin/retention", responses=REFUSALS)


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scope: str = Field(min_length=1, max_length=300, description="PROJECT or PROJECT/ROOM")
    days: str = Field(min_length=1, max_length=10, description="DAYS (1..36500) or off")


class Run(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dry_run: bool = False


class Restore(BaseModel):
    model_config = ConfigDict(extra="forbid")
    file: str = Field(min_length=1, max_length=4096)


@router.get("", summary="The server's --retain-days and every override")
async def show(request: Request) -> RetentionPolicy:
    return await service_of(request).retention.show(caller=caller_of(request))


@router.put("", summary="Set a project's or a room's retention: DAYS or off")
async def set_rule(request: Request, body: Rule) -> RetentionRule:
    return await service_of(request).retention.set(body.scope, body.days, caller=caller_of(request))


@router.post("/run", summary="Write old messages to a .jsonl.gz, then delete them (or count them)")
async def run(request: Request, body: Run) -> RetentionRun:
    return await service_of(request).retention.run(dry_run=body.dry_run, caller=caller_of(request))


@router.post("/import", summary="Restore messages from a retention file, ids included")
async def restore(request: Request, body: Restore) -> Restored:
    return await service_of(request).retention.restore(body.file, caller=caller_of(request))
