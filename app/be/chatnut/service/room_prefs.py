"""A reader's own settings per room: how loudly a room notifies, muted, and
starred. Kept under the reader's name so they follow the person to every
device; the page applies them (the server counts unread the same for all)."""

from __future__ import annotations

from chatnut import validation as check
from chatnut.errors import InvalidInput
from chatnut.principals import ANYONE, Caller
from chatnut.service.common import ServiceCore
from chatnut.shapes.rooms import ReaderRoomPref, RoomPrefs, RoomSummary

LEVELS = ("all", "mentions", "none")
# The starred rooms' summaries (the sidebar's Starred section) and the muted
# rooms' unread counts (what the page takes out of its totals) that the answer
# carries at most, each.
MAX_SUMMARIES = 100


class RoomPrefRules(ServiceCore):
    async def room_prefs(self, reader: str, *, caller: Caller = ANYONE) -> RoomPrefs:
        """Every room the reader has settings for, the summaries of the live
        starred ones (the sidebar's Starred section, whichever page of the
        sidebar they are on) and the unread counts of the live muted ones (the
        page's totals leave them out), in one answer: the page loads them once with its
        sidebar. A scoped caller sees its projects' rooms only."""
        check.person("reader", reader)
        caller.acting_as(reader)
        rows = await self.store.room_prefs(reader)
        if caller.projects is not None:
            rows = [row for row in rows if caller.sees(row["project"])]
        starred: list[RoomSummary] = []
        muted: dict[str, int] = {}
        for row in rows:
            wanted = (row["starred"] and len(starred) < MAX_SUMMARIES) or (
                row["muted"] and len(muted) < MAX_SUMMARIES
            )
            if not wanted:
                continue
            for summary in await self.store.room_summaries(None, "live", reader, row["room_id"]):
                if row["starred"] and len(starred) < MAX_SUMMARIES:
                    starred.append(summary)
                if row["muted"]:
                    muted[summary["id"]] = summary.get("unread_count", 0)
        return {"reader": reader, "rooms": rows, "starred_rooms": starred, "muted_unread": muted}

    async def set_room_prefs(
        self,
        reader: str,
        room_id: str,
        *,
        level: str | None = None,
        muted: bool | None = None,
        starred: bool | None = None,
        caller: Caller = ANYONE,
    ) -> ReaderRoomPref:
        """Change some of the reader's settings of one room; the others stay."""
        check.person("reader", reader)
        caller.acting_as(reader)
        check.room_id(room_id)
        if level is not None and level not in LEVELS:
            raise InvalidInput(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
        for name, value in (("muted", muted), ("starred", starred)):
            if value is not None and not isinstance(value, bool):
                raise InvalidInput(f"{name} must be true or false")
        if level is None and muted is None and starred is None:
            raise InvalidInput("give at least one of level, muted, starred")
        await self.in_scope(room_id, caller)
        row = await self.store.set_room_prefs(
            reader, room_id, level=level, muted=muted, starred=starred
        )
        return {"reader": reader, **row}
