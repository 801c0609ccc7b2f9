"""Raw row access to a SQLite database for `chatnut db copy` (store/copy.py).

Plain sqlite3 in autocommit mode, so the transactions are the ones this
module opens: a read snapshot is a `BEGIN` whose first read pins the WAL
snapshot; the destination's rows go in under one `BEGIN IMMEDIATE`. The
triggers of the schema (search index, room counters) fill the derived
tables as rows arrive, which is why those are not copied.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from chatnut.store.base import StoreOpenError
from chatnut.store.sqlite.lock import DatabaseLock
from chatnut.store.tables import BATCH_ROWS, CopyError, Tables

# Kept by triggers from the data tables, or bookkeeping of this file (and of
# its live feeds: room_purges tells resuming streams of purges they missed).
DERIVED = {"room_stats", "_migrations", "chatnut_migrations", "room_purges"}
DERIVED_PREFIXES = ("sqlite_", "messages_fts")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class SqliteTables(Tables):
    def __init__(self, path: Path) -> None:
        self.path = path
        self.location = str(path)
        self._conn: sqlite3.Connection | None = None
        self._lock: DatabaseLock | None = None

    @property
    def conn(self) -> sqlite3.Connection:
        assert self._conn is not None, "connect() first"
        return self._conn

    async def connect(self) -> None:
        if not self.path.exists():
            return  # nothing here yet: an empty destination (opening would create it)
        try:
            self._conn = sqlite3.connect(self.path, isolation_level=None)
            self._conn.execute("PRAGMA busy_timeout = 5000")
            self._conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            raise CopyError(f"{self.path} is not a usable SQLite database: {exc}") from None

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    async def refuse_if_served(self) -> None:
        # The lock every server holds on its file (store/sqlite/lock.py): taken
        # here, a running server is refused in its words, and none can start.
        lock = DatabaseLock(self.path, {"command": "chatnut db copy --merge"})
        try:
            lock.acquire()
        except StoreOpenError as exc:  # its advice is for a second server, not for this
            raise CopyError(f"{str(exc).partition(';')[0]}; stop it before merging") from None
        self._lock = lock

    async def data_tables(self) -> list[str]:
        if self._conn is None:
            return []
        names = [
            row[0]
            for row in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        return [n for n in names if n not in DERIVED and not n.startswith(DERIVED_PREFIXES)]

    async def columns(self, table: str) -> list[str]:
        return [row[1] for row in self.conn.execute(f"PRAGMA table_info({_quote(table)})")]

    async def count(self, table: str) -> int:
        (rows,) = self.conn.execute(f"SELECT count(*) FROM {_quote(table)}").fetchone()
        return int(rows)

    async def message_id_high_water(self) -> int:
        (high,) = self.conn.execute(
            "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'messages'), 0),"
            " coalesce((SELECT max(id) FROM messages), 0))"
        ).fetchone()
        return int(high)

    async def begin_snapshot(self) -> None:
        self.conn.execute("BEGIN")
        self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # pins the snapshot

    async def read(
        self, table: str, columns: Sequence[str]
    ) -> AsyncIterator[list[tuple[Any, ...]]]:
        listed = ", ".join(_quote(c) for c in columns)
        info = self.conn.execute(f"PRAGMA table_info({_quote(table)})").fetchall()
        keys = [row[1] for row in sorted(info, key=lambda row: row[5]) if row[5]]
        order = ", ".join(_quote(k) for k in keys) or "rowid"  # WITHOUT ROWID tables have a key
        cursor = self.conn.execute(f"SELECT {listed} FROM {_quote(table)} ORDER BY {order}")
        while rows := cursor.fetchmany(BATCH_ROWS):
            yield rows

    async def begin_write(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    async def write(
        self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
    ) -> None:
        listed = ", ".join(_quote(c) for c in columns)
        marks = ", ".join("?" for _ in columns)
        self.conn.executemany(f"INSERT INTO {_quote(table)} ({listed}) VALUES ({marks})", rows)

    async def clear(self, table: str) -> None:
        self.conn.execute(f"DELETE FROM {_quote(table)}")

    async def delete_from(self, table: str, column: str, first: int) -> None:
        self.conn.execute(f"DELETE FROM {_quote(table)} WHERE {_quote(column)} >= ?", (first,))

    async def upsert(
        self,
        table: str,
        columns: Sequence[str],
        key: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
    ) -> None:
        listed = ", ".join(_quote(c) for c in columns)
        marks = ", ".join("?" for _ in columns)
        keys = ", ".join(_quote(k) for k in key)
        updates = ", ".join(f"{_quote(c)} = excluded.{_quote(c)}" for c in columns if c not in key)
        self.conn.executemany(
            f"INSERT INTO {_quote(table)} ({listed}) VALUES ({marks})"
            f" ON CONFLICT ({keys}) DO UPDATE SET {updates}",
            rows,
        )

    async def set_message_id_high_water(self, value: int) -> None:
        # AUTOINCREMENT keeps its high-water mark in sqlite_sequence; inserting
        # explicit ids moved it to the largest copied id, the source's may be higher.
        updated = self.conn.execute(
            "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'messages'", (value,)
        ).rowcount
        if not updated and value:
            self.conn.execute(
                "INSERT INTO sqlite_sequence (name, seq) VALUES ('messages', ?)", (value,)
            )

    async def commit(self) -> None:
        self.conn.execute("COMMIT")

    async def rollback(self) -> None:
        if self._conn is not None and self._conn.in_transaction:
            self._conn.execute("ROLLBACK")
