"""The SDK's MCP client as the tests use it: every successful result is checked
against the tool's declared output schema (as a strict client would), every
error must be one line."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import jsonschema
from mcp import Client


class CheckedClient:
    """The SDK's client, plus: every successful result must match its tool's output schema."""

    def __init__(self, client: Client, schemas: dict[str, dict[str, Any]]) -> None:
        self.client = client
        self.schemas = schemas

    async def call(self, tool: str, **arguments: Any) -> Any:
        result = await self.client.call_tool(tool, arguments)
        if not result.is_error:
            jsonschema.validate(result.structured_content, self.schemas[tool])
        return result

    async def ok(self, tool: str, **arguments: Any) -> dict[str, Any]:
        result = await self.call(tool, **arguments)
        assert not result.is_error, result.content[0].text
        data: dict[str, Any] = result.structured_content
        return data

    async def error(self, tool: str, **arguments: Any) -> str:
        result = await self.call(tool, **arguments)
        assert result.is_error, f"{tool} should have failed: {result.structured_content}"
        text: str = result.content[0].text
        assert "\n" not in text, f"error must be one line: {text!r}"
        return text


@contextlib.asynccontextmanager
async def connect(url: str) -> AsyncIterator[CheckedClient]:
    """The SDK's client on a live server's MCP endpoint, its results checked."""
    async with Client(url, mode="legacy") as client:
        tools = (await client.list_tools()).tools
        yield CheckedClient(client, {t.name: t.output_schema for t in tools if t.output_schema})


async def new_room(mcp: CheckedClient, name: str = "planning", project: str = "alpha") -> str:
    room = await mcp.ok("init_room", project=project, name=name)
    return str(room["id"])


async def all_messages(mcp: CheckedClient, room_id: str) -> list[dict[str, Any]]:
    return list((await mcp.ok("read_messages", room_id=room_id, limit=1000))["messages"])
