"""`python -m bench.search_operators`: the page's search with operators, on both backends.

Loads N messages into 1 000 rooms (30 % hold "deploy", 1 % inline code, 1 %
"@alice"; one sender in 50 000 is "rare-bot"), then times the store's
`search_page` for plain terms and each operator, parsed as the page's search
box parses them (service/search_query.py). No HTTP or MCP cost is included;
the data goes in with plain SQL (SQLite's triggers and PostgreSQL's indexes
keep the search structures as posts would). PostgreSQL is Debian's server
started as the tests start it. Prints a Markdown table per backend.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.stats import Table, ms
from chatnut.service.search_query import parse
from chatnut.store import open_store
from chatnut.store.base import SearchFilter, Store

COMMAND = "python -m bench.search_operators"
ROOMS = 1000
QUERIES = [
    "deploy",
    "zanzibar",
    '"deploy" "kaka"',
    "from:agent-3 deploy",
    "from:rare-bot",
    "in:room-0007",
    "in:room-0007 deploy",
    "to:alice",
    "to:alice deploy",
    "has:code",
    "has:code deploy",
    "before:2026-01-02 deploy",
    "after:2026-01-05 deploy",
]


def room_ids() -> list[str]:
    return [str(uuid.UUID(int=random.Random(k).getrandbits(128), version=4)) for k in range(ROOMS)]


def rooms() -> list[tuple[str, ...]]:
    created = "2025-12-31T00:00:00.000+00:00"
    return [
        (rid, f"room-{k:04d}", f"project-{k % 20:02d}", "main", "live", created)
        for k, rid in enumerate(room_ids())
    ]


def messages(count: int) -> Iterator[tuple[int, str, str, str, str, str]]:
    rnd = random.Random(6)
    syllables = ["ka", "lo", "mi", "ter", "van", "ru", "pel", "dos", "fin", "gra"]
    ids = room_ids()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(count):
        words = ["".join(rnd.choices(syllables, k=3)) for _ in range(12)]
        for word, share in (("deploy", 0.30), ("`code`", 0.01), ("@alice", 0.01)):
            if rnd.random() < share:
                words.insert(rnd.randrange(len(words)), word)
        sender = "rare-bot" if i % 50_000 == 7 else f"agent-{i % 7}"
        at = (start + timedelta(seconds=i)).isoformat(timespec="milliseconds")
        yield (i + 1, rnd.choice(ids), sender, " ".join(words), "message", at)


async def timed(store: Store, repeats: int) -> list[tuple[str, float, float]]:
    """(query, p50 s, max s) of each query."""
    rows = []
    for query in QUERIES:
        asked = parse(query)
        where = SearchFilter(
            sender=asked.sender,
            after=asked.after,
            before=asked.before,
            room_name=asked.room,
            to=asked.to,
            has_code=asked.has_code,
        )
        await store.search_page(asked.terms, where)  # warm
        times = []
        for _ in range(repeats):
            began = time.perf_counter()
            await store.search_page(asked.terms, where)
            times.append(time.perf_counter() - began)
        rows.append((query, statistics.median(times), max(times)))
    return rows


async def on_sqlite(count: int, repeats: int, folder: Path) -> list[tuple[str, float, float]]:
    path = folder / "search.db"
    store = open_store(path)
    await store.open()  # chatnut's schema and triggers
    await store.close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO rooms (id, name, project, branch, status, created_at) VALUES (?,?,?,?,?,?)",
        rooms(),
    )
    conn.executemany(
        "INSERT INTO messages (id, room_id, sender, content, message_type, created_at)"
        " VALUES (?,?,?,?,?,?)",
        messages(count),
    )
    conn.execute("COMMIT")
    conn.close()
    store = open_store(path)
    await store.open()
    try:
        return await timed(store, repeats)
    finally:
        await store.close()


async def on_postgres(count: int, repeats: int) -> list[tuple[str, float, float]]:
    import asyncpg
    from tests.postgres import start_server

    server = start_server()
    try:
        url = server.url(server.fresh_database())
        store = open_store(url)
        await store.open()
        await store.close()
        conn = await asyncpg.connect(url)
        columns = ["id", "name", "project", "branch", "status", "created_at"]
        await conn.copy_records_to_table("rooms", records=rooms(), columns=columns)
        columns = ["id", "room_id", "sender", "content", "message_type", "created_at"]
        await conn.copy_records_to_table("messages", records=messages(count), columns=columns)
        await conn.execute("ANALYZE")
        await conn.close()
        store = open_store(url)
        await store.open()
        try:
            return await timed(store, repeats)
        finally:
            await store.close()
    finally:
        server.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__)
    parser.add_argument("--messages", type=int, default=300_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory() as folder:
            if backend == "sqlite":
                rows = await on_sqlite(args.messages, args.repeats, Path(folder))
            else:
                rows = await on_postgres(args.messages, args.repeats)
        table = Table(
            f"The page's search over {args.messages:,} messages ({backend})",
            COMMAND,
            ["query", "p50 ms", "max ms"],
        )
        for query, p50, worst in rows:
            table.add(f"`{query}`", ms(p50), ms(worst))
        print(table.markdown())


if __name__ == "__main__":
    asyncio.run(main())
