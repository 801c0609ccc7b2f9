"""The team server on a real PostgreSQL: several workers on one port.

Ordering across workers, cross-worker wake, migrations run once, and the
whole server's life as `chatnut status` / `chatnut stop` see it. Clients are
pinned to workers by connection (tests/team/workers.py), so "a reader on each worker"
is what the test really has.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from chatnut.cli import main
from tests import helpers
from tests.helpers import ServerProcess, alive, worker_pids
from tests.team.workers import (
    CONNECT_ATTEMPTS,
    call,
    close_all,
    pinned_clients,
    pinned_mcp,
    sse_message_ids,
    tool_call,
    wait_until_parked,
)

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

POSTERS = 32
POSTS_EACH = 10


async def test_every_reader_and_stream_sees_every_message_once_in_order(
    team_server: Callable[[int], ServerProcess],
) -> None:
    four = team_server(4)
    pids = sorted(worker_pids(four.home))
    assert len(pids) == 4 and all(alive(pid) for pid in pids)
    total = POSTERS * POSTS_EACH
    room_id = httpx.post(f"{four.url}/api/rooms", json={"project": "team", "name": "order"})
    room_id = room_id.json()["id"]

    async def post_all(pid: int, n: int) -> list[int]:
        ids = []
        async with pinned_mcp(four.url, pid) as (client, _, _):
            for i in range(POSTS_EACH):
                message = await call(
                    client, "post_message", room_id=room_id, sender=f"p{n}", content=f"{n}.{i}"
                )
                ids.append(message["id"])
        return ids

    async def read_all(pid: int) -> list[int]:
        seen: list[int] = []
        since = 0
        while len(seen) < total:
            async with pinned_mcp(four.url, pid) as (client, _, connection):
                while len(seen) < total:
                    page = await call(
                        client, "read_messages", room_id=room_id, since_id=since, limit=50
                    )
                    if connection.moved:
                        # The pin slipped (tests/team/workers.py): this page came from another
                        # worker. Pin again and read it again, from the same since_id.
                        print(f"re-pinned after {connection.idle_before_move:.1f} s idle")
                        break
                    ids = [m["id"] for m in page["messages"]]
                    seen += ids
                    if ids:
                        since = ids[-1]
                    else:  # nothing new: park until there is, instead of spinning
                        await call(
                            client,
                            "wait_for_messages",
                            room_id=room_id,
                            since_id=since,
                            timeout=10,
                        )
        # Every page counted came over the connection that /api/status pinned to
        # `pid`: it read on its worker the whole time.
        return seen

    async def stream_all(pid: int) -> list[int]:
        # Pinned and streaming at once: an idle kept-alive connection is closed by
        # the server after a few seconds, and the next request would find it gone.
        path = f"/api/rooms/{room_id}/stream?last_event_id=0"
        for _ in range(CONNECT_ATTEMPTS):
            group = await pinned_clients(four.url, {pid}, 1)
            pinned = group[pid][0]
            try:
                async with pinned.http.stream("GET", path) as response:
                    assert response.status_code == 200
                    if pinned.connection.moved:
                        continue  # the pin slipped (tests/team/workers.py): pin again
                    return await sse_message_ids(response, total, [])
            except httpx.RemoteProtocolError:
                continue  # closed between the two requests: pin again
            finally:
                await close_all(group)
        raise AssertionError(f"no stream on worker {pid}")

    reading = [asyncio.create_task(read_all(pid)) for pid in pids]
    streaming = [asyncio.create_task(stream_all(pid)) for pid in pids]
    posted = await asyncio.gather(*(post_all(pids[n % 4], n) for n in range(POSTERS)))
    seen_by_readers = await asyncio.wait_for(asyncio.gather(*reading), 180)
    seen_by_streams = await asyncio.wait_for(asyncio.gather(*streaming), 180)
    every = sorted(i for ids in posted for i in ids)
    assert len(every) == total == len(set(every))
    assert len(seen_by_readers) == len(seen_by_streams) == 4
    for seen in [*seen_by_readers, *seen_by_streams]:
        assert seen == every  # each once, in id order, none missing


async def test_a_post_on_a_third_process_wakes_100_waiters_on_two_workers(
    team_server: Callable[[int], ServerProcess], tmp_path: Path, postgres_url: str
) -> None:
    two = team_server(2)
    pids = worker_pids(two.home)
    third_home = tmp_path / "third"
    third_home.mkdir()
    third = ServerProcess(third_home, ["--db", postgres_url])  # another host, say
    third.start()
    try:
        room = httpx.post(f"{third.url}/api/rooms", json={"project": "team", "name": "wake"})
        room_id = room.json()["id"]
        woken: list[float] = []
        # A connection per waiter: the kernel hands each to one of the two workers.
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
        timeout = httpx.Timeout(60, read=120)
        async with httpx.AsyncClient(base_url=two.url, limits=limits, timeout=timeout) as http:

            async def wait() -> dict[str, Any]:
                got = await tool_call(
                    http, "wait_for_messages", room_id=room_id, since_id=0, timeout=60
                )
                woken.append(time.perf_counter())
                return got

            tasks = [asyncio.create_task(wait()) for _ in range(100)]
            spread = await wait_until_parked(two.url, pids, 1, total=100)
            sent = time.perf_counter()
            posted = await asyncio.to_thread(
                httpx.post,
                f"{third.url}/api/rooms/{room_id}/messages",
                json={"sender": "lead", "content": "go"},
            )
            assert posted.status_code in (200, 201), posted.text
            results = await asyncio.wait_for(asyncio.gather(*tasks), 30)
    finally:
        third.stop()
    assert all(not r["timed_out"] for r in results)
    assert {r["messages"][0]["id"] for r in results} == {posted.json()["id"]}
    latencies = sorted((t - sent) * 1000 for t in woken)
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    print(
        f"\ncross-worker wake, 100 waiters on 2 workers {spread}, post on a third process: "
        f"p50 {statistics.median(latencies):.1f} ms, p99 {p99:.1f} ms"
    )


def test_status_and_stop_describe_and_stop_the_whole_server(
    team_server: Callable[[int], ServerProcess],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    two = team_server(2)
    for name, value in two.environment().items():
        monkeypatch.setenv(name, value)
    assert two.proc is not None
    pids = worker_pids(two.home)
    assert main(["status", "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["pid"] == two.proc.pid and facts["port"] == two.port
    assert set(facts["workers"]) == pids and len(pids) == 2
    assert main(["status"]) == 0
    assert (
        f"workers:   2 (pids {' '.join(str(p) for p in sorted(pids))})" in capsys.readouterr().out
    )
    assert main(["stop"]) == 0
    assert f"stopped chatnut server (pid {two.proc.pid})" in capsys.readouterr().out
    assert two.proc.wait(timeout=15) == 0
    assert not any(alive(pid) for pid in pids)
    for name in ("server.pid", "server.port", "server.workers"):
        assert not (two.home / name).exists()


def test_workers_starting_at_once_on_an_empty_database_migrate_it_once(
    tmp_path: Path, empty_postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nine processes importing and starting at once on 2 shared cores: allow them time.
    monkeypatch.setattr(helpers, "START_TIMEOUT", 120.0)
    homes = []
    for n in range(3):  # three hosts with two workers each, started together
        homes.append(tmp_path / f"host{n}")
        homes[-1].mkdir()
    servers = [ServerProcess(h, ["--db", empty_postgres_url, "--workers", "2"]) for h in homes]
    with contextlib.ExitStack() as stack:
        from concurrent.futures import ThreadPoolExecutor

        pool = stack.enter_context(ThreadPoolExecutor(3))
        for server in servers:
            stack.callback(server.stop)
        list(pool.map(lambda s: s.start(), servers))
        logs = "".join("".join(s.output) for s in servers)
        assert logs.count(" migrated: ") == 1, logs
        rooms = [
            httpx.post(f"{s.url}/api/rooms", json={"project": "p", "name": "n"}).json()["id"]
            for s in servers
        ]
        assert len(set(rooms)) == 1  # one database, one schema
