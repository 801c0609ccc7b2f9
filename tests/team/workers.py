"""Helpers for the team-server tests: clients pinned to one worker of a `--workers N` server.

The workers share one listening socket and the kernel decides which accepts a
connection, so a test cannot ask for "worker 2". It can find out instead: an
HTTP client limited to one connection keeps talking to the worker that
accepted it, and `/api/status` on that connection says which one (`pid`).
`pinned_clients` opens connections until every worker has one.

A pin can slip: uvicorn closes a kept-alive connection after 5 s without a
request, and the HTTP client then quietly opens a new one, which the kernel
may give to another worker. On a loaded machine one test process driving
dozens of clients can leave a connection idle that long. `Connection` notices
(a response that came over another socket) so that a test can pin again
instead of counting what another worker answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.helpers import MCP_CALL_HEADERS
from tests.sse_client import Stream, open_stream

ONE_CONNECTION = {"max_connections": 1, "max_keepalive_connections": 1}
CONNECT_ATTEMPTS = 400


class Connection:
    """Which sockets an HTTP client's responses came over: `moved` once there were two."""

    def __init__(self) -> None:
        self.streams: list[Any] = []
        self.answered_at = 0.0
        self.idle_before_move: float | None = None

    async def saw(self, response: Any) -> None:
        stream = response.extensions.get("network_stream")
        now = time.monotonic()
        if not any(stream is s for s in self.streams):
            if self.streams and self.idle_before_move is None:
                self.idle_before_move = now - self.answered_at
            self.streams.append(stream)
        self.answered_at = now

    @property
    def moved(self) -> bool:
        return len(self.streams) > 1


class Pinned:
    """One HTTP connection to one worker: REST/SSE through `http`, MCP through `mcp`."""

    def __init__(
        self, base: str, pid: int, http: httpx.AsyncClient, connection: Connection
    ) -> None:
        self.base = base
        self.pid = pid
        self.http = http
        self.connection = connection

    async def pid_now(self) -> int:
        answer = await self.http.get("/api/status")
        pid: int = answer.json()["pid"]
        return pid


async def _open(base: str, headers: dict[str, str], read_timeout: float) -> Pinned:
    connection = Connection()
    http = httpx.AsyncClient(
        base_url=base,
        headers=headers,
        timeout=httpx.Timeout(60, read=read_timeout),
        limits=httpx.Limits(**ONE_CONNECTION),
        event_hooks={"response": [connection.saw]},
    )
    answer = await http.get("/api/status")
    return Pinned(base, answer.json()["pid"], http, connection)


async def pinned_clients(
    base: str,
    pids: set[int],
    per_worker: int,
    headers: dict[str, str] | None = None,
    read_timeout: float = 120,
) -> dict[int, list[Pinned]]:
    """`per_worker` connections to each worker in `pids`; extra connections are closed."""
    found: dict[int, list[Pinned]] = {pid: [] for pid in pids}
    attempts = 0
    while any(len(v) < per_worker for v in found.values()):
        if attempts > CONNECT_ATTEMPTS:
            counts = {pid: len(v) for pid, v in found.items()}
            raise AssertionError(f"could not reach every worker: {counts}")
        batch = await asyncio.gather(*(_open(base, headers or {}, read_timeout) for _ in range(16)))
        attempts += len(batch)
        for client in batch:
            bucket = found.get(client.pid)
            if bucket is not None and len(bucket) < per_worker:
                bucket.append(client)
            else:
                await client.http.aclose()
    return found


async def close_all(groups: dict[int, list[Pinned]]) -> None:
    for clients in groups.values():
        for client in clients:
            await client.http.aclose()


