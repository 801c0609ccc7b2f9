"""`python -m bench.pg_drivers`: asyncpg against psycopg 3 on chatnut's post path.

Starts a throwaway PostgreSQL (tests/postgres.py), applies chatnut's
PostgreSQL migrations, and calls the post function (`chatnut_post`, what
PostgresStore.post_message sends: one statement, one round trip) through each
driver's pool of 4 connections, rounds interleaved: sequential p50/p99, and
posts per second with 32 concurrent posters. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import psycopg
import psycopg_pool
from tests.postgres import start_server

from bench.stats import pct

MIGRATIONS = Path(__file__).resolve().parent.parent / "app/be/chatnut/store/postgres/migrations"
POST = "SELECT * FROM chatnut_post($1, $2, $3, $4, $5, $6, $7, $8)"
POST_PSYCOPG = "SELECT * FROM chatnut_post(%s, %s, %s, %s, %s, %s, %s, %s)"
ARGS = ("room-1", "bench", "benchmark post on the store", "message", None, None, [], [])

Post = Callable[[], Awaitable[object]]


async def measure(post: Post, sequential: int, concurrent: int) -> tuple[list[float], float]:
    for _ in range(50):
        await post()
    latencies = []
    for _ in range(sequential):
        began = time.perf_counter()
        await post()
        latencies.append(time.perf_counter() - began)

    async def poster(n: int) -> None:
        for _ in range(n):
            await post()

    began = time.perf_counter()
    await asyncio.gather(*[poster(concurrent // 32) for _ in range(32)])
    return latencies, concurrent // 32 * 32 / (time.perf_counter() - began)


async def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pg_drivers", description=__doc__)
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    server = start_server()
    try:
        url = server.url(server.fresh_database())
        setup = await asyncpg.connect(url)
        for path in sorted(MIGRATIONS.glob("*.sql")):
            await setup.execute(path.read_text())
        await setup.execute(
            "INSERT INTO rooms (id, name, project, created_at) VALUES ('room-1', 'r', 'p', 'now')"
        )
        await setup.close()

        apg = await asyncpg.create_pool(url, min_size=4, max_size=4)
        pp = psycopg_pool.AsyncConnectionPool(
            url, min_size=4, max_size=4, open=False, kwargs={"autocommit": True}
        )
        await pp.open()

        async def with_asyncpg() -> object:
            return await apg.fetchrow(POST, *ARGS)

        async def with_psycopg() -> object:
            async with pp.connection() as conn:
                cur = await conn.execute(POST_PSYCOPG, ARGS, prepare=True)
                return await cur.fetchone()

        results: dict[str, tuple[list[float], list[float]]] = {
            "asyncpg": ([], []),
            "psycopg": ([], []),
        }
        for r in range(args.rounds):
            order = [("asyncpg", with_asyncpg), ("psycopg", with_psycopg)]
            for name, post in order if r % 2 == 0 else reversed(order):
                latencies, throughput = await measure(post, args.posts, args.posts)
                results[name][0].extend(latencies)
                results[name][1].append(throughput)
        await apg.close()
        await pp.close()
    finally:
        server.close()
    print("| driver | version | posts | p50 ms | p99 ms | 32 concurrent, posts/s |")
    print("|---|---|---|---|---|---|")
    versions = {"asyncpg": asyncpg.__version__, "psycopg": psycopg.__version__}
    for name, (latencies, throughputs) in results.items():
        median = sorted(throughputs)[len(throughputs) // 2]
        print(
            f"| {name} | {versions[name]} | {len(latencies)} | {pct(latencies, 50) * 1000:.3f}"
            f" | {pct(latencies, 99) * 1000:.3f} | {median:.0f} |"
        )


if __name__ == "__main__":
    asyncio.run(main())
