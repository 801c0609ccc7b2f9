"""Sign-in links and browser sessions that every worker and host of a team server accepts.

A one-page server keeps its links and sessions in memory (sessions_in_memory.py). A
team server cannot: init_room on worker A hands out a link the browser may
redeem on worker B, through a load balancer, on another host, and every
later request of that page lands anywhere. So here a link code and a session
id carry their own proof: `expiry.nonce.mac`, the MAC an HMAC-SHA256 under a
key derived from the server's token (all workers and hosts share the token,
so they all check the same way; a leaked session is revoked by changing the
token). Neither ever contains the token, and the two keys differ, so a link
code is not a session and a session is not a link.

A link is single-use within the process that redeems it; another worker or
host could accept it once more before it expires (10 minutes). That is the
price of sharing no state but the token, and it is why the links stay short
lived.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from urllib.parse import quote

from chatnut.sessions_in_memory import (
    LINK_PATH,
    LINK_TTL_SECONDS,
    SESSION_TTL_SECONDS,
    OneTimeLinks,
    Sessions,
)

MAX_REDEEMED = 10_000  # remembered per process until they expire


def _key(token: str, purpose: bytes) -> bytes:
    return hmac.new(token.encode(), b"chatnut sign-in v1 " + purpose, hashlib.sha256).digest()


class _Signer:
    def __init__(self, token: str, purpose: bytes, ttl: float) -> None:
        self._key = _key(token, purpose)
        self.ttl = ttl

    def _mac(self, payload: str) -> str:
        digest = hmac.new(self._key, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def issue(self) -> str:
        payload = f"{int(time.time() + self.ttl)}.{secrets.token_urlsafe(16)}"
        return f"{payload}.{self._mac(payload)}"

    def expiry(self, value: str) -> float | None:
        """When `value` expires, if it is one of ours and has not; else None.

        Ours are ASCII: anything else (a cookie or code of other characters) is
        simply not ours, never an error."""
        if not value.isascii():
            return None
        payload, _, mac = value.rpartition(".")
        expires, _, nonce = payload.partition(".")
        if not (expires.isdigit() and nonce and mac):
            return None
        if not hmac.compare_digest(mac, self._mac(payload)):
            return None
        when = float(expires)
        return when if when > time.time() else None


class SignedLinks(OneTimeLinks):
    """Links any worker redeems (signin.OneTimeLinks keeps them in one process)."""

    def __init__(self, token: str, ttl: float = LINK_TTL_SECONDS) -> None:
        super().__init__(ttl)
        self._signer = _Signer(token, b"link", ttl)
        self._redeemed: dict[str, float] = {}

    def mint(self, next_path: str) -> str:
        code = self._signer.issue()
        return f"{LINK_PATH}?code={code}&next={quote(next_path, safe='')}"

    def redeem(self, code: str) -> bool:
        expires = self._signer.expiry(code)
        if expires is None or code in self._redeemed:
            return False
        now = time.time()
        for used, until in list(self._redeemed.items()):
            if until > now and len(self._redeemed) < MAX_REDEEMED:
                break
            del self._redeemed[used]
        self._redeemed[code] = expires
        return True


class SignedSessions(Sessions):
    """Sessions any worker accepts (signin.Sessions keeps them in one process)."""

    def __init__(self, token: str, ttl: float = SESSION_TTL_SECONDS) -> None:
        super().__init__(ttl)
        self._signer = _Signer(token, b"session", ttl)

    def open(self) -> str:
        return self._signer.issue()

    def valid(self, session: str) -> bool:
        return self._signer.expiry(session) is not None
