"""Host and origin checks: which names we are reached under, and which pages may call us.

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
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from chatnut.security.asgi import ASGIApp, Receive, Scope, Send, guarded, holds_data, send_error

FOREIGN_FETCH_SITES = {b"cross-site", b"same-site"}
SINGLE_HEADERS = (b"host", b"origin")
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


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


class HostAndOrigin:
    """Refuse a repeated Host/Origin, a foreign Host, and a foreign page's call."""

    def __init__(
        self, app: ASGIApp, *, configured_host: str, allowed: AllowedNames | None = None
    ) -> None:
        self.app = app
        self.configured_host = configured_host.lower()
        self.allowed = allowed or AllowedNames()

    def host_allowed(self, host: str) -> bool:
        name = split_host(host).lower()
        if not name:
            return False
        if is_loopback(name) or name in self.allowed.hosts:
            return True
        return name == self.configured_host and self.configured_host not in {"0.0.0.0", "::"}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not guarded(scope):
            await self.app(scope, receive, send)
            return
        raw_headers = scope.get("headers") or []
        for name in SINGLE_HEADERS:
            if sum(1 for key, _ in raw_headers if key == name) > 1:
                await send_error(
                    send, 400, "duplicate_header", f"the {name.decode().title()} header is repeated"
                )
                return
        headers = dict(raw_headers)
        host = headers.get(b"host", b"").decode("latin-1")
        if not self.host_allowed(host):
            await send_error(
                send,
                403,
                "forbidden_host",
                f"Host {host!r} is not served here (only loopback names and the"
                " --allow-host names are)",
            )
            return
        if holds_data(scope.get("path", "")):
            refusal = self.foreign_page(scope, headers, host)
            if refusal is not None:
                await send_error(send, 403, "forbidden_origin", refusal)
                return
        await self.app(scope, receive, send)

    def foreign_page(self, scope: Scope, headers: dict[bytes, bytes], host: str) -> str | None:
        """Why a call was made by a foreign page, or None for our own pages and non-browsers."""
        site = headers.get(b"sec-fetch-site", b"").strip().lower()
        if site in FOREIGN_FETCH_SITES:
            kind = site.decode("latin-1")
            return f"a {kind} page may not call this server; only its own pages may"
        origin = headers.get(b"origin")
        if origin is None:
            return None
        sent = origin.decode("latin-1")
        own = f"{scope.get('scheme', 'http')}://{host}".lower()
        if sent.rstrip("/").lower() not in {own, *self.allowed.origins}:
            return f"Origin {sent!r} may not call this server; only its own pages may"
        return None
