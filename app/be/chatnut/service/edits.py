"""Editing and deleting a message from the page: by the person who wrote it,
or by an admin.

Who may: on a server with principals, the principal whose token posted the
message, or an admin principal. A caller without a principal (a laptop with
no token, or the shared token, which may use any name) says which name it
acts as, and that name must be the message's sender: the page sends its
current name, so it only ever changes what was posted under that name.

An edit keeps `edited_at` and does not re-address the message or notify
anyone again; a delete leaves a tombstone (id, room, sender, time; content
emptied). Both are refused, with nothing written, on a message already
deleted. Open pages hear an `edit` event on the room's feed.
"""

from __future__ import annotations

from collections.abc import Sequence

from chatnut import validation as check
from chatnut.errors import Forbidden, InvalidInput
from chatnut.principals import ANYONE, Caller
from chatnut.service.common import ServiceCore, now_iso
from chatnut.shapes.messages import Changes, Message
from chatnut.store.edit_rows import no_message

MAX_CHANGED_IDS = 500


class EditRules(ServiceCore):
    async def _changeable(
        self, message_id: int, name: str | None, caller: Caller, doing: str
    ) -> Message:
        """The message, if this caller may change it; else a one-line refusal."""
        check.integer("message_id", message_id, minimum=1)
        who = None if name is None else check.person("name", name).strip()
        caller.needs("member", f"{doing} a message")
        message = await self.store.message_by_id(message_id)
        if message is not None and caller.scoped:
            room = await self.store.room(message["room_id"])
            if room is None or not caller.sees(room["project"]):
                message = None  # another project's message does not exist for this token
        if message is None:
            raise no_message(message_id)
        sender = message["sender"]
        if caller.principal is not None:
            if who is not None:
                caller.acting_as(who)
            if message.get("principal") != caller.principal and caller.role != "admin":
                raise Forbidden(
                    f"message {message_id} is {sender}'s; only its author or an admin may"
                    f" {doing} it"
                )
            return message
        if who is None:
            raise InvalidInput(f"name is required: the name message {message_id} was posted as")
        if who.lower() != sender.strip().lower():
            raise Forbidden(
                f"message {message_id} was posted as {sender}, not {who}; only its sender may"
                f" {doing} it"
            )
        return message

    async def edit_message(
        self, message_id: int, content: str, name: str | None = None, *, caller: Caller = ANYONE
    ) -> Message:
        """Replace a message's content: the message as it now stands, with `edited_at`."""
        check.content(content, self.max_message_bytes)
        await self._changeable(message_id, name, caller, "edit")
        return await self.store.edit_message(message_id, content, now_iso())

    async def delete_message(
        self, message_id: int, name: str | None = None, *, caller: Caller = ANYONE
    ) -> Message:
        """Delete a message for good, leaving its tombstone: the tombstone."""
        await self._changeable(message_id, name, caller, "delete")
        return await self.store.delete_message(message_id, now_iso())

    async def room_edits(
        self, room_id: str, message_ids: Sequence[int], *, caller: Caller = ANYONE
    ) -> Changes[Message]:
        """Those of these messages of a room that were edited or deleted, as they now
        stand: what a page reads again for the messages it shows when its feed resumes."""
        await self.in_scope(room_id, caller)
        await self.require_room(room_id)
        if len(message_ids) > MAX_CHANGED_IDS:
            raise InvalidInput(f"ask for at most {MAX_CHANGED_IDS} message ids at once")
        for i in message_ids:
            check.integer("message id", i, minimum=1)
        found = await self.store.changed_messages(room_id, sorted(set(message_ids)))
        return {"room_id": room_id, "messages": found}
