"""MCP benchmarks: post_message sequential and concurrent, wait_for_messages wake-up."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import httpx
from mcp import Client

from bench.harness import (
    Workers,
    call,
    mcp_client,
    new_room,
    now,
    post_arguments,
    sample_rss,
    split,
)
from bench.stats import Table, ms, num, pct, ratio
from bench.systems import Server

CLIENT_PROCESSES = 4
WAITER_PROCESSES = 5


async def sequential(servers: list[Server], rooms: dict[str, str], rounds: int, per_round: int):
    """One session per system; rounds interleave the systems, rotating who goes first."""
    latencies: dict[str, list[float]] = {s.name: [] for s in servers}
    clients: dict[str, Client] = {}
    for server in servers:
        client = mcp_client(server.mcp_url)
        await client.__aenter__()
        clients[server.name] = client
        for _ in range(30):  # warm up: tools/list, first-use caches, connection
            await call(client, "post_message", **post_arguments(server, rooms[server.name]))
    try:
        for r in range(rounds):
            order = servers[r % len(servers) :] + servers[: r % len(servers)]
            for server in order:
                arguments = post_arguments(server, rooms[server.name])
                for _ in range(per_round):
                    began = now()
                    await call(clients[server.name], "post_message", **arguments)
                    latencies[server.name].append((now() - began) / 1e9)
    finally:
        for client in reversed(list(clients.values())):  # LIFO: the client's cancel scopes nest
            await client.__aexit__(None, None, None)
    return latencies


def sequential_table(latencies: dict[str, list[float]], command: str) -> Table:
    table = Table(
        "MCP post_message, sequential (one session)",
        command,
        ["system", "calls", "p50 ms", "p95 ms", "p99 ms", "ours ÷ system (p50)"],
    )
    ours = pct(latencies["ours"], 50)
    for name, values in latencies.items():
        table.add(
            name,
            len(values),
            ms(pct(values, 50)),
            ms(pct(values, 95)),
            ms(pct(values, 99)),
            "—" if name == "ours" else ratio(ours, pct(values, 50)),
        )
    return table


async def concurrent(server: Server, room_id: str, sessions: int, seconds: float) -> dict[str, Any]:
    specs = [
        {
            "role": "posters",
            "mcp_url": server.mcp_url,
            "n": n,
            "seconds": seconds,
            "tool": "post_message",
            "arguments": post_arguments(server, room_id),
        }
        for n in split(sessions, CLIENT_PROCESSES)
    ]
    workers = Workers(specs)
    await workers.expect("ready")
    stop, peak = asyncio.Event(), [server.rss_mib()]
    sampler = asyncio.create_task(sample_rss(server, stop, peak))
    workers.go()
    results = await workers.results()
    stop.set()
    await sampler
    latencies = [x / 1e9 for r in results for x in r["latencies"]]
    elapsed = max(r["elapsed"] for r in results) / 1e9
    errors = [e for r in results for e in r["errors"]]
    return {
        "throughput": len(latencies) / elapsed,
        "p50": pct(latencies, 50),
        "p99": pct(latencies, 99),
        "errors": errors,
        "calls": len(latencies),
        "peak_rss": peak[0],
    }


def concurrent_table(results: dict[int, dict[str, dict[str, Any]]], command: str) -> Table:
    table = Table(
        "MCP post_message, concurrent sessions (over 4 client processes)",
        command,
        ["sessions", "system", "posts/s", "p50 ms", "p99 ms", "errors", "ours ÷ system (posts/s)"],
    )
    for sessions, by_system in results.items():
        ours = by_system["ours"]["throughput"]
        for name, r in by_system.items():
            table.add(
                sessions,
                name,
                num(r["throughput"], 0),
                ms(r["p50"]),
                ms(r["p99"]),
                len(r["errors"]),
                "—" if name == "ours" else ratio(ours, r["throughput"]),
            )
    return table


async def waiters_registered(server: Server, count: int, settle: float) -> None:
    """Ours reports its waiters in /api/status; the original does not, so it gets a settle time."""
    if server.name != "ours":
        await asyncio.sleep(settle)
        return
    async with httpx.AsyncClient(timeout=10) as http:
        for _ in range(int(settle / 0.02) * 5):
            if (await http.get(server.url + "/api/status")).json()["waiters"] >= count:
                return
            await asyncio.sleep(0.02)


async def wake_up(server: Server, waiters: int) -> dict[str, Any]:
    room_id = await new_room(server, f"wake-{waiters}-{now()}")
    async with mcp_client(server.mcp_url) as poster:
        first = await call(poster, "post_message", room_id=room_id, sender="b", content="before")
        processes = 1 if waiters == 1 else WAITER_PROCESSES
        specs = [
            {
                "role": "waiters",
                "mcp_url": server.mcp_url,
                "n": n,
                "room_id": room_id,
                "since_id": first["id"],
            }
            for n in split(waiters, processes)
        ]
        workers = Workers(specs)
        await workers.expect("ready")
        workers.go()
        await workers.expect("waiting")
        await waiters_registered(server, waiters, settle=2.0)
        await call(poster, "post_message", room_id=room_id, sender="b", content="wake up")
        acked = now()
        results = await workers.results()
    latencies = [(r - acked) / 1e9 for res in results for r in res["returns"]]
    return {
        "woken": len(latencies),
        "p50": pct(latencies, 50),
        "p99": pct(latencies, 99),
        "errors": [e for r in results for e in r["errors"]],
        "timed_out": sum(r["timed_out"] for r in results),
    }


def wake_table(results: dict[int, dict[str, list[dict[str, Any]]]], command: str) -> Table:
    table = Table(
        "wait_for_messages wake-up, from the post's acknowledgement",
        command,
        ["waiters", "system", "runs", "woken", "errors", "p50 ms", "p99 ms", "ours ÷ system (p99)"],
    )
    for waiters, by_system in results.items():
        merged: dict[str, dict[str, Any]] = {}
        for name, runs in by_system.items():
            p50s = [r["p50"] for r in runs if not math.isnan(r["p50"])]
            p99s = [r["p99"] for r in runs if not math.isnan(r["p99"])]
            merged[name] = {
                "runs": len(runs),
                "woken": f"{sum(r['woken'] for r in runs)}/{waiters * len(runs)}",
                "errors": sum(len(r["errors"]) + r["timed_out"] for r in runs),
                "p50": pct(p50s, 50),
                "p99": max(p99s) if p99s else math.nan,
            }
        for name, m in merged.items():
            table.add(
                waiters,
                name,
                m["runs"],
                m["woken"],
                m["errors"],
                ms(m["p50"]),
                ms(m["p99"]),
                "—" if name == "ours" else ratio(merged["ours"]["p99"], m["p99"]),
            )
    table.notes.append(
        "p50 is the median of the runs' medians; p99 is the worst run's p99. Errors count "
        "failed calls and calls that returned without the message."
    )
    return table
