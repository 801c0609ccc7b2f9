"""Sign-in links and browser sessions that every worker and host of a team server accepts.

A one-page server keeps its links and sessions in memory (sessions_in_memory.py). A
team server cannot: init_room on worker A hands out a link the browser may
redeem on worker B, through a load balancer, on another host, and every
later request of that page lands anywhere. So here a link code and a session
id carry their own proof: `expiry.nonce.mac`, or `expiry.nonce.holder.mac`
when a principal's token signs in (the holder is `p` for a person or `a` for
an admin agent, then the token's id: never its secret), the MAC an HMAC-SHA256 under a
key derived from the server's token (all workers and hosts share the token,
so they all check the same way; a leaked session is revoked by changing the
token). Neither ever contains the token, and the two keys differ, so a link
code is not a session and a session is not a link.

A link is single-use within the process that redeems it; another worker or
host could accept it once more before it expires (10 minutes). That is the
price of sharing no state but the token, and it is why the links stay short
lived. Signing out is the same: the browser drops its cookie and this
process refuses the session from then on, but a copy of the cookie taken
before would still pass on another worker until it expires. A session of a
principal's token ends everywhere with the token (revoke it); a session of
the admin's key, when the shared token changes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from urllib.parse import quote

from chatnut.sessions_in_memory import (
    ADMIN_KEY,
    LINK_PATH,
    LINK_TTL_SECONDS,
    SESSION_TTL_SECONDS,
    OneTimeLinks,
    Sessions,
    Signin,
)

MAX_REDEEMED = 10_000  # remembered per process until they expire
_KINDS = {"p": True, "a": False}  # a holder's first letter: a person, or an admin agent


def _holder_text(holder: Signin) -> str:
    if holder.token is None:
        return ""
    return ("p" if holder.person else "a") + holder.token


def _holder_of(text: str | None) -> Signin | None:
    if text is None:
        return ADMIN_KEY
    if text[:1] not in _KINDS or not text[1:]:
        return None
    return Signin(text[1:], _KINDS[text[0]])


class _Used:
    """Values this process no longer accepts until they expire (a redeemed link, an
    ended session), at most MAX_REDEEMED of them: the oldest or expired go first."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}

    def __contains__(self, value: str) -> bool:
        return value in self._until

    def add(self, value: str, expires: float) -> None:
        now = time.time()
        for used, until in list(self._until.items()):
            if until > now and len(self._until) < MAX_REDEEMED:
                break
            del self._until[used]
        self._until[value] = expires


def _key(token: str, purpose: bytes) -> bytes:
    return hmac.new(token.encode(), b"chatnut sign-in v1 " + purpose, hashlib.sha256).digest()


class _Signer:
    def __init__(self, token: str, purpose: bytes, ttl: float) -> None:
        self._key = _key(token, purpose)
        self.ttl = ttl

    def _mac(self, payload: str) -> str:
        digest = hmac.new(self._key, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def issue(self, holder: Signin = ADMIN_KEY) -> str:
        held = _holder_text(holder)
        payload = f"{int(time.time() + self.ttl)}.{secrets.token_urlsafe(16)}"
        if held:
            payload += f".{held}"
        return f"{payload}.{self._mac(payload)}"

    def check(self, value: str) -> tuple[float, Signin] | None:
        """When `value` expires and whom it signs in, if it is one of ours and has not
        expired; else None.

        Ours are ASCII: anything else (a cookie or code of other characters) is
        simply not ours, never an error."""
        if not value.isascii():
            return None
        payload, _, mac = value.rpartition(".")
        expires, _, rest = payload.partition(".")
        nonce, dot, held = rest.partition(".")
        if not (expires.isdigit() and nonce and mac):
            return None
        if not hmac.compare_digest(mac, self._mac(payload)):
            return None
        holder = _holder_of(held if dot else None)
        when = float(expires)
        if holder is None or when <= time.time():
            return None
        return when, holder


class SignedLinks(OneTimeLinks):
    """Links any worker redeems (sessions_in_memory.OneTimeLinks keeps them in one process)."""

    def __init__(self, token: str, ttl: float = LINK_TTL_SECONDS) -> None:
        super().__init__(ttl)
        self._signer = _Signer(token, b"link", ttl)
        self._redeemed = _Used()

    def mint(self, next_path: str, holder: Signin = ADMIN_KEY) -> str:
        code = self._signer.issue(holder)
        return f"{LINK_PATH}?code={code}&next={quote(next_path, safe='')}"

    def redeem(self, code: str) -> Signin | None:
        found = self._signer.check(code)
        if found is None or code in self._redeemed:
            return None
        self._redeemed.add(code, found[0])
        return found[1]


class SignedSessions(Sessions):
    """Sessions any worker accepts (sessions_in_memory.Sessions keeps them in one process)."""

    def __init__(self, token: str, ttl: float = SESSION_TTL_SECONDS) -> None:
        super().__init__(ttl)
        self._signer = _Signer(token, b"session", ttl)
        self._ended = _Used()

    def open(self, holder: Signin = ADMIN_KEY) -> str:
        return self._signer.issue(holder)

    def holder(self, session: str) -> Signin | None:
        found = self._signer.check(session)
        if found is None or session in self._ended:
            return None
        return found[1]

    def end(self, session: str) -> None:
        found = self._signer.check(session)
        if found is not None:
            self._ended.add(session, found[0])
