"""The agents of `python -m bench.team_day`, run in a client process (bench.worker).

Each agent is one MCP session doing what a coding agent does all day: it
starts with `get_handoff` and a status, then loops: post a message to one
named teammate (`to`), park on `check_inbox` until something is addressed to
it (or its wait times out), read the room since it last looked, now and then
update its status, and think for a moment. Every call is timed by tool.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from typing import Any

from mcp import Client

from bench.harness import mcp_client

TOOLS = ("get_handoff", "update_status", "post_message", "check_inbox", "read_messages")


def now() -> int:
    return time.monotonic_ns()


class Record:
    """Call durations (ns) and error texts, by tool."""

    def __init__(self) -> None:
        self.latencies: dict[str, list[int]] = {tool: [] for tool in TOOLS}
        self.errors: dict[str, list[str]] = {tool: [] for tool in TOOLS}

    async def call(self, client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        began = now()
        try:
            result = await client.call_tool(tool, arguments)
        except Exception as exc:
            self.errors[tool].append(repr(exc)[:200])
            return {}
        if result.is_error:
            self.errors[tool].append(result.content[0].text[:200])
            return {}
        self.latencies[tool].append(now() - began)
        data: dict[str, Any] = result.structured_content or {}
        return data


def plan(name: str, seed: int) -> random.Random:
    """The agent's own random stream: runs with the same seed make the same choices."""
    return random.Random(f"{seed}:{name}")


def teammate(rng: random.Random, name: str, peers: list[str]) -> str:
    """Someone else on the team to write to."""
    choices = [p for p in peers if p != name]
    return rng.choice(choices) if choices else name


async def agent(
    client: Client, name: str, spec: dict[str, Any], record: Record, stop_at: float
) -> None:
    room_id = spec["room_id"]
    rng = plan(name, spec["seed"])
    handoff = await record.call(
        client, "get_handoff", {"room_id": room_id, "reader": name, "recent": 20}
    )
    read_since = int(handoff.get("next_since_id") or 0)
    inbox_since = read_since
    await record.call(
        client, "update_status", {"room_id": room_id, "sender": name, "status": "catching up"}
    )
    cycle = 0
    while time.monotonic() < stop_at:
        cycle += 1
        peer = teammate(rng, name, spec["peers"])
        await record.call(
            client,
            "post_message",
            {
                "room_id": room_id,
                "sender": name,
                "content": f"@{peer} step {cycle} of {name}'s task is done, over to you",
                "to": [peer],
            },
        )
        wait = max(0.0, min(spec["inbox_wait"], stop_at - time.monotonic()))
        inbox = await record.call(
            client,
            "check_inbox",
            {"agent_name": name, "since_id": inbox_since, "timeout": wait},
        )
        inbox_since = max(inbox_since, int(inbox.get("next_since_id") or 0))
        page = await record.call(
            client, "read_messages", {"room_id": room_id, "since_id": read_since, "limit": 50}
        )
        ids = [int(m["id"]) for m in page.get("messages", [])]
        read_since = max([read_since, *ids])
        if cycle % 3 == 0:
            await record.call(
                client,
                "update_status",
                {"room_id": room_id, "sender": name, "status": f"on step {cycle}"},
            )
        await asyncio.sleep(rng.uniform(0, 2 * spec["think"]))


async def agents(spec: dict[str, Any]) -> dict[str, Any]:
    """Role `agents`: spec has mcp_url, room_id, names (run here), peers (the whole
    team), seconds, inbox_wait, think, seed."""
    record = Record()
    clients = [mcp_client(spec["mcp_url"]) for _ in spec["names"]]
    for client in clients:  # entered in this task: the client's cancel scopes
        await client.__aenter__()
        await client.list_tools()  # the client's first call of a tool lists them
    print("ready", flush=True)
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    assert line.strip() == "go", line
    stop_at = time.monotonic() + spec["seconds"]
    began = now()
    await asyncio.gather(
        *(agent(c, n, spec, record, stop_at) for c, n in zip(clients, spec["names"], strict=True))
    )
    elapsed = now() - began
    closing: list[str] = []
    for client in reversed(clients):  # LIFO: the client's cancel scopes nest
        try:
            await client.__aexit__(None, None, None)
        except Exception as exc:  # a failed session may not close cleanly
            closing.append(f"close: {exc!r}"[:200])
    return {
        "latencies": record.latencies,
        "errors": record.errors,
        "closing": closing,
        "elapsed": elapsed,
    }
