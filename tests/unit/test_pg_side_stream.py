"""Read cursors and statuses on PostgreSQL: off the lock that orders posts, on a
stream of their own between processes (store/postgres/side_stream.py).

While another transaction holds the write lock, posts wait and cursors and
statuses do not; every other process hears each change once, in commit
order; the refusals stay whole (nothing written)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import asyncpg
import pytest

from chatnut.errors import ChatnutError, NotFound
from chatnut.hub import Event
from chatnut.store import open_store
from chatnut.store.base import Store
from chatnut.store.postgres import WRITE_LOCK

pytestmark = pytest.mark.anyio


class Worker:
    """One store with what its hub would have been told."""

    def __init__(self, url: str) -> None:
        self.heard: list[Event] = []
        self.store: Store = open_store(url, on_commit=self.heard.extend)

    def of(self, kind: str) -> list[dict[str, object]]:
        return [e.data for e in self.of_kind(kind)]

    def of_kind(self, kind: str) -> list[Event]:
        return [e for e in self.heard if e.kind == kind]


@pytest.fixture
async def two(postgres_url: str) -> AsyncIterator[tuple[Worker, Worker]]:
    workers = (Worker(postgres_url), Worker(postgres_url))
    for worker in workers:
        await worker.store.open()
    yield workers
    for worker in workers:
        await worker.store.close()


async def until(condition: Callable[[], bool], seconds: float = 10) -> None:
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0.01)


async def make_room(store: Store, name: str) -> str:
    room, _ = await store.create_room(
        {
            "id": f"room-{name}",
            "name": name,
            "project": "p",
            "branch": None,
            "description": None,
            "created_at": "2026-12-05T00:00:00.000+00:00",
        }
    )
    return str(room["id"])


async def post(store: Store, room: str, text: str) -> int:
    message = await store.post_message(
        room, "a", text, "message", None, reply_to=None, mentioned=()
    )
    return int(message["id"])


async def test_cursors_and_statuses_do_not_wait_for_the_write_lock(
    two: tuple[Worker, Worker], postgres_url: str
) -> None:
    a, _ = two
    room = await make_room(a.store, "lock")
    newest = await post(a.store, room, "one")
    holder = await asyncpg.connect(postgres_url)
    try:
        async with holder.transaction():
            await holder.execute("SELECT pg_advisory_xact_lock($1)", WRITE_LOCK)
            held_post = asyncio.ensure_future(post(a.store, room, "two"))
            cursor = await asyncio.wait_for(a.store.mark_read(room, "reader", newest), 5)
            status = await asyncio.wait_for(a.store.set_status(room, "dev", "testing"), 5)
            await asyncio.sleep(0.2)
            assert not held_post.done()  # the post does wait: it is ordered
        assert await asyncio.wait_for(held_post, 10) == newest + 1
    finally:
        await holder.close()
    assert cursor["last_read_message_id"] == newest
    assert status["status"] == "testing"


async def test_every_process_hears_each_change_once_in_commit_order(
    two: tuple[Worker, Worker],
) -> None:
    a, b = two
    room = await make_room(a.store, "order")
    ids = [await post(a.store, room, f"m{n}") for n in range(3)]
    for n in range(20):
        await a.store.set_status(room, "dev", f"step {n}")
    for message_id in ids:
        await a.store.mark_read(room, "reader", message_id)

    # A last change, heard in commit order after everything before it.
    await a.store.set_status(room, "marker", "last")
    await until(lambda: any(s["sender"] == "marker" for s in b.of("status")))
    for worker in (a, b):
        del worker.heard[-1]
    for worker in (a, b):  # the writer once (its own notification skipped), the other once
        assert [s["status"] for s in worker.of("status")] == [f"step {n}" for n in range(20)]
        assert [c["last_read_message_id"] for c in worker.of("read")] == ids
        assert {c["reader"] for c in worker.of("read")} == {"reader"}
    rows = {row["sender"]: row["status"] for row in await b.store.statuses(room)}
    assert rows == {"dev": "step 19", "marker": "last"}


async def test_a_cursor_never_moves_back_or_past_the_newest_message(
    two: tuple[Worker, Worker],
) -> None:
    a, b = two
    room = await make_room(a.store, "forward")
    first, second = await post(a.store, room, "1"), await post(a.store, room, "2")
    assert (await b.store.mark_read(room, "r", second))["last_read_message_id"] == second
    assert (await a.store.mark_read(room, "r", first))["last_read_message_id"] == second
    assert (await a.store.mark_read(room, "r", 2**62))["last_read_message_id"] == second


async def test_refusals_write_nothing(two: tuple[Worker, Worker]) -> None:
    a, b = two
    room = await make_room(a.store, "refused")
    other = await make_room(a.store, "other")
    await a.store.archive_room("p", "refused")
    await until(lambda: [e.data.get("action") for e in b.of_kind("room")][-1:] == ["archived"])
    heard_before = len(b.heard)
    with pytest.raises(ChatnutError, match="archived"):
        await a.store.set_status(room, "dev", "late")
    assert await a.store.statuses(room) == []
    with pytest.raises(NotFound, match="room-missing"):
        await a.store.mark_read("room-missing", "r", 1)
    with pytest.raises(NotFound, match="room-missing"):
        await a.store.set_status("room-missing", "dev", "x")
    await a.store.set_status(other, "marker", "last")  # heard after anything before it
    await until(lambda: len(b.heard) > heard_before)
    assert [(e.kind, e.room_id) for e in b.heard[heard_before:]] == [("status", other)]


async def test_a_room_deleted_while_its_cursor_moves_is_not_found_or_gone(
    two: tuple[Worker, Worker],
) -> None:
    a, b = two
    room = await make_room(a.store, "deleted")
    newest = await post(a.store, room, "1")
    await a.store.archive_room("p", "deleted")
    moves = [b.store.mark_read(room, f"r{n}", newest) for n in range(20)]
    results = await asyncio.gather(a.store.delete_room(room), *moves, return_exceptions=True)
    assert not isinstance(results[0], BaseException)
    for result in results[1:]:
        assert isinstance(result, dict | NotFound), result
    assert await a.store.room(room) is None


async def test_a_move_that_reads_a_directed_message_stamps_its_receipt(
    two: tuple[Worker, Worker],
) -> None:
    """The side path writes nothing when the move would stamp receipts: the move is
    made under the lock instead, with its `receipt` event, heard by every store."""
    a, b = two
    room = await make_room(a.store, "receipts")
    plain = await post(a.store, room, "for everyone")
    assert (await a.store.mark_read(room, "dev", plain))["last_read_message_id"] == plain
    directed = await a.store.post_message(
        room, "lead", "for dev", "message", None, reply_to=None, mentioned=(), to=["dev"]
    )
    cursor = await a.store.mark_read(room, "dev", directed["id"])
    assert cursor["last_read_message_id"] == directed["id"]
    receipts = await a.store.receipts([directed["id"]])
    assert receipts[directed["id"]]["dev"]["read_at"] is not None
    await until(lambda: any(e.kind == "receipt" for e in b.heard))
    await until(
        lambda: [c["last_read_message_id"] for c in b.of("read")] == [plain, directed["id"]]
    )
