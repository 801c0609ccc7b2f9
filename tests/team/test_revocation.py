"""Revoking a token on a team server: within a second, on every worker of one host
and on a second host of the same PostgreSQL database, its next call is refused,
its open feeds close and its parked waits end."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import MCP_CALL_HEADERS, TOKEN, ServerProcess, worker_pids
from tests.identity import bearer, make_token
from tests.sse_client import open_stream
from tests.team.workers import close_all, pinned_clients

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

WITHIN = 1.0  # seconds


async def raw_tool(http: httpx.AsyncClient, name: str, **arguments: Any) -> dict[str, Any]:
    request = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }
    answer = await http.post("/mcp/", json=request, headers=MCP_CALL_HEADERS)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()["result"]
    return result


async def _waiters(http: httpx.AsyncClient) -> int:
    return int((await http.get("/api/status")).json()["waiters"])


async def _until(check: Any, seconds: float = 20) -> None:
    async with asyncio.timeout(seconds):
        while not await check():
            await asyncio.sleep(0.02)


async def test_a_revoked_token_is_refused_everywhere_within_a_second(
    tmp_path: Path, postgres_url: str
) -> None:
    homes = [tmp_path / "host-a", tmp_path / "host-b"]
    for home in homes:
        home.mkdir()
    secret = make_token(homes[0], postgres_url, "leaver")
    keep = make_token(homes[0], postgres_url, "stayer")
    env = {"CHATNUT_TOKEN": TOKEN}
    host_a = ServerProcess(homes[0], ["--db", postgres_url, "--workers", "2"], env=env)
    host_b = ServerProcess(homes[1], ["--db", postgres_url], env=env)
    host_a.start()
    host_b.start()
    groups: dict[int, Any] = {}
    try:
        async with (
            httpx.AsyncClient(base_url=host_a.url, headers=bearer(TOKEN), timeout=30) as admin,
            httpx.AsyncClient(base_url=host_b.url, headers=bearer(secret), timeout=30) as on_b,
            httpx.AsyncClient(base_url=host_b.url, headers=bearer(TOKEN), timeout=30) as b_admin,
        ):
            room = (await admin.post("/api/rooms", json={"project": "p", "name": "r"})).json()["id"]
            groups = await pinned_clients(host_a.url, worker_pids(homes[0]), 2, bearer(secret))
            waits = [
                asyncio.create_task(
                    raw_tool(
                        clients[0].http, "wait_for_messages", room_id=room, since_id=0, timeout=30
                    )
                )
                for clients in groups.values()
            ]
            waits.append(
                asyncio.create_task(raw_tool(on_b, "check_inbox", agent_name="leaver", timeout=30))
            )
            async with open_stream(on_b, f"/api/rooms/{room}/stream") as stream:
                await stream.until("ready")
                for clients in groups.values():
                    await _until(lambda c=clients[1]: _waiters(c.http), 20)
                await _until(lambda: _b_waiters(b_admin, 2), 20)
                revoked = await admin.delete("/api/admin/tokens/leaver")
                assert revoked.status_code == 200, revoked.text
                started = time.monotonic()
                # Open feeds close, parked waits end, on every worker and host.
                async with asyncio.timeout(WITHIN):
                    rest = await stream.rest()
                    ended = await asyncio.gather(*waits)
                assert all(e.event != "message" for e in rest)
                for result in ended:
                    assert result["isError"], result
                    assert result["content"][0]["text"] == (
                        "this token was revoked while the call waited"
                    )
                # The next call is refused on each worker of host A and on host B.
                for clients in groups.values():
                    answer = await clients[1].http.get("/api/rooms")
                    assert answer.status_code == 401, answer.text
                assert (await on_b.get("/api/rooms")).status_code == 401
                assert time.monotonic() - started < WITHIN
            # Another principal's token is untouched.
            async with httpx.AsyncClient(
                base_url=host_b.url, headers=bearer(keep), timeout=30
            ) as stayer:
                assert (await stayer.get("/api/rooms")).status_code == 200
    finally:
        await close_all(groups)
        host_b.stop()
        host_a.stop()


async def _b_waiters(http: httpx.AsyncClient, at_least: int) -> bool:
    return await _waiters(http) >= at_least
