"""One SQLite file: a single writer that batches, a pool of readers that never wait for it.

WAL mode lets readers see the last committed state while the writer works, so
reads go to their own connections and never queue behind writes. Every write
goes through one connection owned by one task: pending writes are drained
from a queue and applied together in one transaction (each inside its own
savepoint, so one bad write cannot undo its neighbours), which is what makes
many concurrent posts cheap. After the commit, the events of the writes that
succeeded are handed to `on_commit` in commit order (the app wires that to the
hub), and only then are the callers answered — so a caller that hears "done"
knows that every subscriber has been told.

Each connection is the standard library's `sqlite3` on a thread of its own
(connection.py): a whole write batch or read is one hop to that thread.

The WAL is bounded, or steady writes would grow it without end: PASSIVE checkpoints run beside the
writer every few hundred commits, but they never get past a reader, and with
readers always busy the WAL is never reset; past WAL_RESET_BYTES the writer
itself runs a TRUNCATE checkpoint between two batches (`_reset_wal`), and
`journal_size_limit` trims what a reset leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from chatnut.errors import StorageUnavailable
from chatnut.store.base import OnCommit, StoreOpenError
from chatnut.store.sqlite.connection import Connection, ReaderPool
from chatnut.store.sqlite.lock import DatabaseLock
from chatnut.store.sqlite.migrate import migrate
from chatnut.store.sqlite.search import register_functions

log = logging.getLogger(__name__)

T = TypeVar("T")

# A write: runs on the writer thread inside a savepoint, returns (value, events).
WriteFn = Callable[[sqlite3.Connection], tuple[Any, Sequence[Any]]]
ReadFn = Callable[[sqlite3.Connection], T]

MAX_BATCH = 256
# Commits between two WAL checkpoints. SQLite's own auto-checkpoint would run
# inside whichever commit crosses 1000 pages, syncing the file while that
# caller waits (p99 of a post 3.8 ms -> 2.4 ms without it); ours runs on a
# connection of its own, PASSIVE, beside the writer.
CHECKPOINT_EVERY_COMMITS = 256
# Past this size the WAL is emptied by a TRUNCATE checkpoint (see the docstring);
# the WAL-bound test holds it under twice this with readers and feeds busy.
WAL_RESET_BYTES = 32 * 1024 * 1024
# How long a TRUNCATE checkpoint may wait for readers (and hold the writer).
WAL_RESET_WAIT_MS = 2000
READERS = 4
BUSY_TIMEOUT_MS = 5000

# sqlite3 error codes (the low byte of sqlite_errorcode)
SQLITE_CORRUPT = 11
SQLITE_NOTADB = 26
SQLITE_READONLY = 8


@dataclass
class _Job:
    fn: WriteFn
    future: asyncio.Future[Any] = field(repr=False)


def _configure(conn: sqlite3.Connection, durability: str, readonly: bool) -> None:
    conn.row_factory = sqlite3.Row
    register_functions(conn)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    if readonly:
        conn.execute("PRAGMA query_only = ON")
    else:
        conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode: a commit survives a crash of the process (kill -9);
        # only a power cut can lose the last commits. FULL fsyncs every commit.
        conn.execute(f"PRAGMA synchronous = {'FULL' if durability == 'full' else 'NORMAL'}")
        conn.execute("PRAGMA wal_autocheckpoint = 0")  # see CHECKPOINT_EVERY_COMMITS
        conn.execute(f"PRAGMA journal_size_limit = {WAL_RESET_BYTES}")


def _apply_batch(conn: sqlite3.Connection, fns: list[WriteFn]) -> list[tuple[bool, Any, Any]]:
    outcomes: list[tuple[bool, Any, Any]] = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        for fn in fns:
            conn.execute("SAVEPOINT one_write")
            try:
                value, events = fn(conn)
            except Exception as exc:
                if opened_read_only(exc):
                    raise  # the connection's fault, not this write's: see _apply
                conn.execute("ROLLBACK TO one_write")
                conn.execute("RELEASE one_write")
                outcomes.append((False, exc, ()))
            else:
                conn.execute("RELEASE one_write")
                outcomes.append((True, value, events))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return outcomes


def _code(exc: BaseException) -> int:
    return getattr(exc, "sqlite_errorcode", 0) & 0xFF


def opened_read_only(exc: BaseException) -> bool:
    """SQLITE_READONLY and its extended codes: the connection cannot write (see _apply)."""
    return isinstance(exc, sqlite3.Error) and _code(exc) == SQLITE_READONLY


def storage_error(exc: BaseException) -> Exception:
    """Translate SQLite's refusals (full, read-only, locked) into a clear domain error."""
    if isinstance(exc, sqlite3.DatabaseError):  # OperationalError (full, locked, read-only) and kin
        return StorageUnavailable(f"the database refused the write, nothing was stored: {exc}")
    return exc if isinstance(exc, Exception) else RuntimeError(str(exc))


