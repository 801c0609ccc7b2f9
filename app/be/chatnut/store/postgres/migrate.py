"""Numbered migrations for PostgreSQL, each in one transaction, applied once however
many processes start together.

Files in `migrations/` are `NNNN_what.sql`, run whole (PostgreSQL takes a
script in one simple-protocol call) and recorded in `chatnut_migrations`, as
on SQLite. N workers starting at once on an empty database all call
`migrate`: a session-level advisory lock (MIGRATE_LOCK) lets one apply what
is pending while the others wait, and then find nothing left to do.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chatnut.store.base import StoreOpenError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
MIGRATE_LOCK = 7365617  # advisory lock key: chatnut's migrations
_NAME = re.compile(r"^(\d{4})_(\w+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path


def available_migrations() -> list[Migration]:
    found = []
    for path in sorted(MIGRATIONS_DIR.iterdir()):
        match = _NAME.match(path.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), path))
    return found


def newest_version() -> int:
    """The schema version this code migrates to."""
    return max((m.version for m in available_migrations()), default=0)


async def migrate(conn: Any, location: str) -> list[str]:
    """Apply pending migrations on `conn` (an asyncpg connection); names applied."""
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATE_LOCK)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS chatnut_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        version = int(
            await conn.fetchval("SELECT coalesce(max(version), 0) FROM chatnut_migrations")
        )
        known = available_migrations()
        newest = max((m.version for m in known), default=0)
        if version > newest:
            raise StoreOpenError(
                f"the database {location} has schema version {version}, newer than this"
                f" chatnut ({newest}); upgrade chatnut (pip install --upgrade chatnut)"
            )
        # Every migration not yet recorded (one numbered below a later one, made on
        # a branch of its own, is still applied), in order.
        recorded = {r[0] for r in await conn.fetch("SELECT version FROM chatnut_migrations")}
        applied = []
        for migration in (m for m in known if m.version not in recorded):
            async with conn.transaction():
                await conn.execute(migration.path.read_text())
                await conn.execute(
                    "INSERT INTO chatnut_migrations (version, name, applied_at)"
                    " VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    datetime.now(UTC).isoformat(),
                )
            applied.append(f"{migration.version:04d}_{migration.name}")
            log.info("applied migration %s", applied[-1])
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATE_LOCK)
