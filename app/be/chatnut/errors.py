"""Domain errors: what went wrong, in words a caller can act on.

The service raises these; each transport maps them exactly once
(MCP: a tool error with the message; REST: a status code and the one JSON
error shape). `code` is the stable machine-readable name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chatnut.shapes.errors import ErrorBody


def error_body(code: str, message: str) -> ErrorBody:
    """The one JSON error shape of every HTTP refusal (REST routes and the middleware)."""
    return {"error": {"code": code, "message": message}}


class ChatnutError(Exception):
    code = "error"
    http_status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(ChatnutError):
    code = "invalid_input"
    http_status = 422


class NotFound(ChatnutError):
    code = "not_found"
    http_status = 404


class RoomArchived(ChatnutError):
    code = "room_archived"
    http_status = 409


class Forbidden(ChatnutError):
    """The caller's token may not do this (another name, a higher role)."""

    code = "forbidden"
    http_status = 403


class Revoked(ChatnutError):
    """The caller's token was revoked (or its principal disabled) while it waited."""

    code = "unauthorized"
    http_status = 401


class Conflict(ChatnutError):
    code = "conflict"
    http_status = 409


class StorageUnavailable(ChatnutError):
    """The database refused the write (disk full, read-only, locked): nothing was stored."""

    code = "storage_unavailable"
    http_status = 503


# The refusals every store raises in the same words (store/sqlite, store/postgres).


def room_missing(room_id: str) -> NotFound:
    return NotFound(
        f"Room {room_id!r} not found — use init_room to create it or list_rooms to find it"
    )


def named_room_missing(project: str, name: str) -> NotFound:
    return NotFound(f"Room {name!r} in project {project!r} not found")


def room_archived(room: Mapping[str, Any], action: str) -> RoomArchived:
    return RoomArchived(
        f"Room {room['name']!r} in project {room['project']!r} is archived — {action} is"
        " closed; call init_room with a new name to start a new room"
    )


def reply_outside(reply_to: int, room_id: str) -> InvalidInput:
    return InvalidInput(f"reply_to {reply_to} is not a message in room {room_id!r}")


def room_still_live(room: Mapping[str, Any]) -> InvalidInput:
    return InvalidInput(
        f"Room {room['name']!r} in project {room['project']!r} is live — only"
        " archived rooms can be deleted; archive_room it first"
    )


def message_missing(message_id: int, room_id: str) -> NotFound:
    return NotFound(f"Message {message_id} is not in room {room_id!r}")


def not_addressee(name: str, message_id: int) -> InvalidInput:
    return InvalidInput(
        f"{name!r} is not in the `to` of message {message_id}: only its addressees ack it"
    )


class TooManyWaits(ChatnutError):
    """The cap on parked waits (per room or in total) is reached."""

    code = "too_many_waits"
    http_status = 429


def claim_missing(claim_id: str, project: str) -> NotFound:
    return NotFound(
        f"claim {claim_id!r} is not a live claim in project {project!r} (expired or released?)"
        " — list_claims shows the live ones"
    )


def claim_of_another(claim_id: str, holder: str) -> Conflict:
    return Conflict(f"claim {claim_id!r} is held by {holder!r}; only its holder can release it")


def too_many_claims(project: str, limit: int) -> Conflict:
    return Conflict(
        f"project {project!r} holds {limit} live claims (the limit); release some"
        " or wait for them to expire"
    )
