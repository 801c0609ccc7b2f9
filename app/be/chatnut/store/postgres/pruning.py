"""Keeping the `events` table bounded: pruned on a timer, by one process at a time.

Every write appends an event; other processes read them after a NOTIFY or a
reconnection (events.py), and nothing needs them after that. So each process
tries, every `interval` seconds, to delete the events older than
`keep_seconds` or beyond the newest `keep_rows`, whichever cuts more. A
transaction-level advisory lock (PRUNE_LOCK, tried, never waited for) makes
it one process at a time; the others skip that round.

The cut is recorded in `events_horizon.pruned_through`. A process that was
held back (stopped, cut off, far behind) and finds the events it needs
already gone learns it from there and resyncs (events.py), so pruning can
never make a stream or a wait silently skip a message.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from chatnut import metrics
from chatnut.store.postgres.driver import is_outage

log = logging.getLogger(__name__)

PRUNE_LOCK = 7365618  # advisory lock key: one pruner at a time
MAX_INTERVAL_S = 60.0

# The cut: below the first event young enough to keep (found by walking the
# primary key from the oldest: it reads only rows about to go), or below the
# newest keep_rows, whichever is higher.
PRUNE = """
WITH top AS (SELECT coalesce(max(seq), 0) AS seq FROM events),
young AS (
    SELECT seq FROM events WHERE at >= now() - make_interval(secs => $1) ORDER BY seq LIMIT 1
),
cut AS (
    SELECT greatest(
        coalesce((SELECT seq FROM young) - 1, (SELECT seq FROM top)),
        (SELECT seq FROM top) - $2
    ) AS upto
),
gone AS (DELETE FROM events WHERE seq <= (SELECT upto FROM cut) RETURNING seq)
UPDATE events_horizon
SET pruned_through = greatest(pruned_through, (SELECT coalesce(max(seq), 0) FROM gone))
RETURNING pruned_through, (SELECT count(*) FROM gone) AS deleted
"""
HORIZON = "SELECT pruned_through FROM events_horizon"


def interval_for(keep_seconds: float) -> float:
    """Every minute, or more often when events are kept for less than two."""
    return max(min(MAX_INTERVAL_S, keep_seconds / 2), 0.5)


async def prune_once(pool: Any, keep_seconds: float, keep_rows: int) -> int | None:
    """Prune now if no other process is; the rows deleted, or None when it was another's turn."""
    async with pool.acquire() as conn:
        async with conn.transaction():
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", PRUNE_LOCK):
                return None
            row = await conn.fetchrow(PRUNE, float(keep_seconds), keep_rows)
        metrics.EVENT_ROWS.set(await conn.fetchval("SELECT count(*) FROM events"))
    return int(row["deleted"])


async def prune_forever(pool: Any, keep_seconds: float, keep_rows: int) -> None:
    interval = interval_for(keep_seconds)
    while True:
        try:
            deleted = await prune_once(pool, keep_seconds, keep_rows)
            if deleted:
                log.debug("pruned %d events", deleted)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not is_outage(exc):  # an outage is said by every call; no need here
                log.warning("pruning the events table failed: %s", exc)
        await asyncio.sleep(interval)
