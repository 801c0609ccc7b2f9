"""The team around a room: statuses and @mention registrations."""

from __future__ import annotations

from typing import Any

from chatnut import validation as check
from chatnut.service.common import ServiceCore


class TeamRules(ServiceCore):
    async def update_status(self, room_id: str, sender: str, status: str) -> dict[str, Any]:
        check.room_id(room_id)
        check.text("sender", sender, max_chars=check.MAX_SENDER)
        check.text("status", status, max_chars=check.MAX_STATUS)
        result = await self.store.set_status(room_id, sender, status)
        self.seen(room_id, sender)
        return result

    async def get_team_status(self, room_id: str) -> dict[str, Any]:
        check.room_id(room_id)
        rows = await self.store.statuses(room_id)
        return {"statuses": await self.with_presence(room_id, rows, "sender")}

    async def register_agent(self, room_id: str, agent_name: str, task_id: str) -> dict[str, Any]:
        check.room_id(room_id)
        name = check.agent_name(agent_name)
        task_id = check.text("task_id", task_id, max_chars=check.MAX_NAME).strip()
        # No presence noted: a lead registers its teammates, so agent_name here
        # is rarely the caller.
        return await self.store.register_agent(room_id, name, task_id)

    async def list_agents(self, room_id: str) -> dict[str, Any]:
        check.room_id(room_id)
        rows = await self.store.agents(room_id)
        return {"agents": await self.with_presence(room_id, rows, "agent_name")}
