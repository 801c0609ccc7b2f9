"""Who may talk to the server: Host, Origin, bearer token and body size, checked on every request.

This is plain ASGI middleware in front of everything (pages, API, streams and
/mcp/). The MCP SDK has checks of its own, but they cover /mcp/ only, accept
any localhost port as an Origin and answer in plain text; ours are stricter
and answer in the one JSON error shape.

* Host: a DNS-rebinding page reaches us under its own name; only loopback
  names, the configured host and the names allowed for a reverse proxy
  (`--allow-host`, the `--public-url`'s host) are served.
* Origin: a browser page may only change state (or speak MCP) from this
  server's own origin — same scheme, host and port — or from an allowed
  name's https:// or http:// origin (behind a TLS proxy the page's origin is
  https://name while the request reaches us as plain http). No Origin (CLI
  agents) passes.
* Token: with one configured, /mcp and /api need `Authorization: Bearer`,
  or the HttpOnly cookie a one-time link hands to a browser.
* Bodies larger than the limit are refused before they are read whole.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import secrets
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from chatnut.errors import error_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SESSION_COOKIE = "chatnut_session"
LINK_PATH = "/auth/link"
LINK_TTL_SECONDS = 600
MAX_OPEN_LINKS = 10_000  # every init_room/ping mints one; the oldest unused go first
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}
# The page loads only its own files and talks only to this server; highlighted
# code is styled by classes, so no inline style or script is ever needed.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none';"
    " form-action 'self'; frame-ancestors 'none'"
)
PAGE_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
# FastAPI's interactive docs page loads Swagger UI from a CDN; it is a
# developer's tool, so it keeps its own (absent) policy.
DOCS_PATH = "/api/docs"


def is_loopback(host: str) -> bool:
    name = host.strip("[]").lower()
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def split_host(value: str) -> str:
    """The host part of a Host header value (`[::1]:8000` -> `::1`)."""
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


async def send_error(
    send: Send,
    status: int,
    code: str,
    message: str,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = json.dumps(error_body(code, message)).encode()
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


class AllowedNames:
    """The names a reverse proxy may reach us under, and the browser origins they imply.

    `--allow-host chat.example.com` admits Host `chat.example.com` (any port:
    proxies differ in whether they pass it on) and the Origins
    `https://chat.example.com` and `http://chat.example.com`; a name given with
    a port (`chat.example.com:8443`) admits origins on that port only.
    """

    def __init__(self, names: tuple[str, ...] = (), public_url: str | None = None) -> None:
        self.hosts: set[str] = set()
        self.origins: set[str] = set()
        for name in names:
            self.hosts.add(split_host(name).lower())
            self.origins.update(f"{scheme}://{name.lower()}" for scheme in ("https", "http"))
        if public_url is not None:
            parts = urlsplit(public_url)
            self.hosts.add((parts.hostname or "").lower())
            self.origins.add(f"{parts.scheme}://{parts.netloc.lower()}")
        self.hosts.discard("")


class OneTimeLinks:
    """Single-use codes that trade themselves for the session cookie (token mode only)."""

    def __init__(self, ttl: float = LINK_TTL_SECONDS) -> None:
        self.ttl = ttl
        self._codes: dict[str, float] = {}

    def mint(self, next_path: str) -> str:
        now = time.monotonic()
        # Codes are kept in the order they expire (same TTL for all): drop from
        # the front what has expired, or what is over the bound.
        while self._codes:
            oldest, expires = next(iter(self._codes.items()))
            if expires > now and len(self._codes) < MAX_OPEN_LINKS:
                break
            del self._codes[oldest]
        code = secrets.token_urlsafe(24)
        self._codes[code] = now + self.ttl
        return f"{LINK_PATH}?code={code}&next={quote(next_path, safe='')}"

    def redeem(self, code: str) -> bool:
        expires = self._codes.pop(code, None)
        return expires is not None and expires > time.monotonic()


class SecurityMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        configured_host: str,
        token: str | None,
        links: OneTimeLinks,
        max_body_bytes: int,
        allowed: AllowedNames | None = None,
    ) -> None:
        self.app = app
        self.configured_host = configured_host.lower()
        self.allowed = allowed or AllowedNames()
        self.token = token
        self.links = links
        self.max_body_bytes = max_body_bytes

    def _host_allowed(self, host: str) -> bool:
        name = split_host(host).lower()
        if not name:
            return False
        if is_loopback(name) or name in self.allowed.hosts:
            return True
        return name == self.configured_host and self.configured_host not in {"0.0.0.0", "::"}

    def _authorized(self, headers: dict[bytes, bytes]) -> bool:
        assert self.token is not None
        expected = self.token.encode()
        auth = headers.get(b"authorization", b"")
        if auth[:7].lower() == b"bearer " and hmac.compare_digest(auth[7:].strip(), expected):
            return True
        for part in headers.get(b"cookie", b"").split(b";"):
            name, _, value = part.strip().partition(b"=")
            if name == SESSION_COOKIE.encode() and hmac.compare_digest(value, expected):
                return True
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        host = headers.get(b"host", b"").decode("latin-1")
        if not self._host_allowed(host):
            await send_error(
                send,
                403,
                "forbidden_host",
                f"Host {host!r} is not served here (only loopback names and the"
                " --allow-host names are)",
            )
            return
        path: str = scope.get("path", "")
        method: str = scope.get("method", "GET")
        is_mcp = path == "/mcp" or path.startswith("/mcp/")
        is_api = path == "/api" or path.startswith("/api/")
        origin = headers.get(b"origin")
        if origin is not None and (is_mcp or (is_api and method in STATE_CHANGING)):
            scheme = scope.get("scheme", "http")
            sent = origin.decode("latin-1").rstrip("/").lower()
            if sent != f"{scheme}://{host}".lower() and sent not in self.allowed.origins:
                await send_error(
                    send,
                    403,
                    "forbidden_origin",
                    f"Origin {origin.decode('latin-1')!r} may not call this server;"
                    " only its own pages may",
                )
                return
        if self.token is not None:
            if path == LINK_PATH:
                await self._redeem_link(scope, send)
                return
            if (is_mcp or is_api) and not self._authorized(headers):
                await send_error(
                    send,
                    401,
                    "unauthorized",
                    "this server needs 'Authorization: Bearer <token>'",
                    [(b"www-authenticate", b"Bearer")],
                )
                return
        if method in STATE_CHANGING or b"content-length" in headers:
            declared = headers.get(b"content-length")
            if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
                await self._refuse_large_body(send)
                return
            buffered = await self._bounded_body(receive, send)
            if buffered is None:
                return
            receive = buffered
        await self.app(scope, receive, _with_page_headers(send, path))

    async def _refuse_large_body(self, send: Send) -> None:
        await send_error(
            send, 413, "body_too_large", f"request body is over {self.max_body_bytes} bytes"
        )

    async def _bounded_body(self, receive: Receive, send: Send) -> Receive | None:
        """Read the body up to the limit (a chunked body has no length to check up front)."""
        chunks: list[bytes] = []
        size = 0
        chunks_done: Message | None = None  # a disconnect seen while reading, passed on
        while True:
            message = await receive()
            if message["type"] != "http.request":
                chunks_done = message
                break
            size += len(message.get("body", b""))
            if size > self.max_body_bytes:
                await self._refuse_large_body(send)
                return None
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
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

    async def _redeem_link(self, scope: Scope, send: Send) -> None:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        code = (query.get("code") or [""])[0]
        next_path = (query.get("next") or ["/"])[0]
        if not next_path.startswith("/") or next_path.startswith("//"):
            next_path = "/"  # only ever redirect within this server
        if not self.links.redeem(code):
            await send_error(
                send,
                401,
                "link_expired",
                "this sign-in link was already used or has expired;"
                " run `chatnut open` for a new one",
            )
            return
        assert self.token is not None
        cookie = f"{SESSION_COOKIE}={self.token}; HttpOnly; SameSite=Strict; Path=/"
        await send(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [
                    (b"location", next_path.encode()),
                    (b"set-cookie", cookie.encode()),
                    (b"content-length", b"0"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})


def _with_page_headers(send: Send, path: str) -> Send:
    """Add the policy headers to every response's start."""
    extra = list(PAGE_HEADERS)
    if path != DOCS_PATH:
        extra.append((b"content-security-policy", CONTENT_SECURITY_POLICY.encode()))

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return sending
