"""Bring the schema to the original chatnut 0.4.x's final shape, whatever stands now.

On an empty file this creates the tables. On a database written by any
original release it adds only what that release lacked — the original
recorded its steps in `_migrations` (001..005) and we record the same names,
so the original can still open the file if a user goes back to it. The one
step that is not additive is 005: SQLite cannot change a foreign key in
place, so `messages` is rebuilt with ON DELETE CASCADE, keeping every row,
every id and the AUTOINCREMENT high-water mark.
"""

from __future__ import annotations

import sqlite3

ORIGINAL_STEPS = (
    "001_initial.sql",
    "002_read_cursors.sql",
    "003_room_status.sql",
    "004_agent_registry.sql",
    "005_messages_cascade.sql",
)

TABLES = (
    """CREATE TABLE IF NOT EXISTS rooms (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        project TEXT NOT NULL,
        branch TEXT,
        description TEXT,
        status TEXT NOT NULL DEFAULT 'live',
        created_at TEXT NOT NULL,
        archived_at TEXT,
        metadata TEXT,
        UNIQUE(project, name)
    )""",
    """CREATE TABLE IF NOT EXISTS messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        sender TEXT NOT NULL,
        content TEXT NOT NULL,
        message_type TEXT NOT NULL DEFAULT 'message',
        created_at TEXT NOT NULL,
        metadata TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS idx_messages_room ON messages(room_id, id)",
    """CREATE TABLE IF NOT EXISTS read_cursors (
        room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        reader TEXT NOT NULL,
        last_read_message_id INTEGER NOT NULL DEFAULT 0 CHECK(last_read_message_id >= 0),
        updated_at TEXT NOT NULL,
        PRIMARY KEY (room_id, reader)
    )""",
    """CREATE TABLE IF NOT EXISTS room_status (
        room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        sender TEXT NOT NULL,
        status TEXT NOT NULL CHECK(length(status) <= 500),
        updated_at TEXT NOT NULL,
        PRIMARY KEY (room_id, sender)
    )""",
    """CREATE TABLE IF NOT EXISTS agent_registry (
        room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        agent_name TEXT NOT NULL,
        task_id TEXT NOT NULL,
        registered_at TEXT NOT NULL,
        PRIMARY KEY (room_id, agent_name)
    )""",
)


def _messages_cascade(conn: sqlite3.Connection) -> bool:
    return any(
        row[2] == "rooms" and str(row[6]).upper() == "CASCADE"  # columns: table, on_delete
        for row in conn.execute("PRAGMA foreign_key_list(messages)").fetchall()
    )


def _rebuild_messages_with_cascade(conn: sqlite3.Connection) -> None:
    # Checked at COMMIT instead of per row, so the copy may pass through states
    # the final schema would refuse.
    conn.execute("PRAGMA defer_foreign_keys = ON")
    conn.execute(TABLES[1].replace("IF NOT EXISTS messages", "messages_rebuilt"))
    conn.execute(
        "INSERT INTO messages_rebuilt (id, room_id, sender, content, message_type, created_at,"
        " metadata) SELECT id, room_id, sender, content, message_type, created_at, metadata"
        " FROM messages"
    )
    seq = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'messages'").fetchone()
    conn.execute("DROP TABLE messages")
    conn.execute("ALTER TABLE messages_rebuilt RENAME TO messages")
    if seq is not None:
        conn.execute("DELETE FROM sqlite_sequence WHERE name IN ('messages', 'messages_rebuilt')")
        conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('messages', ?)", (seq[0],))


def up(conn: sqlite3.Connection) -> None:
    for statement in TABLES:
        conn.execute(statement)
    if not _messages_cascade(conn):
        _rebuild_messages_with_cascade(conn)
        conn.execute(TABLES[2])
    conn.execute(
        "CREATE TABLE IF NOT EXISTS _migrations ("
        " name TEXT PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT (datetime('now')))"
    )
    # applied_at given explicitly: some original releases declared it without a default.
    conn.executemany(
        "INSERT OR IGNORE INTO _migrations (name, applied_at) VALUES (?, datetime('now'))",
        [(n,) for n in ORIGINAL_STEPS],
    )