@contextlib.asynccontextmanager
async def pinned_mcp(
    base: str, pid: int
) -> AsyncIterator[tuple[Client, httpx2.AsyncClient, Connection]]:
    """An MCP client whose one connection is to worker `pid`, its HTTP client, and
    the `Connection` that says whether a later answer came over another one.

    Enter it in the task that uses it: when the server side of the connection
    dies, the SDK's transport fails the whole client context, and that
    failure belongs to the task that owns the client (not to the test's).
    """
    for _ in range(CONNECT_ATTEMPTS):
        connection = Connection()
        async with httpx2.AsyncClient(
            timeout=httpx2.Timeout(60, read=120),
            limits=httpx2.Limits(**ONE_CONNECTION),
            event_hooks={"response": [connection.saw]},
        ) as http:
            try:
                answered = (await http.get(f"{base}/api/status")).json()["pid"]
            except httpx2.TransportError:
                continue  # a loaded machine: ask again on a new connection
            if answered != pid:
                continue
            transport = streamable_http_client(f"{base}/mcp/", http_client=http)
            async with Client(transport, mode="2026-07-28") as client:
                yield client, http, connection
            return
    raise AssertionError(f"could not reach worker {pid} over MCP")


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content[0].text  # type: ignore[union-attr]
    data: dict[str, Any] = result.structured_content or {}
    return data


async def tool_call(http: httpx.AsyncClient, name: str, **arguments: Any) -> dict[str, Any]:
    """One stateless MCP tools/call as a plain JSON-RPC POST (what the SDK client sends).

    For the tests that hold a hundred calls open at once: a hundred SDK clients
    in the test process would load the 2 shared cores more than the server does.
    """
    request = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }
    answer = await http.post("/mcp/", json=request, headers=MCP_CALL_HEADERS)
    assert answer.status_code == 200, answer.text
    result = answer.json()["result"]
    assert not result.get("isError"), result["content"][0]["text"]
    data: dict[str, Any] = result["structuredContent"]
    return data


async def sse_message_ids(response: httpx.Response, want: int, seen: list[int]) -> list[int]:
    """Append the ids of `message` events to `seen` until it holds `want` of them."""
    event = ""
    async for line in response.aiter_lines():
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:") and event == "message":
            seen.append(json.loads(line[5:])["id"])
            if len(seen) >= want:
                return seen
        elif not line:
            event = ""
    return seen


async def wait_until_parked(
    base: str, pids: set[int], count: int, total: int = 0
) -> dict[int, int]:
    """Until every worker in `pids` counts `count` waiters of its own, and all of
    them together `total`: the waits are registered. A fresh connection per
    question, so the questions land on every worker; each worker's latest answer
    counts. Returns the waiters per worker.
    """
    latest: dict[int, int] = {}
    deadline = time.monotonic() + 120
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
        while not (
            all(latest.get(pid, 0) >= count for pid in pids) and sum(latest.values()) >= total
        ):
            assert time.monotonic() < deadline, f"waiters never all parked: {latest}"
            answer = (await http.get("/api/status")).json()
            latest[answer["pid"]] = answer["waiters"]
            await asyncio.sleep(0.01)
    return latest


async def worker_of(client: httpx.AsyncClient) -> int:
    """The pid of the worker holding this client's (kept-alive) connection: the
    next request on the client, a stream too, goes over the same connection."""
    return int((await client.get("/api/status")).json()["pid"])


async def streams_beside(
    stack: contextlib.AsyncExitStack, url: str, path: str, worker: int
) -> list[Stream]:
    """Open event streams at `path` (each on a fresh connection the kernel hands to
    some worker) until both workers hold one, so at least one is on a worker
    other than `worker`; each past `ready`. Closed with `stack`."""
    streams: list[Stream] = []
    workers: set[int] = set()
    for _ in range(20):
        client = await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=30))
        workers.add(await worker_of(client))
        stream = await stack.enter_async_context(open_stream(client, path))
        await stream.until("ready")
        streams.append(stream)
        if len(workers) == 2 and len(streams) >= 4:
            break
    assert workers - {worker}, f"every stream landed on worker {worker}"
    return streams
