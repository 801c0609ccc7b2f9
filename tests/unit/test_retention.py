"""Retention on both backends: old messages written to a .jsonl.gz then deleted
(gone from reads, search, counters and feeds), and `import` restoring them
equal, ids and receipts included.

Age without waiting: the job takes a `now`. Messages are posted in two
batches with a cut between them; running the job at cut + N days makes the
first batch exactly N days old.
"""

from __future__ import annotations

import gzip
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from chatnut.errors import Forbidden, InvalidInput
from chatnut.hub import Hub
from chatnut.principals import Caller
from chatnut.service import ChatService
from chatnut.service.retention import RETENTION_LOCK, RetentionJob
from chatnut.store import open_store
from tests.dump import PostgresDump, sqlite_dump

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]

# FTS5's own segment tables store the same index in a different layout after a
# delete and re-insert; search answers are compared instead.
FTS_SHADOWS = {"messages_fts_data", "messages_fts_idx", "messages_fts_docsize"}
# The feeds' record that a purge happened (its `purged` event, the room's purge
# horizon) is kept on purpose: a round trip restores the history, not that.
FEED_RECORD = {"events", "sequence event_seqs", "room_purges"}


async def fingerprint(service: ChatService, database_url: str | None) -> dict[str, str]:
    if database_url is None:
        dump = sqlite_dump(service.db_path)
        return {k: v for k, v in dump.items() if k not in FTS_SHADOWS | FEED_RECORD}
    conn = await asyncpg.connect(database_url)
    try:
        dump = await PostgresDump(conn).take()
        return {k: v for k, v in dump.items() if k not in FEED_RECORD}
    finally:
        await conn.close()


def after_the_clock(stamp: datetime) -> None:
    """Wait (bounded) until the clock's millisecond passes `stamp`'s."""
    deadline = stamp + timedelta(seconds=1)
    while datetime.now(UTC) <= stamp + timedelta(milliseconds=2):
        assert datetime.now(UTC) < deadline


async def room(service: ChatService, project: str, name: str) -> str:
    made = await service.init_room(project, name)
    return str(made["room_id"] if "room_id" in made else made["id"])


async def texts(service: ChatService, room_id: str) -> list[str]:
    return [m["content"] for m in (await service.read_messages(room_id))["messages"]]


@pytest.fixture
def job(service: ChatService, tmp_path: Path) -> RetentionJob:
    service.retention = RetentionJob(service.store, 30, tmp_path / "home" / "retention")
    return service.retention


