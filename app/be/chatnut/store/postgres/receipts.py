"""Read cursors and statuses: a stream of their own, off the lock that orders posts.

The write lock (store/postgres/__init__.py) exists so that message ids and
event seqs become visible in the order they were given: a feed resumes from
a message id and must never find an older one appear later. Cursors and
statuses take part in none of that. Nothing resumes from them (their feed
events carry no id: the page reads them afresh when it reconnects), a cursor
only moves forward (it is a `greatest`), and a status row is replaced whole.
Yet every open page moves its reader's cursor up to twice a second while
messages arrive, and under the write lock each move held every post back
through a commit of its own.

So they are written without it, as Synapse gives receipts a stream apart
from events: each is one short transaction (the row, then a NOTIFY on a
channel of their own carrying the whole change, a few hundred bytes) and
takes no seq. PostgreSQL delivers notifications in commit order, which is
their ordering: every process applies the changes in the order the rows
were committed, so the last one applied is the row as it stands. This
process publishes its own change to its hub as soon as it commits and skips
its own notification when it comes back.

A NOTIFY makes the commit take PostgreSQL's notification-queue lock, which
posts take too, through their WAL flush. A cursor's commit therefore does not
wait for its flush (`synchronous_commit = off` for that transaction only): it
is on disk within a fraction of a second, in WAL order, so a crash of the
database itself may take back the last cursor moves — a few messages unread
again — but never a post, and never a cursor ahead of its messages. With 20
pages marking read, posts/s went from 36 % to 98 % of what they are with no
page open, and a mark_read's p99 from 764 ms to 33 ms (`python -m
bench.pg_read_cursors`, docs/benchmarks.md). A status is rare and an agent's
word, so it keeps the synchronous commit.

What they give up: a change made while a process had lost its LISTEN
connection is not replayed to that process (the events table replays posts
and room changes, not these). A page there shows it at its next reconnect,
or with the room's next change; nothing is lost in the database.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from chatnut.hub import Event
from chatnut.store.base import OnCommit

log = logging.getLogger(__name__)

CHANNEL = "chatnut_receipts"
NOTIFY = "SELECT pg_notify($1, $2)"
KINDS = frozenset({"read", "status"})


class Receipts:
    """This process's side of the stream: what it says, and what it hears."""

    def __init__(self, on_commit: OnCommit | None) -> None:
        self.on_commit = on_commit
        self.source = uuid.uuid4().hex  # tells our own notifications apart

    async def announce(self, conn: Any, kind: str, room_id: str, data: dict[str, Any]) -> None:
        """In the writing transaction: tell every process once it commits."""
        if kind == "read":
            await conn.execute("SET LOCAL synchronous_commit = off")
        payload = {"from": self.source, "kind": kind, "room": room_id, "data": data}
        await conn.execute(NOTIFY, CHANNEL, json.dumps(payload, ensure_ascii=False))

    def committed(self, kind: str, room_id: str, data: dict[str, Any]) -> None:
        """After the commit: this process's subscribers hear it at once."""
        self._publish(Event(kind, room_id, data))

    def notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            change = json.loads(payload)
            if change["from"] == self.source:
                return
            event = Event(change["kind"], change["room"], change["data"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed notification on %s", CHANNEL)
            return
        if event.kind in KINDS:
            self._publish(event)

    def _publish(self, event: Event) -> None:
        if self.on_commit is None:
            return
        try:
            self.on_commit([event])
        except Exception:  # a subscriber bug must never stop the stream
            log.exception("publishing a cursor or status change failed")
