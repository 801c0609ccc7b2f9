"""One MCP tool call from the CLI to the running server (official SDK client, HTTP).

For what only MCP offers: `wait_for_messages` (where the SSE feed is not
there yet) and `ping`'s freshly minted sign-in link.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import anyio
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from chatnut.cli.endpoint import CliError, Endpoint


@contextlib.asynccontextmanager
async def connect(
    endpoint: Endpoint, http: Any = None, mode: str = "legacy"
) -> AsyncIterator[Client]:
    """A client session; pass `http` (an SDK HTTP client) to reuse its connections."""
    async with contextlib.AsyncExitStack() as stack:
        if http is None:
            http = await stack.enter_async_context(
                create_mcp_http_client(headers=endpoint.headers())
            )
        transport = streamable_http_client(endpoint.mcp_url, http_client=http)
        yield await stack.enter_async_context(Client(transport, mode=mode))


def result_of(name: str, result: Any) -> dict[str, Any]:
    if result.is_error:
        text = " ".join(getattr(c, "text", "") for c in result.content).strip()
        raise CliError(text or f"{name} failed")
    structured: dict[str, Any] = result.structured_content or {}
    return structured


async def call_tool_async(client: Client, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return result_of(name, await client.call_tool(name, arguments))


def call_tool(endpoint: Endpoint, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        async with connect(endpoint) as client:
            return await call_tool_async(client, name, arguments)

    try:
        return anyio.run(run)
    except CliError:
        raise
    except Exception as exc:
        raise CliError(f"MCP call {name} to {endpoint.mcp_url} failed: {exc}") from None
