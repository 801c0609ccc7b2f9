"""The row shapes every store hands out, whatever its database.

Both backends select the same columns and turn a row (an `sqlite3.Row` or an
asyncpg `Record`: anything indexable by column name) into the same plain dict,
so a room or a message looks the same on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
from typing import Any

from chatnut.shapes.admin import RetentionRule, Token
from chatnut.shapes.coordination import Ack, InboxMessage
from chatnut.shapes.messages import Message, Receipt
from chatnut.shapes.receipts import Awaiting
from chatnut.shapes.rooms import LastMessage, Room, RoomPref, RoomSummary
from chatnut.shapes.team import Agent, Status

ROOM_COLUMNS = "id, name, project, branch, description, status, created_at, archived_at, metadata"
MESSAGE_COLUMNS = (
    "id, room_id, sender, content, message_type, created_at, metadata, recipients, principal,"
    " edited_at, deleted_at"
)
# What a deleted message keeps of its metadata: where it sat in a thread and
# how it came, never what its author attached.
TOMBSTONE_METADATA = ("reply_to", "source")


def parse_metadata(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        # The original stored metadata as free text; show it rather than lose it.
        return {"raw": text}
    return value if isinstance(value, dict) else {"value": value}


def room_dict(row: Any) -> Room:
    return {
        "id": row["id"],
        "name": row["name"],
        "project": row["project"],
        "branch": row["branch"],
        "description": row["description"],
        "status": row["status"],
        "created_at": row["created_at"],
        "archived_at": row["archived_at"],
        "metadata": parse_metadata(row["metadata"]),
    }


def status_dict(row: Any) -> Status:
    status: Status = {
        "room_id": row["room_id"],
        "sender": row["sender"],
        "status": row["status"],
        "updated_at": row["updated_at"],
    }
    if row["principal"] is not None:  # only where a principal's token set it
        status["principal"] = row["principal"]
    return status


def agent_dict(row: Any) -> Agent:
    agent: Agent = {
        "room_id": row["room_id"],
        "agent_name": row["agent_name"],
        "task_id": row["task_id"],
        "registered_at": row["registered_at"],
    }
    if row["principal"] is not None:
        agent["principal"] = row["principal"]
    return agent


def message_dict(row: Any) -> Message:
    message: Message = {
        "id": row["id"],
        "room_id": row["room_id"],
        "sender": row["sender"],
        "content": row["content"],
        "message_type": row["message_type"],
        "created_at": row["created_at"],
        "metadata": parse_metadata(row["metadata"]),
    }
    # Only addressed messages carry `to`: every other result stays
    # exactly the original's.
    if row["recipients"]:
        message["to"] = json.loads(row["recipients"])
    # Only a message posted with a principal's token says whose it was.
    if row["principal"]:
        message["principal"] = row["principal"]
    # Only a changed message says so: an edit its time, a delete `deleted`
    # (its content is already empty in the table).
    if row["deleted_at"]:
        message["deleted"] = True
    elif row["edited_at"]:
        message["edited_at"] = row["edited_at"]
    return message


def room_pref_dict(row: Any) -> RoomPref:
    return {
        "room_id": row["room_id"],
        "project": row["project"],
        "level": row["level"],
        "muted": bool(row["muted"]),
        "starred": bool(row["starred"]),
        "updated_at": row["updated_at"],
    }


def inbox_message(row: Any) -> InboxMessage:
    """An inbox row: the message, and its room (`room_project`, `room_name`)."""
    return {
        **message_dict(row),
        "room": {"id": row["room_id"], "project": row["room_project"], "name": row["room_name"]},
    }


def summary_dict(row: Any, unread: int | None) -> RoomSummary:
    """A room with its message count, its newest message's preview and, read for
    a reader (`unread` given), that reader's unread count and cursor. The row
    carries the room's columns, `message_count`, `last_*` and `cursor`."""
    last: LastMessage | None = None
    if row["last_id"] is not None:
        last = {
            "id": row["last_id"],
            "sender": row["last_sender"],
            "preview": row["last_content"],
            "message_type": row["last_type"],
            "created_at": row["last_created_at"],
        }
        if row["last_to"]:  # addressed: the preview says to whom
            last["to"] = json.loads(row["last_to"])
    summary: RoomSummary = {
        **room_dict(row),
        "message_count": int(row["message_count"]),
        "last_message": last,
    }
    if unread is not None:
        summary["unread_count"] = unread
        summary["last_read_message_id"] = int(row["cursor"] or 0)
    return summary


