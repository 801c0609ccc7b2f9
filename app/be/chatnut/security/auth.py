"""Authentication: who is calling, resolved once per request before any body is read.

With a token configured, /mcp and /api need `Authorization: Bearer <token>`
or the HttpOnly session cookie a one-time link hands to a browser (signin.py
keeps the links and sessions; signed.py, for several workers). Without one,
the server is a loopback one and everyone who reaches it is trusted.

The result is a `Caller` in the request's scope (`scope["state"]["caller"]`,
which routes read as `request.state.caller`): the transports hand it on to
the service rather than re-reading headers.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from typing import Literal

from chatnut.connections import TRUST_HOOK
from chatnut.security.asgi import ASGIApp, Receive, Scope, Send, guarded, holds_data, send_error
from chatnut.signin import SESSION_COOKIE, Sessions

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

    @property
    def authenticated(self) -> bool:
        return self.how != "none"


ANONYMOUS = Caller("none")
OPEN = Caller("open")


def caller_of(scope: Scope) -> Caller:
    """The caller the authentication step put into this request's scope."""
    caller = (scope.get("state") or {}).get("caller")
    return caller if isinstance(caller, Caller) else ANONYMOUS


class Authentication:
    """Put the caller into the scope; refuse an unauthenticated call for data (401)."""

    def __init__(
        self, app: ASGIApp, *, token: str | None, sessions: Sessions | None = None
    ) -> None:
        self.app = app
        self.token = token
        self.sessions = sessions or Sessions()

    def resolve(self, headers: dict[bytes, bytes]) -> Caller:
        if self.token is None:
            return OPEN
        auth = headers.get(b"authorization", b"")
        if auth[:7].lower() == b"bearer " and hmac.compare_digest(
            auth[7:].strip(), self.token.encode()
        ):
            return Caller("bearer")
        for part in headers.get(b"cookie", b"").split(b";"):
            name, _, value = part.strip().partition(b"=")
            if name == SESSION_COOKIE.encode() and self.session_valid(value):
                return Caller("session")
        return ANONYMOUS

    def session_valid(self, value: bytes) -> bool:
        # A session id is ASCII: other bytes are a forged or mangled cookie, refused
        # like any unknown one (one line in the log, not a traceback and a 500).
        if not value.isascii():
            log.info("refused a session cookie that is not ASCII (%d bytes)", len(value))
            return False
        return self.sessions.valid(value.decode("ascii"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not guarded(scope):
            await self.app(scope, receive, send)
            return
        caller = self.resolve(dict(scope.get("headers") or []))
        scope.setdefault("state", {})["caller"] = caller
        if caller.authenticated:
            # The connection stops being a stranger's (connections.py): one
            # without credentials may be closed to make room, this one not.
            trust = scope.get("extensions", {}).get(TRUST_HOOK)
            if trust is not None:
                trust()
        if not caller.authenticated and holds_data(scope.get("path", "")):
            await send_error(
                send,
                401,
                "unauthorized",
                "this server needs 'Authorization: Bearer <token>'",
                [(b"www-authenticate", b"Bearer")],
            )
            return
        await self.app(scope, receive, send)
