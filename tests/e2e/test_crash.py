"""kill -9 of the real server in the middle of a mixed storm of writes.

Several agents post, update statuses, register agents and archive rooms at
once; the server is killed after a random number of acknowledgements (the
kill point is drawn from a seeded generator, so a failure can be replayed with
CHATNUT_CRASH_SEED). After each restart: every acknowledged write is there as
it was acknowledged, every stored message is one that some agent sent, whole,
the id sequence continues, and the per-room counters agree with the rows;
on SQLite the file and its FTS5 index check clean too. Both backends: on
PostgreSQL the chatnut server is killed and the database stays up.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from mcp import Client

from tests.helpers import ServerProcess

pytestmark = [pytest.mark.anyio, pytest.mark.e2e, pytest.mark.both_backends, pytest.mark.slow]

# SQLite recovers its WAL on every restart; PostgreSQL recovers nothing here.
ROUNDS = {"sqlite": 4, "postgres": 2}
AGENTS = 6
SEED = int(os.environ.get("CHATNUT_CRASH_SEED", "20261124"))


@dataclass
class Ledger:
    """What the agents sent, and what the server acknowledged, in one round."""

    sent_contents: set[str] = field(default_factory=set)
    posts: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[tuple[str, str, str]] = field(default_factory=list)
    agents: list[tuple[str, str, str]] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)
    acks: int = 0
    reached: asyncio.Event = field(default_factory=asyncio.Event)
    kill_after: int = 0

    def ack(self) -> None:
        self.acks += 1
        if self.acks >= self.kill_after:
            self.reached.set()


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content[0].text
    data: dict[str, Any] = result.structured_content
    return data


async def agent(url: str, rooms: list[str], ledger: Ledger, n: int, rnd: random.Random) -> None:
    async with Client(url, mode="legacy") as client:
        for i in range(100_000):
            room = rnd.choice(rooms)
            kind = rnd.random()
            if kind < 0.6:
                # Sizes from a few bytes to several pages: a torn write would show.
                content = f"agent {n} says {i}: " + "x" * rnd.choice([0, 10, 3000, 20000])
                ledger.sent_contents.add(content)
                posted = await call(
                    client, "post_message", room_id=room, sender=f"agent-{n}", content=content
                )
                ledger.posts.append(posted)
            elif kind < 0.75:
                sender, status = f"s-{n}-{i}", f"working on {i}"
                await call(client, "update_status", room_id=room, sender=sender, status=status)
                ledger.statuses.append((room, sender, status))
            elif kind < 0.9:
                name, task = f"a-{n}-{i}", f"task-{i}"
                await call(client, "register_agent", room_id=room, agent_name=name, task_id=task)
                ledger.agents.append((room, name, task))
            else:
                project, name = "storm", f"doomed-{n}-{i}-{rnd.random():.9f}"
                await call(client, "init_room", project=project, name=name)
                archived = await call(client, "archive_room", project=project, name=name)
                ledger.archived.append(archived["name"])
            ledger.ack()


async def storm_until_killed(server: ServerProcess, rooms: list[str], ledger: Ledger) -> None:
    rnd = random.Random(SEED + ledger.kill_after)

    async def kill_when_reached() -> None:
        await ledger.reached.wait()
        server.kill()

    async def run_agent(n: int) -> None:
        # Once the server is gone, every call (and the client's own tasks) fails.
        with contextlib.suppress(Exception):
            await agent(server.mcp_url, rooms, ledger, n, random.Random(rnd.random()))

    killer = asyncio.create_task(kill_when_reached())
    with contextlib.suppress(Exception):
        await asyncio.wait_for(asyncio.gather(*(run_agent(n) for n in range(AGENTS))), 120)
    await asyncio.wait_for(killer, 10)
    assert server.proc is not None and server.proc.returncode == -9


Rows = Callable[..., Awaitable[list[tuple[Any, ...]]]]


@contextlib.asynccontextmanager
async def stored_tables(where: Path | str) -> AsyncIterator[Rows]:
    """`rows(sql, *params)` over the tables the killed server left, read beside it
    (the SQLite file, or the PostgreSQL database by its URL); `?` placeholders."""
    if isinstance(where, str):
        conn = await asyncpg.connect(where)
        try:

            async def pg_rows(sql: str, *params: Any) -> list[tuple[Any, ...]]:
                parts = sql.split("?")
                numbered = parts[0] + "".join(f"${i}{p}" for i, p in enumerate(parts[1:], 1))
                return [tuple(r) for r in await conn.fetch(numbered, *params)]

            yield pg_rows
        finally:
            await conn.close()
        return
    # Read-write only because FTS5's integrity-check is spelled as an INSERT; it writes nothing.
    lite = sqlite3.connect(where, timeout=10)
    try:

        async def sqlite_rows(sql: str, *params: Any) -> list[tuple[Any, ...]]:
            return list(lite.execute(sql, params).fetchall())

        # SQLite's own checks: the file, the foreign keys, and the FTS5 index
        # against the messages table (raises if they differ).
        assert await sqlite_rows("PRAGMA integrity_check") == [("ok",)]
        assert await sqlite_rows("PRAGMA foreign_key_check") == []
        lite.execute("INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')")
        yield sqlite_rows
    finally:
        lite.close()


async def check_database(
    where: Path | str, rooms: list[str], ledger: Ledger, known: Callable[[str], bool]
) -> int:
    async with stored_tables(where) as rows:
        stored = {
            row[0]: row[1:]
            for row in await rows("SELECT id, room_id, sender, content, created_at FROM messages")
        }
        for posted in ledger.posts:
            assert stored[posted["id"]] == (
                posted["room_id"],
                posted["sender"],
                posted["content"],
                posted["created_at"],
            ), f"acknowledged message {posted['id']} lost or changed"
        in_storm = [v for v in stored.values() if v[0] in rooms]
        for room_id, _sender, content, _at in in_storm:
            assert known(content), f"a message nobody sent, or a torn one, in {room_id}"
        for room_id, sender, status in ledger.statuses:
            assert await rows(
                "SELECT status FROM room_status WHERE room_id=? AND sender=?", room_id, sender
            ) == [(status,)]
        for room_id, name, task in ledger.agents:
            assert await rows(
                "SELECT task_id FROM agent_registry WHERE room_id=? AND agent_name=?",
                room_id,
                name,
            ) == [(task,)]
        for name in ledger.archived:
            assert await rows(
                "SELECT status FROM rooms WHERE project='storm' AND name=?", name
            ) == [("archived",)]
        # The counters kept by triggers agree with the rows they count.
        assert (
            await rows(
                "SELECT s.room_id FROM room_stats s WHERE s.message_count !="
                " (SELECT count(*) FROM messages m WHERE m.room_id = s.room_id)"
                " OR coalesce(s.last_message_id, 0) !="
                " (SELECT coalesce(max(id), 0) FROM messages m WHERE m.room_id = s.room_id)",
            )
            == []
        )
        return max(stored, default=0)


async def test_kill_9_during_a_mixed_storm_loses_nothing_acknowledged(
    server: ServerProcess, backend: str, database_url: str | None
) -> None:
    """On PostgreSQL the chatnut server is what dies (the database stays up): the
    commits it acknowledged are there, and its replacement carries on."""
    rnd = random.Random(SEED)
    async with Client(server.mcp_url, mode="legacy") as setup:
        rooms = [
            (await call(setup, "init_room", project="storm", name=f"room-{k}"))["id"]
            for k in range(3)
        ]
    every_content: set[str] = set()
    where: Path | str = database_url or server.home / "chatnut.db"
    for _ in range(ROUNDS[backend]):
        ledger = Ledger(kill_after=rnd.randint(20, 250))
        await storm_until_killed(server, rooms, ledger)
        every_content |= ledger.sent_contents
        server.start()  # the same home: the WAL is recovered on open
        last_id = await check_database(where, rooms, ledger, every_content.__contains__)
        async with Client(server.mcp_url, mode="2026-07-28") as client:
            after = await call(
                client, "post_message", room_id=rooms[0], sender="after", content="still here"
            )
            assert after["id"] > last_id  # the sequence continues, never reuses
            every_content.add("still here")
    server.stop()
    async with stored_tables(where) as rows:  # checks SQLite's file once more
        assert await rows("SELECT content FROM messages WHERE sender = 'after'")
