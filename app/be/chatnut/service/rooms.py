"""Rooms: creating (with the team's chatroom.json), listing, archiving, clearing, deleting."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime, timedelta

from chatnut import validation as check
from chatnut.errors import Forbidden
from chatnut.principals import ANYONE, Caller
from chatnut.service.common import ServiceCore, now_iso, room_missing
from chatnut.shapes.rooms import Archived, Cleared, Deleted, InitializedRoom, Rooms, RoomSummary

log = logging.getLogger(__name__)


class RoomRules(ServiceCore):
    async def init_room(
        self,
        project: str,
        name: str,
        branch: str | None = None,
        description: str | None = None,
        team_name: str | None = None,
        *,
        caller: Caller = ANYONE,
    ) -> InitializedRoom:
        self._check_named(project, name)
        caller.needs("member", "creating a room")
        if not caller.sees(project):
            raise Forbidden(
                f"this token is {caller.principal}'s, for the projects"
                f" {', '.join(sorted(caller.projects or ()))}; it cannot make rooms in {project}"
            )
        check.optional_text("branch", branch, max_chars=check.MAX_NAME)
        check.optional_text("description", description, max_chars=check.MAX_DESCRIPTION)
        check.team_name(team_name)
        room, created = await self.store.create_room(
            {
                "id": str(uuid.uuid4()),
                "name": name,
                "project": project,
                "branch": branch,
                "description": description,
                "status": "live",
                "created_at": now_iso(),
                "archived_at": None,
                "metadata": None,
            }
        )
        result: InitializedRoom = {**room, "web_url": self.web_url(room["id"])}
        if team_name is not None:
            self._write_team_file(team_name, result)
        if created and self.on_room_created is not None:
            self.on_room_created(result["web_url"])
        return result

    def _write_team_file(self, team_name: str, room: InitializedRoom) -> None:
        if self.teams_dir is None:
            return
        team_dir = self.teams_dir / team_name
        if not team_dir.is_dir():
            return  # no such team: nothing to tell it (as the original does)
        payload = {
            "room_id": room["id"],
            "project": room["project"],
            "name": room["name"],
            "web_url": room["web_url"],
        }
        target = team_dir / "chatroom.json"
        temp = team_dir / f".chatroom.json.{uuid.uuid4().hex}.tmp"
        try:
            temp.write_text(json.dumps(payload, indent=2) + "\n")
            temp.replace(target)  # atomic: a reader never sees half a file
        except OSError as exc:
            temp.unlink(missing_ok=True)
            log.warning("could not write %s: %s", target, exc)

    async def list_rooms(
        self, project: str | None = None, status: str = "live", *, caller: Caller = ANYONE
    ) -> Rooms:
        check.optional_text("project", project, max_chars=check.MAX_NAME)
        check.choice("status", status, check.ROOM_STATUSES)
        rooms = await self.store.list_rooms(self.unseen_as_none(project, caller), status)
        return {"rooms": [r for r in rooms if caller.sees(r["project"])]}

    async def room_summaries(
        self,
        project: str | None = None,
        status: str = "all",
        reader: str | None = None,
        room_id: str | None = None,
        *,
        caller: Caller = ANYONE,
    ) -> list[RoomSummary]:
        """Rooms with counts, last message and unread count (REST and the sidebar)."""
        check.optional_text("project", project, max_chars=check.MAX_NAME)
        check.choice("status", status, check.ROOM_STATUSES)
        self.reading_as(reader, caller)
        project = self.unseen_as_none(project, caller)
        rows = await self.store.room_summaries(project, status, reader, room_id)
        return [r for r in rows if caller.sees(r["project"])]

    async def get_room(
        self, room_id: str, reader: str | None = None, *, caller: Caller = ANYONE
    ) -> RoomSummary:
        check.room_id(room_id)
        rows = await self.room_summaries(
            status="all", reader=reader, room_id=room_id, caller=caller
        )
        if not rows:
            raise room_missing(room_id)
        return rows[0]

    @staticmethod
    def _check_named(project: str, name: str) -> None:
        check.text("project", project, max_chars=check.MAX_NAME)
        check.text("name", name, max_chars=check.MAX_NAME)

    async def archive_room(self, project: str, name: str, *, caller: Caller = ANYONE) -> Archived:
        self._check_named(project, name)
        caller.needs("member", "archiving a room")
        self.named_in_scope(project, name, caller)
        room = await self.store.archive_room(project, name)
        if caller.principal is not None:
            log.info("room %s archived by %s", room["id"], caller.principal)
        return {
            "name": room["name"],
            "project": room["project"],
            "archived_at": room["archived_at"],
        }

    async def archive_room_by_id(self, room_id: str, *, caller: Caller = ANYONE) -> Archived:
        caller.needs("member", "archiving a room")
        await self.in_scope(room_id, caller)
        room = await self.require_room(room_id)
        return await self.archive_room(room["project"], room["name"], caller=caller)

    async def delete_room(self, room_id: str, *, caller: Caller = ANYONE) -> Deleted:
        check.room_id(room_id)
        caller.needs("admin", "deleting a room")
        await self.in_scope(room_id, caller)
        deleted = await self.store.delete_room(room_id)
        if caller.principal is not None:
            log.info("room %s deleted by %s", room_id, caller.principal)
        return deleted

    async def clear_room(self, project: str, name: str, *, caller: Caller = ANYONE) -> Cleared:
        self._check_named(project, name)
        caller.needs("admin", "clearing a room")
        self.named_in_scope(project, name, caller)
        cleared = await self.store.clear_room(project, name)
        if caller.principal is not None:
            log.info("room %s cleared by %s", cleared["room_id"], caller.principal)
        return cleared

    async def clear_room_by_id(self, room_id: str, *, caller: Caller = ANYONE) -> Cleared:
        caller.needs("admin", "clearing a room")
        await self.in_scope(room_id, caller)
        room = await self.require_room(room_id)
        return await self.clear_room(room["project"], room["name"], caller=caller)

    async def archive_idle_rooms(self, idle_hours: float) -> list[str]:
        """Archive live rooms with no activity for idle_hours (only if the user configured it)."""
        cutoff = (datetime.now(UTC) - timedelta(hours=idle_hours)).isoformat(
            timespec="milliseconds"
        )
        return await self.store.archive_idle_rooms(cutoff)
