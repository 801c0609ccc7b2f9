"""`python -m bench.pg_ceiling`: where one PostgreSQL primary stops taking posts.

Every post is one call of `chatnut_post` (what PostgresStore.post_message
sends): it takes the global write lock, inserts, writes the event and sends
a NOTIFY, and holds the lock until its commit is flushed. Posts are therefore
serial across the database, whatever the number of workers or hosts, and the
ceiling is one over the time the lock is held. This measures that ceiling
with chatnut's own function and nothing in front of it (no HTTP, no MCP):

* posts/s with 1, 4, 16 and 64 concurrent connections, `synchronous_commit`
  on (what the team server runs) and off (the lock without the flush wait);
* posts/s through the store itself (PostgresStore.post_message, its pool of
  10 connections and its group commit, batch.py) with 1, 4, 16 and 64
  concurrent posters, beside the same store committing one post at a time;
* posts/s with 16 posters while 0, 8 and 32 other connections LISTEN on
  chatnut's channel (each a worker, on one host or several): the NOTIFY
  fan-out's cost on the primary.

PostgreSQL is Debian's server started as the tests start it, fsync on.
Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import time

import asyncpg
from tests.postgres import start_server

from bench.stats import Table, num
from chatnut.store.postgres import PostgresStore, batch

POST = "SELECT * FROM chatnut_post($1, $2, $3, $4, $5, $6, $7, $8)"
CHANNEL = "chatnut_events"
COMMAND = "python -m bench.pg_ceiling"


def post_args(n: int) -> tuple[object, ...]:
    return (
        f"room-{n % 16}",
        "bench",
        "a benchmark post, about one line long",
        "message",
        None,
        None,
        [],
        [],
    )


async def rate(url: str, posters: int, seconds: float, synchronous: bool) -> float:
    """Posts per second from `posters` connections posting back to back."""
    done, elapsed = await posted(url, posters, seconds, synchronous)
    return done / elapsed


async def posted(url: str, posters: int, seconds: float, synchronous: bool) -> tuple[int, float]:
    """How many posts `posters` connections made back to back, and in how long."""
    setting = "on" if synchronous else "off"
    pool = await asyncpg.create_pool(
        url,
        min_size=posters,
        max_size=posters,
        server_settings={"synchronous_commit": setting},
    )
    done = 0
    stop = time.perf_counter() + seconds

    async def poster(n: int) -> None:
        nonlocal done
        async with pool.acquire() as conn:
            while time.perf_counter() < stop:
                await conn.fetchrow(POST, *post_args(n))
                done += 1

    try:
        for n in range(posters):  # warm every connection (plans, caches)
            await pool.fetchrow(POST, *post_args(n))
        began = time.perf_counter()
        await asyncio.gather(*(poster(n) for n in range(posters)))
        return done, time.perf_counter() - began
    finally:
        await pool.close()


async def store_rate(url: str, posters: int, seconds: float, max_batch: int) -> float:
    """Posts per second through PostgresStore.post_message from `posters` tasks."""
    saved, batch.MAX_BATCH = batch.MAX_BATCH, max_batch
    store = PostgresStore(url)
    await store.open()
    done = 0
    try:
        room = f"room-{posters % 16}"
        await store.post_message(
            room, "bench", "warm", "message", None, reply_to=None, mentioned=()
        )
        stop = time.perf_counter() + seconds

        async def poster() -> None:
            nonlocal done
            while time.perf_counter() < stop:
                await store.post_message(
                    room, "bench", "a benchmark post", "message", None, reply_to=None, mentioned=()
                )
                done += 1

        began = time.perf_counter()
        await asyncio.gather(*(poster() for _ in range(posters)))
        return done / (time.perf_counter() - began)
    finally:
        await store.close()
        batch.MAX_BATCH = saved


async def with_listeners(url: str, listeners: int, seconds: float) -> tuple[float, float]:
    """Posts/s with 16 posters while `listeners` connections LISTEN (and read
    every notification); and the share of the posts each listener was told of."""
    conns = [await asyncpg.connect(url) for _ in range(listeners)]
    heard = [0] * listeners
    for i, conn in enumerate(conns):

        def count(*_: object, i: int = i) -> None:
            heard[i] += 1

        await conn.add_listener(CHANNEL, count)
    try:
        # The warm-up posts are heard too: count from after them.
        done, elapsed = await posted(url, 16, seconds, synchronous=True)
        await asyncio.sleep(0.5)  # the last notifications in flight
    finally:
        for conn in conns:
            await conn.close()
    return done / elapsed, (min(heard) - 16) / done if listeners else 1.0


async def main() -> None:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    server = start_server(fsync=True)
    try:
        url = server.url(server.fresh_database())
        migrated = PostgresStore(url)  # chatnut's own migrations, as a server runs them
        await migrated.open()
        await migrated.close()
        setup = await asyncpg.connect(url)
        for n in range(16):
            await setup.execute(
                "INSERT INTO rooms (id, name, project, created_at) VALUES ($1, $1, 'p', 'now')",
                f"room-{n}",
            )
        version = await setup.fetchval("SHOW server_version")
        await setup.close()

        ceiling = Table(
            "chatnut_post alone: posts/s by concurrent connections",
            COMMAND,
            [
                "connections",
                "synchronous_commit on",
                "lock held, ms",
                "synchronous_commit off",
                "lock held, ms",
            ],
        )
        for posters in (1, 4, 16, 64):
            on = await rate(url, posters, args.seconds, synchronous=True)
            off = await rate(url, posters, args.seconds, synchronous=False)
            ceiling.rows.append(
                [str(posters), num(on, 0), f"{1000 / on:.2f}", num(off, 0), f"{1000 / off:.2f}"]
            )
        ceiling.notes.append(
            "One lock serialises every post, so at saturation 1000 / (posts/s) is the time"
            " it is held per post. PostgreSQL " + version + ", fsync on, on "
            f"{platform.machine()} with the machine's {os.cpu_count()} cores shared by the"
            " posters and the server."
        )

        grouped = Table(
            "PostgresStore.post_message: posts/s by concurrent posters in one process",
            COMMAND,
            ["posters", "group commit (batches of up to 64)", "one post per commit", "gain"],
        )
        for posters in (1, 4, 16, 64):
            together = await store_rate(url, posters, args.seconds, batch.MAX_BATCH)
            alone = await store_rate(url, posters, args.seconds, 1)
            grouped.rows.append(
                [str(posters), num(together, 0), num(alone, 0), f"{together / alone:.2f}×"]
            )
        grouped.notes.append(
            "One store (one chatnut worker's), synchronous_commit on; the posters are"
            " tasks in the same process, so no HTTP or MCP cost is included."
        )

        fanout = Table(
            "chatnut_post with 16 posters while other connections LISTEN",
            COMMAND,
            ["listening connections", "posts/s", "each listener told of"],
        )
        for listeners in (0, 8, 32):
            per_second, heard = await with_listeners(url, listeners, args.seconds)
            fanout.rows.append(
                [str(listeners), num(per_second, 0), "n/a" if not listeners else f"{heard:.0%}"]
            )
        fanout.notes.append(
            "Every worker of every host is one listening connection: a post's NOTIFY is"
            " delivered to each of them by the primary."
        )
    finally:
        server.close()
    for table in (ceiling, grouped, fanout):
        print(table.markdown())


if __name__ == "__main__":
    asyncio.run(main())
