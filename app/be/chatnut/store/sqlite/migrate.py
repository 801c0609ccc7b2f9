"""Numbered migrations, applied in order, each in one transaction, recorded in the database.

Files in `migrations/` are named `NNNN_what.sql` (a script) or `NNNN_what.py`
(a module with `up(conn)`, for steps that must look before they leap).
Applied versions are recorded in `chatnut_migrations`. A database made by the
original chatnut 0.4.x has no such table, so it stands at version 0 and is
brought forward from there: `0001_adopt_original` makes its schema complete
whatever original release made it, and everything after applies as usual.

Before migrating a database that already holds rooms, a consistent copy is
made beside it with SQLite's backup API: `<db>.bak-<version it stood at>`.
"""

from __future__ import annotations

import importlib
import logging
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from chatnut.store.base import StoreOpenError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_NAME = re.compile(r"^(\d{4})_(\w+)\.(sql|py)$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    def apply(self, conn: sqlite3.Connection) -> None:
        if self.path.suffix == ".sql":
            for statement in split_statements(self.path.read_text()):
                conn.execute(statement)
        else:
            module = importlib.import_module(f"chatnut.store.sqlite.migrations.{self.path.stem}")
            module.up(conn)


def split_statements(script: str) -> list[str]:
    """Split a script with SQLite's own notion of a complete statement (triggers included)."""
    statements: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip():
                statements.append(pending.strip())
            pending = ""
    if pending.strip() and not all(
        part.strip().startswith("--") or not part.strip() for part in pending.splitlines()
    ):
        raise ValueError(f"incomplete SQL statement at the end of a migration: {pending!r}")
    return statements


def available_migrations() -> list[Migration]:
    found = []
    for path in sorted(MIGRATIONS_DIR.iterdir()):
        match = _NAME.match(path.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), path))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a number in {MIGRATIONS_DIR}")
    return found


def newest_version() -> int:
    """The schema version this code migrates to."""
    return max((m.version for m in available_migrations()), default=0)


def current_version(conn: sqlite3.Connection) -> int:
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'chatnut_migrations'"
    ).fetchone()
    if not has_table:
        return 0
    row = conn.execute("SELECT max(version) FROM chatnut_migrations").fetchone()
    return int(row[0] or 0)


def _holds_rooms(conn: sqlite3.Connection) -> bool:
    has_rooms = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'rooms'"
    ).fetchone()
    return bool(has_rooms) and conn.execute("SELECT 1 FROM rooms LIMIT 1").fetchone() is not None


def _backup(conn: sqlite3.Connection, db_path: Path, version: int) -> Path:
    target = db_path.with_name(f"{db_path.name}.bak-{version}")
    with sqlite3.connect(target) as copy:
        conn.backup(copy)
    copy.close()
    return target


def migrate(conn: sqlite3.Connection, db_path: Path) -> list[str]:
    """Apply pending migrations. `conn` must be in autocommit mode (isolation_level=None)."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS chatnut_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    version = current_version(conn)
    known = available_migrations()
    newest = max((m.version for m in known), default=0)
    if version > newest:
        # Its schema has columns and tables this release knows nothing of: every
        # call would fail on them. Refuse before touching anything.
        raise StoreOpenError(
            f"the database {db_path} has schema version {version}, newer than this chatnut"
            f" ({newest}); upgrade chatnut (pip install --upgrade chatnut)"
        )
    # Every migration not yet recorded, in order: not only those above the newest
    # recorded, so one numbered below a later one (made on a branch of its own)
    # is still applied to a database that already took the later one.
    recorded = {row[0] for row in conn.execute("SELECT version FROM chatnut_migrations")}
    pending = [m for m in known if m.version not in recorded]
    if not pending:
        return []
    if str(db_path) != ":memory:" and _holds_rooms(conn):
        copy = _backup(conn, db_path, version)
        log.info("copied the database to %s before migrating from version %d", copy, version)
    applied = []
    for migration in pending:
        conn.execute("BEGIN IMMEDIATE")
        try:
            migration.apply(conn)
            conn.execute(
                "INSERT INTO chatnut_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, datetime.now(UTC).isoformat()),
            )
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            log.exception(
                "migration %04d_%s failed and was rolled back", migration.version, migration.name
            )
            if isinstance(exc, sqlite3.OperationalError) and "readonly" not in str(exc):
                raise StoreOpenError(
                    f"migration {migration.version:04d}_{migration.name} of {db_path} failed"
                    f" and was rolled back ({exc}); the database stands at version"
                    f" {current_version(conn)}"
                ) from exc
            raise
        applied.append(f"{migration.version:04d}_{migration.name}")
        log.info("applied migration %s", applied[-1])
    return applied
