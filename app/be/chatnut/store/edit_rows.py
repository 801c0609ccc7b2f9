"""Editing and deleting a message, the parts both backends share: the event
and the refusals."""

from __future__ import annotations

from typing import Any

from chatnut.errors import Conflict, NotFound

# The room feed's event for a message edited or deleted: the message as it now stands.
EDIT_EVENT = "edit"


def no_message(message_id: int) -> NotFound:
    return NotFound(f"message {message_id} does not exist")


def deleted_already(message_id: int, doing: str) -> Conflict:
    return Conflict(f"message {message_id} was deleted; it cannot be {doing}")


def check_changeable(row: Any, message_id: int, doing: str) -> None:
    """Refuse a missing message, or one deleted already."""
    if row is None:
        raise no_message(message_id)
    if row["deleted_at"] is not None:
        raise deleted_already(message_id, doing)
