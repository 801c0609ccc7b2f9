"""The store: migrations (fresh and from the original chatnut 0.4.2), the search index
and room stats kept in step by triggers, and the batching writer's isolation."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from chatnut.errors import InvalidInput, StorageUnavailable
from chatnut.hub import Event, Hub
from chatnut.service import ChatService
from chatnut.store.base import StoreOpenError
from chatnut.store.sqlite import SqliteStore
from chatnut.store.sqlite.migrate import available_migrations, split_statements

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]

FIXTURES = Path(__file__).parents[1] / "fixtures"
ORIGINAL_TABLES = (
    "rooms",
    "messages",
    "read_cursors",
    "room_status",
    "agent_registry",
    "_migrations",
)


def rows(path: Path, table: str) -> list[dict[str, Any]]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(f"SELECT * FROM {table}")]
    finally:
        conn.close()


def same_rows(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> bool:
    """The same rows in the original's columns (later migrations may add columns)."""

    def key(row: dict[str, Any]) -> str:
        return json.dumps(row, sort_keys=True)

    columns = set(want[0]) if want else set()
    got = [{k: v for k, v in row.items() if k in columns} for row in got]
    return sorted(got, key=key) == sorted(want, key=key)


async def open_db(path: Path) -> tuple[SqliteStore, list[str]]:
    db = SqliteStore(path)
    applied = await db.open()
    return db, applied


async def test_fresh_database_gets_every_migration_once(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    db, applied = await open_db(path)
    await db.close()
    assert applied == [f"{m.version:04d}_{m.name}" for m in available_migrations()]
    db, applied_again = await open_db(path)
    await db.close()
    assert applied_again == []
    assert not list(tmp_path.glob("*.bak-*"))  # nothing to protect in an empty file
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    names = {r[0] for r in conn.execute("SELECT name FROM _migrations")}
    assert "005_messages_cascade.sql" in names  # the original could open this file too
    conn.close()


async def test_original_042_database_is_upgraded_without_loss(tmp_path: Path) -> None:
    """chatnut042.db was made by running the real chatnut 0.4.2 once
    (tests/fixtures/make_chatnut042_db.py says how); the .expected.json beside it
    holds every row it wrote, dumped straight from SQLite."""
    path = tmp_path / "chatnut.db"
    shutil.copy(FIXTURES / "chatnut042.db", path)
    expected = json.loads((FIXTURES / "chatnut042.expected.json").read_text())

    db, applied = await open_db(path)
    assert applied[0] == "0001_adopt_original"
    backup = tmp_path / "chatnut.db.bak-0"
    assert backup.exists()
    hub = Hub()
    service = ChatService(db, hub)

    # Every row of every original table is still there, byte for byte.
    for table in ORIGINAL_TABLES:
        assert same_rows(rows(path, table), expected[table]), table
    # The copy made before migrating is the untouched original.
    for table in ORIGINAL_TABLES:
        assert same_rows(rows(backup, table), expected[table]), table

    # And the service reads them as they are: timestamps never rewritten.
    rooms = {r["id"]: r for r in (await service.list_rooms(status="all"))["rooms"]}
    assert set(rooms) == {r["id"] for r in expected["rooms"]}
    for room in expected["rooms"]:
        assert rooms[room["id"]]["created_at"] == room["created_at"]
        assert rooms[room["id"]]["status"] == room["status"]
    for room in expected["rooms"]:
        got = (await service.read_messages(room["id"], limit=1000))["messages"]
        want = [m for m in expected["messages"] if m["room_id"] == room["id"]]
        assert [(m["id"], m["sender"], m["content"], m["created_at"]) for m in got] == [
            (m["id"], m["sender"], m["content"], m["created_at"]) for m in want
        ]

    # Search sees the old messages (the index was built from them) ...
    live = next(r for r in expected["rooms"] if r["status"] == "live")
    old = next(m for m in expected["messages"] if m["room_id"] == live["id"] and m["content"])
    word = old["content"].split()[0][:6]
    found = await service.search(word)
    assert any(m["id"] == old["id"] for m in found["messages"]) or (
        any(r["room_id"] == old["room_id"] for r in found["message_rooms"])
    )
    # ... the id sequence continues past the original's high-water mark ...
    seq = expected["sqlite_sequence"][0]["seq"]
    posted = await service.post_message(live["id"], "new-agent", "after the upgrade")
    assert posted["id"] == seq + 1
    # ... and deleting a room now cascades (the original's step 005 kept).
    archived = next(r for r in expected["rooms"] if r["status"] == "archived")
    await service.delete_room(archived["id"])
    assert not [m for m in rows(path, "messages") if m["room_id"] == archived["id"]]
    await db.close()

    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    conn.close()


async def test_original_without_cascade_step_is_rebuilt_keeping_ids(tmp_path: Path) -> None:
    """A database from an original release before its step 005 (no ON DELETE CASCADE)."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL);
        INSERT INTO _migrations VALUES ('001_initial.sql', '2025-01-01');
        CREATE TABLE rooms (id TEXT PRIMARY KEY, name TEXT NOT NULL, project TEXT NOT NULL,
            branch TEXT, description TEXT, status TEXT NOT NULL DEFAULT 'live',
            created_at TEXT NOT NULL, archived_at TEXT, metadata TEXT, UNIQUE(project, name));
        CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT,
            room_id TEXT NOT NULL REFERENCES rooms(id), sender TEXT NOT NULL,
            content TEXT NOT NULL, message_type TEXT NOT NULL DEFAULT 'message',
            created_at TEXT NOT NULL, metadata TEXT);
        INSERT INTO rooms VALUES ('r1', 'old', 'p', NULL, NULL, 'archived',
            '2025-01-01T00:00:00.000000+00:00', '2025-01-02T00:00:00.000000+00:00', NULL);
        INSERT INTO messages VALUES (7, 'r1', 'a', 'kept', 'message',
            '2025-01-01T00:00:01.000000+00:00', NULL);
        INSERT INTO messages VALUES (9, 'r1', 'b', 'also kept', 'message',
            '2025-01-01T00:00:02.000000+00:00', '{"k": 1}');
        DELETE FROM messages WHERE id = 9;
        INSERT INTO messages VALUES (9, 'r1', 'b', 'also kept', 'message',
            '2025-01-01T00:00:02.000000+00:00', '{"k": 1}');
        UPDATE sqlite_sequence SET seq = 12 WHERE name = 'messages';
    """)
    conn.close()
    db, _ = await open_db(path)
    service = ChatService(db, Hub())
    messages = (await service.read_messages("r1"))["messages"]
    assert [(m["id"], m["content"], m["metadata"]) for m in messages] == [
        (7, "kept", None),
        (9, "also kept", {"k": 1}),
    ]
    assert (await service.stats())["messages"] == 2
    deleted = await service.delete_room("r1")
    assert deleted["deleted_messages"] == 2
    assert rows(path, "messages") == []
    names = {r["name"] for r in rows(path, "_migrations")}
    assert {"002_read_cursors.sql", "005_messages_cascade.sql"} <= names
    await db.close()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT seq FROM sqlite_sequence WHERE name='messages'").fetchone() == (12,)
    conn.close()


