"""Authentication: who is calling, resolved once per request before any body is read.

With a token configured, /mcp and /api need `Authorization: Bearer <token>`
or the HttpOnly session cookie a one-time link hands to a browser (sessions_in_memory.py
keeps the links and sessions; sessions_signed.py, for several workers). Without one,
the server is a loopback one and everyone who reaches it is trusted.

The result is a `Caller` in the request's scope (`scope["state"]["caller"]`,
which routes read as `request.state.caller`): the transports hand it on to
the service rather than re-reading headers.

A principal's own token (`cnt_…`, principals.py) is resolved to that
principal, whether or not a shared token is configured: `identity` then says
whose it is, its role and its projects. A session a person's link opened is
that person, looked up by its token's id on every request (the same cache as
a bearer token, emptied by a revocation), so it ends the moment the token is
revoked. The shared token, a session it opened and an open server are the
admin's `ANYONE`. Credentials shown and refused
count against the client's address (throttle.py) on a server others can reach
(bound beyond loopback, or behind a proxy: --allow-host, --public-url; there
the proxy's address is every remote client's, so the proxy should limit too):
past the limit, every call for data from it is answered 429 for a while.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

from chatnut import principals
from chatnut.http_limits import TRUST_HOOK
from chatnut.security.asgi import ASGIApp, Receive, Scope, Send, guarded, holds_data, send_error
from chatnut.sessions_in_memory import SESSION_COOKIE, Sessions, Signin
from chatnut.throttle import AuthThrottle
from chatnut.tokens import SharedTokens

log = logging.getLogger(__name__)

How = Literal["bearer", "session", "open", "none"]


@dataclass(frozen=True)
class Caller:
    """Who a request comes from, as its credentials show.

    `how`: "bearer" (the token in the Authorization header), "session" (a
    browser's sign-in cookie), "open" (no token is configured: the server
    trusts whoever reaches it), "none" (a token is configured and none was
    shown — only the page's own files are served to it).
    """

    how: How
    identity: principals.Caller = principals.ANYONE

    @property
    def authenticated(self) -> bool:
        return self.how != "none"


ANONYMOUS = Caller("none")
SESSION_ENDED = (
    "this sign-in has ended (signed out, expired, or its token revoked);"
    " run `chatnut open` to sign in again"
)
OPEN = Caller("open")


def caller_of(scope: Scope) -> Caller:
    """The caller the authentication step put into this request's scope."""
    caller = (scope.get("state") or {}).get("caller")
    return caller if isinstance(caller, Caller) else ANONYMOUS


class Authentication:
    """Put the caller into the scope; refuse an unauthenticated call for data (401)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str | None,
        sessions: Sessions | None = None,
        tokens: Any = None,
        throttle: AuthThrottle | None = None,
        cookie: str = SESSION_COOKIE,
        shared: SharedTokens | None = None,
    ) -> None:
        self.app = app
        self.token = token
        # Every shared token accepted (a rotation: several), replaced by a reload.
        self.shared = (
            shared if shared is not None else SharedTokens(() if token is None else (token,))
        )
        self.sessions = sessions or Sessions()
        self.tokens = tokens  # service.identities.Tokens: principals' own tokens
        self.throttle = throttle  # None: a loopback-only server, every client is local
        self.cookie = cookie.encode()

    async def resolve(self, headers: dict[bytes, bytes]) -> Caller:
        if self.token is None:
            return OPEN
        auth = headers.get(b"authorization", b"")
        if auth[:7].lower() == b"bearer " and self.shared.matches(auth[7:].strip()):
            return Caller("bearer")
        for part in headers.get(b"cookie", b"").split(b";"):
            name, _, value = part.strip().partition(b"=")
            holder = self.session_holder(value) if name == self.cookie else None
            if holder is not None:
                return await self.signed_in(holder)
        return ANONYMOUS

    async def signed_in(self, holder: Signin) -> Caller:
        """The caller of a live session: the admin's key, or the principal whose token
        signed it in while that token lives (ANONYMOUS once it is revoked)."""
        if holder.token is None:
            return Caller("session")
        found = None if self.tokens is None else await self.tokens.caller_by_id(holder.token, "web")
        if found is None:
            return ANONYMOUS
        if holder.person:
            return Caller("session", found)
        # An admin agent's link: the admin's rights (any name), while its token is
        # still an unscoped admin's; the token id lets a revocation end its feeds.
        if found.role != "admin" or found.scoped:
            return ANONYMOUS
        return Caller("session", principals.Caller(token=found.token))

    async def principal(self, headers: dict[bytes, bytes]) -> Caller | None:
        """A principal's own token: its Caller, ANONYMOUS when refused; None when
        the request shows none (then the shared token and cookies decide)."""
        auth = headers.get(b"authorization", b"")
        secret = auth[7:].strip() if auth[:7].lower() == b"bearer " else b""
        if self.tokens is None or not secret.startswith(principals.TOKEN_PREFIX.encode()):
            return None
        if self.token is not None and self.shared.matches(secret):
            return None  # a shared token that happens to look like one: the admin's key
        if not secret.isascii():
            return ANONYMOUS
        identity = await self.tokens.caller(secret.decode("ascii"), "mcp")
        return ANONYMOUS if identity is None else Caller("bearer", identity)

    def session_holder(self, value: bytes) -> Signin | None:
        # A session id is ASCII: other bytes are a forged or mangled cookie, refused
        # like any unknown one (one line in the log, not a traceback and a 500).
        if not value.isascii():
            log.info("refused a session cookie that is not ASCII (%d bytes)", len(value))
            return None
        return self.sessions.holder(value.decode("ascii"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not guarded(scope):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        address = (scope.get("client") or ("",))[0] or ""
        data = holds_data(scope.get("path", ""))
        left = 0.0 if self.throttle is None else self.throttle.blocked_for(address)
        if data and left > 0:
            await send_error(
                send,
                429,
                "too_many_failures",
                f"too many failed authentications from this address; try again in {left:.0f} s",
                [(b"retry-after", str(int(left) + 1).encode())],
            )
            return
        caller = await self.principal(headers)
        if caller is None:
            caller = await self.resolve(headers)
        if (
            self.throttle is not None
            and not caller.authenticated
            and data
            and _shows_credentials(headers, self.cookie)
        ):
            self.throttle.failed(address)
        scope.setdefault("state", {})["caller"] = caller
        if caller.authenticated:
            # The connection stops being a stranger's (http_limits.py): one
            # without credentials may be closed to make room, this one not.
            trust = scope.get("extensions", {}).get(TRUST_HOOK)
            if trust is not None:
                trust()
        if not caller.authenticated and data:
            refused = _principal_token(headers)
            if refused:
                why = "this token is unknown, revoked or expired"
            elif not headers.get(b"authorization") and _shows_cookie(headers, self.cookie):
                why = SESSION_ENDED
            else:
                why = "this server needs 'Authorization: Bearer <token>'"
            await send_error(
                send,
                401,
                "unauthorized",
                why,
                [(b"www-authenticate", b'Bearer error="invalid_token"' if refused else b"Bearer")],
            )
            return
        await self.app(scope, receive, send)


def _principal_token(headers: dict[bytes, bytes]) -> bool:
    auth = headers.get(b"authorization", b"")
    return auth[:7].lower() == b"bearer " and auth[7:].strip().startswith(
        principals.TOKEN_PREFIX.encode()
    )


def _shows_credentials(headers: dict[bytes, bytes], cookie: bytes) -> bool:
    """A bearer header or our session cookie was sent (and refused): a guess, or a
    stale one. A request that shows none (a page before sign-in) is not counted."""
    return bool(headers.get(b"authorization", b"").strip()) or _shows_cookie(headers, cookie)


def _shows_cookie(headers: dict[bytes, bytes], cookie: bytes) -> bool:
    return any(
        part.strip().partition(b"=")[0] == cookie
        for part in headers.get(b"cookie", b"").split(b";")
    )
