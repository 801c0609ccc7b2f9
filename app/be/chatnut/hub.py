"""In-process publish/subscribe of committed changes.

The store's writer hands every committed batch of events to `Hub.publish`
(in commit order). Subscribers — `wait_for_messages`, the SSE feeds — each
hold a small bounded buffer and an `asyncio.Event`; publishing never blocks
and never awaits, so one slow subscriber cannot delay a post or another
subscriber. A subscriber whose buffer fills is marked `overflowed`: a waiter
then knows there is more than it can return, a stream drops the client, which
resumes from its Last-Event-ID.

The race story is the usual one: subscribe first, then read the backlog from
the database, then de-duplicate by message id.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

from chatnut.shapes.messages import Message

ALL_ROOMS = "*"


@dataclass(frozen=True, eq=False)
class Event:
    """A committed change. `kind`: message | status | cleared | room | agent | read |
    receipt | reaction.

    Compared and hashed by identity: the feeds memoise one encoding per event.
    """

    kind: str
    room_id: str
    data: Mapping[str, Any]
    # A message's addressees (its `to` and registered @mentions, lower-cased):
    # what a wait with `addressed_to` and the inbox wake on.
    audience: frozenset[str] = frozenset()


def message_of(event: Event) -> Message:
    """A `message` event's data: the message as the store built it with
    `rows.message_dict` (both stores publish that dict; the PostgreSQL store
    reads other processes' posts back through it too)."""
    assert event.kind == "message", event.kind
    return cast(Message, event.data)


@dataclass(eq=False)
class Subscription:
    """One subscriber's view of the hub: a bounded buffer and a wake-up flag."""

    topic: str
    capacity: int
    accept: Callable[[Event], bool] | None = None
    buffer: deque[Event] = field(default_factory=deque)
    overflowed: bool = False
    closed: bool = False  # the server is shutting down: stop waiting
    # This process missed events (pruned before it read them): what the buffer
    # holds may have holes; the tables are the truth.
    resynced: bool = False
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    def deliver(self, event: Event) -> None:
        if self.accept is not None and not self.accept(event):
            return
        if len(self.buffer) >= self.capacity:
            self.overflowed = True
        else:
            self.buffer.append(event)
        self._wake.set()

    async def wait(self) -> None:
        await self._wake.wait()

    def close(self) -> None:
        self.closed = True
        self._wake.set()

    def drain(self) -> list[Event]:
        events = list(self.buffer)
        self.buffer.clear()
        self._wake.clear()
        return events


class Hub:
    def __init__(self) -> None:
        self._topics: dict[str, set[Subscription]] = {}
        self.closed = False

    def close(self) -> None:
        """Wake every subscriber for good (shutdown): waits end, streams finish."""
        self.closed = True
        for subs in tuple(self._topics.values()):
            for sub in tuple(subs):
                sub.close()

    def resync(self) -> None:
        """Every subscriber missed something: streams end (their clients resume with
        Last-Event-ID, from the tables), waits read their answer from the tables."""
        for subs in tuple(self._topics.values()):
            for sub in tuple(subs):
                sub.overflowed = sub.resynced = True
                sub._wake.set()

    def subscriber_count(self, topic: str | None = None) -> int:
        if topic is not None:
            return len(self._topics.get(topic, ()))
        return sum(len(subs) for subs in self._topics.values())

    @contextmanager
    def subscribe(
        self,
        topic: str,
        *,
        capacity: int,
        accept: Callable[[Event], bool] | None = None,
    ) -> Iterator[Subscription]:
        """Subscribe to one room's events (topic = room id) or to every room (ALL_ROOMS)."""
        sub = Subscription(topic=topic, capacity=capacity, accept=accept)
        if self.closed:
            sub.close()
        self._topics.setdefault(topic, set()).add(sub)
        try:
            yield sub
        finally:
            subs = self._topics.get(topic)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._topics[topic]

    def publish(self, events: list[Event]) -> None:
        for event in events:
            for topic in (event.room_id, ALL_ROOMS):
                # Copy: a subscriber may unsubscribe while being delivered to.
                for sub in tuple(self._topics.get(topic, ())):
                    sub.deliver(event)
