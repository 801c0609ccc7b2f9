"""The team around a room: statuses and @mention registrations."""

from __future__ import annotations

from chatnut import validation as check
from chatnut.principals import ANYONE, Caller
from chatnut.service.common import ServiceCore
from chatnut.shapes.team import Agent, Agents, Status, TeamStatus


class TeamRules(ServiceCore):
    async def update_status(
        self, room_id: str, sender: str, status: str, *, caller: Caller = ANYONE
    ) -> Status:
        check.room_id(room_id)
        check.person("sender", sender)
        check.text("status", status, max_chars=check.MAX_STATUS)
        caller.needs("member", "updating a status")
        caller.acting_as(sender)
        await self.in_scope(room_id, caller)
        result = await self.store.set_status(room_id, sender, status, principal=caller.principal)
        self.seen(room_id, sender)
        return result

    async def get_team_status(self, room_id: str, *, caller: Caller = ANYONE) -> TeamStatus:
        check.room_id(room_id)
        await self.in_scope(room_id, caller)
        rows = await self.store.statuses(room_id)
        return {"statuses": await self.statuses_seen(room_id, rows)}

    async def register_agent(
        self, room_id: str, agent_name: str, task_id: str, *, caller: Caller = ANYONE
    ) -> Agent:
        check.room_id(room_id)
        name = check.agent_name(agent_name)
        task_id = check.text("task_id", task_id, max_chars=check.MAX_NAME).strip()
        caller.needs("member", "registering an agent")
        # With the shared token a lead registers its teammates; a principal's
        # token registers only its own name.
        caller.acting_as(name)
        await self.in_scope(room_id, caller)
        # No presence noted: agent_name here is rarely the caller.
        return await self.store.register_agent(room_id, name, task_id, principal=caller.principal)

    async def list_agents(self, room_id: str, *, caller: Caller = ANYONE) -> Agents:
        check.room_id(room_id)
        await self.in_scope(room_id, caller)
        rows = await self.store.agents(room_id)
        return {"agents": await self.agents_seen(room_id, rows)}
