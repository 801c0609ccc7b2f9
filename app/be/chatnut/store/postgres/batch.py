"""Group commit for posts: the posts waiting in this process share one write
lock and one commit.

Every write holds the database-wide write lock until its commit is flushed
(the ordering rule, see store/postgres/__init__.py), so one post at a time
pays the whole WAL flush while every other writer waits: on this machine's
disk that capped a database at about 230 posts a second however many
workers posted (docs/benchmarks.md, `python -m bench.pg_ceiling`). Here the
posts that arrive while a commit is in flight queue up, and the next
transaction runs them all (each is still one `chatnut_post` call, in arrival
order, each taking its id under the lock) before one commit: their ids
become visible together and in order, and the flush is paid once per batch.
A post that arrives alone is committed alone, as before.

Errors: a batch whose transaction fails for any reason other than an outage
is re-run one post per transaction, so a bad post fails on its own and the
others still land; an outage fails the whole batch with the one-line error.

Closing (the server stopping) cancels the drain task, perhaps mid-batch: every
post it holds or that is still queued is failed in one line, never left to
hang its caller. An interrupted batch may already have committed, and its
error says so; a queued post was never sent, and its error says that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from chatnut import metrics
from chatnut.errors import ChatnutError, StorageUnavailable
from chatnut.store.postgres.driver import is_outage, unavailable

log = logging.getLogger(__name__)

POST = "SELECT * FROM chatnut_post($1, $2, $3, $4, $5, $6, $7, $8, $9)"
MAX_BATCH = 64  # bounds how long one batch holds the lock (a round trip each)

Job = tuple[Sequence[Any], "asyncio.Future[Any]"]

INTERRUPTED = (
    "the server stopped while this post was being committed: it may or may not"
    " have been saved; read the room before posting it again"
)
NOT_SENT = "the server is stopping: this post was not saved; post it again"


def _fail(jobs: list[Job], message: str) -> None:
    for _, future in jobs:
        if not future.done():
            future.set_exception(StorageUnavailable(message))


class PostBatcher:
    """One queue of posts per process, drained by one task, a batch per transaction."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self._queue: asyncio.Queue[Job] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    async def post(self, args: Sequence[Any]) -> Any:
        """The `chatnut_post` row for these arguments, once its commit is flushed."""
        if self._closed:
            raise StorageUnavailable(NOT_SENT)
        if self._task is None or self._task.done():  # done: ended by an unexpected error
            self._task = asyncio.create_task(self._drain(), name="chatnut-post-batcher")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((args, future))
        return await future

    async def close(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        queued = []
        while not self._queue.empty():
            queued.append(self._queue.get_nowait())
        _fail(queued, NOT_SENT)

    async def _drain(self) -> None:
        batch: list[Job] = []
        try:
            while True:
                batch = [await self._queue.get()]
                while len(batch) < MAX_BATCH and not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                # A caller that gave up (its client left) before we began: nothing to do.
                batch = [job for job in batch if not job[1].done()]
                if batch:
                    await self._commit(batch)
                batch = []
        finally:
            # Cancelled (closing) or broken mid-batch: the batch's callers must hear.
            _fail(batch, INTERRUPTED)

    async def _commit(self, batch: list[Job]) -> None:
        try:
            rows = await self._run(batch)
            metrics.PG_BATCH_SIZE.observe(len(batch))
        except Exception as exc:  # handed to each caller below
            if len(batch) > 1 and not is_outage(exc) and not isinstance(exc, ChatnutError):
                log.warning("a batch of %d posts failed (%s); one by one", len(batch), exc)
                for job in batch:
                    await self._commit([job])
                return
            error = unavailable(exc) if is_outage(exc) else exc
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        for (_, future), row in zip(batch, rows, strict=True):
            if not future.done():
                future.set_result(row)

    async def _run(self, batch: list[Job]) -> list[Any]:
        async with self._pool.acquire() as conn, conn.transaction():
            return [await conn.fetchrow(POST, *args) for args, _ in batch]
