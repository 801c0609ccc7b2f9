"""Reactions as every caller sees them, whatever the backend.

A message's reactions are grouped by emoji in the fixed order of the set:
[{emoji, count, names}], names in the order they reacted. Only messages with
at least one reaction have an entry, so a read result without reactions is
exactly what it was before reactions existed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chatnut.shapes.messages import Reaction
from chatnut.shapes.reactions import MessageReactions

# The fixed set a page offers, in the order it shows them.
EMOJI = ("✅", "👀", "👍", "❌", "🎉")
_ORDER = {e: i for i, e in enumerate(EMOJI)}


def grouped(rows: Iterable[Any]) -> dict[int, list[Reaction]]:
    """{message id: [{emoji, count, names}]} from rows of (message_id, emoji, name),
    read in the order they were made."""
    names: dict[int, dict[str, list[str]]] = {}
    for row in rows:
        names.setdefault(int(row["message_id"]), {}).setdefault(row["emoji"], []).append(
            row["name"]
        )
    return {
        message_id: [
            {"emoji": e, "count": len(who), "names": who}
            for e, who in sorted(by_emoji.items(), key=lambda item: _ORDER.get(item[0], 99))
        ]
        for message_id, by_emoji in names.items()
    }


def reaction_event_data(
    room_id: str, message_id: int, found: dict[int, list[Reaction]]
) -> MessageReactions:
    """The `reaction` event: the message's reactions as they now stand (all of them,
    so a page replaces what it shows, and a missed event is healed by the next)."""
    return {"room_id": room_id, "message_id": message_id, "reactions": found.get(message_id, [])}
