"""Who is calling: a principal (an agent or a person) and the rules its token carries.

A principal's token acts as that principal only. `Caller` is what a transport
hands the service with every call: the principal's name, role and project
scope, and the transport itself (mcp, web, cli), which the server sets and
the caller never chooses. `ANYONE` is a call with the shared token or on a
server without one: the admin's key, any name, no principal recorded, as on
a laptop that never made a token.

Tokens are `cnt_` and 43 URL-safe characters (256 random bits). Only their
SHA-256 is stored: the secret has all the entropy a slow hash would add, and
a lookup is one indexed read. `prefix` (the first 12 characters) is what
lists show, so a person can tell tokens apart without seeing one.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from chatnut import validation as check
from chatnut.errors import Forbidden, InvalidInput

TOKEN_PREFIX = "cnt_"
TOKEN_BYTES = 32  # 256 bits
SHOWN_CHARS = 12  # of a token, in lists: "cnt_" and 8 more
KINDS = ("agent", "person")
ROLES = ("reader", "member", "admin")
_RANK = {role: rank for rank, role in enumerate(ROLES)}
NAME = re.compile(r"^[a-z0-9_-]{1,100}$")
DURATION = re.compile(r"^(\d{1,5})([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
TRANSPORTS = ("mcp", "web", "cli")


def new_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def looks_like_token(value: str) -> bool:
    return value.startswith(TOKEN_PREFIX)


def principal_name(value: Any) -> str:
    """A principal's name follows the agent-name rules: letters, digits, `_`, `-`, lower-cased."""
    if not isinstance(value, str):
        raise InvalidInput(f"a principal's name must be a string, got {type(value).__name__}")
    check.visible("name", value)
    name = value.strip().lower()
    if not NAME.match(name):
        raise InvalidInput(
            f"name {value!r} can only hold letters, digits, '_' and '-' (1 to 100 of them)"
        )
    return name


def expiry(value: str | None, now: datetime | None = None) -> str | None:
    """`30d`, `12h`, `90m`, `2w` from now, as ISO text; None: never."""
    if value is None:
        return None
    match = DURATION.match(value.strip())
    if match is None or int(match.group(1)) == 0:
        raise InvalidInput(f"expires must be like 30d, 12h, 90m or 2w, got {value!r}")
    delta = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    return ((now or datetime.now(UTC)) + delta).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Caller:
    """Who is calling, and through what. `principal` None: the shared token (or none)."""

    principal: str | None = None
    role: str = "admin"
    projects: frozenset[str] | None = None  # None: every project
    transport: str = "mcp"
    token: str | None = None  # the id of the token it came with (what a revocation names)
    kind: str = "agent"  # a person's token may sign its person in to the web page

    @property
    def scoped(self) -> bool:
        return self.projects is not None

    def as_transport(self, transport: str) -> Caller:
        return Caller(self.principal, self.role, self.projects, transport, self.token, self.kind)

    def acting_as(self, name: str) -> None:
        """Refuse a name that is not this principal's own (names compare as @mentions do)."""
        if self.principal is None:
            return
        if name.strip().lower() != self.principal:
            raise Forbidden(f"this token is {self.principal}'s; it cannot act as {name.strip()}")

    def owns(self, name: str) -> bool:
        return self.principal is None or name.strip().lower() == self.principal

    def needs(self, role: str, doing: str) -> None:
        """Refuse a call the role does not allow, naming the role it needs."""
        if _RANK[self.role] < _RANK[role]:
            raise Forbidden(
                f"{doing} needs the {role} role; this token is {self.principal}'s ({self.role})"
            )

    def sees(self, project: str) -> bool:
        return self.projects is None or project in self.projects

    def recorded(self) -> dict[str, str]:
        """What a write records of its caller: `principal` only where there is one."""
        return {} if self.principal is None else {"principal": self.principal}


ANYONE = Caller()


def caller_in(scope: Any) -> Caller:
    """Whose call this request is, as authentication resolved it (security/auth.py
    puts its caller in the scope's state; ANYONE: the admin's key or an open server)."""
    found = getattr((scope.get("state") or {}).get("caller"), "identity", None)
    return found if isinstance(found, Caller) else ANYONE


def caller_of(principal: dict[str, Any], transport: str = "mcp") -> Caller:
    """The Caller of a principal row (store): name, role, projects."""
    projects = principal.get("projects")
    return Caller(
        principal["name"],
        principal["role"],
        None if projects is None else frozenset(projects),
        transport,
        principal.get("token_id"),
        principal.get("kind", "agent"),
    )
