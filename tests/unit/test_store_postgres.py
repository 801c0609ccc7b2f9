"""What only the PostgreSQL store has: ids visible in commit order across processes,
commits of other processes delivered to this one's hub (also after a lost LISTEN
connection), outages answered in one line and recovered from, migrations run
once by many starting stores, and the driver named when it is missing."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest

from chatnut.errors import StorageUnavailable
from chatnut.hub import Event, Hub
from chatnut.service import ChatService
from chatnut.store import open_store
from chatnut.store.base import Store, StoreOpenError
from chatnut.store.postgres import LISTEN_APPLICATION
from tests.dump import postgres_pages
from tests.helpers import waiting_by_name
from tests.postgres import PostgresServer, start_server

pytestmark = pytest.mark.anyio


async def opened(url: str, hub: Hub | None = None) -> Store:
    store = open_store(url, on_commit=None if hub is None else hub.publish)
    await store.open()
    return store


@pytest.fixture
async def three(postgres_url: str) -> AsyncIterator[list[tuple[Store, Hub, ChatService]]]:
    """Three stores on one database, each with its own hub: three workers."""
    stores = []
    for _ in range(3):
        hub = Hub()
        store = await opened(postgres_url, hub)
        stores.append((store, hub, ChatService(store, hub)))
    yield stores
    for store, _, _ in stores:
        await store.close()


def message_ids(events: list[Event]) -> list[int]:
    return [e.data["id"] for e in events if e.kind == "message"]


async def test_every_reader_sees_every_message_once_in_id_order(
    three: list[tuple[Store, Hub, ChatService]],
) -> None:
    """32 posters spread over three stores; on each store a reader loops since_id and
    a hub subscriber follows: all see every message exactly once, in id order."""
    services = [service for _, _, service in three]
    room = await services[0].init_room("p", "ordering")
    per_poster, posters = 15, 32
    total = per_poster * posters
    done = asyncio.Event()
    seen_by_reader: list[list[int]] = [[] for _ in services]

    async def poster(n: int) -> list[int]:
        service = services[n % len(services)]
        return [
            (await service.post_message(room["id"], f"agent-{n}", f"{n}/{i}"))["id"]
            for i in range(per_poster)
        ]

    async def reader(k: int) -> None:
        since = 0
        while True:
            finished = done.is_set()
            page = await services[k].read_messages(room["id"], since_id=since, limit=50)
            for message in page["messages"]:
                seen_by_reader[k].append(message["id"])
                since = message["id"]
            if finished and not page["messages"]:
                return

    subs = [hub.subscribe(room["id"], capacity=10 * total) for _, hub, _ in three]
    entered = [sub.__enter__() for sub in subs]
    try:
        readers = [asyncio.create_task(reader(k)) for k in range(len(services))]
        posted = await asyncio.gather(*[poster(n) for n in range(posters)])
        done.set()
        await asyncio.wait_for(asyncio.gather(*readers), 60)
        every = sorted(i for ids in posted for i in ids)
        assert len(set(every)) == total
        for ids in seen_by_reader:
            assert ids == every  # each once, in order, none skipped
        for sub in entered:  # and every process's hub, fed by LISTEN/NOTIFY
            for _ in range(200):
                if len(sub.buffer) >= total:
                    break
                await asyncio.sleep(0.05)
            assert message_ids(sub.drain()) == every
    finally:
        for sub in subs:
            sub.__exit__(None, None, None)


async def test_a_post_on_one_store_wakes_a_wait_on_another(
    three: list[tuple[Store, Hub, ChatService]],
) -> None:
    (_, _, first), (_, _, second), _ = three
    room = await first.init_room("p", "wake")
    waiter = asyncio.create_task(second.wait_for_messages(room["id"], 0, timeout=30))
    while three[1][1].subscriber_count(room["id"]) == 0:
        await asyncio.sleep(0.01)
    posted = await first.post_message(room["id"], "a", "across processes", to="bob")
    result = await asyncio.wait_for(waiter, 10)
    assert [m["id"] for m in result["messages"]] == [posted["id"]]
    assert result["messages"][0]["to"] == ["bob"]
    inbox = await second.check_inbox("bob", since_id=0)
    assert [m["id"] for m in inbox["messages"]] == [posted["id"]]


async def test_an_addressed_post_on_one_store_wakes_named_waits_on_another(
    three: list[tuple[Store, Hub, ChatService]],
) -> None:
    """The addressees travel with the event between processes: a filtered wait and
    a parked inbox on another worker sleep through other posts and wake on theirs."""
    (_, _, first), (_, hub, second), _ = three
    room = await first.init_room("p", "named")
    await first.register_agent(room["id"], "dev", "t")
    wait = asyncio.create_task(
        second.wait_for_messages(room["id"], 0, timeout=30, addressed_to="dev")
    )
    inbox = asyncio.create_task(second.check_inbox("dev", timeout=30))
    while not (second.presence.waiting(room["id"], "dev") and hub.subscriber_count() >= 2):
        await asyncio.sleep(0.01)  # both parked on the second worker
    await first.post_message(room["id"], "qa", "not for dev", to="qa")
    mention = await first.post_message(room["id"], "qa", "over to @dev")
    waited, boxed = await asyncio.wait_for(asyncio.gather(wait, inbox), 10)
    assert [m["id"] for m in waited["messages"]] == [mention["id"]]
    assert [m["id"] for m in boxed["messages"]] == [mention["id"]]


async def waiting_as_seen_by(service: ChatService, room_id: str) -> list[dict[str, bool]]:
    """`waiting` of each name as agents, statuses and the handoff show it."""
    agents = (await service.list_agents(room_id))["agents"]
    statuses = (await service.get_team_status(room_id))["statuses"]
    handoff = await service.get_handoff(room_id, "lead", note_presence=False)
    return waiting_by_name(agents, statuses, handoff)


async def until_waiting(
    service: ChatService, room_id: str, expected: dict[str, bool], seconds: float
) -> float:
    """Polls until every view of `service` shows `expected`; how long that took."""
    began = time.monotonic()
    while (seen := await waiting_as_seen_by(service, room_id)) != [expected] * 4:
        assert time.monotonic() - began < seconds, f"after {seconds} s: {seen}, not {expected}"
        await asyncio.sleep(0.05)
    return time.monotonic() - began


async def test_a_named_wait_on_one_store_shows_as_waiting_on_the_others(
    three: list[tuple[Store, Hub, ChatService]],
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Presence's `waiting` is every process's: a wait parked on the second store
    and an inbox parked on the third show on the first within the publication
    bound, and stop showing when they return; a store that dies without a word
    stops counting once its beat is stale."""
    from chatnut.store.postgres import parked

    (_, _, first), (second_store, _, second), (third_store, _, third) = three
    room = (await first.init_room("p", "presence"))["id"]
    for name in ("dev", "qa"):
        await first.register_agent(room, name, "t")
        await first.update_status(room, name, "on it")
    bound = parked.PUBLISH_EVERY_S + 2  # + a loaded machine's slack
    await until_waiting(first, room, {"dev": False, "qa": False}, bound)
    wait = asyncio.create_task(second.wait_for_messages(room, 0, timeout=60, addressed_to="dev"))
    inbox = asyncio.create_task(third.check_inbox("qa", timeout=60))
    await until_waiting(first, room, {"dev": True, "qa": True}, bound)
    await until_waiting(second, room, {"dev": True, "qa": True}, bound)
    # Rows lost behind the workers' backs (a PostgreSQL crash empties UNLOGGED
    # tables): each worker's next beat finds itself gone and writes its set again.
    conn = await asyncpg.connect(postgres_url)
    try:
        await conn.execute("DELETE FROM parked_workers")  # and their waits (cascade)
        deadline = time.monotonic() + parked.BEAT_EVERY_S + bound
        while await conn.fetchval("SELECT count(*) FROM parked_waits") < 2:
            assert time.monotonic() < deadline, "the parked waits were never written again"
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
    await until_waiting(first, room, {"dev": True, "qa": True}, bound)
    go = await first.post_message(room, "lead", "go", to=["dev", "qa"])
    await asyncio.wait_for(asyncio.gather(wait, inbox), 10)
    await until_waiting(first, room, {"dev": False, "qa": False}, bound)
    # Only the stores that parked a wait wrote (not the first); one that closes
    # takes its rows with it at once.
    conn = await asyncpg.connect(postgres_url)
    try:
        workers = "SELECT count(*) FROM parked_workers"
        assert await conn.fetchval(workers) == 2
        await second_store.close()
        assert await conn.fetchval(workers) == 1
    finally:
        await conn.close()

    # The third store's process "dies": its board stops beating, its rows stay.
    monkeypatch.setattr(parked, "STALE_AFTER_S", 2.0)
    inbox = asyncio.create_task(third.check_inbox("qa", since_id=go["id"], timeout=60))
    await until_waiting(first, room, {"dev": False, "qa": True}, bound)
    board = third_store._parked  # type: ignore[attr-defined]
    board._task.cancel()
    took = await until_waiting(first, room, {"dev": False, "qa": False}, 2.0 + bound)
    assert took >= 0.5  # it was the beat that ran out, not the wait that ended
    assert not inbox.done()
    inbox.cancel()


