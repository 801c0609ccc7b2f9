"""`python -m bench.pg_read_cursors`: posts/s on PostgreSQL while open pages mark read.

Every open page moves its reader's cursor up to twice a second while messages
arrive (the web UI's read throttle is 500 ms). If a cursor write took the lock
that orders posts, each one would hold that lock through a commit of its own,
and a team's open pages would eat into the posts a database can take. This
runs one store (one chatnut worker's: PostgresStore, its pool and its group
commit) with posters posting back to back into 4 rooms, beside 0 or 20
"pages", each marking its room read every 500 ms up to the newest message,
and reports posts/s and how long a mark_read took (p50/p99).

PostgreSQL is Debian's server started as the tests start it, fsync on; the
posters, the pages and PostgreSQL share this machine's cores. No HTTP or MCP
cost is included. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import time

import asyncpg
from tests.postgres import start_server

from bench.stats import Table, num
from chatnut.store.postgres import PostgresStore

COMMAND = "python -m bench.pg_read_cursors"
ROOMS = [f"room-{n}" for n in range(4)]
READ_EVERY_S = 0.5


async def run(url: str, posters: int, pages: int, seconds: float) -> tuple[float, list[float]]:
    """Posts/s, and every mark_read's duration in ms."""
    store = PostgresStore(url)
    await store.open()
    posted = 0
    marks: list[float] = []
    newest = 0
    try:
        first = await store.post_message(
            ROOMS[0], "bench", "warm", "message", None, reply_to=None, mentioned=()
        )
        newest = first["id"]
        stop = time.perf_counter() + seconds

        async def poster(n: int) -> None:
            nonlocal posted, newest
            room = ROOMS[n % len(ROOMS)]
            while time.perf_counter() < stop:
                message = await store.post_message(
                    room, "bench", "a benchmark post", "message", None, reply_to=None, mentioned=()
                )
                newest = max(newest, message["id"])
                posted += 1

        async def page(n: int) -> None:
            room, reader = ROOMS[n % len(ROOMS)], f"reader-{n}"
            await asyncio.sleep(READ_EVERY_S * n / max(pages, 1))  # pages are not in step
            while time.perf_counter() < stop:
                began = time.perf_counter()
                await store.mark_read(room, reader, newest)
                marks.append((time.perf_counter() - began) * 1000)
                await asyncio.sleep(max(0.0, READ_EVERY_S - (time.perf_counter() - began)))

        began = time.perf_counter()
        await asyncio.gather(*(poster(n) for n in range(posters)), *(page(n) for n in range(pages)))
        return posted / (time.perf_counter() - began), marks
    finally:
        await store.close()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def main() -> None:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--posters", type=int, default=16)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    server = start_server(fsync=True)
    try:
        url = server.url(server.fresh_database())
        migrated = PostgresStore(url)  # chatnut's own migrations, as a server runs them
        await migrated.open()
        await migrated.close()
        setup = await asyncpg.connect(url)
        for room in ROOMS:
            await setup.execute(
                "INSERT INTO rooms (id, name, project, created_at) VALUES ($1, $1, 'p', 'now')",
                room,
            )
        version = await setup.fetchval("SHOW server_version")
        await setup.close()

        table = Table(
            f"Posts/s with {args.posters} posters while open pages mark read",
            COMMAND,
            ["open pages", "posts/s (median of runs)", "runs", "mark_read p50 ms", "p99 ms"],
        )
        results: dict[int, tuple[list[float], list[float]]] = {0: ([], []), 20: ([], [])}
        for _ in range(args.runs):  # interleaved, so drift on the machine hits both alike
            for pages in results:
                rate, marks = await run(url, args.posters, pages, args.seconds)
                results[pages][0].append(rate)
                results[pages][1].extend(marks)
        for pages, (rates, marks) in results.items():
            table.rows.append(
                [
                    str(pages),
                    num(statistics.median(rates), 0),
                    ", ".join(num(r, 0) for r in rates),
                    f"{percentile(marks, 0.5):.1f}" if marks else "n/a",
                    f"{percentile(marks, 0.99):.1f}" if marks else "n/a",
                ]
            )
        table.notes.append(
            f"Each page marks read every {READ_EVERY_S * 1000:.0f} ms; {args.runs} runs of"
            f" {args.seconds:.0f} s each, interleaved. PostgreSQL {version}, fsync on, on"
            f" {platform.machine()} with {os.cpu_count()} cores shared by everything."
        )
    finally:
        server.close()
    print(table.markdown())


if __name__ == "__main__":
    asyncio.run(main())
