"""What an administrator reads and changes: tokens, retention, sign-in links."""

from __future__ import annotations

from typing import NotRequired

from typing_extensions import TypedDict

# -- tokens: never the secret, nor its hash, except the secret once when made ----


class Token(TypedDict):
    id: str
    principal: str  # the name it acts as
    prefix: str  # the secret's first characters, to tell tokens apart
    kind: str
    role: str
    projects: list[str] | None  # None: every project
    owner: str | None
    created_at: str
    expires_at: str | None
    last_used_at: str | None
    revoked_at: str | None


class IssuedToken(TypedDict):
    token: str  # the secret: shown this once, stored only as a hash
    id: str
    prefix: str
    principal: str
    kind: str
    role: str
    projects: list[str] | None
    owner: str | None
    created_at: str
    expires_at: str | None


class TokenList(TypedDict):
    tokens: list[Token]


class RevokedTokens(TypedDict):
    revoked: list[Token]


class SigninLink(TypedDict):
    url: str  # a one-time link that signs the web page in


class PageSession(TypedDict):
    # Who the page is signed in as.
    name: str | None  # the signed-in person; None: the admin's key, any name
    role: str  # reader, member or admin
    projects: list[str] | None  # the projects it may see; None: every one
    can_post: bool  # false for a reader: the page only reads
    session: bool  # the request came with a sign-in cookie (it can sign out)


class SignedOut(TypedDict):
    signed_out: bool  # false: there was no session to end


# -- retention: how long messages are kept, and the runs that delete the rest ------


class RetentionRule(TypedDict):
    project: str
    room: str  # "" for the whole project
    days: int | None  # None: kept for ever
    updated_at: str


class RetentionPolicy(TypedDict):
    default_days: int | None  # the server's --retain-days
    rules: list[RetentionRule]


class PurgedRoom(TypedDict):
    project: str
    room: str
    messages: int


class RetentionRun(TypedDict):
    dry_run: bool  # true: counted only, nothing written or deleted
    rooms: list[PurgedRoom]
    messages: int
    file: str | None  # where the deleted messages were written first
    busy: NotRequired[bool]  # another run was under way: this one did nothing


class Restored(TypedDict):
    file: str
    messages: int  # in the file
    restored: int  # of them added back (the others were there)
