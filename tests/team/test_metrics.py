"""`/metrics` on the real server: one scrape during load on a two-worker team server
names every series and counts what both workers did; the token guards it on the
main port; the loopback listener serves nothing else. The docs list each series.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from chatnut import __version__, metrics
from tests.helpers import TOKEN, ServerProcess, worker_pids
from tests.postgres import free_port
from tests.team.workers import call, pinned_mcp, wait_until_parked

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

DOCS = (Path(__file__).parents[2] / "docs" / "operating.md").read_text()
RULES = Path(__file__).parents[2] / "docs" / "prometheus-rules.yml"
SERIES = sorted(d.name for d in metrics._DECLARED)


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def total(found: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    return sum(
        value
        for have, value in found.get(name, [])
        if all(have.get(k) == v for k, v in labels.items())
    )


@pytest.fixture
def metrics_port() -> int:
    return free_port()


@pytest.fixture
def team(home: Path, postgres_url: str, metrics_port: int) -> Iterator[ServerProcess]:
    listen = f"127.0.0.1:{metrics_port}"
    process = ServerProcess(
        home, ["--db", postgres_url, "--workers", "2", "--metrics-listen", listen]
    )
    process.start()
    yield process
    process.stop()


async def test_one_scrape_during_load_names_every_series_and_counts_both_workers(
    team: ServerProcess, metrics_port: int
) -> None:
    first, second = sorted(worker_pids(team.home))
    async with httpx.AsyncClient(base_url=team.url, timeout=30) as http:
        room = (await http.post("/api/rooms", json={"project": "ops", "name": "load"})).json()
        quiet = (await http.post("/api/rooms", json={"project": "ops", "name": "quiet"})).json()
    posts = {first: 7, second: 11}

    async def post_on(pid: int) -> None:
        async with pinned_mcp(team.url, pid) as (client, _, _):
            for n in range(posts[pid]):
                await call(client, "post_message", room_id=room["id"], sender="a", content=f"{n}")

    async def wait_on(pid: int) -> dict[str, object]:
        async with pinned_mcp(team.url, pid) as (client, _, _):
            return await call(
                client, "wait_for_messages", room_id=quiet["id"], since_id=0, timeout=60
            )

    async def inbox_on(pid: int) -> dict[str, object]:
        async with pinned_mcp(team.url, pid) as (client, _, _):
            return await call(client, "check_inbox", agent_name="ops-lead", timeout=60)

    waits = [asyncio.create_task(wait_on(first)), asyncio.create_task(inbox_on(second))]
    try:
        await wait_until_parked(team.url, {first, second}, 1)
        await asyncio.gather(post_on(first), post_on(second))
        async with httpx.AsyncClient(timeout=30) as http:
            # A refusal (a name this server does not answer to), and an open stream.
            refused = await http.get(f"{team.url}/api/status", headers={"host": "evil.example"})
            assert refused.status_code == 403
            async with http.stream("GET", f"{team.url}/api/rooms/{room['id']}/stream") as stream:
                # Held in a name: a line iterator dropped after `break` is closed by
                # the garbage collector, and the stream with it.
                lines = stream.aiter_lines()
                async for line in lines:
                    if line.startswith("event: ready"):
                        break
                deadline = asyncio.get_running_loop().time() + 10
                while True:  # the samplers (pools, loop lag) run every second
                    scrape = await http.get(f"http://127.0.0.1:{metrics_port}/metrics")
                    found = samples(scrape.text)
                    if total(found, "chatnut_pool_connections", state="total") > 0:
                        break
                    assert asyncio.get_running_loop().time() < deadline
                    await asyncio.sleep(0.2)
        assert scrape.status_code == 200
        assert scrape.headers["content-type"].startswith("text/plain")
        missing = [name for name in SERIES if not any(s.startswith(name) for s in found)]
        assert missing == []
        # Both workers' posts, counted in the one scrape.
        assert total(found, "chatnut_posts_total") == 18
        assert total(found, "chatnut_mcp_calls_total", tool="post_message", outcome="ok") == 18
        assert total(found, "chatnut_pg_batch_size_count") >= 1
        assert total(found, "chatnut_pg_batch_size_sum") == 18
        assert total(found, "chatnut_parked", kind="wait") == 1
        assert total(found, "chatnut_parked", kind="inbox") == 1
        assert total(found, "chatnut_sse_streams") == 1
        assert total(found, "chatnut_refusals_total", reason="host") == 1
        assert total(found, "chatnut_connections") >= 1
        assert total(found, "chatnut_http_requests_total", route="/api/rooms", status="200") == 2
        build = found["chatnut_build_info"]
        assert {labels["version"] for labels, _ in build} == {__version__}

        # Wake one waiter: the wake latency is observed by the worker that answers it.
        async with pinned_mcp(team.url, second) as (client, _, _):
            await call(client, "post_message", room_id=quiet["id"], sender="b", content="wake")
            await call(client, "post_message", room_id=quiet["id"], sender="b", content="@ops-lead")
            await call(
                client,
                "post_message",
                room_id=quiet["id"],
                sender="b",
                content="hi",
                to=["ops-lead"],
            )
        woken = await asyncio.wait_for(asyncio.gather(*waits), 30)
    finally:
        # A failed assertion must not leave the waits to fail in a later test
        # (the event loop lives for the whole session).
        for task in waits:
            task.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
    assert all(answer["messages"] for answer in woken)
    async with httpx.AsyncClient(timeout=30) as http:
        after = samples((await http.get(f"http://127.0.0.1:{metrics_port}/metrics")).text)
    assert total(after, "chatnut_wake_seconds_count") == 2
    assert total(after, "chatnut_parked") == 0
    assert total(after, "chatnut_sse_streams") == 0


async def test_the_metrics_listener_serves_only_metrics_to_loopback_names(
    team: ServerProcess, metrics_port: int
) -> None:
    base = f"http://127.0.0.1:{metrics_port}"
    async with httpx.AsyncClient(timeout=30) as http:
        assert (await http.get(f"{base}/api/rooms")).status_code == 404
        assert (await http.get(f"{base}/")).status_code == 404
        foreign = await http.get(f"{base}/metrics", headers={"host": "attacker.example"})
        assert foreign.status_code == 403
        assert (await http.get(f"{base}/metrics", headers={"host": "localhost"})).status_code == 200


def test_metrics_on_the_main_port_need_the_token(token_server: ServerProcess) -> None:
    anonymous = httpx.get(f"{token_server.url}/metrics", timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthorized"
    wrong = httpx.get(f"{token_server.url}/metrics", headers={"authorization": "Bearer no"})
    assert wrong.status_code == 401
    good = httpx.get(
        f"{token_server.url}/metrics", headers={"authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    assert good.status_code == 200
    found = samples(good.text)
    assert total(found, "chatnut_refusals_total", reason="auth") == 2


def test_a_bad_metrics_listener_is_refused_in_one_line(home: Path) -> None:
    process = ServerProcess(home, ["--metrics-listen", "0.0.0.0:9108"])
    with pytest.raises(RuntimeError, match=r"not a loopback address"):
        process.start()
    process.kill()
    assert not (home / "server.port").exists()


def test_the_docs_list_each_series_and_the_rules_file_parses() -> None:
    for name in SERIES:
        assert f"`{name}" in DOCS, name
    rules = RULES.read_text()
    # Each alert names series that exist.
    named = set(re.findall(r"\bchatnut_[a-z_]+", rules))
    assert named
    for name in named:
        assert any(name.startswith(series) for series in SERIES), name
    for alert in ("NotReady", "WakeLatency", "Refusals", "PoolExhausted"):
        assert f"alert: Chatnut{alert}" in rules
