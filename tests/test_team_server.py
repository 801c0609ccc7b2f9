"""The team server on a real PostgreSQL: several workers on one port (SPEC §12).

Ordering across workers, cross-worker wake, a worker killed with -9, and the
whole server's life as `chatnut status` / `chatnut stop` see it. Clients are
pinned to workers by connection (tests/team.py), so "a reader on each worker"
is what the test really has.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client

from chatnut.cli import main
from tests import helpers
from tests.helpers import ServerProcess
from tests.team import (
    CONNECT_ATTEMPTS,
    call,
    close_all,
    pinned_clients,
    pinned_mcp,
    sse_message_ids,
    tool_call,
)

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

POSTERS = 32
POSTS_EACH = 10


def worker_pids(home: Path) -> set[int]:
    return {int(pid) for pid in (home / "server.workers").read_text().split()}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def team_server(home: Path, url: str, workers: int) -> ServerProcess:
    return ServerProcess(home, ["--db", url, "--workers", str(workers)])


@pytest.fixture
def four(home: Path, postgres_url: str) -> Iterator[ServerProcess]:
    server = team_server(home, postgres_url, 4)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def two(home: Path, postgres_url: str) -> Iterator[ServerProcess]:
    server = team_server(home, postgres_url, 2)
    server.start()
    yield server
    server.stop()


async def test_every_reader_and_stream_sees_every_message_once_in_order(
    four: ServerProcess,
) -> None:
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
                        # The pin slipped (tests/team.py): this page came from another
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
                        continue  # the pin slipped (tests/team.py): pin again
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


async def test_a_post_on_a_third_process_wakes_100_waiters_on_two_workers(
    two: ServerProcess, tmp_path: Path, postgres_url: str
) -> None:
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


async def test_kill_9_of_a_worker_loses_no_acknowledged_post_and_its_waiters_fail_fast(
    two: ServerProcess,
) -> None:
    victim, survivor = sorted(worker_pids(two.home))
    acknowledged: list[int] = []
    room_id = httpx.post(f"{two.url}/api/rooms", json={"project": "team", "name": "crash"})
    room_id = room_id.json()["id"]
    quiet_id = httpx.post(f"{two.url}/api/rooms", json={"project": "team", "name": "quiet"})
    quiet_id = quiet_id.json()["id"]
    stop = asyncio.Event()

    async def post_until_stopped(client: Client, n: int) -> None:
        while not stop.is_set():
            message = await call(
                client, "post_message", room_id=room_id, sender=f"p{n}", content="x"
            )
            acknowledged.append(message["id"])

    async def poster(pid: int, n: int) -> int:
        """Posts until told to stop; after a failure, the client's retry: a new connection."""
        failures = 0
        try:
            async with pinned_mcp(two.url, pid) as (client, _, _):
                await post_until_stopped(client, n)
        except Exception:
            failures += 1
            async with Client(two.mcp_url, mode="2026-07-28") as client:
                await post_until_stopped(client, n)
        return failures

    async def waiter() -> float:
        began = time.monotonic()
        try:
            async with pinned_mcp(two.url, victim) as (client, _, _):
                await call(client, "wait_for_messages", room_id=quiet_id, since_id=0, timeout=60)
        except Exception:
            return time.monotonic() - began
        raise AssertionError("a wait on a silent room returned without an error")

    waits = [asyncio.create_task(waiter()) for _ in range(3)]
    await wait_until_parked(two.url, {victim}, 3)
    posts = [asyncio.create_task(poster((victim, survivor)[n % 2], n)) for n in range(6)]
    while len(acknowledged) < 30:  # posts flowing on both workers
        await asyncio.sleep(0.01)
    killed_at = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    failed_after = await asyncio.wait_for(asyncio.gather(*waits), 30)
    assert all(seconds < 15 for seconds in failed_after), failed_after
    assert time.monotonic() - killed_at < 15
    count_at_kill = len(acknowledged)
    while len(acknowledged) < count_at_kill + 60:  # and posting carries on
        await asyncio.sleep(0.01)
    stop.set()
    failures = await asyncio.wait_for(asyncio.gather(*posts), 30)
    assert sum(failures) >= 1  # the victim's posters did lose their connection
    stored = httpx.get(f"{two.url}/api/rooms/{room_id}/messages?limit=1000").json()["messages"]
    assert set(acknowledged) <= {m["id"] for m in stored}
    assert len(acknowledged) == len(set(acknowledged))
    # The supervisor replaced the dead worker.
    deadline = time.monotonic() + 30
    while victim in worker_pids(two.home) or len(worker_pids(two.home)) < 2:
        assert time.monotonic() < deadline, "the killed worker was not replaced"
        await asyncio.sleep(0.05)
    assert all(alive(pid) for pid in worker_pids(two.home))
    assert "died (signal SIGKILL); restarting it" in "".join(two.output)


