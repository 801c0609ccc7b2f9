"""`python -m bench.post_path [--db PATH|URL]`: the post path alone, store and MCP.

Three measures of `post_message` on one database:

* store: the service in this process (`ChatService.post_message` over the
  store), sequential — the store's own cost with no HTTP around it;
* store x32: 32 concurrent posters in this process, posts per second — what
  the batching writer buys;
* MCP: the real `chatnut serve` and the official MCP client, sequential.

Used to compare store implementations (before and after
leaving aiosqlite's private API; asyncpg against psycopg on PostgreSQL). Prints one Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from bench.harness import call, mcp_client, new_room, post_arguments
from bench.stats import pct
from bench.systems import ours
from chatnut.hub import Hub
from chatnut.service import ChatService
from chatnut.store import open_store


async def store_path(db: str, posts: int, concurrency: int) -> tuple[list[float], float]:
    hub = Hub()
    store = open_store(db, on_commit=hub.publish)
    await store.open()
    try:
        service = ChatService(store, hub)
        room = await service.init_room("bench", f"store-{time.monotonic_ns()}")
        for _ in range(50):
            await service.post_message(room["id"], "bench", "warm up")
        latencies = []
        for _ in range(posts):
            began = time.perf_counter()
            await service.post_message(room["id"], "bench", "benchmark post on the store")
            latencies.append(time.perf_counter() - began)

        async def poster(n: int) -> None:
            for _ in range(n):
                await service.post_message(room["id"], "bench", "concurrent post")

        began = time.perf_counter()
        each = posts // concurrency
        await asyncio.gather(*[poster(each) for _ in range(concurrency)])
        throughput = each * concurrency / (time.perf_counter() - began)
        return latencies, throughput
    finally:
        await store.close()


async def mcp_path(db: str, posts: int, home: Path) -> list[float]:
    server = ours(db, home)  # type: ignore[arg-type]  # a path or a URL: passed to --db as text
    server.start()
    try:
        room = await new_room(server, f"mcp-{time.monotonic_ns()}")
        arguments = post_arguments(server, room)
        async with mcp_client(server.mcp_url) as client:
            for _ in range(30):
                await call(client, "post_message", **arguments)
            latencies = []
            for _ in range(posts):
                began = time.perf_counter()
                await call(client, "post_message", **arguments)
                latencies.append(time.perf_counter() - began)
        return latencies
    finally:
        server.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.post_path", description=__doc__)
    parser.add_argument("--db", help="SQLite path or postgresql:// URL (default: a temp file)")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="on a throwaway PostgreSQL server (tests/postgres.py) instead",
    )
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    server = None
    if args.postgres:
        from tests.postgres import start_server

        server = start_server()
    try:
        with tempfile.TemporaryDirectory(prefix="chatnut-post-path-") as work:
            db = args.db or str(Path(work) / "bench.db")
            if server is not None:
                db = server.url(server.fresh_database())
            store, throughput = await store_path(db, args.posts, 32)
            mcp = await mcp_path(db, args.posts, Path(work) / "home")
    finally:
        if server is not None:
            server.close()

    def row(name: str, values: list[float]) -> str:
        p50, p99 = pct(values, 50) * 1000, pct(values, 99) * 1000
        return f"| {args.label} | {name} | {len(values)} | {p50:.3f} | {p99:.3f} |"

    print("| build | path | posts | p50 ms | p99 ms |")
    print("|---|---|---|---|---|")
    print(row("store, sequential", store))
    print(row("MCP, sequential", mcp))
    print(f"| {args.label} | store, 32 concurrent | {args.posts} | {throughput:.0f} posts/s | |")


if __name__ == "__main__":
    asyncio.run(main())
