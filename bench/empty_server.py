"""The official MCP SDK serving one empty tool: the cost of the stack itself,
which no server built on it can go below.

Stateless with JSON answers, as chatnut serves /mcp/. The tool takes
post_message's three arguments (so the request and its validation are the same
size) and does nothing. Usage: python bench/empty_server.py PORT
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route


def build() -> Starlette:
    mcp = MCPServer("empty", log_level="WARNING")

    @mcp.tool()
    async def post_message(room_id: str, sender: str, content: str) -> dict[str, Any]:
        return {}

    inner = mcp.streamable_http_app(
        streamable_http_path="/",
        stateless_http=True,
        json_response=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )

    async def health(_: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[Route("/health", health), Mount("/mcp", app=inner)],
        lifespan=lambda app: mcp.session_manager.run(),
    )


if __name__ == "__main__":
    logging.getLogger("mcp").setLevel(logging.WARNING)
    uvicorn.run(build(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
