"""Push: what a name's channel bridge hands its session, each message exactly once.

A per-name delivery cursor on the server (not the read cursor: pushing a
message does not mean it was read) records the last message id pushed. A
bridge asks for what follows it (`push_next`, a long-poll over the name's
inbox), pushes it, then moves the cursor (`push_done`): a bridge restarted
after a crash resumes after the last id it confirmed, so nothing is pushed
twice and nothing is skipped (only a crash between writing a notification
and confirming it can repeat that one). A lease makes one bridge per name the
pusher: others wait and take over when it lapses (LEASE_S after its last call).
The name's own posts are never pushed; the cursor moves past them.
"""

from __future__ import annotations

import time
from typing import Any

from chatnut import validation as check
from chatnut.errors import InvalidInput
from chatnut.principals import ANYONE, Caller
from chatnut.service.coordination import CoordinationRules
from chatnut.shapes.coordination import PushConfirmed, PushPage, PushReleased

LEASE_S = 10.0
# A long-poll ends well before the lease it renewed runs out.
MAX_POLL_S = LEASE_S / 2
PUSH_PAGE = 50
MAX_HOLDER = 64


def _holder(value: Any) -> str:
    holder = check.text("holder", value, max_chars=MAX_HOLDER)
    if not holder.isascii() or not holder.replace("-", "").isalnum():
        raise InvalidInput("holder must be letters, digits or -")
    return holder


class DeliveryRules(CoordinationRules):
    async def push_next(
        self,
        agent_name: str,
        holder: str,
        *,
        after: int = 0,
        timeout: float = MAX_POLL_S,
        caller: Caller = ANYONE,
    ) -> PushPage:
        """The next messages to push to `agent_name`, after its delivery cursor (or
        after `after`, the bridge's own unconfirmed position, when further on):
        {held, messages, next_since_id, has_more}. `held` false: another bridge
        holds the lease, nothing is returned."""
        name = check.addressee("agent_name", agent_name)
        caller.acting_as(name)  # a push channel moves that name's delivery cursor
        who = _holder(holder)
        check.integer("after", after, minimum=0)
        seconds = min(check.wait_timeout(timeout), MAX_POLL_S)
        now = time.time()
        start = await self.store.newest_message_id()  # where a name never pushed starts
        cursor = await self.store.delivery_lease(
            name, who, now=now, until=now + LEASE_S, start_id=start
        )
        if cursor is None:
            return {"held": False, "messages": [], "next_since_id": after, "has_more": False}
        page = await self.check_inbox(
            name, max(cursor, after), seconds, PUSH_PAGE, note_presence=False, caller=caller
        )
        mine = [m for m in page["messages"] if str(m["sender"]).strip().lower() != name]
        return {
            "held": True,
            "messages": mine,
            "next_since_id": page["next_since_id"],
            "has_more": page["has_more"],
        }

    async def push_done(
        self,
        agent_name: str,
        holder: str,
        through: int,
        pushed: list[int],
        *,
        caller: Caller = ANYONE,
    ) -> PushConfirmed:
        """Confirm that everything up to `through` was handled and `pushed` were
        pushed: the cursor moves there, those are stamped delivered. {advanced}:
        false when this holder lost the lease (then it stamps nothing)."""
        name = check.addressee("agent_name", agent_name)
        caller.acting_as(name)
        who = _holder(holder)
        check.integer("through", through, minimum=0)
        if not isinstance(pushed, list) or len(pushed) > 1000:
            raise InvalidInput("pushed must be a list of at most 1000 message ids")
        for message_id in pushed:
            check.integer("pushed id", message_id, minimum=1, maximum=through)
        advanced = await self.store.delivery_advance(name, who, through)
        if advanced:
            await self.store.mark_delivered(name, pushed)
        return {"advanced": advanced}

    async def push_release(
        self, agent_name: str, holder: str, *, caller: Caller = ANYONE
    ) -> PushReleased:
        name = check.addressee("agent_name", agent_name)
        caller.acting_as(name)
        await self.store.delivery_release(name, _holder(holder))
        return {"released": True}
