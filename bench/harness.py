"""Client worker processes, driven from the benchmark's own event loop."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
from typing import Any

from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from bench.systems import ROOT, Server


def now() -> int:
    return time.monotonic_ns()


class Workers:
    """A group of `python -m bench.worker` processes sharing one role."""

    def __init__(self, specs: list[dict[str, Any]]) -> None:
        self.procs = [
            subprocess.Popen(
                [sys.executable, "-m", "bench.worker", json.dumps(spec)],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for spec in specs
        ]

    async def expect(self, word: str, timeout: float = 120) -> None:
        async def one(proc: subprocess.Popen[str]) -> None:
            assert proc.stdout is not None
            line = await asyncio.to_thread(proc.stdout.readline)
            if line.strip() != word:
                raise RuntimeError(f"worker said {line!r}, expected {word!r}")

        await asyncio.wait_for(asyncio.gather(*(one(p) for p in self.procs)), timeout)

    def go(self) -> None:
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()

    async def results(self, timeout: float = 300) -> list[dict[str, Any]]:
        async def one(proc: subprocess.Popen[str]) -> dict[str, Any]:
            assert proc.stdout is not None
            line = await asyncio.to_thread(proc.stdout.readline)
            await asyncio.to_thread(proc.wait, 30)
            proc.stdout.close()
            if proc.stdin is not None:
                proc.stdin.close()
            loaded: dict[str, Any] = json.loads(line)
            return loaded

        try:
            return await asyncio.wait_for(asyncio.gather(*(one(p) for p in self.procs)), timeout)
        finally:
            self.kill()

    def kill(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


# The original answers in SSE events, and its list of 10 000 rooms is one event
# of several MiB: over the client's default 1 MiB cap. Same client for all.
MAX_EVENT_BYTES = 256 * 1024 * 1024


def mcp_client(url: str) -> Client:
    """The official MCP client, handshake era (what Claude Code speaks; the original's only)."""
    return Client(streamable_http_client(url, max_sse_event_size=MAX_EVENT_BYTES), mode="legacy")


def split(total: int, parts: int) -> list[int]:
    parts = max(1, min(parts, total))
    return [total // parts + (1 if k < total % parts else 0) for k in range(parts)]


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    if result.is_error:
        raise RuntimeError(f"{tool}: {result.content[0].text}")
    data: dict[str, Any] = result.structured_content or {}
    return data


async def new_room(server: Server, name: str) -> str:
    async with mcp_client(server.mcp_url) as session:
        room = await call(session, "init_room", project="bench", name=name)
    return str(room["id"])


def post_arguments(server: Server, room_id: str) -> dict[str, Any]:
    return {"room_id": room_id, "sender": "bench", "content": f"benchmark post on {server.name}"}


async def sample_rss(server: Server, stop: asyncio.Event, peak: list[float]) -> None:
    """Keep the largest RSS seen while `stop` is not set."""
    while not stop.is_set():
        peak[0] = max(peak[0], server.rss_mib())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.25)
