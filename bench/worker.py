"""A client process of the benchmark, so that the client is not what is measured.

Usage: python -m bench.worker '<json spec>'. The worker opens its sessions or
streams, prints `ready`, waits for `go` on stdin, does its part and prints one
JSON line of results. Times are CLOCK_MONOTONIC nanoseconds, which every process
on the machine shares, so the parent can subtract its own timestamps.

Roles:
* posters: `n` MCP sessions, each posting back to back for `seconds`;
* waiters: `n` MCP sessions, each one `wait_for_messages` call (after `go`);
* streams: `n` SSE streams on `path`, each noting when every marker arrives.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import httpx
from mcp import Client

from bench.harness import mcp_client
from bench.team_day_agents import agents


def now() -> int:
    return time.monotonic_ns()


async def go_signal() -> None:
    print("ready", flush=True)
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    assert line.strip() == "go", line


async def posters(spec: dict[str, Any]) -> dict[str, Any]:
    latencies: list[int] = []
    errors: list[str] = []
    # Entered in this task: the client's cancel scopes must be left in the task that made them.
    clients = [mcp_client(spec["mcp_url"]) for _ in range(spec["n"])]
    for client in clients:
        await client.__aenter__()
        # warm: the client lists tools on its first call of a tool name
        await client.call_tool(spec["tool"], spec["arguments"])
    await go_signal()
    stop_at = time.monotonic() + spec["seconds"]

    async def post(client: Client, k: int) -> None:
        i = 0
        while time.monotonic() < stop_at:
            arguments = {**spec["arguments"], "content": f"{spec['arguments']['content']} {k}.{i}"}
            began = now()
            try:
                result = await client.call_tool(spec["tool"], arguments)
                if result.is_error:
                    errors.append(result.content[0].text[:200])
                    continue
            except Exception as exc:
                errors.append(repr(exc)[:200])
                continue
            latencies.append(now() - began)
            i += 1

    began = now()
    await asyncio.gather(*(post(c, k) for k, c in enumerate(clients)))
    elapsed = now() - began
    for client in reversed(clients):  # LIFO: the client's cancel scopes nest
        await client.__aexit__(None, None, None)
    return {"latencies": latencies, "errors": errors, "elapsed": elapsed}


async def waiters(spec: dict[str, Any]) -> dict[str, Any]:
    clients = [mcp_client(spec["mcp_url"]) for _ in range(spec["n"])]
    for client in clients:
        await client.__aenter__()
        # warm: the client fetches a tool's output schema on its first call of it,
        # a round trip that would otherwise land inside the measured wake-up
        await client.call_tool(
            "wait_for_messages",
            {"room_id": spec["room_id"], "since_id": spec["since_id"], "timeout": 0},
        )
    await go_signal()
    returns: list[int] = []
    errors: list[str] = []
    timed_out = 0

    async def wait(client: Client) -> None:
        nonlocal timed_out
        try:
            result = await client.call_tool(
                "wait_for_messages",
                {"room_id": spec["room_id"], "since_id": spec["since_id"], "timeout": 30},
            )
        except Exception as exc:
            errors.append(repr(exc)[:200])
            return
        at = now()
        if result.is_error:
            errors.append(result.content[0].text[:200])
        elif result.structured_content.get("timed_out") or not result.structured_content.get(
            "messages"
        ):
            timed_out += 1
        else:
            returns.append(at)

    tasks = [asyncio.create_task(wait(c)) for c in clients]
    print("waiting", flush=True)
    await asyncio.gather(*tasks)
    for client in reversed(clients):
        try:
            await client.__aexit__(None, None, None)
        except Exception as exc:  # a failed session may not close cleanly
            errors.append(f"close: {exc!r}"[:200])
    return {"returns": returns, "errors": errors, "timed_out": timed_out}


async def streams(spec: dict[str, Any]) -> dict[str, Any]:
    markers: list[str] = spec["markers"]
    seen: list[dict[str, int]] = [{} for _ in range(spec["n"])]
    connected = 0
    all_connected = asyncio.Event()
    errors: list[str] = []
    timeout = httpx.Timeout(30, read=spec["seconds"])
    limits = httpx.Limits(max_connections=spec["n"] + 10)

    async def stream(http: httpx.AsyncClient, k: int) -> None:
        nonlocal connected
        try:
            async with http.stream("GET", spec["url"] + spec["path"]) as response:
                assert response.status_code == 200, response.status_code
                connected += 1
                if connected == spec["n"]:
                    all_connected.set()
                async for line in response.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    for marker in markers:
                        if marker in line and marker not in seen[k]:
                            seen[k][marker] = now()
                    if len(seen[k]) == len(markers):
                        return
        except Exception as exc:
            errors.append(repr(exc)[:200])
            if not all_connected.is_set():
                all_connected.set()

    async with httpx.AsyncClient(timeout=timeout, limits=limits) as http:
        tasks = [asyncio.create_task(stream(http, k)) for k in range(spec["n"])]
        await all_connected.wait()
        await go_signal()
        try:
            await asyncio.wait_for(asyncio.gather(*tasks), spec["seconds"])
        except TimeoutError:
            errors.append("timed out waiting for markers")
    return {"seen": seen, "errors": errors}


ROLES = {"posters": posters, "waiters": waiters, "streams": streams, "agents": agents}


def main() -> None:
    spec = json.loads(sys.argv[1])
    result = asyncio.run(ROLES[spec["role"]](spec))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
