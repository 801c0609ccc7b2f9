"""The team around a room: statuses and @mention registrations."""

from __future__ import annotations

import sqlite3
from typing import Any

from chatnut import validation as check
from chatnut.hub import Event
from chatnut.service.common import ServiceCore, Write, now_iso, require_live, require_room
from chatnut.store import queries as q


class TeamRules(ServiceCore):
    async def update_status(self, room_id: str, sender: str, status: str) -> dict[str, Any]:
        check.room_id(room_id)
        check.text("sender", sender, max_chars=check.MAX_SENDER)
        check.text("status", status, max_chars=check.MAX_STATUS)

        def write(conn: sqlite3.Connection) -> Write:
            require_live(require_room(conn, room_id), "updating status")
            row = q.upsert_status(conn, room_id, sender, status, now_iso())
            return row, [Event("status", room_id, row)]

        result: dict[str, Any] = await self.db.write(write)
        self.seen(room_id, sender)
        return result

    async def get_team_status(self, room_id: str) -> dict[str, Any]:
        rows = await self._rows_of_room(room_id, q.statuses)
        return {"statuses": await self.with_presence(room_id, rows, "sender")}

    async def register_agent(self, room_id: str, agent_name: str, task_id: str) -> dict[str, Any]:
        check.room_id(room_id)
        name = check.agent_name(agent_name)
        task_id = check.text("task_id", task_id, max_chars=check.MAX_NAME).strip()

        def write(conn: sqlite3.Connection) -> Write:
            require_live(require_room(conn, room_id), "registering agents")
            row = q.upsert_agent(conn, room_id, name, task_id, now_iso())
            return row, [Event("agent", room_id, row)]

        # No presence noted: a lead registers its teammates, so agent_name here
        # is rarely the caller.
        result: dict[str, Any] = await self.db.write(write)
        return result

    async def list_agents(self, room_id: str) -> dict[str, Any]:
        rows = await self._rows_of_room(room_id, q.agents)
        return {"agents": await self.with_presence(room_id, rows, "agent_name")}
