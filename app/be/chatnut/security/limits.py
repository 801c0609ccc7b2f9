"""Request body limits.

* The page's own files are fetched, never posted to: a request for them with
  any other method, or with a body, is refused at once, nothing read (a
  stranger trickling a body to /index.html held a connection for as long as
  the body deadline).
* Bodies larger than the limit are refused before they are read whole, and a
  body must arrive within the body deadline (a client trickling it holds a worker
  hostage). Only calls for data (/api, /mcp) get this far with a body, and
  on a server with a token only authenticated ones (security/auth.py runs
  first).
"""

from __future__ import annotations

import json
import re
from typing import Any

import anyio

from chatnut import metrics
from chatnut.security.asgi import (
    ASGIApp,
    Message,
    Receive,
    Scope,
    Send,
    guarded,
    holds_data,
    is_mcp,
    send_error,
    send_json,
)

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
PAGE_METHODS = {"GET", "HEAD"}
# The refused body is never read: the connection closes after the answer.
CLOSE = [(b"connection", b"close")]
# How much of a refused body is still read (and dropped) before the answer, and
# for how long: enough for any honest client's oversized post on a slow link.
DRAIN_BYTES = 16 * 1024 * 1024
DRAIN_SECONDS = 5.0


class BodyLimit:
    """Buffer a request's body, bounded in bytes and in time, before the app sees it."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        max_message_bytes: int | None = None,
        body_seconds: float,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_message_bytes = max_message_bytes
        self.body_seconds = body_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not guarded(scope):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        path, method = scope.get("path", ""), scope.get("method", "GET")
        if not holds_data(path):
            if method not in PAGE_METHODS:
                allow = [(b"allow", b"GET, HEAD"), *CLOSE]
                message = f"{method} is not served here: the page's files are fetched with GET"
                await send_error(send, 405, "method_not_allowed", message, allow)
                return
            if has_body(headers):
                message = "a request for a page carries no body"
                await send_error(send, 400, "unexpected_body", message, CLOSE)
                return
            await self.app(scope, receive, send)
            return
        if method in STATE_CHANGING or b"content-length" in headers:
            mcp = is_mcp(path)
            declared = headers.get(b"content-length")
            if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
                # An MCP client needs the request's id to show the refusal: it
                # is near the start of the body.
                first = await receive()
                # Read the rest (bounded) before answering: a socket closed with
                # unread bytes is reset, and the client, still sending, would see
                # the reset instead of the refusal.
                if first.get("more_body", False) and int(declared) <= DRAIN_BYTES:
                    await _drain(receive)
                await self.refuse(send, first.get("body", b"") if mcp else None)
                return
            buffered = await self.bounded_body(receive, send, mcp)
            if buffered is None:
                return
            receive = buffered
        await self.app(scope, receive, send)

    async def refuse(self, send: Send, mcp_start: bytes | None = None) -> None:
        message = f"request body is over {self.max_body_bytes} bytes"
        if mcp_start is None:
            await send_error(send, 413, "body_too_large", message)
            return
        # Over MCP the refusal is a JSON-RPC error (the official clients show its
        # message; a REST-shaped body reads "Server returned an error response").
        metrics.refused("body_too_large")
        if self.max_message_bytes is not None:
            message += f" (a message's content may hold at most {self.max_message_bytes} bytes)"
        answer = {
            "jsonrpc": "2.0",
            "id": _request_id(mcp_start),
            "error": {"code": -32600, "message": f"request too large: {message}"},
        }
        await send_json(send, 413, answer)

    async def bounded_body(self, receive: Receive, send: Send, mcp: bool = False) -> Receive | None:
        """Read the body up to the limit (a chunked body has no length to check up
        front), within the body deadline: a client trickling its body is cut off."""
        chunks: list[bytes] = []
        size = 0
        chunks_done: Message | None = None  # a disconnect seen while reading, passed on
        with anyio.move_on_after(self.body_seconds) as deadline:
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    chunks_done = message
                    break
                size += len(message.get("body", b""))
                if size > self.max_body_bytes:
                    start = (chunks[0] if chunks else message.get("body", b"")) if mcp else None
                    if message.get("more_body", False):
                        await _drain(receive)
                    await self.refuse(send, start)
                    return None
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
        if deadline.cancelled_caught:
            await send_error(
                send,
                408,
                "body_timeout",
                f"the request body did not arrive within {self.body_seconds:g} seconds",
                [(b"connection", b"close")],
            )
            return None
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                if chunks_done is not None:
                    return chunks_done
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay


def has_body(headers: dict[bytes, bytes]) -> bool:
    declared = headers.get(b"content-length", b"0").strip()
    return b"transfer-encoding" in headers or declared not in {b"", b"0"}


async def _drain(receive: Receive) -> None:
    """Read and drop what is left of a refused body, up to DRAIN_BYTES or DRAIN_SECONDS."""
    size = 0
    with anyio.move_on_after(DRAIN_SECONDS):
        while size <= DRAIN_BYTES:
            message = await receive()
            if message["type"] != "http.request":
                return
            size += len(message.get("body", b""))
            if not message.get("more_body", False):
                return


# `"id": 7` or `"id": "abc"` before any nested object: where every JSON-RPC
# client puts it (the SDKs serialise jsonrpc, id, method, params in that order).
_REQUEST_ID = re.compile(rb'^\s*\{[^{}]*?"id"\s*:\s*(-?\d{1,18}|"(?:[^"\\]|\\.){0,200}")')


def _request_id(start: bytes) -> Any:
    """The id of a JSON-RPC request from its first bytes; None (null) if not there."""
    match = _REQUEST_ID.match(start[:4096])
    if match is None:
        return None
    try:
        return json.loads(match.group(1))
    except ValueError:
        return None
