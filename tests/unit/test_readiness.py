"""What `/readyz` asks the store, on both backends: ready, or the one word for why not."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import asyncpg
import pytest

from chatnut.health import READY_TIMEOUT_S, bounded_readiness
from chatnut.hub import Hub
from chatnut.store import Store

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]


async def test_ready_then_a_newer_schema_says_migrations(
    db: tuple[Store, Hub], tmp_path: Path, database_url: str | None
) -> None:
    store, _ = db
    assert await store.readiness() is None
    in_use, total = store.pool_usage()
    assert total >= 1 and 0 <= in_use <= total
    # Another host migrated the database ahead of this code.
    insert = (
        "INSERT INTO chatnut_migrations (version, name, applied_at)"
        " VALUES (999, 'from_the_future', '2030-01-01')"
    )
    if database_url is None:
        with sqlite3.connect(tmp_path / "chat.db") as conn:
            conn.execute(insert)
    else:
        conn = await asyncpg.connect(database_url)
        await conn.execute(insert)
        await conn.close()
    assert await store.readiness() == "migrations"


async def test_a_store_that_cannot_answer_says_database_within_the_bound(
    db: tuple[Store, Hub],
) -> None:
    store, _ = db
    await store.close()  # no connection left: a read waits, or fails, but never answers
    began = time.monotonic()
    assert await bounded_readiness(store.readiness) == "database"
    assert time.monotonic() - began < READY_TIMEOUT_S + 0.5