def test_status_and_stop_describe_and_stop_the_whole_server(
    two: ServerProcess, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
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
    servers = [team_server(h, empty_postgres_url, 2) for h in homes]
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


async def follow(base: str, room_id: str, want: set[int], seen: list[int]) -> list[int]:
    """An EventSource: reads the room's feed, reconnecting with Last-Event-ID when it
    ends or cannot connect, until every id in `want` (filled by the caller) is seen."""
    last = 0
    async with httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(10, read=60)) as http:
        while not (want and want <= set(seen)):
            try:
                path = f"/api/rooms/{room_id}/stream?last_event_id={last}"
                async with http.stream("GET", path) as response:
                    if response.status_code != 200:
                        await asyncio.sleep(0.2)  # the database is down: try again
                        continue
                    event, event_id = "", ""
                    async for line in response.aiter_lines():
                        if line.startswith("event:"):
                            event = line[6:].strip()
                        elif line.startswith("id:"):
                            event_id = line[3:].strip()
                        elif not line:
                            if event == "message" and event_id:
                                last = int(event_id)
                                seen.append(last)
                                if want and want <= set(seen):
                                    return seen
                            event, event_id = "", ""
            except httpx.TransportError:
                await asyncio.sleep(0.2)
    return seen


async def test_postgres_restart_under_load_errors_clearly_then_recovers(
    two: ServerProcess, postgres_server: Any
) -> None:
    pids = worker_pids(two.home)
    room_id = httpx.post(f"{two.url}/api/rooms", json={"project": "team", "name": "outage"})
    room_id = room_id.json()["id"]
    acknowledged: list[int] = []
    refusals: list[dict[str, Any]] = []
    stop = asyncio.Event()

    async def poster(n: int) -> None:
        limits = httpx.Limits(max_keepalive_connections=0)  # each post to any worker
        async with httpx.AsyncClient(base_url=two.url, timeout=10, limits=limits) as http:
            while not stop.is_set():
                try:
                    answer = await http.post(
                        f"/api/rooms/{room_id}/messages", json={"sender": f"p{n}", "content": "x"}
                    )
                except httpx.TransportError:
                    continue
                if answer.status_code in (200, 201):
                    acknowledged.append(answer.json()["id"])
                else:
                    refusals.append({"status": answer.status_code, **answer.json()["error"]})
                    await asyncio.sleep(0.05)

    want: set[int] = set()
    seen_lists: list[list[int]] = [[] for _ in range(4)]
    streams = [asyncio.create_task(follow(two.url, room_id, want, seen)) for seen in seen_lists]
    posters = [asyncio.create_task(poster(n)) for n in range(4)]
    while len(acknowledged) < 20:
        await asyncio.sleep(0.01)
    before_outage = max(acknowledged)

    async def waiter() -> tuple[float, Any]:
        began = time.monotonic()
        async with Client(two.mcp_url, mode="2026-07-28") as client:
            result = await client.call_tool(
                "wait_for_messages",
                {"room_id": room_id, "since_id": before_outage, "timeout": 30},
            )
        return time.monotonic() - began, result

    postgres_server.stop("fast")
    waits = [asyncio.create_task(waiter()) for _ in range(4)]
    try:
        while not any(r["status"] == 503 for r in refusals):
            await asyncio.sleep(0.02)
        async with Client(two.mcp_url, mode="2026-07-28") as client:
            down = await client.call_tool(
                "read_messages", {"room_id": room_id, "since_id": 0, "limit": 1}
            )
        assert down.is_error
        assert "\n" not in down.content[0].text.strip()  # type: ignore[union-attr]
    finally:
        postgres_server.start()
    count_at_recovery = len(acknowledged)
    deadline = time.monotonic() + 60
    while len(acknowledged) < count_at_recovery + 40:  # recovered without a restart
        assert time.monotonic() < deadline, "posting did not recover"
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.gather(*posters)
    stored = httpx.get(f"{two.url}/api/rooms/{room_id}/messages?limit=1000").json()["messages"]
    stored_ids = [m["id"] for m in stored]
    assert set(acknowledged) <= set(stored_ids)
    want.update(stored_ids)
    deadline = time.monotonic() + 60
    while not all(set(stored_ids) <= set(seen) for seen in seen_lists):
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    for task in streams:
        task.cancel()
    for seen in seen_lists:
        missing, extra = set(stored_ids) - set(seen), len(seen) - len(set(seen))
        assert not missing and not extra, f"missing {sorted(missing)[:20]}, {extra} repeated"
        assert seen == sorted(stored_ids)  # no gap, no duplicate, in order, across the outage
    for seconds, result in await asyncio.wait_for(asyncio.gather(*waits), 60):
        assert seconds < 40  # none hung past its timeout
        if result.is_error:
            assert "\n" not in result.content[0].text.strip()
        elif not result.structured_content["timed_out"]:
            assert result.structured_content["messages"][0]["id"] > before_outage
    # Each refusal was a clear one-line error, and chatnut itself never restarted.
    for refusal in refusals:
        assert refusal["status"] == 503 and "\n" not in refusal["message"], refusal
    assert worker_pids(two.home) == pids and all(alive(pid) for pid in pids)
