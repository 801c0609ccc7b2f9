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
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from chatnut.errors import ChatnutError
from chatnut.store.postgres.driver import is_outage, unavailable

log = logging.getLogger(__name__)

POST = "SELECT * FROM chatnut_post($1, $2, $3, $4, $5, $6, $7, $8)"
MAX_BATCH = 64  # bounds how long one batch holds the lock (a round trip each)

Job = tuple[Sequence[Any], "asyncio.Future[Any]"]


class PostBatcher:
    """One queue of posts per process, drained by one task, a batch per transaction."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self._queue: asyncio.Queue[Job] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def post(self, args: Sequence[Any]) -> Any:
        """The `chatnut_post` row for these arguments, once its commit is flushed."""
        if self._task is None:
            self._task = asyncio.create_task(self._drain(), name="chatnut-post-batcher")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((args, future))
        return await future

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        while not self._queue.empty():
            _, future = self._queue.get_nowait()
            if not future.done():
                future.set_exception(unavailable(RuntimeError("the store is closing")))

    async def _drain(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            # A caller that gave up (its client left) before we began: nothing to do.
            batch = [job for job in batch if not job[1].done()]
            if batch:
                await self._commit(batch)

    async def _commit(self, batch: list[Job]) -> None:
        try:
            rows = await self._run(batch)
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