async def terminate_listeners(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return len(
            await conn.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = $1 AND datname = current_database()",
                LISTEN_APPLICATION,
            )
        )
    finally:
        await conn.close()


async def test_a_lost_listen_connection_catches_up_without_gap_or_duplicate(
    postgres_url: str,
) -> None:
    hub_a, hub_b = Hub(), Hub()
    a, b = await opened(postgres_url, hub_a), await opened(postgres_url, hub_b)
    try:
        writer = ChatService(a, hub_a)
        room = await writer.init_room("p", "reconnect")
        with hub_b.subscribe(room["id"], capacity=1000) as sub:
            before = [(await writer.post_message(room["id"], "a", f"b{i}"))["id"] for i in range(5)]
            assert await terminate_listeners(postgres_url) == 2  # both stores' listeners
            during = [
                (await writer.post_message(room["id"], "a", f"d{i}"))["id"] for i in range(20)
            ]
            after = [(await writer.post_message(room["id"], "a", f"a{i}"))["id"] for i in range(5)]
            want = before + during + after
            got: list[int] = []
            for _ in range(300):  # the listener reconnects with backoff and catches up
                got += message_ids(sub.drain())
                if len(got) >= len(want):
                    break
                await asyncio.sleep(0.05)
            assert got == want
    finally:
        await a.close()
        await b.close()


