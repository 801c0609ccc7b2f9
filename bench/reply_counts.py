"""`python -m bench.reply_counts`: what threads cost a page in a big room, per backend.

Every page of messages the web page reads carries each message's reply count
(`replies`), and a thread pane reads one parent's replies. Both are lookups
by (room, parent) in an index of replies (SQLite migration 0015, PostgreSQL
0014). This fills one room with `--messages` messages, one in ten a reply to
an earlier one (a few parents with many replies, most with none), and times
through the store — no HTTP — the counts of the newest page of 100 messages,
of the oldest page, and a thread of the busiest parent. Prints a Markdown
table: p50 and p99 of `--runs` calls each.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
from tests.postgres import start_server

from bench.stats import Table
from chatnut.store import Store, open_store

COMMAND = "python -m bench.reply_counts"
ROOM = "big-room"
PAGE = 100


def rows(count: int) -> tuple[list[tuple[int, str | None]], int]:
    """(id, metadata) for `count` messages, and the busiest parent's id."""
    rng = random.Random(7)
    made: list[tuple[int, str | None]] = []
    hot = [rng.randint(1, 200) for _ in range(5)]  # early questions, answered at length
    for i in range(1, count + 1):
        parent = None
        if i > 200 and i % 10 == 0:
            parent = rng.choice(hot) if rng.random() < 0.3 else rng.randint(1, i - 1)
        meta = json.dumps({"source": "web", "reply_to": parent}) if parent else None
        made.append((i, meta))
    busiest = max(hot, key=lambda p: sum(1 for _, m in made if m and f'"reply_to": {p}}}' in m))
    return made, busiest


def fill_sqlite(path: Path, made: list[tuple[int, str | None]]) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "INSERT INTO rooms (id, name, project, created_at) VALUES (?, ?, 'p', 'now')",
            (ROOM, ROOM),
        )
        conn.executemany(
            "INSERT INTO messages (id, room_id, sender, content, created_at, metadata)"
            " VALUES (?, ?, 'bot', 'hello', '2026-01-01T00:00:00+00:00', ?)",
            [(i, ROOM, meta) for i, meta in made],
        )
    conn.execute("ANALYZE")
    conn.close()


async def fill_postgres(url: str, made: list[tuple[int, str | None]]) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "INSERT INTO rooms (id, name, project, created_at) VALUES ($1, $1, 'p', 'now')", ROOM
        )
        # The per-row room_stats trigger updates one row once per message: in
        # one transaction that is a HOT chain walked again on every row,
        # quadratic in the messages. The bench reads no stats, so triggers are
        # off for this load (set by hand below).
        await conn.execute("SET session_replication_role = replica")
        await conn.copy_records_to_table(
            "messages",
            records=[
                (i, ROOM, "bot", "hello", "message", "2026-01-01T00:00:00+00:00", meta)
                for i, meta in made
            ],
            columns=[
                "id",
                "room_id",
                "sender",
                "content",
                "message_type",
                "created_at",
                "metadata",
            ],
        )
        await conn.execute("SET session_replication_role = DEFAULT")
        await conn.execute(
            "UPDATE room_stats SET message_count = $2, last_message_id = $2 WHERE room_id = $1",
            ROOM,
            len(made),
        )
        await conn.execute("SELECT setval('message_ids', $1)", len(made))
        await conn.execute("ANALYZE messages")
    finally:
        await conn.close()


async def timed(call: Callable[[], Awaitable[Any]], runs: int) -> tuple[float, float]:
    took = []
    for _ in range(runs):
        start = time.perf_counter()
        await call()
        took.append((time.perf_counter() - start) * 1000)
    took.sort()
    return statistics.median(took), took[min(len(took) - 1, int(len(took) * 0.99))]


async def measure(
    store: Store, count: int, busiest: int, runs: int, table: Table, name: str
) -> None:
    newest = list(range(count - PAGE + 1, count + 1))
    oldest = list(range(1, PAGE + 1))
    for label, call in (
        ("counts of the newest page", lambda: store.reply_counts(ROOM, newest)),
        ("counts of the oldest page", lambda: store.reply_counts(ROOM, oldest)),
        (
            "thread of the busiest parent",
            lambda: store.thread_page(ROOM, busiest, after=0, limit=PAGE),
        ),
    ):
        found = await call()
        p50, p99 = await timed(call, runs)
        size = len(found) if label.startswith("counts") else found["reply_count"]
        what = "parents with replies" if label.startswith("counts") else "replies"
        table.add(name, label, f"{size} {what}", f"{p50:.2f}", f"{p99:.2f}")


async def main() -> None:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__)
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    made, busiest = rows(args.messages)
    table = Table(
        f"Threads in a room of {args.messages:,} messages ({args.messages // 10:,} replies)",
        COMMAND,
        ["backend", "call", "answer", "p50 ms", "p99 ms"],
    )
    with tempfile.TemporaryDirectory() as home:
        path = Path(home) / "chat.db"
        store = open_store(path)
        await store.open()
        await store.close()
        fill_sqlite(path, made)
        store = open_store(path)
        await store.open()
        try:
            await measure(store, args.messages, busiest, args.runs, table, "SQLite")
        finally:
            await store.close()
    server = start_server(fsync=True)
    try:
        url = server.url(server.fresh_database())
        store = open_store(url)
        await store.open()
        try:
            await fill_postgres(url, made)
            await measure(store, args.messages, busiest, args.runs, table, "PostgreSQL")
        finally:
            await store.close()
    finally:
        server.close()
    table.notes.append(
        f"{args.runs} calls each, one after another, through the store; on"
        f" {platform.machine()} with {os.cpu_count()} cores shared by everything."
    )
    print(table.markdown())


if __name__ == "__main__":
    asyncio.run(main())