async def test_purge_then_import_round_trip(
    service: ChatService, job: RetentionJob, database_url: str | None
) -> None:
    alpha = await room(service, "alpha", "general")
    kept_room = await room(service, "alpha", "kept")
    beta = await room(service, "beta", "general")
    archived = await room(service, "alpha", "old")
    old = [
        await service.post_message(alpha, "ann", "zebra crossing one", to="bob"),
        await service.post_message(alpha, "bob", "zebra crossing two", ack_required=True, to="ann"),
        await service.post_message(kept_room, "ann", "zebra in the kept room"),
        await service.post_message(beta, "ann", "zebra in beta"),
        await service.post_message(archived, "ann", "zebra in the archive"),
    ]
    await service.mark_read(alpha, "bob", old[0]["id"])
    await service.ack_message(alpha, old[1]["id"], "ann")
    await service.archive_room("alpha", "old")
    cut = datetime.now(UTC)
    after_the_clock(cut)
    young = await service.post_message(alpha, "ann", "zebra young")
    await job.set("alpha/kept", "off")
    await job.set("beta", "60")
    before = await fingerprint(service, database_url)
    stats_before = await service.store.room_summaries(None, "all", None)

    now = cut + timedelta(days=30)
    dry = await job.run(dry_run=True, now=now)
    assert dry["messages"] == 2 and dry["file"] is None
    assert dry["rooms"] == [{"project": "alpha", "room": "general", "messages": 2}]
    assert not job.directory.exists()
    assert await fingerprint(service, database_url) == before

    done = await job.run(now=now)
    assert done["messages"] == 2
    path = Path(done["file"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with gzip.open(path, "rt") as lines:
        exported = [json.loads(line) for line in lines]
    assert [e["message"]["id"] for e in exported] == [old[0]["id"], old[1]["id"]]
    receipts = {e["message"]["id"]: e["receipts"] for e in exported}
    assert receipts[old[1]["id"]][0]["acked_at"] is not None
    assert receipts[old[0]["id"]][0]["read_at"] is not None

    # Gone from reads, search, counters and feeds; the rest untouched.
    assert await texts(service, alpha) == ["zebra young"]
    assert await texts(service, kept_room) == ["zebra in the kept room"]
    assert await texts(service, beta) == ["zebra in beta"]
    assert await texts(service, archived) == ["zebra in the archive"]
    found = await service.search("crossing")
    assert not found.get("message_rooms")
    summaries = {r["id"]: r for r in await service.store.room_summaries(None, "all", None)}
    assert summaries[alpha]["message_count"] == 1
    assert summaries[alpha]["last_message"]["id"] == young["id"]
    sidebar = await service.sidebar_page(project="alpha")
    assert {r["id"]: r["message_count"] for r in sidebar["rooms"]} == {alpha: 1, kept_room: 1}

    restored = await job.restore(str(path))
    assert restored == {"file": str(path.resolve()), "messages": 2, "restored": 2}
    assert await fingerprint(service, database_url) == before
    assert await service.store.room_summaries(None, "all", None) == stats_before
    assert (await service.search("crossing"))["message_rooms"]
    # A second import of the same file changes nothing.
    assert (await job.restore(str(path)))["restored"] == 0
    assert await fingerprint(service, database_url) == before


async def test_policy_and_refusals(
    service: ChatService, job: RetentionJob, database_url: str | None, tmp_path: Path
) -> None:
    alpha = await room(service, "alpha", "general")
    await service.post_message(alpha, "ann", "hello")
    await job.set("alpha", "7")
    await job.set("alpha/general", "off")
    shown = await job.show()
    assert shown["default_days"] == 30
    assert [(r["project"], r["room"], r["days"]) for r in shown["rules"]] == [
        ("alpha", "", 7),
        ("alpha", "general", None),
    ]
    before = await fingerprint(service, database_url)
    for scope, days, said in [
        ("alpha", "0", "retention must be DAYS (1..36500) or off, got '0'"),
        ("alpha", "soon", "retention must be DAYS (1..36500) or off, got 'soon'"),
        ("alpha", "99999", "retention must be DAYS (1..36500) or off, got '99999'"),
        ("/x", "5", "retention applies to PROJECT or PROJECT/ROOM, got '/x'"),
        ("a/b/c", "5", "retention applies to PROJECT or PROJECT/ROOM, got 'a/b/c'"),
    ]:
        with pytest.raises(InvalidInput) as refused:
            await job.set(scope, days)
        assert refused.value.message == said
    outside = tmp_path / "elsewhere.jsonl.gz"
    outside.write_bytes(gzip.compress(b'{"message": {}}\n'))
    with pytest.raises(InvalidInput, match="import reads only"):
        await job.restore(str(outside))
    for hostile in ["\x00\xb6-", "\ud9ee.jsonl.gz"]:  # no path: one line, not a crash
        with pytest.raises(InvalidInput, match="file"):
            await job.restore(hostile)
    job.directory.mkdir(parents=True)
    bad = job.directory / "bad.jsonl.gz"
    bad.write_bytes(b"not gzip")
    with pytest.raises(InvalidInput, match="is not a retention export"):
        await job.restore(str(bad))
    for text, said in [
        (b'{"message": {"id": "1", "room_id": "r"}}\n', "bad.jsonl.gz: line 1 holds no message"),
        (b"[1]\n", "bad.jsonl.gz: line 1 holds no message"),
        (b'{"message": {"id": 1, "room_id": "r"}}\n{\n', "bad.jsonl.gz is not a retention"),
    ]:
        bad.write_bytes(gzip.compress(text))
        with pytest.raises(InvalidInput, match=said):
            await job.restore(str(bad))
    # The room's own "off" wins over its project's 7 days.
    assert (await job.run(now=datetime.now(UTC) + timedelta(days=100)))["messages"] == 0
    assert await fingerprint(service, database_url) == before


async def test_server_wide_days_apply_without_overrides(
    service: ChatService, job: RetentionJob
) -> None:
    alpha = await room(service, "alpha", "general")
    await service.post_message(alpha, "ann", "hello")
    assert (await job.run(now=datetime.now(UTC) + timedelta(days=29)))["messages"] == 0
    later = datetime.now(UTC) + timedelta(days=31)
    first = await job.run(now=later)
    assert first["messages"] == 1
    assert await texts(service, alpha) == []
    # A second run of the same instant writes a file of its own.
    await service.post_message(alpha, "ann", "second")
    second = await job.run(now=later + timedelta(days=1))
    await service.post_message(alpha, "ann", "third")
    third = await job.run(now=later + timedelta(days=1))
    assert second["file"] != third["file"] and third["file"].endswith("-2.jsonl.gz")
    assert sorted(p.name for p in job.directory.iterdir()) == sorted(
        Path(d["file"]).name for d in (first, second, third)
    )
    job.default_days = None
    await service.post_message(alpha, "ann", "again")
    assert (await job.run(now=datetime.now(UTC) + timedelta(days=10_000)))["messages"] == 0


async def test_only_an_admin_reads_sets_runs_or_imports(
    service: ChatService, job: RetentionJob, database_url: str | None
) -> None:
    alpha = await room(service, "alpha", "general")
    await service.post_message(alpha, "ann", "hello")
    before = await fingerprint(service, database_url)
    member = Caller(principal="ann", role="member")
    later = datetime.now(UTC) + timedelta(days=100)
    for call in (
        job.show(caller=member),
        job.set("alpha", "5", caller=member),
        job.run(now=later, caller=member),
        job.restore(str(job.directory / "x.jsonl.gz"), caller=member),
    ):
        with pytest.raises(Forbidden, match="admin"):
            await call
    assert await fingerprint(service, database_url) == before
    assert not job.directory.exists()


async def test_one_postgres_worker_runs_it_at_a_time(postgres_url: str, tmp_path: Path) -> None:
    """Two processes' stores on one database: while one holds the job's turn,
    the other's run does nothing (tried, never waited for), then runs."""
    first, second = open_store(postgres_url), open_store(postgres_url)
    await first.open()
    await second.open()
    try:
        service = ChatService(second, Hub(), teams_dir=tmp_path, web_url=lambda _: "")
        alpha = await room(service, "alpha", "general")
        await service.post_message(alpha, "ann", "hello")
        job = RetentionJob(second, 1, tmp_path / "retention")
        later = datetime.now(UTC) + timedelta(days=2)
        async with first.solo_turn(RETENTION_LOCK) as mine:
            assert mine
            skipped = await job.run(now=later)
            assert skipped["busy"] and skipped["messages"] == 0
            assert await texts(service, alpha) == ["hello"]
        assert (await job.run(now=later))["messages"] == 1
        assert await texts(service, alpha) == []
    finally:
        await first.close()
        await second.close()
