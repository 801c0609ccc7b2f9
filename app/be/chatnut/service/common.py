"""What every part of the service shares: the clock, room lookups that fail in
words, and the attributes the parts rely on (set once by ChatService)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from chatnut import validation as check
from chatnut.clock import now_iso
from chatnut.errors import room_missing
from chatnut.hub import Hub
from chatnut.store.base import Store

__all__ = ["ServiceCore", "now_iso", "room_missing"]


class ServiceCore:
    """The state every rule needs; ChatService fills it in."""

    store: Store
    hub: Hub
    db_path: str
    max_message_bytes: int
    teams_dir: Path | None
    web_url: Callable[[str | None], str]
    on_room_created: Callable[[str], None] | None
    version_info: Callable[[], dict[str, Any]]

    async def require_room(self, room_id: str) -> dict[str, Any]:
        check.room_id(room_id)
        room = await self.store.room(room_id)
        if room is None:
            raise room_missing(room_id)
        return room
