"""The claim tools: who is editing which files or task in a project (service/claims.py).

Every agent pays for tools/list in context, and the whole of push, receipts
and claims may add 3 KB to it; so these three are written as plainly as a
schema can be: no lengths (the service checks them and refuses in one line
naming the parameter), "string or null" as one type, and results declared
as objects whose fields the descriptions and SKILL.md name (their shapes
are chatnut.shapes.claims', in full in the REST API's OpenAPI document).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import StrictBool, WithJsonSchema

from chatnut.mcp_params import READ_ONLY, WRITES, NoBool
from chatnut.mcp_server import ChatnutMCP, caller
from chatnut.service import ChatService

Text = Annotated[str | None, WithJsonSchema({"type": ["string", "null"]})]
Patterns = list[str]


def add_claim_tools(mcp: ChatnutMCP, service: ChatService) -> None:
    @mcp.tool(
        annotations=WRITES,
        description="Claim git globs or a task project-wide for ttl_s; again renews."
        " Returns {claim_id, granted, conflicts}.",
    )
    async def claim(
        room_id: str,
        agent_name: str,
        paths: Patterns,
        task: Text = None,
        ttl_s: Annotated[int, NoBool] = 900,
        exclusive: StrictBool = True,
        note: Text = None,
    ) -> dict[str, Any]:
        return dict(
            await service.claim(
                room_id, agent_name, paths, task, ttl_s, exclusive, note, caller=caller()
            )
        )

    @mcp.tool(annotations=WRITES, description="End your claims: all, claim_id's, or these paths.")
    async def release(
        room_id: str,
        agent_name: str,
        claim_id: Text = None,
        paths: Annotated[Patterns | None, WithJsonSchema({"type": ["array", "null"]})] = None,
    ) -> dict[str, Any]:
        return dict(await service.release(room_id, agent_name, claim_id, paths, caller=caller()))

    @mcp.tool(
        annotations=READ_ONLY, description="Live claims of a room's project, a project, or all."
    )
    async def list_claims(room_id: Text = None, project: Text = None) -> dict[str, Any]:
        return dict(await service.list_claims(room_id, project, caller=caller()))
