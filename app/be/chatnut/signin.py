"""A browser's sign-in on a server with a token, kept in this process's memory.

A one-time link (minted into `web_url` by init_room and ping) trades itself
for an HttpOnly session cookie. The cookie holds a random session id, never
the token: browsers send a host's cookies to every port of it, so any other
local web app would see it. A restart revokes every session. With several
workers, signed.py has the same two classes as HMACs any worker can check.
"""

from __future__ import annotations

import re
import secrets
import time
from urllib.parse import quote

SESSION_COOKIE = "chatnut_session"
LINK_PATH = "/auth/link"
LINK_TTL_SECONDS = 600
MAX_OPEN_LINKS = 10_000  # every init_room/ping mints one; the oldest unused go first
SESSION_TTL_SECONDS = 7 * 24 * 3600
MAX_SESSIONS = 10_000  # each is a redeemed link; the oldest go first
# A redirect target after sign-in: a path on this server, nothing a browser could
# read as another host (`//x`, `/\\x`, a tab or newline it would strip first).
LOCAL_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*")


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


class Sessions:
    """Browser sessions opened by a one-time link: random ids with an expiry."""

    def __init__(self, ttl: float = SESSION_TTL_SECONDS) -> None:
        self.ttl = ttl
        self._expiry: dict[str, float] = {}

    def open(self) -> str:
        now = time.monotonic()
        # Same TTL for all, so insertion order is expiry order.
        while self._expiry:
            oldest, expires = next(iter(self._expiry.items()))
            if expires > now and len(self._expiry) < MAX_SESSIONS:
                break
            del self._expiry[oldest]
        session = secrets.token_urlsafe(32)
        self._expiry[session] = now + self.ttl
        return session

    def valid(self, session: str) -> bool:
        # A dict lookup, not a comparison loop: the ids are 256 random bits, and
        # hashing leaks nothing an attacker can steer towards a match.
        expires = self._expiry.get(session)
        return expires is not None and expires > time.monotonic()


def safe_next(path: str) -> str:
    """Where to send the browser after sign-in: `path` if it stays on this server."""
    return path if LOCAL_PATH.fullmatch(path) else "/"