def open_error(path: Path, exc: sqlite3.Error) -> StoreOpenError:
    """One line saying which of the ways a file can be unusable this one is."""
    code = _code(exc)
    if code == SQLITE_NOTADB:
        return StoreOpenError(f"{path} is not a SQLite database ({exc}); point --db elsewhere")
    if code == SQLITE_CORRUPT:
        return StoreOpenError(
            f"the database {path} is corrupt ({exc}); restore it from a backup"
            f" (chatnut backup, or {path.name}.bak-N beside it)"
        )
    return StoreOpenError(
        f"cannot open the database {path} for writing: {exc} (this user must be able to "
        "write the file and its directory)"
    )


class Engine:
    """The writer, the readers and the checkpointer of one SQLite file."""

    def __init__(
        self,
        path: Path,
        *,
        durability: str = "normal",
        on_commit: OnCommit | None = None,
        readers: int = READERS,
        owner: dict[str, Any] | None = None,
    ) -> None:
        self.path = path
        self.durability = durability
        self.on_commit = on_commit
        self._reader_count = readers
        self._lock = None if str(path) == ":memory:" else DatabaseLock(path, owner or {})
        self._writer: Connection | None = None
        self._readers: list[Connection] = []
        self._idle = ReaderPool()
        self._queue: asyncio.Queue[_Job | None] = asyncio.Queue()
        self._writer_task: asyncio.Task[None] | None = None
        self._checkpointer: Connection | None = None
        self._checkpoint_task: asyncio.Task[None] | None = None
        self._commits_since_checkpoint = 0

    @property
    def wal_path(self) -> Path:
        return Path(f"{self.path}-wal")

    async def open(self) -> list[str]:
        """Lock, open, migrate, start the writer. Returns the names of migrations applied."""
        if self._lock is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lock.acquire()
        try:
            applied = await self._connect()
        except sqlite3.Error as exc:
            await self.close()  # no connection thread may outlive a failed open
            raise open_error(self.path, exc) from exc
        except BaseException:
            await self.close()
            raise
        self._writer_task = asyncio.create_task(self._write_loop(), name="chatnut-writer")
        return applied

    async def _writable(self, name: str) -> Connection:
        conn = Connection(name)
        durability = self.durability
        await conn.open(self.path, lambda c: _configure(c, durability, readonly=False))
        return conn

    async def _connect(self) -> list[str]:
        self._writer = await self._writable("chatnut-writer")
        path = self.path
        applied = await self._writer.run(lambda c: migrate(c, path))
        self._checkpointer = await self._writable("chatnut-checkpoint")
        await self._open_readers()
        return applied

    async def _open_readers(self) -> None:
        durability = self.durability
        for n in range(self._reader_count):
            reader = Connection(f"chatnut-reader-{n}")
            await reader.open(self.path, lambda c: _configure(c, durability, readonly=True))
            self._readers.append(reader)
            self._idle.give(reader)

    async def close(self) -> None:
        if self._writer_task is not None:
            self._queue.put_nowait(None)
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer_task
            self._writer_task = None
        if self._checkpoint_task is not None:
            with contextlib.suppress(Exception):
                await self._checkpoint_task
            self._checkpoint_task = None
        for reader in self._readers:
            await reader.close()
        self._readers.clear()
        self._idle.clear()
        if self._checkpointer is not None:
            await self._checkpointer.close()
            self._checkpointer = None
        if self._writer is not None:
            if self._writer.raw is not None:
                # A clean close checkpoints the WAL back into the main file.
                with contextlib.suppress(sqlite3.Error):
                    await self._writer.run(lambda c: c.execute("PRAGMA wal_checkpoint(TRUNCATE)"))
            await self._writer.close()
            self._writer = None
        if self._lock is not None:
            self._lock.release()

    def pool_usage(self) -> tuple[int, int]:
        """Readers busy and open (the writer and the checkpointer are always there)."""
        return len(self._readers) - self._idle.free_count(), len(self._readers)

    async def read(self, fn: ReadFn[T]) -> T:
        conn = await self._idle.take()
        try:
            return await conn.run(fn)
        except sqlite3.OperationalError as exc:  # I/O error, locked schema, ...
            raise StorageUnavailable(f"the database could not be read: {exc}") from exc
        finally:
            self._idle.give(conn)

    async def write(self, fn: WriteFn) -> Any:
        if self._writer_task is None:
            raise RuntimeError("database is not open")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Job(fn, future))
        return await future

    async def _write_loop(self) -> None:
        assert self._writer is not None
        while True:
            job = await self._queue.get()
            if job is None:
                return
            batch = [job]
            stop_after = False
            while len(batch) < MAX_BATCH and not self._queue.empty():
                more = self._queue.get_nowait()
                if more is None:
                    stop_after = True
                    break
                batch.append(more)
            await self._run_batch(batch)
            if stop_after:
                return

    async def _apply(self, fns: list[WriteFn]) -> list[tuple[bool, Any, Any]]:
        assert self._writer is not None
        try:
            return await self._writer.run(lambda c: _apply_batch(c, fns))
        except sqlite3.Error as exc:
            # Rolled back whole, so it can run again, on fresh connections that
            # see the files writable if their permissions were restored meanwhile.
            if not opened_read_only(exc) or not await self._reopen_if_writable():
                raise
            assert self._writer is not None
            return await self._writer.run(lambda c: _apply_batch(c, fns))

    async def _reopen_if_writable(self) -> bool:
        """Reopen every connection once the files are writable again.

        SQLite opens a file it may not write read-only and stays so on that
        connection; and the connections of one process share one WAL index, so
        a writable one needs all of them closed first. Runs on the writer task
        (no write is in flight); reads wait for a reader meanwhile.
        """
        names = [self.path, self.wal_path, Path(f"{self.path}-shm")]
        if not os.access(self.path.parent, os.W_OK) or not all(
            os.access(p, os.W_OK) for p in names if p.exists()
        ):
            return False
        for _ in self._readers:
            await self._idle.take()
        if self._checkpoint_task is not None:
            with contextlib.suppress(Exception):
                await self._checkpoint_task
        for conn in [*self._readers, self._checkpointer, self._writer]:
            if conn is not None:
                await conn.close()
        self._readers.clear()
        self._writer = await self._writable("chatnut-writer")
        self._checkpointer = await self._writable("chatnut-checkpoint")
        await self._open_readers()
        log.info("database %s is writable again: connections reopened", self.path)
        return True

    def _wal_bytes(self) -> int:
        try:
            return self.wal_path.stat().st_size
        except OSError:
            return 0

    def _start_checkpoint(self) -> None:
        if self._checkpointer is None or (
            self._checkpoint_task is not None and not self._checkpoint_task.done()
        ):
            return
        self._commits_since_checkpoint = 0
        checkpointer = self._checkpointer

        async def checkpoint() -> None:
            try:
                await checkpointer.run(
                    lambda c: c.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                )
            except sqlite3.Error as exc:  # busy or I/O: the next one will try again
                log.warning("WAL checkpoint failed: %s", exc)

        self._checkpoint_task = asyncio.create_task(checkpoint(), name="chatnut-checkpoint")

    async def reset_wal(self) -> bool:
        """Empty the WAL now (a delete: the old pages must not outlive it there);
        whether it was emptied."""
        return await self._reset_wal()

    async def _reset_wal(self) -> bool:
        """Empty an oversized WAL, on the writer itself between two batches.

        On the writer's own connection there is no fight for the write lock (a
        checkpointer beside a busy writer starves); only the readers of the
        moment are waited for, and readers that start meanwhile read the fully
        checkpointed file, not the WAL. Writes queue behind it for at most
        WAL_RESET_WAIT_MS.
        """
        assert self._writer is not None

        def truncate(conn: sqlite3.Connection) -> int:
            conn.execute(f"PRAGMA busy_timeout = {WAL_RESET_WAIT_MS}")
            try:
                return int(conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0])
            finally:
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

        emptied = False
        try:
            if await self._writer.run(truncate):
                log.warning("the WAL could not be reset (readers kept it busy); will retry")
            else:
                emptied = True
        except sqlite3.Error as exc:
            log.warning("WAL reset failed: %s", exc)
        self._commits_since_checkpoint = 0
        return emptied

    async def _run_batch(self, batch: list[_Job]) -> None:
        assert self._writer is not None
        fns = [job.fn for job in batch]
        try:
            outcomes = await self._apply(fns)
        except Exception as exc:  # the commit itself failed: nothing in the batch is stored
            log.warning("write batch of %d failed: %s", len(batch), exc)
            for job in batch:
                if not job.future.done():
                    job.future.set_exception(storage_error(exc))
            return
        self._commits_since_checkpoint += 1
        if self._commits_since_checkpoint >= CHECKPOINT_EVERY_COMMITS:
            self._start_checkpoint()
        events: list[Any] = []
        for ok, _value, job_events in outcomes:
            if ok:
                events.extend(job_events)
        if events and self.on_commit is not None:
            try:
                self.on_commit(events)
            except Exception:  # a subscriber bug must never lose a committed write
                log.exception("publishing committed events failed")
        for job, (ok, value, _events) in zip(batch, outcomes, strict=True):
            if job.future.done():  # the caller went away (cancelled); the write stands
                continue
            if ok:
                job.future.set_result(value)
            else:
                job.future.set_exception(
                    value if not isinstance(value, sqlite3.Error) else storage_error(value)
                )
        # After the callers are answered; one stat() a commit (microseconds)
        # catches a WAL that large messages grow fast.
        if self._wal_bytes() > WAL_RESET_BYTES:
            await self._reset_wal()
