"""Benchmarks over a loaded database: search, the room list, reading a 10 000-message room."""

from __future__ import annotations

from typing import Any

import httpx
from mcp import Client

from bench.data import QUERIES
from bench.harness import call, mcp_client, now
from bench.stats import Table, ms, pct, ratio
from bench.systems import Server


async def search(servers: list[Server], repeats: int) -> dict[str, dict[str, list[float]]]:
    """Each query `repeats` times per system, the systems alternating call by call."""
    times: dict[str, dict[str, list[float]]] = {s.name: {q: [] for q in QUERIES} for s in servers}
    clients = {}
    for server in servers:
        clients[server.name] = mcp_client(server.mcp_url)
        await clients[server.name].__aenter__()
        await call(clients[server.name], "search", query="warm")
    try:
        for _ in range(repeats):
            for label, query in QUERIES.items():
                for server in servers:
                    began = now()
                    await call(clients[server.name], "search", query=query)
                    times[server.name][label].append((now() - began) / 1e9)
    finally:
        for client in reversed(list(clients.values())):  # LIFO: the client's cancel scopes nest
            await client.__aexit__(None, None, None)
    return times


def search_table(results: dict[int, dict[str, dict[str, list[float]]]], command: str) -> Table:
    table = Table(
        "Search (MCP `search`): ours FTS5 trigram vs the original's LIKE",
        command,
        ["messages", "query", "system", "p50 ms", "p99 ms", "ours ÷ system (p50)"],
    )
    for size, by_system in results.items():
        for label, query in QUERIES.items():
            ours = pct(by_system["ours"][label], 50)
            for name, by_query in by_system.items():
                values = by_query[label]
                table.add(
                    f"{size:,}",
                    f"{label} `{query}`",
                    name,
                    ms(pct(values, 50)),
                    ms(pct(values, 99)),
                    "—" if name == "ours" else ratio(ours, pct(values, 50)),
                )
        for name, by_query in by_system.items():
            every = [t for values in by_query.values() for t in values]
            table.add(
                f"{size:,}", "**whole query set**", name, ms(pct(every, 50)), ms(pct(every, 99)), ""
            )
    return table


def list_path(server: Server) -> str:
    return "/api/rooms?status=live" if server.name == "ours" else "/api/chatrooms"


async def room_list(servers: list[Server], repeats: int) -> dict[str, dict[str, float]]:
    rest: dict[str, list[float]] = {s.name: [] for s in servers}
    mcp: dict[str, list[float]] = {s.name: [] for s in servers}
    clients = {}
    async with httpx.AsyncClient(timeout=60) as http:
        for server in servers:
            clients[server.name] = mcp_client(server.mcp_url)
            await clients[server.name].__aenter__()
            await call(clients[server.name], "list_rooms")
            (await http.get(server.url + list_path(server))).raise_for_status()
        try:
            for _ in range(repeats):
                for server in servers:
                    began = now()
                    response = await http.get(server.url + list_path(server))
                    rest[server.name].append((now() - began) / 1e9)
                    assert len(response.json()["rooms"]) >= 10_000, server.name
                    began = now()
                    rooms = await call(clients[server.name], "list_rooms")
                    mcp[server.name].append((now() - began) / 1e9)
                    assert len(rooms["rooms"]) >= 10_000, server.name
        finally:
            for client in reversed(list(clients.values())):  # LIFO: the client's cancel scopes nest
                await client.__aexit__(None, None, None)
    return {
        name: {
            "rest_p50": pct(rest[name], 50),
            "rest_p99": pct(rest[name], 99),
            "mcp_p50": pct(mcp[name], 50),
        }
        for name in rest
    }


def messages_path(server: Server, room_id: str, since: int) -> str:
    if server.name == "ours":
        return f"/api/rooms/{room_id}/messages?since_id={since}&limit=1000"
    return f"/api/chatrooms/{room_id}/messages?since_id={since}&limit=1000"


async def read_room(
    server: Server, room_id: str, http: httpx.AsyncClient, client: Client
) -> dict[str, Any]:
    """The whole 10 000-message room in pages of 1000, through REST and through MCP."""
    began, since, count = now(), 0, 0
    while True:
        page = (await http.get(server.url + messages_path(server, room_id, since))).json()
        count += len(page["messages"])
        if not page["messages"]:
            break
        since = page["messages"][-1]["id"]
        if not page["has_more"]:
            break
    rest = (now() - began) / 1e9
    rest_count = count
    began, since, count = now(), 0, 0
    while True:
        page = await call(client, "read_messages", room_id=room_id, since_id=since, limit=1000)
        count += len(page["messages"])
        if not page["messages"] or not page["has_more"]:
            break
        since = page["messages"][-1]["id"]
    return {
        "rest": rest,
        "rest_count": rest_count,
        "mcp": (now() - began) / 1e9,
        "mcp_count": count,
    }


async def read_rooms(servers: list[Server], rooms: dict[str, str], repeats: int) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {s.name: [] for s in servers}
    async with httpx.AsyncClient(timeout=120) as http:
        clients = {}
        for server in servers:
            clients[server.name] = mcp_client(server.mcp_url)
            await clients[server.name].__aenter__()
        try:
            for _ in range(repeats):
                for server in servers:
                    runs[server.name].append(
                        await read_room(server, rooms[server.name], http, clients[server.name])
                    )
        finally:
            for client in reversed(list(clients.values())):  # LIFO: the client's cancel scopes nest
                await client.__aexit__(None, None, None)
    return runs


def read_table(runs: dict[str, list[dict[str, Any]]], command: str) -> Table:
    table = Table(
        "Reading a 10 000-message room (pages of 1000)",
        command,
        [
            "system",
            "REST p50 ms",
            "REST messages",
            "MCP p50 ms",
            "MCP messages",
            "ours ÷ system (REST, MCP)",
        ],
    )
    ours_rest = pct([r["rest"] for r in runs["ours"]], 50)
    ours_mcp = pct([r["mcp"] for r in runs["ours"]], 50)
    for name, values in runs.items():
        rest = pct([r["rest"] for r in values], 50)
        mcp = pct([r["mcp"] for r in values], 50)
        table.add(
            name,
            ms(rest),
            values[0]["rest_count"],
            ms(mcp),
            values[0]["mcp_count"],
            "—" if name == "ours" else f"{ratio(ours_rest, rest)}, {ratio(ours_mcp, mcp)}",
        )
    return table
