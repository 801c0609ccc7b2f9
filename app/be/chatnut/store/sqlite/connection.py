"""SQLite connections on threads the store owns, and a fair pool of readers.

Only public APIs: the standard library's `sqlite3`, each connection created,
used and closed on one thread of its own (a one-worker executor), so a whole
write batch or read is one hop to that thread and back — never one hop per
statement, which would cost a post more than SQLite does (this
replaces aiosqlite's private `_execute`, which a release could change).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


class Connection:
    """A stdlib sqlite3 connection and the one thread that ever touches it."""

    def __init__(self, name: str) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self.raw: sqlite3.Connection | None = None

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        raw = self.raw
        assert raw is not None, "connection is closed"
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, raw)

    async def open(self, path: Path, configure: Callable[[sqlite3.Connection], None]) -> None:
        def connect() -> sqlite3.Connection:
            conn = sqlite3.connect(path, isolation_level=None)
            try:
                configure(conn)
            except BaseException:
                conn.close()
                raise
            return conn

        try:
            self.raw = await asyncio.get_running_loop().run_in_executor(self._thread, connect)
        except BaseException:
            self._thread.shutdown(wait=False)
            raise

    async def close(self) -> None:
        raw, self.raw = self.raw, None
        if raw is not None:
            with contextlib.suppress(sqlite3.Error):
                await asyncio.get_running_loop().run_in_executor(self._thread, raw.close)
        self._thread.shutdown(wait=False)


class ReaderPool:
    """Idle readers, handed out first come, first served.

    An asyncio.Queue is not fair: a reader put back is taken by whichever task
    asks next, and a task that loops over reads keeps re-taking it while a
    waiting one starves. Here a returned connection goes straight to the
    oldest waiter.
    """

    def __init__(self) -> None:
        self._free: list[Connection] = []
        self._waiters: deque[asyncio.Future[Connection]] = deque()

    async def take(self) -> Connection:
        if self._free and not self._waiters:
            return self._free.pop()
        waiter: asyncio.Future[Connection] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.give(waiter.result())  # handed over just as we were cancelled
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise

    def clear(self) -> None:
        self._free.clear()

    def free_count(self) -> int:
        return len(self._free)

    def give(self, conn: Connection) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self._free.append(conn)