async def test_migrations_run_once_when_many_stores_start_together(
    empty_postgres_url: str,
) -> None:
    stores = [open_store(empty_postgres_url) for _ in range(6)]
    applied = await asyncio.gather(*[s.open() for s in stores])
    try:
        assert sum(1 for names in applied if names) == 1
        conn = await asyncpg.connect(empty_postgres_url)
        versions = [r[0] for r in await conn.fetch("SELECT version FROM chatnut_migrations")]
        await conn.close()
        assert sorted(versions) == sorted(set(versions)) and versions
    finally:
        for store in stores:
            await store.close()


async def test_a_newer_schema_is_refused(postgres_url: str) -> None:
    conn = await asyncpg.connect(postgres_url)
    await conn.execute("INSERT INTO chatnut_migrations VALUES (99, 'future', 'then')")
    await conn.close()
    with pytest.raises(StoreOpenError, match=r"schema version 99, newer than this chatnut"):
        await open_store(postgres_url).open()


@pytest.fixture
def own_server() -> Iterator[PostgresServer]:
    """A PostgreSQL of this test's own: it is stopped and started under load."""
    server = start_server()
    yield server
    server.close()


async def test_an_outage_is_one_line_and_the_store_recovers_alone(
    own_server: PostgresServer,
) -> None:
    url = own_server.url(own_server.fresh_database())
    hub = Hub()
    store = await opened(url, hub)
    service = ChatService(store, hub)
    try:
        room = await service.init_room("p", "outage")
        first = await service.post_message(room["id"], "a", "before")
        with hub.subscribe(room["id"], capacity=100) as sub:
            own_server.stop("immediate")
            for call in (
                service.post_message(room["id"], "a", "during"),
                service.read_messages(room["id"]),
                service.ping(),
            ):
                with pytest.raises(StorageUnavailable) as caught:
                    await asyncio.wait_for(call, 30)
                assert "\n" not in caught.value.message
                assert caught.value.message.startswith("the database is unavailable")
            own_server.start()
            second: dict[str, Any] = {}
            for _ in range(100):  # the pool reconnects on the next call
                try:
                    second = await service.post_message(room["id"], "a", "after")
                    break
                except StorageUnavailable:
                    await asyncio.sleep(0.1)
            assert second, "no recovery"
            got: list[int] = []
            for _ in range(200):
                got += message_ids(sub.drain())
                if second["id"] in got:
                    break
                await asyncio.sleep(0.05)
            assert got == [second["id"]]
        page = await service.read_messages(room["id"])
        assert [m["content"] for m in page["messages"]] == ["before", "after"]
        assert page["messages"][0]["id"] == first["id"]
    finally:
        await store.close()


