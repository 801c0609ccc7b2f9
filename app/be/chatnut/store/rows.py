"""The row shapes every store hands out, whatever its database.

Both backends select the same columns and turn a row (an `sqlite3.Row` or an
asyncpg `Record`: anything indexable by column name) into the same plain dict,
so a room or a message looks the same on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
from typing import Any

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


def room_dict(row: Any) -> dict[str, Any]:
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


def with_principal(row: Any) -> dict[str, Any]:
    """A status or registration row; `principal` only where a principal's token wrote it."""
    found = dict(row)
    if found.get("principal") is None:
        found.pop("principal", None)
    return found


def message_dict(row: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
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


def token_dict(row: Any) -> dict[str, Any]:
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
