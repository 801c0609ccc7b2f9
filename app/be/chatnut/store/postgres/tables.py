"""Raw row access to a PostgreSQL database for `chatnut db copy` (store/copy.py).

One asyncpg connection. The source is read in a REPEATABLE READ, READ ONLY
transaction (one snapshot however long the copy takes, while the server
goes on writing); the destination is written in one transaction with
COPY (asyncpg's `copy_records_to_table`), and its triggers fill room_stats
as the rows arrive. The `events` table is this backend's cross-process
stream of commits, not data: a copied database starts its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

from chatnut.store.location import printable
from chatnut.store.tables import BATCH_ROWS, CopyError, Tables

# Derived from the data tables, or this backend's own bookkeeping.
DERIVED = {
    "room_stats",
    "events",
    "events_horizon",
    "chatnut_migrations",
    "parked_workers",
    "parked_waits",
    "room_purges",  # for this server's resuming streams (of purges they missed)
}
MESSAGE_IDS = "message_ids"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class PostgresTables(Tables):
    def __init__(self, url: str) -> None:
        self.url = url
        self.location = printable(url)
        self._conn: Any = None
        self._transaction: Any = None
        self._booleans: dict[str, set[str]] = {}

    @property
    def conn(self) -> Any:
        assert self._conn is not None, "connect() first"
        return self._conn

    async def connect(self) -> None:
        try:
            import asyncpg
        except ImportError:
            raise CopyError(
                "a postgresql:// database needs the PostgreSQL driver:"
                " pip install 'chatnut[postgres]'"
            ) from None
        try:
            self._conn = await asyncpg.connect(self.url, timeout=10)
        except (OSError, asyncpg.PostgresError) as exc:
            raise CopyError(f"cannot connect to {self.location}: {exc}") from None

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def refuse_if_served(self) -> None:
        # A server's connections name themselves (application_name chatnut,
        # chatnut-listen); this one does not.
        # Asked a few times over a second: the connections of the store that
        # just migrated this database may still be on their way out.
        for _ in range(5):
            serving = await self.conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND application_name LIKE 'chatnut%'"
            )
            if not serving:
                return
            await asyncio.sleep(0.2)
        if serving:
            raise CopyError(
                f"a chatnut server is connected to {self.location} ({serving} connections);"
                " stop it before merging"
            )

    async def data_tables(self) -> list[str]:
        names = await self.conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        )
        return [r["tablename"] for r in names if r["tablename"] not in DERIVED]

    async def columns(self, table: str) -> list[str]:
        rows = await self.conn.fetch(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
            table,
        )
        return [r["column_name"] for r in rows]

    async def count(self, table: str) -> int:
        return int(await self.conn.fetchval(f"SELECT count(*) FROM {_quote(table)}"))

    async def message_id_high_water(self) -> int:
        # last_value is the last id handed out once is_called; a sequence never
        # used still says its start value, which no message has.
        row = await self.conn.fetchrow(f"SELECT last_value, is_called FROM {MESSAGE_IDS}")
        handed_out = int(row["last_value"]) if row["is_called"] else 0
        newest = await self.conn.fetchval("SELECT coalesce(max(id), 0) FROM messages")
        return max(handed_out, int(newest))

    async def begin_snapshot(self) -> None:
        self._transaction = self.conn.transaction(isolation="repeatable_read", readonly=True)
        await self._transaction.start()

    async def read(
        self, table: str, columns: Sequence[str]
    ) -> AsyncIterator[list[tuple[Any, ...]]]:
        listed = ", ".join(_quote(c) for c in columns)
        keys = await self._primary_key(table) or list(columns)
        order = ", ".join(_quote(k) for k in keys)
        cursor = await self.conn.cursor(f"SELECT {listed} FROM {_quote(table)} ORDER BY {order}")
        while rows := await cursor.fetch(BATCH_ROWS):
            yield [tuple(row) for row in rows]

    async def _primary_key(self, table: str) -> list[str]:
        rows = await self.conn.fetch(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a"
            " ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
            " WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY a.attnum",
            _quote(table),
        )
        return [r["attname"] for r in rows]

    async def begin_write(self) -> None:
        self._transaction = self.conn.transaction()
        await self._transaction.start()
        # The lock every post takes (chatnut_post): a server's posts wait until
        # the commit, so the ids handed out here are nobody else's.
        await self.conn.execute("SELECT pg_advisory_xact_lock(7365616)")

    async def write(
        self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
    ) -> None:
        # SQLite keeps a boolean as 0/1; the binary COPY wants a bool.
        flags = await self._boolean_columns(table)
        if flags:
            at = [i for i, c in enumerate(columns) if c in flags]
            rows = [
                tuple(bool(v) if i in at and v is not None else v for i, v in enumerate(row))
                for row in rows
            ]
        await self.conn.copy_records_to_table(table, records=rows, columns=list(columns))

    async def _boolean_columns(self, table: str) -> set[str]:
        found = self._booleans.get(table)
        if found is None:
            names = await self.conn.fetch(
                "SELECT column_name FROM information_schema.columns WHERE table_schema ="
                " current_schema() AND table_name = $1 AND data_type = 'boolean'",
                table,
            )
            found = self._booleans[table] = {r["column_name"] for r in names}
        return found

    async def clear(self, table: str) -> None:
        await self.conn.execute(f"DELETE FROM {_quote(table)}")

    async def delete_from(self, table: str, column: str, first: int) -> None:
        await self.conn.execute(f"DELETE FROM {_quote(table)} WHERE {_quote(column)} >= $1", first)

    async def upsert(
        self,
        table: str,
        columns: Sequence[str],
        key: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
    ) -> None:
        listed = ", ".join(_quote(c) for c in columns)
        marks = ", ".join(f"${n}" for n in range(1, len(columns) + 1))
        keys = ", ".join(_quote(k) for k in key)
        updates = ", ".join(f"{_quote(c)} = excluded.{_quote(c)}" for c in columns if c not in key)
        await self.conn.executemany(
            f"INSERT INTO {_quote(table)} ({listed}) VALUES ({marks})"
            f" ON CONFLICT ({keys}) DO UPDATE SET {updates}",
            rows,
        )

    async def set_message_id_high_water(self, value: int) -> None:
        # setval(.., false) for 0: the next id is then 1, as on a new database.
        if value > 0:
            await self.conn.execute(f"SELECT setval('{MESSAGE_IDS}', $1, true)", value)
        else:
            await self.conn.execute(f"SELECT setval('{MESSAGE_IDS}', 1, false)")

    async def commit(self) -> None:
        await self._transaction.commit()
        self._transaction = None

    async def rollback(self) -> None:
        if self._transaction is not None:
            await self._transaction.rollback()
            self._transaction = None
