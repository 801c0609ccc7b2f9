"""Claims: who is editing which files or which task in a project, for how long."""

from __future__ import annotations

from typing import NotRequired

from typing_extensions import TypedDict


class Claim(TypedDict):
    claim_id: str
    project: str
    holder: str
    paths: list[str]  # git globs, as written
    task: str | None
    exclusive: bool
    note: str | None
    room_id: str
    created_at: str
    expires_at: str


class Claims(TypedDict):
    claims: list[Claim]


class Conflict(TypedDict):
    # Another holder's live claim in the way of a new one.
    holder: str
    paths: list[str]
    task: str | None
    expires_at: str
    note: str | None


class Claimed(TypedDict):
    claim_id: str | None  # None when not granted
    granted: bool
    conflicts: list[Conflict]


class Released(TypedDict):
    released: list[str]  # claim ids ended whole
    trimmed: list[str]  # claim ids that keep fewer paths


class FileConflict(Conflict):
    files: list[str]  # the first of the checked files it covers
    file_count: int


class PathConflicts(TypedDict):
    # The git guard's answer: the checked files others claim exclusively.
    project: str
    conflicts: list[FileConflict]


class StoredClaim(Claimed):
    # What the store answers a claim with: also the claim as stored, when granted.
    claim: NotRequired[Claim]
