"""Principals and their tokens: making, listing and revoking them, and telling a
token's caller from its secret on every call.

A lookup is cached for LOOKUP_TTL seconds: an agent's every call then costs a
hash and a dict lookup, not a database read. The cache never outlives a
revocation by more than that: a revocation this process hears (its own, or
another process's through the store's events) drops the tokens at once, and
one made where no event reaches us (a `chatnut token revoke` on the SQLite
file beside a running server) is seen at the next lookup.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from chatnut import principals as rules
from chatnut import validation as check
from chatnut.clock import now_iso
from chatnut.errors import InvalidInput, NotFound
from chatnut.hub import Event
from chatnut.principals import ANYONE, Caller, caller_of
from chatnut.shapes.admin import IssuedToken, RevokedTokens, TokenList
from chatnut.store.base import Store

LOOKUP_TTL = 0.5  # seconds a token lookup is trusted without asking the database
MAX_CACHED = 10_000
USE_SAVED_EVERY = 60.0  # seconds: a token's last-used time is coarse on purpose


@dataclass
class _Known:
    token_id: str | None  # None: not a live token (unknown, revoked, expired, disabled)
    caller: Caller | None
    expires_at: str | None
    fetched: float


@dataclass(eq=False)
class Watch:
    """What a waiting call or an open stream of one token is told when it is revoked."""

    close: Callable[[], None]
    revoked: bool = False

    def end(self) -> None:
        self.revoked = True
        self.close()


REVOKED = "this token was revoked while the call waited"


class Tokens:
    """The token cache, the waits and streams open per token, and the last-used
    times waiting to be saved."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._watches: dict[str, set[Watch]] = {}
        self._known: dict[str, _Known] = {}  # by secret hash
        self._by_id: dict[str, _Known] = {}  # by token id: browser sessions name theirs
        self._used_at: dict[str, float] = {}
        self._unsaved: dict[str, str] = {}

    async def caller(self, secret: str, transport: str) -> Caller | None:
        """The caller this secret speaks for, or None when it is no live token."""
        hashed = rules.secret_hash(secret)
        now = time.monotonic()
        known = self._known.get(hashed)
        if known is None or now - known.fetched > LOOKUP_TTL:
            known = self._keep(self._known, hashed, await self.store.token_owner(hashed), now)
        return self._live(known, transport, now)

    async def caller_by_id(self, token_id: str, transport: str) -> Caller | None:
        """As `caller`, for the token with this id: a browser session signed in with a
        person's token holds its id (never the secret) and lives exactly as long."""
        now = time.monotonic()
        known = self._by_id.get(token_id)
        if known is None or now - known.fetched > LOOKUP_TTL:
            known = self._keep(self._by_id, token_id, await self.store.token_by_id(token_id), now)
        return self._live(known, transport, now)

    def _live(self, known: _Known, transport: str, now: float) -> Caller | None:
        if known.caller is None or known.token_id is None:
            return None
        if known.expires_at is not None and known.expires_at <= now_iso():
            return None
        self._note_use(known.token_id, now)
        return known.caller.as_transport(transport)

    @staticmethod
    def _keep(cache: dict[str, _Known], key: str, row: dict[str, Any] | None, now: float) -> _Known:
        if row is None or row["revoked_at"] is not None or row["disabled_at"] is not None:
            known = _Known(None, None, None, now)
        else:
            known = _Known(row["token_id"], caller_of(row), row["expires_at"], now)
        if len(cache) >= MAX_CACHED:
            cache.clear()
        cache[key] = known
        return known

    def _note_use(self, token_id: str, now: float) -> None:
        saved = self._used_at.get(token_id)
        if saved is None or now - saved >= USE_SAVED_EVERY:
            self._used_at[token_id] = now
            self._unsaved[token_id] = now_iso()

    def heard(self, events: Sequence[Event]) -> None:
        """The moment this process hears of a revocation: drop the tokens from the
        cache, and end their parked waits and open streams."""
        for event in events:
            if event.kind == "revoked":
                gone = set(event.data["tokens"])
                for cache in (self._known, self._by_id):
                    for key, known in list(cache.items()):
                        if known.token_id in gone:
                            del cache[key]
                for token_id in gone:
                    for watch in self._watches.pop(token_id, set()):
                        watch.end()

    @contextmanager
    def watch(self, caller: Caller, close: Callable[[], None]) -> Iterator[Watch]:
        """While held, a revocation of the caller's token calls `close`."""
        watch = Watch(close)
        if caller.token is None:
            yield watch
            return
        self._watches.setdefault(caller.token, set()).add(watch)
        try:
            yield watch
        finally:
            held = self._watches.get(caller.token)
            if held is not None:
                held.discard(watch)
                if not held:
                    del self._watches[caller.token]

    async def save_uses(self) -> int:
        rows = list(self._unsaved.items())
        self._unsaved.clear()
        if rows:
            await self.store.save_token_uses(rows)
        return len(rows)


class IdentityRules:
    store: Store
    tokens_cache: Tokens

    async def create_token(
        self,
        name: str,
        *,
        kind: str = "agent",
        role: str = "member",
        projects: Sequence[str] = (),
        expires: str | None = None,
        owner: str | None = None,
        caller: Caller = ANYONE,
    ) -> IssuedToken:
        """A new token for `name` (made, or updated to these settings): its secret, once."""
        caller.needs("admin", "managing tokens")
        principal = {
            "name": rules.principal_name(name),
            "kind": check.choice("kind", kind, rules.KINDS),
            "role": check.choice("role", role, rules.ROLES),
            "projects": sorted(
                {check.text("project", p, max_chars=check.MAX_NAME) for p in projects}
            )
            or None,
            "owner": None if owner is None else rules.principal_name(owner),
        }
        secret = rules.new_secret()
        token_id, prefix = "tok_" + secrets.token_hex(5), secret[: rules.SHOWN_CHARS]
        created_at, expires_at = now_iso(), rules.expiry(expires)
        token = {
            "id": token_id,
            "secret_hash": rules.secret_hash(secret),
            "prefix": prefix,
            "created_at": created_at,
            "expires_at": expires_at,
        }
        stored = await self.store.add_token(principal, token)
        return {
            "token": secret,
            "id": token_id,
            "prefix": prefix,
            "principal": stored["name"],
            "kind": stored["kind"],
            "role": stored["role"],
            "projects": stored["projects"],
            "owner": stored["owner"],
            "created_at": created_at,
            "expires_at": expires_at,
        }

    async def list_tokens(self, *, caller: Caller = ANYONE) -> TokenList:
        caller.needs("admin", "managing tokens")
        return {"tokens": await self.store.tokens()}

    async def revoke_tokens(self, id_or_name: str, *, caller: Caller = ANYONE) -> RevokedTokens:
        """Revoke one token by id, or every live token of a name."""
        caller.needs("admin", "managing tokens")
        target = check.text("id or name", id_or_name, max_chars=check.MAX_SENDER).strip()
        revoked = await self.store.revoke_tokens(target, now_iso())
        if not revoked:
            known = {t["id"] for t in await self.store.tokens()}
            known |= {t["principal"] for t in await self.store.tokens()}
            if target in known:
                raise InvalidInput(f"{target!r} has no live token left to revoke")
            raise NotFound(
                f"no token has the id or name {target!r}; `chatnut token list` shows them"
            )
        return {"revoked": revoked}