async def test_failed_migration_rolls_back_whole(tmp_path: Path, monkeypatch: Any) -> None:
    from chatnut.store.sqlite import migrate

    path = tmp_path / "x.db"
    bad = tmp_path / "migrations"
    bad.mkdir()
    for m in available_migrations():
        shutil.copy(m.path, bad / m.path.name)
    (bad / "0099_broken.sql").write_text(
        "CREATE TABLE half_done (x);\nINSERT INTO no_such_table VALUES (1);\n"
    )
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", bad)
    with pytest.raises(StoreOpenError, match=r"0099_broken of .* failed and was rolled back"):
        await open_db(path)
    conn = sqlite3.connect(path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    versions = [r[0] for r in conn.execute("SELECT version FROM chatnut_migrations")]
    conn.close()
    assert "half_done" not in tables
    assert 99 not in versions and 4 in versions


def test_split_statements_keeps_triggers_whole() -> None:
    script = (
        "CREATE TABLE a (x);\nCREATE TRIGGER t AFTER INSERT ON a BEGIN\n  SELECT 1;\n"
        "  SELECT 2;\nEND;\n-- trailing comment\n"
    )
    statements = split_statements(script)
    assert len(statements) == 2 and statements[1].endswith("END;")
    with pytest.raises(ValueError):
        split_statements("CREATE TABLE b (x")


async def test_room_stats_and_search_index_follow_every_change(
    service: ChatService, db: tuple[Any, Hub]
) -> None:
    store = db[0]
    room = await service.init_room("p", "r")
    for i in range(5):
        await service.post_message(room["id"], "a", f"zebra number {i}")
    summary = (await service.room_summaries(reader="bob"))[0]
    assert summary["message_count"] == 5 and summary["unread_count"] == 5
    assert summary["last_message"]["preview"] == "zebra number 4"
    await service.post_message(room["id"], "a", "é" * 199 + "€" + "x" * 60_000)
    preview = (await service.room_summaries())[0]["last_message"]["preview"]
    assert preview == "é" * 199 + "€"  # 200 characters, cut by the database, never the body
    await service.mark_read(room["id"], "bob", summary["last_message"]["id"] - 2)
    assert (await service.room_summaries(reader="bob"))[0]["unread_count"] == 3
    assert len((await service.search("zebra"))["messages"]) == 5

    await service.clear_room("p", "r")
    summary = (await service.room_summaries())[0]
    assert summary["message_count"] == 0 and summary["last_message"] is None
    assert (await service.search("zebra"))["messages"] == []

    def integrity(conn: sqlite3.Connection) -> str:
        conn.execute("PRAGMA query_only = OFF")
        try:
            conn.execute(
                "INSERT INTO messages_fts(messages_fts, rank) VALUES('integrity-check', 1)"
            )
        finally:
            conn.execute("PRAGMA query_only = ON")
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])

    if isinstance(store, SqliteStore):  # the FTS5 index agrees with its table
        assert await store.engine.read(integrity) == "ok"


