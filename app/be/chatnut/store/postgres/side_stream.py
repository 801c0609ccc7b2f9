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

So they are written without it, on a side stream, as Synapse gives read
receipts a stream apart from events: each is one short transaction (the row, then a NOTIFY on a
channel of their own carrying the whole change, a few hundred bytes) and
takes no seq. PostgreSQL delivers notifications in commit order, which is
their ordering: every process applies the changes in the order the rows
were committed, so the last one applied is the row as it stands. This
process publishes its own change to its hub as soon as it commits and skips
its own notification when it comes back.

A NOTIFY makes the commit take PostgreSQL's notification-queue lock, which
posts take too, through their WAL flush. A cursor's commit therefore does
not wait for its flush (`synchronous_commit` off for that one statement): it
is on disk within a fraction of a second, in WAL order, so a crash of the
database itself may take back the last cursor moves — a few messages unread
again — but never a post, a status or a room change. A cursor move is also
one statement (MOVE_CURSOR), one round trip, since pages send many. A status
is rare and an agent's word: it keeps the synchronous commit. A cursor move
that would stamp directed messages read is not made here (MOVE_CURSOR says
why). `python -m
bench.pg_read_cursors` measures posts/s with 20 pages marking read;
docs/benchmarks.md has the figures before and after.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from chatnut import errors
from chatnut.hub import Event
from chatnut.shapes.messages import ReadCursor
from chatnut.store.base import OnCommit

log = logging.getLogger(__name__)

CHANNEL = "chatnut_side"
NOTIFY = "SELECT pg_notify($1, $2)"
KINDS = frozenset({"read", "status"})

# A cursor's move in one statement, one round trip (pages send many): forward
# only, never past the newest message this statement can see (a cursor beyond
# it would swallow as "read" a post still committing), in a room that exists,
# announced as announce() would, and committed without waiting for its flush.
# A move that would stamp directed messages read (their receipts) writes
# nothing here and says so (`stamps`): their `receipt` events are ordered with
# the posts, so that move is made under the write lock instead.
# $1 room, $2 reader, $3 id, $4 time, $5 channel, $6 source.
MOVE_CURSOR = """
WITH target AS (
    SELECT least($3::bigint, coalesce((SELECT max(id) FROM messages), 0)) AS id
), pending AS (
    SELECT EXISTS (
        SELECT 1 FROM receipts x, target
        WHERE x.room_id = $1::text AND x.name = lower(btrim($2::text))
          AND x.message_id <= target.id AND x.read_at IS NULL
    ) AS stamps
), moved AS (
    INSERT INTO read_cursors AS c (room_id, reader, last_read_message_id, updated_at)
    SELECT r.id, $2::text, target.id, $4::text FROM rooms r, target, pending
    WHERE r.id = $1::text AND NOT pending.stamps
    ON CONFLICT (room_id, reader) DO UPDATE SET
        last_read_message_id = greatest(c.last_read_message_id,
                                        excluded.last_read_message_id),
        updated_at = CASE WHEN excluded.last_read_message_id > c.last_read_message_id
                          THEN excluded.updated_at ELSE c.updated_at END
    RETURNING last_read_message_id
)
SELECT p.stamps,
       EXISTS (SELECT 1 FROM rooms WHERE id = $1::text) AS found,
       m.last_read_message_id AS stands,
       CASE WHEN m.last_read_message_id IS NOT NULL
            THEN set_config('synchronous_commit', 'off', true) END AS unsynced,
       CASE WHEN m.last_read_message_id IS NOT NULL THEN pg_notify($5::text, json_build_object(
           'from', $6::text, 'kind', 'read', 'room', $1::text,
           'data', json_build_object('room_id', $1::text, 'reader', $2::text,
                                     'last_read_message_id', m.last_read_message_id)
       )::text) END AS notified
FROM pending p LEFT JOIN moved m ON true
"""


class SideStream:
    """This process's side of the stream: what it says, and what it hears."""

    def __init__(self, on_commit: OnCommit | None) -> None:
        self.on_commit = on_commit
        self.source = uuid.uuid4().hex  # tells our own notifications apart

    async def move_cursor(
        self, conn: Any, room_id: str, reader: str, message_id: int, at: str
    ) -> ReadCursor | None:
        """The cursor where it now stands; None when the move would stamp
        receipts (nothing written: the caller moves it under the write lock)."""
        row = await conn.fetchrow(
            MOVE_CURSOR, room_id, reader, message_id, at, CHANNEL, self.source
        )
        if row["stamps"]:
            return None
        if not row["found"]:
            raise errors.room_missing(room_id)
        stands = int(row["stands"])
        return {"room_id": room_id, "reader": reader, "last_read_message_id": stands}

    async def announce(self, conn: Any, kind: str, room_id: str, data: Mapping[str, Any]) -> None:
        """In the writing transaction: tell every process once it commits."""
        payload = {"from": self.source, "kind": kind, "room": room_id, "data": data}
        await conn.execute(NOTIFY, CHANNEL, json.dumps(payload, ensure_ascii=False))

    def committed(self, kind: str, room_id: str, data: Mapping[str, Any]) -> None:
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
