"""MCP calls to the running server with the official SDK client over HTTP.

The stdio bridge forwards every call this way; the CLI uses it for what only
MCP offers: `wait_for_messages` (where the SSE feed is not there yet) and
`ping`'s freshly minted sign-in link.

The HTTP client is built here rather than with the SDK's helper (a private
module): the same timeouts the SDK's transports use, and `trust_env=False`
so a loopback call never goes through `HTTP(S)_PROXY` (see endpoint.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from chatnut.client.endpoint import CliError, Endpoint, warn_plain_http

# What the SDK's transports use: a response may be a long-held stream (a
# parked wait_for_messages answers after up to 60 s).
TIMEOUT = httpx2.Timeout(30.0, read=300.0)


def http_client(endpoint: Endpoint) -> httpx2.AsyncClient:
    """Pooled connections to the server: direct to the local one, never through a proxy.
    Redirects are not followed (httpx's default): the token stays with this server."""
    if endpoint.remote:
        warn_plain_http(endpoint.base, endpoint.token)
    return httpx2.AsyncClient(
        headers=endpoint.headers(), timeout=TIMEOUT, trust_env=endpoint.remote
    )


@contextlib.asynccontextmanager
async def connect(
    endpoint: Endpoint, http: Any = None, mode: str = "legacy"
) -> AsyncIterator[Client]:
    """A client session; pass `http` (an SDK HTTP client) to reuse its connections."""
    async with contextlib.AsyncExitStack() as stack:
        if http is None:
            http = await stack.enter_async_context(http_client(endpoint))
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
