"""What every part of the service shares: the clock, room lookups that fail in
words, presence, and the attributes the parts rely on (set once by ChatService)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from chatnut import metrics
from chatnut import validation as check
from chatnut.clock import now_iso
from chatnut.errors import InvalidInput, TooManyWaits, named_room_missing, room_missing
from chatnut.hub import Hub
from chatnut.principals import Caller
from chatnut.service.identities import Tokens
from chatnut.service.presence import Presence
from chatnut.shapes.health import UpdateInfo
from chatnut.shapes.rooms import Room
from chatnut.shapes.team import Agent, AgentSeen, Seen, Status, StatusSeen
from chatnut.store.base import Store

__all__ = ["ServiceCore", "now_iso", "room_missing"]


NO_PROJECT = ""


class ServiceCore:
    """The state every rule needs; ChatService fills it in."""

    store: Store
    hub: Hub
    db_path: str
    max_message_bytes: int
    max_answer_bytes: int  # what one answer's messages may hold (service/budget.py)
    teams_dir: Path | None
    web_url: Callable[[str | None], str]
    on_room_created: Callable[[str], None] | None
    version_info: Callable[[], UpdateInfo]
    parked_waits: dict[str, int]  # room id -> wait_for_messages calls parked on it
    max_waits_per_room: int
    max_waits: int
    presence: Presence
    tokens_cache: Tokens

    async def require_room(self, room_id: str) -> Room:
        check.room_id(room_id)
        room = await self.store.room(room_id)
        if room is None:
            raise room_missing(room_id)
        return room

    # -- project scopes: another project's rooms do not exist for a scoped caller --

    async def in_scope(self, room_id: str, caller: Caller) -> None:
        """Raise exactly what an unknown room raises when the room is another project's."""
        if not caller.scoped:
            return
        check.room_id(room_id)
        room = await self.store.room(room_id)
        if room is None or not caller.sees(room["project"]):
            raise room_missing(room_id)

    async def visible_rooms(self, caller: Caller) -> set[str] | None:
        """The ids of the rooms a scoped caller sees (None: every room)."""
        if caller.projects is None:
            return None
        rooms = await self.store.list_rooms(None, "all")
        return {r["id"] for r in rooms if r["project"] in caller.projects}

    @staticmethod
    def reading_as(reader: str | None, caller: Caller) -> None:
        """A read counted for a reader (unread counts, a feed's cursor) is that
        reader's own: a principal's token reads only as itself."""
        check.optional_text("reader", reader, max_chars=check.MAX_SENDER)
        if reader is not None and reader.strip():  # a blank reader counts for no one
            caller.acting_as(check.visible("reader", reader))

    @staticmethod
    def unseen_as_none(project: str | None, caller: Caller) -> str | None:
        """A project the caller cannot see, as a project no room is in: a read of it
        then answers exactly as for a project that does not exist (project names
        are never empty)."""
        return NO_PROJECT if project is not None and not caller.sees(project) else project

    @staticmethod
    def named_in_scope(project: str, name: str, caller: Caller) -> None:
        if not caller.sees(project):
            raise named_room_missing(project, name)

    @staticmethod
    def scoped_project(project: str | None, caller: Caller) -> str | None:
        """The one project a scoped caller's paged read is about (the pages are
        counted by the database, so they cannot be filtered afterwards)."""
        if not caller.scoped or project is not None:
            return project
        assert caller.projects is not None
        if len(caller.projects) == 1:
            return next(iter(caller.projects))
        raise InvalidInput(
            f"this token sees the projects {', '.join(sorted(caller.projects))}: name one"
            " (project=…)"
        )

    def seen(self, room_id: str, name: str) -> None:
        """Note that `name` just made a call on this room (for presence)."""
        self.presence.note(room_id, name, now_iso())

    async def _presence(self, room_id: str, names: set[str]) -> tuple[dict[str, str], set[str]]:
        """The persisted last-seen times of these lower-cased names, and those parked
        in another process's named wait (a shared store)."""
        wanted = sorted(names)
        if not wanted:
            return {}, set()
        saved = await self.store.presence_of(room_id, wanted)
        # One after the other: side by side (asyncio.gather) measured slower on
        # PostgreSQL, and SQLite's answer is at once (one process: nothing elsewhere).
        elsewhere = await self.store.parked_elsewhere(room_id, wanted)
        return saved, elsewhere

    def _seen(self, room_id: str, name: str, saved: dict[str, str], elsewhere: set[str]) -> Seen:
        """`last_seen_at` and `waiting` of a name (null/false if never seen)."""
        key = name.strip().lower()
        return {
            "last_seen_at": self.presence.last_seen(room_id, key, saved.get(key)),
            "waiting": key in elsewhere or self.presence.waiting(room_id, key),
        }

    def status_seen(
        self, room_id: str, row: Status, saved: dict[str, str], elsewhere: set[str]
    ) -> StatusSeen:
        return {**row, **self._seen(room_id, row["sender"], saved, elsewhere)}

    def agent_seen(
        self, room_id: str, row: Agent, saved: dict[str, str], elsewhere: set[str]
    ) -> AgentSeen:
        return {**row, **self._seen(room_id, row["agent_name"], saved, elsewhere)}

    async def statuses_seen(self, room_id: str, rows: list[Status]) -> list[StatusSeen]:
        saved, elsewhere = await self._presence(room_id, {_key(r["sender"]) for r in rows})
        return [self.status_seen(room_id, row, saved, elsewhere) for row in rows]

    async def agents_seen(self, room_id: str, rows: list[Agent]) -> list[AgentSeen]:
        saved, elsewhere = await self._presence(room_id, {_key(r["agent_name"]) for r in rows})
        return [self.agent_seen(room_id, row, saved, elsewhere) for row in rows]

    @contextmanager
    def _parked(self, room_id: str) -> Iterator[None]:
        """Count a parked wait. Each holds a subscription and a request: bounded
        (settings max_waits_per_room, max_waits), so runaway waits cannot pile
        up; a disconnected client's wait ends at once anyway (app.py)."""
        in_room = self.parked_waits.get(room_id, 0)
        if in_room >= self.max_waits_per_room:
            metrics.refused(TooManyWaits.code)
            raise TooManyWaits(
                f"{in_room} waits are already parked on room {room_id!r} (the limit is"
                f" {self.max_waits_per_room}); use fewer concurrent waits or read_messages"
            )
        if sum(self.parked_waits.values()) >= self.max_waits:
            metrics.refused(TooManyWaits.code)
            raise TooManyWaits(
                f"{self.max_waits} waits are already parked on this server (the limit);"
                " retry shortly or use read_messages"
            )
        self.parked_waits[room_id] = in_room + 1
        gauge = metrics.PARKED.labels("inbox" if room_id.startswith("inbox:") else "wait")
        gauge.inc()
        try:
            yield
        finally:
            gauge.dec()
            left = self.parked_waits[room_id] - 1
            if left:
                self.parked_waits[room_id] = left
            else:
                del self.parked_waits[room_id]


def _key(name: str) -> str:
    return name.strip().lower()
