"""Claims on a team server: two workers of one PostgreSQL database agree on them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from tests.helpers import ServerProcess, worker_pids
from tests.team.workers import close_all, pinned_clients

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def test_workers_grant_one_exclusive_claim_and_see_it_everywhere(
    team_server: Callable[[int], ServerProcess],
) -> None:
    two = team_server(2)
    pids = sorted(worker_pids(two.home))
    groups = await pinned_clients(two.url, set(pids), 4)
    try:
        first = groups[pids[0]][0].http
        room = (await first.post("/api/rooms", json={"project": "p", "name": "r"})).json()["id"]
        clients = [client.http for pid in pids for client in groups[pid]]

        async def claim(n: int, http: httpx.AsyncClient) -> bool:
            body = {"agent_name": f"agent{n}", "paths": ["src/**", f"docs/{n}.md"]}
            answer = await http.post(f"/api/rooms/{room}/claims", json=body)
            assert answer.status_code == 200, answer.text
            return bool(answer.json()["granted"])

        # Eight claims at once, four through each worker: the write lock makes
        # the check and the insert one step, so exactly one is granted.
        granted = await asyncio.gather(*(claim(n, h) for n, h in enumerate(clients)))
        assert sum(granted) == 1
        holder = f"agent{granted.index(True)}"
        for pid in pids:  # both workers see it, and refuse on it
            http = groups[pid][0].http
            listed = (await http.get("/api/claims", params={"room_id": room})).json()["claims"]
            assert [c["holder"] for c in listed] == [holder]
            asked = {"project": "p", "agent_name": "late", "paths": ["src/x.py"]}
            found = (await http.post("/api/claims/check", json=asked)).json()["conflicts"]
            assert [c["holder"] for c in found] == [holder]
        other = groups[pids[1]][1].http
        released = await other.post(
            f"/api/rooms/{room}/claims/release", json={"agent_name": holder}
        )
        assert len(released.json()["released"]) == 1
        again = groups[pids[0]][1].http
        assert (await again.get("/api/claims", params={"project": "p"})).json() == {"claims": []}
    finally:
        await close_all(groups)
