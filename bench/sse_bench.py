"""SSE benchmarks: fan-out of one message to many room streams; bytes per sidebar change."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import httpx

from bench.harness import Workers, call, mcp_client, new_room, now, split
from bench.stats import Table, ms, num, pct, ratio
from bench.systems import Server

STREAM_PROCESSES = 5
MARKERS = 5


def room_stream_path(server: Server, room_id: str) -> str:
    if server.name == "ours":
        return f"/api/rooms/{room_id}/stream"
    return f"/api/stream/messages?room_id={room_id}"


def sidebar_stream_path(server: Server) -> str:
    return "/api/stream/rooms" if server.name == "ours" else "/api/stream/chatrooms"


async def fan_out(server: Server, streams: int) -> dict[str, Any]:
    room_id = await new_room(server, f"fan-{streams}-{now()}")
    markers = [f"fanout-marker-{now()}-{k}" for k in range(MARKERS)]
    rss_before = server.rss_mib()
    specs = [
        {
            "role": "streams",
            "url": server.url,
            "path": room_stream_path(server, room_id),
            "n": n,
            "markers": markers,
            "seconds": 60,
        }
        for n in split(streams, STREAM_PROCESSES)
    ]
    workers = Workers(specs)
    await workers.expect("ready")
    await asyncio.sleep(1.0)  # each feed subscribes as its response starts: let all get there
    rss_open = server.rss_mib()
    sent: dict[str, int] = {}
    async with mcp_client(server.mcp_url) as poster:
        await call(poster, "post_message", room_id=room_id, sender="b", content="warm")
        workers.go()
        for marker in markers:
            # From the moment the post is sent: ours publishes before it answers
            # the poster, so the streams often have it before the acknowledgement.
            sent[marker] = now()
            await call(poster, "post_message", room_id=room_id, sender="b", content=marker)
            await asyncio.sleep(0.3)
        results = await workers.results()
    rss_after = server.rss_mib()
    latencies = [(seen[m] - sent[m]) / 1e9 for r in results for seen in r["seen"] for m in seen]
    return {
        "delivered": len(latencies),
        "expected": streams * len(markers),
        "p50": pct(latencies, 50),
        "p99": pct(latencies, 99),
        "errors": [e for r in results for e in r["errors"]],
        "rss_before": rss_before,
        "rss_open": rss_open,
        "rss_after": rss_after,
    }


def fan_out_table(results: dict[int, dict[str, dict[str, Any]]], command: str) -> Table:
    table = Table(
        "SSE fan-out: one post to N open room streams (5 client processes)",
        command,
        [
            "streams",
            "system",
            "delivered",
            "p50 ms",
            "p99 ms",
            "RSS before MiB",
            "RSS streams open MiB",
            "KiB per stream",
            "stream errors",
            "ours ÷ system (p99)",
        ],
    )
    for streams, by_system in results.items():
        ours = by_system["ours"]["p99"]
        for name, r in by_system.items():
            per_stream = (r["rss_open"] - r["rss_before"]) * 1024 / streams
            table.add(
                streams,
                name,
                f"{r['delivered']}/{r['expected']}",
                ms(r["p50"]),
                ms(r["p99"]),
                num(r["rss_before"]),
                num(r["rss_open"]),
                num(per_stream),
                len(r["errors"]),
                "—" if name == "ours" else ratio(ours, r["p99"]),
            )
    for streams, by_system in results.items():
        for name, r in by_system.items():
            if r["errors"]:
                table.notes.append(f"{name}, {streams} streams, first error: {r['errors'][0]}")
    table.notes.append(
        f"{MARKERS} posts 0.3 s apart per run; latency from the moment each post is sent "
        "(MCP post_message) to its arrival on each stream, so it includes the post itself."
    )
    return table


async def sidebar_bytes(server: Server, room_id: str) -> dict[str, Any]:
    """Bytes the sidebar feed sends for one new message in one room of many."""
    chunks: list[tuple[int, int]] = []  # (monotonic ns, bytes)
    first = asyncio.Event()
    timeout = httpx.Timeout(30, read=120)
    async with httpx.AsyncClient(timeout=timeout) as http:

        async def read() -> None:
            async with http.stream("GET", server.url + sidebar_stream_path(server)) as response:
                async for chunk in response.aiter_raw():
                    chunks.append((now(), len(chunk)))
                    first.set()

        reader = asyncio.create_task(read())
        await asyncio.wait_for(first.wait(), 120)
        # The snapshot may arrive in several chunks: wait until it is quiet.
        quiet_since = time.monotonic()
        seen = 0
        while time.monotonic() - quiet_since < 1.5:
            if len(chunks) != seen:
                seen, quiet_since = len(chunks), time.monotonic()
            await asyncio.sleep(0.05)
        snapshot = sum(b for _, b in chunks)
        changes = 3
        before = len(chunks)
        async with mcp_client(server.mcp_url) as client:
            for k in range(changes):
                await call(client, "post_message", room_id=room_id, sender="s", content=f"c{k}")
                await asyncio.sleep(2.5)  # the original polls every 2 s: let it send
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
    per_change = sum(b for _, b in chunks[before:]) / changes
    return {"snapshot": snapshot, "per_change": per_change}


def sidebar_table(
    lists: dict[str, dict[str, float]], sidebar: dict[str, dict[str, Any]], command: str
) -> Table:
    table = Table(
        "Room list and sidebar with 10 000 rooms",
        command,
        [
            "system",
            "list_rooms (MCP) p50 ms",
            "REST list p50 ms",
            "REST list p99 ms",
            "sidebar first event KiB",
            "bytes per change",
            "ours ÷ system (REST p50)",
        ],
    )
    for name, r in lists.items():
        s = sidebar.get(name, {})
        table.add(
            name,
            ms(r["mcp_p50"]),
            ms(r["rest_p50"]),
            ms(r["rest_p99"]),
            num(s.get("snapshot", float("nan")) / 1024),
            num(s.get("per_change", float("nan")), 0),
            "—" if name == "ours" else ratio(lists["ours"]["rest_p50"], r["rest_p50"]),
        )
    table.notes.append(
        "REST list: ours GET /api/rooms (with counts, last message), the original GET "
        "/api/chatrooms (no counts). Sidebar: ours /api/stream/rooms, the original "
        "/api/stream/chatrooms; bytes per change averaged over 3 posts."
    )
    return table