@pytest.mark.sqlite_only
async def test_a_failing_write_does_not_undo_its_batch_neighbours(
    db: tuple[Any, Hub],
) -> None:
    database, hub = db[0].engine, db[1]
    seen: list[Event] = []
    with hub.subscribe("*", capacity=100) as sub:

        def good(i: int) -> Any:
            def write(conn: sqlite3.Connection) -> Any:
                conn.execute(
                    "INSERT INTO rooms (id, name, project, created_at) VALUES (?, ?, 'p', 'now')",
                    (f"room-{i}", f"n{i}"),
                )
                return i, [Event("room", f"room-{i}", {"action": "created"})]

            return write

        def bad(conn: sqlite3.Connection) -> Any:
            conn.execute(
                "INSERT INTO rooms (id, name, project, created_at) VALUES ('x', 'x', 'p', 'now')"
            )
            raise InvalidInput("refused halfway")

        results = await asyncio.gather(
            database.write(good(1)),
            database.write(bad),
            database.write(good(2)),
            return_exceptions=True,
        )
        seen = sub.drain()
    assert results[0] == 1 and results[2] == 2
    assert isinstance(results[1], InvalidInput)
    ids = await database.read(lambda c: [r[0] for r in c.execute("SELECT id FROM rooms")])
    assert sorted(ids) == ["room-1", "room-2"]  # the bad write's half is gone
    assert [e.room_id for e in seen] == ["room-1", "room-2"]  # only committed events


@pytest.mark.sqlite_only
async def test_full_disk_is_a_clear_error_and_nothing_half_written(
    service: ChatService, db: tuple[Any, Hub]
) -> None:
    database = db[0].engine
    room = await service.init_room("p", "r")

    def shrink(conn: sqlite3.Connection) -> Any:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
        return None, []

    await database.write(shrink)
    with pytest.raises(StorageUnavailable) as caught:
        await service.post_message(room["id"], "a", "x" * 60_000)
    assert "nothing was stored" in caught.value.message
    assert (await service.read_messages(room["id"]))["messages"] == []

    def grow(conn: sqlite3.Connection) -> Any:
        conn.execute("PRAGMA max_page_count = 1073741823")
        return None, []

    await database.write(grow)
    posted = await service.post_message(room["id"], "a", "x" * 60_000)
    assert (await service.read_messages(room["id"]))["messages"][0]["id"] == posted["id"]


async def test_concurrent_posts_are_stored_once_in_increasing_order(
    service: ChatService,
) -> None:
    room = await service.init_room("p", "r")
    posted = await asyncio.gather(
        *[service.post_message(room["id"], f"agent-{i % 7}", f"message {i}") for i in range(300)]
    )
    ids = [p["id"] for p in posted]
    assert len(set(ids)) == 300
    stored = (await service.read_messages(room["id"], limit=1000))["messages"]
    assert [m["id"] for m in stored] == sorted(ids)
    assert sorted(m["content"] for m in stored) == sorted(f"message {i}" for i in range(300))


@pytest.mark.sqlite_only
async def test_wal_is_checkpointed_beside_the_writer(
    service: ChatService, db: tuple[Any, Hub], monkeypatch: pytest.MonkeyPatch
) -> None:
    from chatnut.store.sqlite import engine as db_module

    database = db[0].engine
    monkeypatch.setattr(db_module, "CHECKPOINT_EVERY_COMMITS", 5)
    room = await service.init_room("p", "r")

    def in_main_file() -> int:
        # immutable=1 reads the database file alone, ignoring the WAL: only what a
        # checkpoint has copied back is visible there.
        conn = sqlite3.connect(f"file:{database.path}?immutable=1", uri=True)
        try:
            return int(conn.execute("SELECT count(*) FROM messages").fetchone()[0])
        except sqlite3.OperationalError:  # not even the schema has been copied yet
            return 0
        finally:
            conn.close()

    for i in range(3):
        await service.post_message(room["id"], "a", f"m{i}")
    assert in_main_file() == 0  # no commit paid for a checkpoint yet
    for i in range(3, 6):
        await service.post_message(room["id"], "a", f"m{i}")
    assert database._checkpoint_task is not None
    await database._checkpoint_task
    assert in_main_file() >= 4
