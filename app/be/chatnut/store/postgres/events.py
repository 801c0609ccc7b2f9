"""Committed changes of every process, delivered to this process's hub in commit order.

Every write under the write lock (all but cursors and statuses, which have
their own stream: side_stream.py) appends a row to `events` (seq from
`event_seqs`, taken under the write lock, so seq order is commit order) and NOTIFYs a small payload
(seq, kind, room, id — never the body). This process publishes each event
exactly once, in seq order, by one rule: an event is published only when
every event before it has been, tracked by `published` (the last seq handed
to the hub). Two paths feed that rule:

* a write made here knows its own event: when its seq is `published + 1` it
  is published at once (no round trip: the common case with one worker);
* anything else — a NOTIFY from another process, a local write that
  finished before an earlier one, a reconnection — runs a catch-up that
  reads `events` after `published` (joined with `messages`: a message
  event's data is its row) and publishes what it finds, in order.

So a lost NOTIFY can delay an event but never lose or repeat it. Events
are pruned on a timer (pruning.py); a process held back past the cut (the
events after `published` already gone) would otherwise skip them silently.
It notices — a catch-up whose first event is not `published + 1` checks
the recorded cut — and resyncs: it moves `published` to the newest event
and has the hub tell every subscriber it missed something (`on_resync`):
streams end and their clients resume from the tables with Last-Event-ID,
parked waits read their answer from the tables. The

LISTEN connection is watched: when it drops (PostgreSQL restarted, the
network), it is re-established with backoff and a catch-up runs at once,
covering whatever was committed meanwhile. A local writer waits until its
event is published, so a caller that hears "done" knows every subscriber of
this process has been told (bounded: the wait gives up after PUBLISH_WAIT_S,
and its event is published when the catch-up can read it).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from chatnut import metrics
from chatnut.hub import Event
from chatnut.store.base import OnCommit
from chatnut.store.edit_rows import EDIT_EVENT
from chatnut.store.postgres import queries as q
from chatnut.store.postgres.driver import is_outage
from chatnut.store.postgres.pruning import HORIZON, prune_forever

log = logging.getLogger(__name__)

CHANNEL = "chatnut_events"
# The newest event, or the cut when pruning left none.
NEWEST_SEQ = (
    "SELECT greatest(coalesce(max(seq), 0), (SELECT pruned_through FROM events_horizon))"
    " FROM events"
)
CATCH_UP_BATCH = 1000
PUBLISH_WAIT_S = 5.0
BACKOFF_FIRST_S = 0.05
BACKOFF_MAX_S = 2.0


def event_from_row(row: Any) -> Event | None:
    if row["kind"] == EDIT_EVENT:  # points at its message too: read as it stands now
        return None if row["id"] is None else Event(EDIT_EVENT, row["room_id"], q.message_dict(row))
    if row["kind"] == "message":
        if row["id"] is None:  # cleared or deleted before we read it: its own event follows
            return None
        audience = frozenset(json.loads(row["addressees"])) if row["addressees"] else frozenset()
        return Event("message", row["room_id"], q.message_dict(row), audience)
    return Event(row["kind"], row["room_id"], json.loads(row["data"]))


class EventStream:
    def __init__(
        self,
        pool: Any,
        connect: Any,
        on_commit: OnCommit | None,
        also_listen: Mapping[str, Callable[..., None]] | None = None,
        on_resync: Callable[[], None] | None = None,
        keep: tuple[float, int] = (3600.0, 100_000),
    ) -> None:
        self.pool = pool
        # Other channels heard on the same connection (side_stream.py's stream).
        self.also_listen = dict(also_listen or {})
        self.connect = connect  # () -> a new asyncpg connection (for LISTEN)
        self.on_commit = on_commit
        self.on_resync = on_resync
        self.keep = keep  # (seconds, rows) of events kept for processes that were away
        self._pruner: asyncio.Task[None] | None = None
        self.published = 0
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._catching_up: asyncio.Task[None] | None = None
        self._again = False
        self._listener: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self._closed = False
        self.connected = False  # LISTEN is in place now (readiness)

    async def start(self, conn: Any) -> None:
        """Begin after everything committed so far; listen from now on."""
        self.published = int(await conn.fetchval(NEWEST_SEQ))
        self._listener = asyncio.create_task(self._listen(), name="chatnut-listen")
        self._pruner = asyncio.create_task(
            prune_forever(self.pool, *self.keep), name="chatnut-prune-events"
        )
        # Not ready until LISTEN is in place: a commit before it would be missed
        # until the next catch-up.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                await self._listening.wait()

    async def close(self) -> None:
        self._closed = True
        for task in (self._listener, self._catching_up, self._pruner):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        for _seq, _n, waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)

    # -- publishing ---------------------------------------------------------

    def _publish(self, seq: int, events: list[Event]) -> None:
        self.published = seq
        if events and self.on_commit is not None:
            try:
                self.on_commit(events)
            except Exception:  # a subscriber bug must never stop the stream
                log.exception("publishing committed events failed")
        while self._waiters and self._waiters[0][0] <= seq:
            _, _, waiter = heapq.heappop(self._waiters)
            if not waiter.done():
                waiter.set_result(None)

    async def committed(self, seq: int, event: Event | None) -> None:
        """A write made here committed `event` as `seq`: publish it, in order."""
        if seq <= self.published:
            return
        if seq == self.published + 1:
            self._publish(seq, [event] if event is not None else [])
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (seq, next(self._order), waiter))
        self.catch_up()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(PUBLISH_WAIT_S):
                await asyncio.shield(waiter)

    def catch_up(self) -> None:
        """Read and publish whatever follows `published` (coalesced: one at a time)."""
        if self._closed:
            return
        if self._catching_up is not None and not self._catching_up.done():
            self._again = True
            return
        self._catching_up = asyncio.create_task(self._catch_up(), name="chatnut-catch-up")

    async def _catch_up(self) -> None:
        metrics.CATCH_UPS.inc()
        while True:
            self._again = False
            try:
                rows = await self.pool.fetch(q.EVENTS_AFTER, self.published, CATCH_UP_BATCH)
            except Exception as exc:
                if not is_outage(exc):
                    # One line: a connection cut mid-read can surface as several
                    # driver errors, and the next catch-up reads the same rows.
                    text = " ".join(str(exc).split())
                    log.error("reading committed events failed (%s: %s)", type(exc).__name__, text)
                return  # the reconnecting listener runs the next catch-up
            if (not rows or rows[0]["seq"] != self.published + 1) and await self._missed():
                await self._resync()
                continue
            for row in rows:
                if row["seq"] > self.published:
                    event = event_from_row(row)
                    self._publish(row["seq"], [event] if event is not None else [])
            if len(rows) < CATCH_UP_BATCH and not self._again:
                return

    async def _missed(self) -> bool:
        """Whether events this process has not read were pruned (a gap, not a lag)."""
        try:
            horizon = int(await self.pool.fetchval(HORIZON))
        except Exception:
            return False  # unreachable: the next catch-up asks again
        return horizon > self.published

    async def _resync(self) -> None:
        newest = int(await self.pool.fetchval(NEWEST_SEQ))
        log.warning(
            "events %d..%d were pruned before this process read them; resyncing its streams"
            " and waits from the tables",
            self.published + 1,
            newest,
        )
        metrics.EVENT_GAPS.inc()
        if self.on_resync is not None:
            try:
                self.on_resync()
            except Exception:
                log.exception("resyncing the subscribers failed")
        self._publish(max(newest, self.published), [])

    # -- listening ----------------------------------------------------------

    async def _listen(self) -> None:
        backoff = BACKOFF_FIRST_S
        while not self._closed:
            conn = None
            try:
                conn = await self.connect()
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
                await conn.add_listener(CHANNEL, self._notified)
                for channel, callback in self.also_listen.items():
                    await conn.add_listener(channel, callback)
                if self._listening.is_set():
                    metrics.LISTEN_RECONNECTS.inc()
                self._listening.set()
                self.connected = True
                if backoff > BACKOFF_FIRST_S:
                    log.info("listening for other processes' commits again")
                backoff = BACKOFF_FIRST_S
                self.catch_up()  # whatever was committed while we were not listening
                await self._watch(conn, lost)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not self._closed:
                    log.warning("lost the database's notifications (%s); retrying", exc)
            finally:
                self.connected = False
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.terminate()
            if self._closed:
                return
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX_S)

    async def _watch(self, conn: Any, lost: asyncio.Event) -> None:
        """Return when the LISTEN connection is gone (probed, as a dead peer may be silent)."""
        while not lost.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await lost.wait()
            if not lost.is_set():
                async with asyncio.timeout(5):
                    await conn.fetchval("SELECT 1")

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            seq = int(json.loads(payload)["seq"])
        except (ValueError, KeyError, TypeError):
            seq = self.published + 1
        if seq > self.published:
            self.catch_up()
