"""Every row of every table, for "a refused call changed nothing" on either backend.

`sqlite_dump(path)` and `PostgresDump.take()` return one hash per table (and,
on PostgreSQL, each sequence's position) of its rows in a fixed order: two
dumps are equal exactly when no row was added, removed or changed.

`presence`, tokens' last-used times and the parked waits are left out: they
are saved by timers (app.py, store/postgres/parked.py), on their own clocks,
from what callers did earlier, so they may change between any two dumps.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

SKIPPED = {"presence", "token_uses", "parked_workers", "parked_waits"}


def sqlite_dump(path: Path | str) -> dict[str, str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
            if name not in SKIPPED
        ]
        dump = {}
        for table in tables:
            rows = sorted(repr(row) for row in conn.execute(f'SELECT * FROM "{table}"'))
            dump[table] = hashlib.sha256(
                "\n".join(rows).encode("utf-8", "surrogatepass")
            ).hexdigest()
        return dump
    finally:
        conn.close()


class PostgresDump:
    """Dumps over one asyncpg connection; the hashing is done by PostgreSQL."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    async def take(self) -> dict[str, str]:
        tables = await self.conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
        parts = [
            f"SELECT '{t}', md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), ''))"
            f" FROM {t} AS x"
            for (t,) in tables
            if t not in SKIPPED
        ]
        parts.append(
            "SELECT 'sequence ' || sequencename, coalesce(last_value, 0)::text FROM pg_sequences"
            " WHERE schemaname = 'public'"
        )
        rows = await self.conn.fetch(" UNION ALL ".join(parts))
        return {name: value for name, value in rows}


async def postgres_pages(conn: Any, relation: str) -> str:
    """A relation's pages as stored, dead row versions included (pageinspect,
    so a superuser's connection), decoded loosely: where deleted text could
    still be found."""
    await conn.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
    return str(
        await conn.fetchval(
            "SELECT coalesce(string_agg(encode(get_raw_page($1::text, n::int), 'escape'), ''), '')"
            " FROM generate_series(0, pg_relation_size($1::text::regclass) / 8192 - 1) AS n",
            relation,
        )
    )
