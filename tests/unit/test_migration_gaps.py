"""A migration numbered below one a database already took (two branches, each with
its own number, merged in either order) is still applied: the runner applies every
migration it has not recorded, not only those above the newest."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import asyncpg
import pytest

from chatnut.store import open_store

pytestmark = pytest.mark.anyio


async def test_sqlite_applies_a_migration_below_the_newest_recorded(tmp_path: Path) -> None:
    path = tmp_path / "chat.db"
    store = open_store(path)
    await store.open()
    await store.close()
    # As a database migrated before the principals migration was merged in.
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("DELETE FROM chatnut_migrations WHERE version = 7")
        for table in ("token_uses", "tokens", "principals"):
            conn.execute(f"DROP TABLE {table}")
        for table in ("messages", "room_status", "agent_registry"):
            conn.execute(f"ALTER TABLE {table} DROP COLUMN principal")
    conn.close()
    store = open_store(path)
    assert await store.open() == ["0007_principals"]
    try:
        await store.create_room(
            {
                "id": "r1",
                "name": "n",
                "project": "p",
                "branch": None,
                "description": None,
                "status": "live",
                "created_at": "2026-01-01T00:00:00+00:00",
                "archived_at": None,
                "metadata": None,
            }
        )
        posted = await store.post_message(
            "r1", "ann", "hi", "message", None, reply_to=None, mentioned=[], principal="ann"
        )
        assert posted["principal"] == "ann"
    finally:
        await store.close()


async def test_postgres_applies_a_migration_below_the_newest_recorded(postgres_url: str) -> None:
    conn = await asyncpg.connect(postgres_url)
    try:
        await conn.execute("DELETE FROM chatnut_migrations WHERE version = 5")
        await conn.execute("DROP TABLE token_uses, tokens, principals")
        for table in ("messages", "room_status", "agent_registry"):
            await conn.execute(f"ALTER TABLE {table} DROP COLUMN principal")
        await conn.execute(
            "DROP FUNCTION chatnut_post(TEXT, TEXT, TEXT, TEXT, TEXT, BIGINT, TEXT[], TEXT[], TEXT)"
        )
    finally:
        await conn.close()
    store = open_store(postgres_url)
    try:
        assert await store.open() == ["0005_principals"]
        assert await store.tokens() == []
    finally:
        await store.close()
