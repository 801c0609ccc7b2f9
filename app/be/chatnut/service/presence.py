"""Presence: when a name last made a call on a room, and whether it
is parked in a named wait right now.

Held in memory, where every call notes it for free; the times are also saved
to the database every few seconds (only the ones that changed, at most once a
minute per name and room), so a restart keeps them — a read-only call never
becomes a write. `waiting` is parked in a named wait: a wait that names no
one (a plain `wait_for_messages`) cannot be attributed. This process's own
parked waits are counted here; on a store shared by several processes the
store publishes them for the others (`on_change`, store/postgres/parked.py)
and the service adds theirs (ServiceCore.statuses_seen, agents_seen).
"""

from __future__ import annotations

import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager

INBOX = "*"  # a name's inbox calls count for every room
MAX_NAMES = 50_000  # (room, name) pairs held; the least recently seen go first
SAVE_AT_MOST_EVERY = 60.0  # seconds, per (room, name)

Key = tuple[str, str]


class Presence:
    def __init__(self) -> None:
        self._seen: OrderedDict[Key, str] = OrderedDict()
        self._saved_at: dict[Key, float] = {}
        self._unsaved: dict[Key, str] = {}
        self._parked: Counter[Key] = Counter()
        # Told when a (room, name) starts or stops being parked here.
        self.on_change: Callable[[], None] = lambda: None

    def note(self, room_id: str, name: str, now: str) -> None:
        key = (room_id, name.strip().lower())
        self._seen[key] = now
        self._seen.move_to_end(key)
        if len(self._seen) > MAX_NAMES:
            old, _ = self._seen.popitem(last=False)
            self._saved_at.pop(old, None)
        saved = self._saved_at.get(key)
        if saved is None or time.monotonic() - saved >= SAVE_AT_MOST_EVERY:
            self._unsaved[key] = now

    def take_unsaved(self) -> list[tuple[str, str, str]]:
        """The (room_id, name, last_seen_at) rows to save now; marked saved."""
        rows = [(room, name, seen) for (room, name), seen in self._unsaved.items()]
        now = time.monotonic()
        for key in self._unsaved:
            self._saved_at[key] = now
        self._unsaved.clear()
        return rows

    def last_seen(self, room_id: str, name: str, saved: str | None) -> str | None:
        """The newest of this room's time, the inbox's time and the saved one."""
        name = name.strip().lower()
        times = [self._seen.get((room_id, name)), self._seen.get((INBOX, name)), saved]
        present = [t for t in times if t is not None]
        return max(present) if present else None

    def waiting(self, room_id: str, name: str) -> bool:
        name = name.strip().lower()
        return self._parked[(room_id, name)] > 0 or self._parked[(INBOX, name)] > 0

    def parked_keys(self) -> set[Key]:
        """The (room_id or INBOX, name) pairs parked in this process now."""
        return set(self._parked)

    @contextmanager
    def parked(self, room_id: str, name: str) -> Iterator[None]:
        key = (room_id, name)
        self._parked[key] += 1
        if self._parked[key] == 1:
            self.on_change()
        try:
            yield
        finally:
            self._parked[key] -= 1
            if self._parked[key] <= 0:
                del self._parked[key]
                self.on_change()