def tombstone_metadata(text: str | None) -> str | None:
    """The stored metadata a deleted message keeps (JSON text, or None)."""
    found = parse_metadata(text) or {}
    kept = {k: found[k] for k in TOMBSTONE_METADATA if k in found}
    return json.dumps(kept, ensure_ascii=False) if kept else None


# -- principals and tokens: never the secret, nor its hash, in what is handed out

TOKEN_COLUMNS = (
    "t.id, t.principal, t.prefix, t.created_at, t.expires_at, t.revoked_at,"
    " p.kind, p.role, p.projects, p.owner"
)


def retention_rule_dict(row: Any) -> RetentionRule:
    return {
        "project": row["project"],
        "room": row["room"],
        "days": row["days"],
        "updated_at": row["updated_at"],
    }


def principal_dict(row: Any) -> dict[str, Any]:
    return {
        "name": row["name"],
        "kind": row["kind"],
        "role": row["role"],
        "projects": None if row["projects"] is None else json.loads(row["projects"]),
        "owner": row["owner"],
        "created_at": row["created_at"],
        "disabled_at": row["disabled_at"],
    }


def token_dict(row: Any) -> Token:
    return {
        "id": row["id"],
        "principal": row["principal"],
        "prefix": row["prefix"],
        "kind": row["kind"],
        "role": row["role"],
        "projects": None if row["projects"] is None else json.loads(row["projects"]),
        "owner": row["owner"],
        "created_at": row["created_at"],
        "expires_at": row["expires_at"],
        "last_used_at": row["last_used_at"],
        "revoked_at": row["revoked_at"],
    }


RECEIPT_STAMPS = ("delivered_at", "read_at", "acked_at")


def receipt_dict(row: Any) -> Receipt:
    return {
        "delivered_at": row["delivered_at"],
        "read_at": row["read_at"],
        "acked_at": row["acked_at"],
    }


def ack_dict(room_id: str, message_id: int, name: str, row: Any) -> Ack:
    """An acknowledged receipt (so `acked_at` is set) as ack_message answers it."""
    return {
        "room_id": room_id,
        "message_id": message_id,
        "agent_name": name,
        "delivered_at": row["delivered_at"],
        "read_at": row["read_at"],
        "acked_at": row["acked_at"],
    }


def awaiting_dict(row: Any) -> Awaiting:
    return {
        "message_id": int(row["message_id"]),
        "room_id": row["room_id"],
        "name": row["name"],
        "sender": row["sender"],
        "created_at": row["created_at"],
        "delivered_at": row["delivered_at"],
        "read_at": row["read_at"],
        "preview": row["preview"],
    }


RECEIPT_EVENT_COLUMNS = "message_id, name, room_id, delivered_at, read_at, acked_at"


def receipt_changes(rows: Any, more: bool = False) -> list[tuple[str, dict[str, Any]]]:
    """The `receipt` events of freshly stamped receipt rows: one (room id, data)
    per room, data {room_id, receipts: [{message_id, name, stamps…}], more}."""
    by_room: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        item = {"message_id": int(row["message_id"]), "name": row["name"]}
        by_room.setdefault(row["room_id"], []).append(
            {**item, **{s: row[s] for s in RECEIPT_STAMPS}}
        )
    return [
        (room_id, {"room_id": room_id, "receipts": items, "more": more})
        for room_id, items in by_room.items()
    ]
