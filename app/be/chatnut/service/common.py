"""What every part of the service shares: the clock, room lookups that fail in
words, presence, and the attributes the parts rely on (set once by ChatService)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from chatnut import metrics
from chatnut import validation as check
from chatnut.clock import now_iso
from chatnut.errors import InvalidInput, TooManyWaits, named_room_missing, room_missing
from chatnut.hub import Hub
from chatnut.principals import Caller
from chatnut.service.identities import Tokens
from chatnut.service.presence import Presence
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
    version_info: Callable[[], dict[str, Any]]
    parked_waits: dict[str, int]  # room id -> wait_for_messages calls parked on it
    max_waits_per_room: int
    max_waits: int
    presence: Presence
    tokens_cache: Tokens

    async def require_room(self, room_id: str) -> dict[str, Any]:
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

    async def with_presence(
        self, room_id: str, rows: list[dict[str, Any]], key: str
    ) -> list[dict[str, Any]]:
        """Agents or statuses with `last_seen_at` and `waiting` (null/false if never seen)."""
        names = sorted({str(row[key]).strip().lower() for row in rows})
        if not names:
            return []
        saved = await self.store.presence_of(room_id, names)
        # One after the other: side by side (asyncio.gather) measured slower on
        # PostgreSQL, and SQLite's answer is at once (one process: nothing elsewhere).
        elsewhere = await self.store.parked_elsewhere(room_id, names)
        return [self._present(room_id, row, key, saved, elsewhere) for row in rows]

    def _present(
        self,
        room_id: str,
        row: dict[str, Any],
        key: str,
        saved: dict[str, str],
        elsewhere: set[str],
    ) -> dict[str, Any]:
        """`elsewhere`: the names parked in another process's named wait (a shared store)."""
        name = str(row[key]).strip().lower()
        return {
            **row,
            "last_seen_at": self.presence.last_seen(room_id, name, saved.get(name)),
            "waiting": name in elsewhere or self.presence.waiting(room_id, name),
        }

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
