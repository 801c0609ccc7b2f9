"""One count and (with `--log-format json`) one log line per request or tool call.

`RequestObserver` is the outermost middleware, so refusals are seen too. For
each HTTP request it takes a request id (the client's `X-Request-Id` when it
is a plain token of at most 64 characters, else a fresh one; sent back in
the response), times the request to its last byte, and records:

* `chatnut_http_requests_total{route, status}` and the latency histogram,
  where route is the matched route's template (`/api/rooms/{room_id}`), never
  the raw path, so ids do not become label values;
* the log line: time, level, worker pid, request id, method, route, status,
  duration, and for an MCP request the tool and its outcome (mcp_server.py
  notes them through `note_tool`), the principal where one is set.

What is never recorded: headers (the token, the cookie), the query string
(a sign-in link's code), bodies (messages, passwords). The probes
(`/healthz`, `/readyz`, `/metrics`) are counted but not logged: a load
balancer polling every few seconds would bury everything else.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from chatnut import metrics

log = logging.getLogger("chatnut.access")

REQUEST_ID_HEADER = b"x-request-id"
_SAFE_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")
QUIET_PATHS = {"/healthz", "/readyz", "/metrics"}
STREAM_TYPE = b"text/event-stream"


@dataclass
class RequestNote:
    """What the layers below learn about the request, for its one line."""

    request_id: str
    tool: str | None = None
    outcome: str | None = None
    principal: str | None = None


_current: ContextVar[RequestNote | None] = ContextVar("chatnut_request", default=None)


def note_tool(tool: str, outcome: str) -> None:
    note = _current.get()
    if note is not None:
        note.tool, note.outcome = tool, outcome


def note_principal(name: str) -> None:
    note = _current.get()
    if note is not None:
        note.principal = name


def _principal(scope: Any) -> str | None:
    """The principal the authentication step found (its name, never its token)."""
    caller = (scope.get("state") or {}).get("caller")
    identity = getattr(caller, "identity", None)
    name = getattr(identity, "principal", None)
    return name if isinstance(name, str) else None


def _request_id(headers: list[tuple[bytes, bytes]]) -> str:
    for key, value in headers:
        if key == REQUEST_ID_HEADER and _SAFE_ID.fullmatch(value):
            return value.decode("ascii")
    return uuid.uuid4().hex[:16]


def route_of(scope: dict[str, Any]) -> str:
    """The route's template, or a fixed word: never a raw path a client chose."""
    path = scope.get("path", "")
    if path in ("/mcp", "/mcp/") or scope.get("root_path") == "/mcp":
        return "/mcp"
    if path in QUIET_PATHS or path == "/auth/link":
        return str(path)
    route = scope.get("route")
    template = getattr(route, "path", None)
    if template:
        return str(template)
    return "static" if not path.startswith("/api") else "unmatched"


class RequestObserver:
    def __init__(self, app: Any, *, log_requests: bool) -> None:
        self.app = app
        self.log_requests = log_requests

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        note = RequestNote(_request_id(scope.get("headers") or []))
        token = _current.set(note)
        began = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering
        streaming = False
        header = (REQUEST_ID_HEADER, note.request_id.encode())

        async def observed_send(message: Any) -> None:
            nonlocal status, streaming
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = message.get("headers") or []
                streaming = any(
                    k == b"content-type" and v.startswith(STREAM_TYPE) for k, v in headers
                )
                message = {**message, "headers": [*headers, header]}
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            _current.reset(token)
            seconds = time.perf_counter() - began
            route = route_of(scope)
            metrics.HTTP_REQUESTS.labels(route, str(status)).inc()
            if not streaming:
                metrics.HTTP_REQUEST_SECONDS.labels(route).observe(seconds)
            if self.log_requests and scope.get("path") not in QUIET_PATHS:
                fields: dict[str, Any] = {
                    "request_id": note.request_id,
                    "method": scope.get("method"),
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                }
                if note.tool is not None:
                    fields["tool"] = note.tool
                    fields["outcome"] = note.outcome
                principal = note.principal or _principal(scope)
                if principal is not None:
                    fields["principal"] = principal
                log.info("request", extra={"chatnut": fields})


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, pid, logger, message, and a request's fields."""

    converter = time.gmtime  # type: ignore[assignment]  # UTC times, as the "Z" says

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "pid": record.process or os.getpid(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        extra = getattr(record, "chatnut", None)
        if isinstance(extra, dict):
            entry.update(extra)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
