"""A browser's sign-in on a server with a token, kept in this process's memory.

A one-time link (minted by `chatnut open`, POST /api/signin-link) trades
itself for an HttpOnly session cookie. The cookie holds a random session id,
never the token: browsers send a host's cookies to every port of it, so any
other local web app would see it. A restart revokes every session. With
several workers, sessions_signed.py has the same two classes as HMACs any
worker can check.

Each link and session remembers whom it signs in (`Signin`): the admin's key
(the shared token: any name, as always), or a principal's token by its id, so
the session lives exactly as long as that token does (authentication looks the
id up on every request, through the same cache as a bearer token).
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from urllib.parse import quote

SESSION_COOKIE = "chatnut_session"
# Under an https public URL: sent only over TLS, and (the __Host- prefix) only
# ever set by this exact host for the whole site, never by a sibling subdomain.
SECURE_SESSION_COOKIE = "__Host-chatnut_session"
LINK_PATH = "/auth/link"
LINK_TTL_SECONDS = 600
MAX_OPEN_LINKS = 10_000  # every `chatnut open` mints one; the oldest unused go first
SESSION_TTL_SECONDS = 7 * 24 * 3600
MAX_SESSIONS = 10_000  # each is a redeemed link; the oldest go first
# A redirect target after sign-in: a path on this server, nothing a browser could
# read as another host (`//x`, `/\\x`, a tab or newline it would strip first).
LOCAL_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*")


@dataclass(frozen=True)
class Signin:
    """Whom a link or a session signs in.

    `token` None: the admin's key (the shared token, or a session it opened).
    Otherwise the id of the principal's token that minted the link: with
    `person`, the page acts as that person (its name, its role, its projects);
    without, an admin agent's token opened the page with the admin's rights
    (any name, as the shared token), for as long as that token lives."""

    token: str | None = None
    person: bool = False


ADMIN_KEY = Signin()


class ExpiringIds:
    """Random ids that expire after one fixed time, at most `bound` of them, each
    holding whom it signs in.

    With one TTL for all, insertion order is expiry order: issuing drops from
    the front what has expired, or what is over the bound (the oldest first).
    Looking one up is a dict lookup, not a comparison loop: the ids are random
    and hashing leaks nothing an attacker can steer towards a match.
    """

    def __init__(self, ttl: float, nbytes: int) -> None:
        self.ttl = ttl
        self.nbytes = nbytes
        self._held: dict[str, tuple[float, Signin]] = {}

    def issue(self, bound: int, holder: Signin = ADMIN_KEY) -> str:
        now = time.monotonic()
        while self._held:
            oldest, (expires, _) = next(iter(self._held.items()))
            if expires > now and len(self._held) < bound:
                break
            del self._held[oldest]
        value = secrets.token_urlsafe(self.nbytes)
        self._held[value] = (now + self.ttl, holder)
        return value

    def live(self, value: str, *, use_up: bool = False) -> Signin | None:
        held = self._held.pop(value, None) if use_up else self._held.get(value)
        if held is None or held[0] <= time.monotonic():
            return None
        return held[1]

    def drop(self, value: str) -> None:
        self._held.pop(value, None)


class OneTimeLinks:
    """Single-use codes that trade themselves for the session cookie (token mode only)."""

    def __init__(self, ttl: float = LINK_TTL_SECONDS) -> None:
        self.ttl = ttl
        self._codes = ExpiringIds(ttl, 24)

    def mint(self, next_path: str, holder: Signin = ADMIN_KEY) -> str:
        code = self._codes.issue(MAX_OPEN_LINKS, holder)
        return f"{LINK_PATH}?code={code}&next={quote(next_path, safe='')}"

    def redeem(self, code: str) -> Signin | None:
        """Whom the link signs in; None once used, expired or never ours."""
        return self._codes.live(code, use_up=True)


class Sessions:
    """Browser sessions opened by a one-time link: random ids with an expiry."""

    def __init__(self, ttl: float = SESSION_TTL_SECONDS) -> None:
        self.ttl = ttl
        self._ids = ExpiringIds(ttl, 32)

    def open(self, holder: Signin = ADMIN_KEY) -> str:
        return self._ids.issue(MAX_SESSIONS, holder)

    def holder(self, session: str) -> Signin | None:
        """Whom this session signed in; None when it is not a live session."""
        return self._ids.live(session)

    def end(self, session: str) -> None:
        """Sign out: the session is refused from now on."""
        self._ids.drop(session)


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