async def test_a_connection_left_inconsistent_by_an_outage_is_an_outage(
    postgres_url: str,
) -> None:
    """A session the server ended mid-transaction can leave asyncpg's protocol
    inconsistent; the next call on that connection then fails with an internal
    client error. That is the outage speaking, answered as one: a 503's line."""
    store = await opened(postgres_url)

    async def left_inconsistent(conn: Any) -> None:
        raise asyncpg.InternalClientError(
            "cannot switch to state 11; another operation (2) is in progress"
        )

    try:
        with pytest.raises(StorageUnavailable) as caught:
            await store._read(left_inconsistent)  # type: ignore[attr-defined]
        assert caught.value.http_status == 503
        assert caught.value.message == (
            "the database is unavailable (cannot switch to state 11; another operation (2)"
            " is in progress); try again shortly"
        )
    finally:
        await store.close()


def test_without_the_driver_a_postgres_url_names_the_pip_command(postgres_url: str) -> None:
    script = (
        "import sys; sys.modules['asyncpg'] = None\n"
        "from chatnut.cli import main\n"
        f"sys.exit(main(['serve', '--port', '0', '--db', {postgres_url!r}]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if "pip install" in line]
    assert lines and "pip install 'chatnut[postgres]'" in lines[0], done.stderr


async def test_a_filtered_read_never_looks_past_a_post_still_in_flight(postgres_url: str) -> None:
    """A post holds the write lock from taking its id to its commit; a filtered
    read meanwhile must not report that id as looked at, or the message (once
    committed) would never be read by whoever it is addressed to."""
    hub = Hub()
    store = await opened(postgres_url, hub)
    service = ChatService(store, hub)
    room = await service.init_room("p", "in-flight")
    before = await service.post_message(room["id"], "qa", "first", to="qa")
    conn = await asyncpg.connect(postgres_url)
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(7365616)")
            pending = int(await conn.fetchval("SELECT nextval('message_ids')"))
            page = await service.read_messages(room["id"], 0, 100, None, "dev")
            inbox = await service.check_inbox("dev")
            handoff = await service.get_handoff(room["id"], "dev")
            assert page["next_since_id"] == before["id"] < pending
            assert inbox["next_since_id"] == before["id"]
            assert handoff["next_since_id"] == before["id"]
            # A feed starting "from now" must not start past it either.
            assert await store.newest_message_id() == before["id"]
            raise asyncio.CancelledError  # roll the pending post back
    except asyncio.CancelledError:
        pass
    finally:
        await conn.close()
        await store.close()


async def test_posts_that_queue_up_share_one_commit_in_order(postgres_url: str) -> None:
    """64 posts at once on one store: every one acknowledged with its own id, in
    the order they were made, and written by a handful of transactions (the rows'
    xmin), not 64 — the lock and the WAL flush are paid once per batch."""
    hub = Hub()
    store = await opened(postgres_url, hub)
    service = ChatService(store, hub)
    try:
        room = await service.init_room("p", "group-commit")
        posted = await asyncio.gather(
            *(service.post_message(room["id"], f"agent-{n}", f"post {n}") for n in range(64))
        )
        ids = [p["id"] for p in posted]
        assert ids == sorted(ids) and len(set(ids)) == 64
        page = await service.read_messages(room["id"], 0, 100)
        assert [m["content"] for m in page["messages"]] == [f"post {n}" for n in range(64)]
        conn = await asyncpg.connect(postgres_url)
        try:
            transactions = await conn.fetchval(
                "SELECT count(DISTINCT xmin::text) FROM messages WHERE id = ANY($1::bigint[])", ids
            )
        finally:
            await conn.close()
        assert 1 <= transactions <= 4, transactions
    finally:
        await store.close()


async def test_a_post_that_fails_in_a_batch_fails_alone(postgres_url: str) -> None:
    """One post of a batch that the database refuses (a NULL type, which the
    service never sends) fails on its own; the posts batched with it land."""
    from chatnut.store.postgres import PostgresStore

    store = await opened(postgres_url)
    assert isinstance(store, PostgresStore) and store._posts is not None
    try:
        room, _ = await store.create_room(
            {
                "id": "r-batch",
                "name": "batch",
                "project": "p",
                "branch": None,
                "description": None,
                "created_at": "2026-12-01T00:00:00Z",
            }
        )

        def args(content: str, kind: str | None) -> tuple[Any, ...]:
            return (room["id"], "a", content, kind, None, None, [], [], None, None)

        results = await asyncio.gather(
            store._posts.post(args("one", "message")),
            store._posts.post(args("bad", None)),
            store._posts.post(args("three", "message")),
            return_exceptions=True,
        )
        assert isinstance(results[1], asyncpg.NotNullViolationError)
        assert [r["outcome"] for r in (results[0], results[2])] == ["ok", "ok"]
        messages, _ = await store.message_page(room["id"], limit=10)
        assert [m["content"] for m in messages] == ["one", "three"]
    finally:
        await store.close()


async def test_closing_mid_batch_fails_its_posts_and_the_queued_ones(postgres_url: str) -> None:
    """The store closes (the server stopping) while a batch waits for the write
    lock and more posts queue behind it: every poster gets a one-line error at
    once — the interrupted ones told their post may have landed — and none hangs."""
    from chatnut.store.postgres import WRITE_LOCK, PostgresStore

    store = await opened(postgres_url)
    assert isinstance(store, PostgresStore) and store._posts is not None
    posts = store._posts
    room, _ = await store.create_room(
        {
            "id": "r-close",
            "name": "close",
            "project": "p",
            "branch": None,
            "description": None,
            "created_at": "2026-12-01T00:00:00Z",
        }
    )
    holder = await asyncpg.connect(postgres_url)
    try:
        holding = holder.transaction()
        await holding.start()
        await holder.execute("SELECT pg_advisory_xact_lock($1)", WRITE_LOCK)

        def post(content: str) -> asyncio.Task[Any]:
            args = (room["id"], "a", content, "message", None, None, [], [], None, None)
            return asyncio.create_task(posts.post(args))

        in_flight = [post("one"), post("two")]
        # Until the batch's chatnut_post waits on the lock: the batch is in flight.
        for _ in range(500):
            blocked = await holder.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            )
            if blocked:
                break
            await asyncio.sleep(0.01)
        assert blocked == 1
        queued = [post("three")]
        while posts._queue.empty():  # until it is queued behind the batch
            await asyncio.sleep(0)
        await asyncio.wait_for(store.close(), 10)
        results = await asyncio.wait_for(
            asyncio.gather(*in_flight, *queued, return_exceptions=True), 5
        )
        await holding.rollback()
    finally:
        await holder.close()
        await store.close()
    for result in results:
        assert isinstance(result, StorageUnavailable), result
        assert "\n" not in result.message
    assert all("may or may not have been saved" in r.message for r in results[:2])
    assert "was not saved" in results[2].message
    with pytest.raises(StorageUnavailable, match="was not saved"):
        await posts.post((room["id"], "a", "late", "message", None, None, [], [], None, None))


