"""What every part of the service shares: the clock, room lookups that fail in
words, presence, and the attributes the parts rely on (set once by ChatService)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from chatnut import validation as check
from chatnut.clock import now_iso
from chatnut.errors import TooManyWaits, room_missing
from chatnut.hub import Hub
from chatnut.service.presence import Presence
from chatnut.store.base import Store

__all__ = ["ServiceCore", "now_iso", "room_missing"]


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

    async def require_room(self, room_id: str) -> dict[str, Any]:
        check.room_id(room_id)
        room = await self.store.room(room_id)
        if room is None:
            raise room_missing(room_id)
        return room

    def seen(self, room_id: str, name: str) -> None:
        """Note that `name` just made a call on this room (SPEC §13 presence)."""
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
            raise TooManyWaits(
                f"{in_room} waits are already parked on room {room_id!r} (the limit is"
                f" {self.max_waits_per_room}); use fewer concurrent waits or read_messages"
            )
        if sum(self.parked_waits.values()) >= self.max_waits:
            raise TooManyWaits(
                f"{self.max_waits} waits are already parked on this server (the limit);"
                " retry shortly or use read_messages"
            )
        self.parked_waits[room_id] = in_room + 1
        try:
            yield
        finally:
            left = self.parked_waits[room_id] - 1
            if left:
                self.parked_waits[room_id] = left
            else:
                del self.parked_waits[room_id]
