"""A browser's sign-in on a server with a token, kept in this process's memory.

A one-time link (minted into `web_url` by init_room and ping) trades itself
for an HttpOnly session cookie. The cookie holds a random session id, never
the token: browsers send a host's cookies to every port of it, so any other
local web app would see it. A restart revokes every session. With several
workers, sessions_signed.py has the same two classes as HMACs any worker can check.
"""

from __future__ import annotations

import re
import secrets
import time
from urllib.parse import quote

SESSION_COOKIE = "chatnut_session"
# Under an https public URL: sent only over TLS, and (the __Host- prefix) only
# ever set by this exact host for the whole site, never by a sibling subdomain.
SECURE_SESSION_COOKIE = "__Host-chatnut_session"
LINK_PATH = "/auth/link"
LINK_TTL_SECONDS = 600
MAX_OPEN_LINKS = 10_000  # every init_room/ping mints one; the oldest unused go first
SESSION_TTL_SECONDS = 7 * 24 * 3600
MAX_SESSIONS = 10_000  # each is a redeemed link; the oldest go first
# A redirect target after sign-in: a path on this server, nothing a browser could
# read as another host (`//x`, `/\\x`, a tab or newline it would strip first).
LOCAL_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*")


class ExpiringIds:
    """Random ids that expire after one fixed time, at most `bound` of them.

    With one TTL for all, insertion order is expiry order: issuing drops from
    the front what has expired, or what is over the bound (the oldest first).
    Looking one up is a dict lookup, not a comparison loop: the ids are random
    and hashing leaks nothing an attacker can steer towards a match.
    """

    def __init__(self, ttl: float, nbytes: int) -> None:
        self.ttl = ttl
        self.nbytes = nbytes
        self._expiry: dict[str, float] = {}

    def issue(self, bound: int) -> str:
        now = time.monotonic()
        while self._expiry:
            oldest, expires = next(iter(self._expiry.items()))
            if expires > now and len(self._expiry) < bound:
                break
            del self._expiry[oldest]
        value = secrets.token_urlsafe(self.nbytes)
        self._expiry[value] = now + self.ttl
        return value

    def live(self, value: str, *, use_up: bool = False) -> bool:
        expires = self._expiry.pop(value, None) if use_up else self._expiry.get(value)
        return expires is not None and expires > time.monotonic()


class OneTimeLinks:
    """Single-use codes that trade themselves for the session cookie (token mode only)."""

    def __init__(self, ttl: float = LINK_TTL_SECONDS) -> None:
        self.ttl = ttl
        self._codes = ExpiringIds(ttl, 24)

    def mint(self, next_path: str) -> str:
        code = self._codes.issue(MAX_OPEN_LINKS)
        return f"{LINK_PATH}?code={code}&next={quote(next_path, safe='')}"

    def redeem(self, code: str) -> bool:
        return self._codes.live(code, use_up=True)


class Sessions:
    """Browser sessions opened by a one-time link: random ids with an expiry."""

    def __init__(self, ttl: float = SESSION_TTL_SECONDS) -> None:
        self.ttl = ttl
        self._ids = ExpiringIds(ttl, 32)

    def open(self) -> str:
        return self._ids.issue(MAX_SESSIONS)

    def valid(self, session: str) -> bool:
        return self._ids.live(session)


def safe_next(path: str) -> str:
    """Where to send the browser after sign-in: `path` if it stays on this server."""
    return path if LOCAL_PATH.fullmatch(path) else "/"


def session_cookie(public_url: str | None) -> str:
    """The session cookie's name: `__Host-` prefixed when the page is served over https."""
    secure = public_url is not None and public_url.lower().startswith("https://")
    return SECURE_SESSION_COOKIE if secure else SESSION_COOKIE


def cookie_header(name: str, session: str, max_age: int) -> str:
    attributes = "; Secure" if name == SECURE_SESSION_COOKIE else ""
    return f"{name}={session}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{attributes}"
