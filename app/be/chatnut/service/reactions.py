"""Reactions: a small fixed set of emoji a person puts on a message from the
page (a toggle: the same emoji again takes it away). Read results carry a
`reactions` field only on messages that have any; open pages hear a
`reaction` event on the room's feed."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from chatnut import validation as check
from chatnut.errors import InvalidInput
from chatnut.principals import ANYONE, Caller
from chatnut.service.common import ServiceCore
from chatnut.shapes.messages import M
from chatnut.shapes.reactions import MessageReactions, RoomReactions, Toggled
from chatnut.store.base import Store
from chatnut.store.reaction_rows import EMOJI

MAX_REACTION_IDS = 500


async def with_reactions(store: Store, messages: Sequence[M]) -> list[M]:
    """The messages, those with reactions carrying them (copies: a message may be
    an event's, shared with other subscribers); the rest exactly as they were."""
    if not messages:
        return list(messages)
    found = await store.reactions([m["id"] for m in messages])
    if not found:
        return list(messages)
    shown = []
    for message in messages:
        if message["id"] in found:
            message = copy.copy(message)
            message["reactions"] = found[message["id"]]
        shown.append(message)
    return shown


def emoji(value: Any) -> str:
    if not isinstance(value, str) or value not in EMOJI:
        raise InvalidInput(f"emoji must be one of {' '.join(EMOJI)}, got {value!r}")
    return value


class ReactionRules(ServiceCore):
    async def toggle_reaction(
        self, room_id: str, message_id: int, reaction: str, name: str, *, caller: Caller = ANYONE
    ) -> Toggled:
        check.room_id(room_id)
        check.integer("message_id", message_id, minimum=1)
        chosen = emoji(reaction)
        who = check.addressee("name", name)
        caller.needs("member", "reacting to a message")
        caller.acting_as(who)
        await self.in_scope(room_id, caller)
        return await self.store.toggle_reaction(room_id, message_id, chosen, who)

    async def message_reactions(
        self, room_id: str, message_id: int, *, caller: Caller = ANYONE
    ) -> MessageReactions:
        await self.in_scope(room_id, caller)
        await self.require_room(room_id)
        check.integer("message_id", message_id, minimum=1)
        found = await self.store.reactions([message_id], room_id)
        return {
            "room_id": room_id,
            "message_id": message_id,
            "reactions": found.get(message_id, []),
        }

    async def room_reactions(
        self, room_id: str, message_ids: Sequence[int], *, caller: Caller = ANYONE
    ) -> RoomReactions:
        """The reactions of several of a room's messages at once: what a page reads
        again for the messages it shows when its feed resumes."""
        await self.in_scope(room_id, caller)
        await self.require_room(room_id)
        if len(message_ids) > MAX_REACTION_IDS:
            raise InvalidInput(f"ask for at most {MAX_REACTION_IDS} message ids at once")
        for i in message_ids:
            check.integer("message id", i, minimum=1)
        found = await self.store.reactions(sorted(set(message_ids)), room_id)
        return {"room_id": room_id, "reactions": {str(k): v for k, v in found.items()}}
