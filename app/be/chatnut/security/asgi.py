"""The ASGI vocabulary the guards share: types, which paths hold data, and the one refusal."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from chatnut import metrics
from chatnut.errors import error_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def is_mcp(path: str) -> bool:
    return path == "/mcp" or path.startswith("/mcp/")


def is_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def holds_data(path: str) -> bool:
    """The paths that read or write the chat (the page's own files hold none)."""
    return is_mcp(path) or is_api(path)


def guarded(scope: Scope) -> bool:
    """Whether the guards look at this scope at all (not the lifespan)."""
    return scope["type"] in {"http", "websocket"}


async def send_json(
    send: Send, status: int, answer: Any, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps(answer).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def send_error(
    send: Send,
    status: int,
    code: str,
    message: str,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """The one JSON error shape, sent straight from a guard."""
    metrics.refused(code)
    await send_json(send, status, error_body(code, message), headers)