async def test_a_delete_prunes_the_old_text_from_a_page_another_session_holds(
    still_postgres_url: str,
) -> None:
    """A page pinned by another session (a reader mid-scan, the checkpointer
    writing it out) is one a plain VACUUM skips: the delete's vacuum waits for
    it instead, and the old text leaves the page once the reader lets go."""
    secret = "sk-live-PINNEDPAGEQZX"
    hub = Hub()
    store = await opened(still_postgres_url, hub)
    service = ChatService(store, hub)
    reader = await asyncpg.connect(still_postgres_url)
    watcher = await asyncpg.connect(still_postgres_url)
    reclaim = store._reclaim  # type: ignore[attr-defined]
    waited_for_the_page = False

    async def reclaim_while_a_reader_holds_the_page() -> None:
        nonlocal waited_for_the_page
        # The reader's snapshot is taken after the delete committed, so the old
        # row version is dead to it too: only its pin stands in the way.
        await reader.execute("BEGIN")
        await reader.execute("DECLARE held CURSOR FOR SELECT id FROM messages")
        await reader.fetch("FETCH 1 FROM held")  # its scan keeps the page pinned
        vacuum = asyncio.create_task(reclaim())
        while not vacuum.done() and not waited_for_the_page:
            waited_for_the_page = bool(
                await watcher.fetchval(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE wait_event = 'BufferPin' AND query LIKE 'VACUUM%'"
                )
            )
        await reader.execute("COMMIT")  # closes the cursor: the pin goes
        await vacuum

    try:
        store._reclaim = reclaim_while_a_reader_holds_the_page  # type: ignore[attr-defined]
        room = await service.init_room("p", "pinned")
        leak = await service.post_message(room["id"], "alice", f"the key is {secret}")
        assert secret in await postgres_pages(watcher, "messages")
        await service.delete_message(leak["id"], "alice")
        assert waited_for_the_page
        assert secret not in await postgres_pages(watcher, "messages")
    finally:
        await reader.close()
        await watcher.close()
        await store.close()
