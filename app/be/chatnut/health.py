"""`/healthz`, `/readyz` and `/metrics`: what load balancers and Prometheus ask.

* `/healthz`: the process answers (200 `ok`). No auth and no details, so it
  may skip every check, the Host check included: a load balancer probes by
  address, and the answer tells a DNS-rebinding page nothing.
* `/readyz`: this process can serve right now: the database answers within
  READY_TIMEOUT_S, its schema is this code's, and on PostgreSQL the LISTEN
  connection that brings the other processes' commits is up. Else 503 with
  one word: `database`, `migrations`, `listen`, or `stopping` (a worker being
  replaced by `chatnut reload`, or shutting down: the balancer moves on
  before it goes). Unauthenticated too, for the same reasons.
* `/metrics`: the Prometheus text (metrics.py). On the main listener it needs
  the bearer token when the server has one (the route in `metrics_route`);
  on the `--metrics-listen` loopback listener it needs none, and that
  listener serves nothing else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response

from chatnut import metrics
from chatnut.security import is_loopback, send_error, split_host

READY_TIMEOUT_S = 1.0
PROBE_PATHS = ("/healthz", "/readyz")
NO_STORE = (b"cache-control", b"no-store")

Readiness = Callable[[], Awaitable[str | None]]


async def _text(send: Any, status: int, text: str, head: bool = False) -> None:
    body = (text + "\n").encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                NO_STORE,
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"" if head else body})


async def bounded_readiness(readiness: Readiness) -> str | None:
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            return await readiness()
    except TimeoutError:
        return "database"


class HealthEndpoints:
    """Answers the probes before any other check; everything else passes through."""

    def __init__(self, app: Any, *, readiness: Readiness) -> None:
        self.app = app
        self.readiness = readiness

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path")
        if scope["type"] != "http" or path not in PROBE_PATHS:
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "GET")
        if method not in ("GET", "HEAD"):
            await send_error(
                send, 405, "method_not_allowed", f"{path} answers GET", [(b"allow", b"GET")]
            )
            return
        head = method == "HEAD"
        if path == "/healthz":
            await _text(send, 200, "ok", head)
            return
        reason = await bounded_readiness(self.readiness)
        await _text(send, 200 if reason is None else 503, reason or "ready", head)


class Draining:
    """While this process is on its way out (a reload replacing it), every answer says
    `Connection: close`: its clients open their next request on a fresh connection,
    which a serving worker may take, instead of finding theirs closed under them."""

    def __init__(self, app: Any, *, draining: Callable[[], bool]) -> None:
        self.app = app
        self.draining = draining

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not self.draining():
            await self.app(scope, receive, send)
            return

        async def closing(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers") or [] if h[0] != b"connection"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receive, closing)


class MetricsListener:
    """The `--metrics-listen` socket: `/metrics` without a token, to loopback names only.

    Requests arrive through the same uvicorn server as the rest (one more
    socket); this layer tells them apart by the local port they came in on
    and never lets them reach the app.
    """

    def __init__(self, app: Any, *, port: int | None) -> None:
        self.app = app
        self.port = port

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        server = scope.get("server") or (None, None)
        if self.port is None or scope["type"] != "http" or server[1] != self.port:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        host = split_host(headers.get(b"host", b"").decode("latin-1"))
        if not host or not is_loopback(host):
            await send_error(
                send, 403, "forbidden_host", "the metrics listener serves loopback names only"
            )
            return
        if scope.get("path") != "/metrics" or scope.get("method") not in ("GET", "HEAD"):
            await send_error(send, 404, "not_found", "this listener serves GET /metrics only")
            return
        body = metrics.exposition()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", metrics.CONTENT_TYPE.encode()),
                    (b"content-length", str(len(body)).encode()),
                    NO_STORE,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


metrics_route = APIRouter()


@metrics_route.get("/metrics", include_in_schema=False)
async def metrics_page(request: Request) -> Response:
    """The metrics on the main listener: the bearer token when the server has one."""
    tokens = request.app.state.chatnut.tokens
    if tokens.required:
        auth = request.headers.get("authorization", "").encode("latin-1", "replace")
        if not (auth[:7].lower() == b"bearer " and tokens.matches(auth[7:].strip())):
            metrics.refused("unauthorized")
            return Response(
                content=b'{"error":{"code":"unauthorized","message":"/metrics needs'
                b" 'Authorization: Bearer <token>'\"}}",
                status_code=401,
                media_type="application/json",
                headers={"www-authenticate": "Bearer"},
            )
    return Response(
        content=metrics.exposition(),
        media_type=metrics.CONTENT_TYPE,
        headers={"cache-control": "no-store"},
    )
