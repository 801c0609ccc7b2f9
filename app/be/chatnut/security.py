"""Who may talk to the server: Host, Origin, bearer token and body size, checked on every request.

This is plain ASGI middleware in front of everything (pages, API, streams and
/mcp/). The MCP SDK has checks of its own, but they cover /mcp/ only, accept
any localhost port as an Origin and answer in plain text; ours are stricter
and answer in the one JSON error shape.

* Host: a DNS-rebinding page reaches us under its own name; only loopback
  names, the configured host and the names allowed for a reverse proxy
  (`--allow-host`, the `--public-url`'s host) are served.
* Origin and Sec-Fetch-Site: a browser page may only call /api and /mcp —
  reads included — from this server's own origin (same scheme, host and
  port) or from an allowed name's https:// or http:// origin (behind a TLS
  proxy the page's origin is https://name while the request reaches us as
  plain http). A foreign page's GET would otherwise make the server do work
  for it (render a whole history into an EventSource). Browsers mark such
  requests `Sec-Fetch-Site: cross-site` / `same-site`, also where they send
  no Origin (a simple GET); the page itself sends `same-origin`, a typed URL
  `none`. Terminals and agents send neither header and pass.
* A header that decides who may call (Host, Origin) appearing twice is
  refused: two parsers could each believe a different one.
* Token: with one configured, /mcp and /api need `Authorization: Bearer`,
  or the HttpOnly session cookie a one-time link hands to a browser
  (signin.py keeps the links and sessions; signed.py, for several workers).
* Bodies larger than the limit are refused before they are read whole.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio

from chatnut import metrics
from chatnut.errors import error_body
from chatnut.signin import LINK_PATH, SESSION_COOKIE, OneTimeLinks, Sessions, safe_next
from chatnut.tokens import SharedTokens

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
# The largest body (6 × 64 KiB) takes milliseconds on loopback and a few
# seconds on a slow link; a client trickling it is holding a worker hostage.
BODY_SECONDS = 15.0
FOREIGN_FETCH_SITES = {b"cross-site", b"same-site"}
SINGLE_HEADERS = (b"host", b"origin")
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
    metrics.refused(code)
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
        sessions: Sessions | None = None,
        max_message_bytes: int | None = None,
        tokens: SharedTokens | None = None,
    ) -> None:
        self.app = app
        self.tokens = tokens
        self.configured_host = configured_host.lower()
        self.allowed = allowed or AllowedNames()
        self.token = token
        self.links = links
        self.sessions = sessions or Sessions()
        self.max_body_bytes = max_body_bytes
        self.max_message_bytes = max_message_bytes

    def _host_allowed(self, host: str) -> bool:
        name = split_host(host).lower()
        if not name:
            return False
        if is_loopback(name) or name in self.allowed.hosts:
            return True
        return name == self.configured_host and self.configured_host not in {"0.0.0.0", "::"}

    def _token_matches(self, presented: bytes) -> bool:
        if self.tokens is not None:  # several at once, replaced by a reload (tokens.py)
            return self.tokens.matches(presented)
        assert self.token is not None
        return hmac.compare_digest(presented, self.token.encode())

    def _authorized(self, headers: dict[bytes, bytes]) -> bool:
        auth = headers.get(b"authorization", b"")
        if auth[:7].lower() == b"bearer " and self._token_matches(auth[7:].strip()):
            return True
        for part in headers.get(b"cookie", b"").split(b";"):
            name, _, value = part.strip().partition(b"=")
            if name == SESSION_COOKIE.encode() and self.sessions.valid(value.decode("latin-1")):
                return True
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        raw_headers = scope.get("headers") or []
        headers = dict(raw_headers)
        for name in SINGLE_HEADERS:
            if sum(1 for key, _ in raw_headers if key == name) > 1:
                await send_error(
                    send, 400, "duplicate_header", f"the {name.decode().title()} header is repeated"
                )
                return
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
        if (is_mcp or is_api) and not await self._from_own_pages(scope, headers, host, send):
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
                # An MCP client needs the request's id to show the refusal: it
                # is near the start of the body.
                first = await receive()
                start = first.get("body", b"") if is_mcp else b""
                # Read the rest (bounded) before answering: a socket closed with
                # unread bytes is reset, and the client, still sending, would see
                # the reset instead of the refusal.
                if first.get("more_body", False) and int(declared) <= DRAIN_BYTES:
                    await _drain(receive)
                await self._refuse_large_body(send, start if is_mcp else None)
                return
            buffered = await self._bounded_body(receive, send, is_mcp)
            if buffered is None:
                return
            receive = buffered
        await self.app(scope, receive, _with_page_headers(send, path))

    async def _from_own_pages(
        self, scope: Scope, headers: dict[bytes, bytes], host: str, send: Send
    ) -> bool:
        """False (and the refusal sent) for a call a foreign page made."""
        site = headers.get(b"sec-fetch-site", b"").strip().lower()
        if site in FOREIGN_FETCH_SITES:
            await send_error(
                send,
                403,
                "forbidden_origin",
                f"a {site.decode('latin-1')} page may not call this server; only its own pages may",
            )
            return False
        origin = headers.get(b"origin")
        if origin is None:
            return True
        sent = origin.decode("latin-1")
        own = f"{scope.get('scheme', 'http')}://{host}".lower()
        if sent.rstrip("/").lower() not in {own, *self.allowed.origins}:
            await send_error(
                send,
                403,
                "forbidden_origin",
                f"Origin {sent!r} may not call this server; only its own pages may",
            )
            return False
        return True

    async def _refuse_large_body(self, send: Send, mcp_start: bytes | None = None) -> None:
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
        body = json.dumps(answer).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _bounded_body(
        self, receive: Receive, send: Send, is_mcp: bool = False
    ) -> Receive | None:
        """Read the body up to the limit (a chunked body has no length to check up
        front), within BODY_SECONDS: a client trickling its body is cut off."""
        chunks: list[bytes] = []
        size = 0
        chunks_done: Message | None = None  # a disconnect seen while reading, passed on
        with anyio.move_on_after(BODY_SECONDS) as deadline:
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    chunks_done = message
                    break
                size += len(message.get("body", b""))
                if size > self.max_body_bytes:
                    start = (chunks[0] if chunks else message.get("body", b"")) if is_mcp else None
                    if message.get("more_body", False):
                        await _drain(receive)
                    await self._refuse_large_body(send, start)
                    return None
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
        if deadline.cancelled_caught:
            await send_error(
                send,
                408,
                "body_timeout",
                f"the request body did not arrive within {BODY_SECONDS:.0f} seconds",
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

    async def _redeem_link(self, scope: Scope, send: Send) -> None:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        code = (query.get("code") or [""])[0]
        next_path = safe_next((query.get("next") or ["/"])[0])
        if not self.links.redeem(code):
            await send_error(
                send,
                401,
                "link_expired",
                "this sign-in link was already used or has expired;"
                " run `chatnut open` for a new one",
            )
            return
        cookie = (
            f"{SESSION_COOKIE}={self.sessions.open()}; HttpOnly; SameSite=Strict; Path=/;"
            f" Max-Age={int(self.sessions.ttl)}"
        )
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


# `"id": 7` or `"id": "abc"` before any nested object: where every JSON-RPC
# client puts it (the SDKs serialise jsonrpc, id, method, params in that order).
# How much of a refused body is still read (and dropped) before the answer, and
# for how long: enough for any honest client's oversized post on a slow link.
DRAIN_BYTES = 16 * 1024 * 1024
DRAIN_SECONDS = 5.0


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
