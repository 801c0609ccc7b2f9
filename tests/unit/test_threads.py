"""Threads: a page's messages carry how many replies each has (one indexed read
for the whole page, on both backends), a thread reads whole, and "mark unread
from here" moves a reader's cursor back without taking back a receipt."""

from __future__ import annotations

from typing import Any

import pytest

from chatnut.errors import InvalidInput, NotFound
from chatnut.hub import ALL_ROOMS, Hub
from chatnut.service import ChatService
from chatnut.service.threads import with_replies
from chatnut.store import Store
from chatnut.store.postgres.threads import COUNTS
from chatnut.store.sqlite.threads import IS_REPLY, PARENT

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]


async def thread_room(service: ChatService) -> dict[str, Any]:
    room = (await service.init_room("alpha", "threads"))["id"]
    first = await service.post_message(room, "ann", "first question")
    second = await service.post_message(room, "bob", "second question")
    lonely = await service.post_message(room, "cat", "nobody answers this")
    replies = []
    for sender, parent in (("bob", first), ("cat", second), ("dan", first), ("eve", first)):
        posted = await service.post_message(
            room, sender, f"re {parent['id']}", reply_to=parent["id"]
        )
        replies.append(posted)
    return {"room": room, "first": first, "second": second, "lonely": lonely, "replies": replies}


async def test_a_page_carries_reply_counts_only_on_messages_with_replies(
    service: ChatService,
) -> None:
    t = await thread_room(service)
    page = await service.read_messages_before(t["room"], None, 100)
    shown = {m["id"]: m for m in await service.page_with_replies(t["room"], page["messages"])}
    last_of_first = t["replies"][3]
    assert shown[t["first"]["id"]]["replies"] == {
        "count": 3,
        "last_id": last_of_first["id"],
        "last_at": last_of_first["created_at"],
        "last_sender": "eve",
    }
    assert shown[t["second"]["id"]]["replies"]["count"] == 1
    assert shown[t["second"]["id"]]["replies"]["last_sender"] == "cat"
    # Everything else is exactly as before: no field at all.
    for message in (t["lonely"], *t["replies"]):
        assert "replies" not in shown[message["id"]]
    # The batch read a page makes again after its feed resumes says the same.
    ids = [t["first"]["id"], t["lonely"]["id"], t["second"]["id"]]
    again = await service.room_reply_counts(t["room"], ids)
    assert again["replies"] == {
        str(t["first"]["id"]): shown[t["first"]["id"]]["replies"],
        str(t["second"]["id"]): shown[t["second"]["id"]]["replies"],
    }


async def test_counts_are_one_read_per_page_whatever_its_size(db: tuple[Store, Hub]) -> None:
    store, _ = db
    calls: list[int] = []
    counts = store.reply_counts

    async def counted(room_id: str, ids: Any) -> Any:
        calls.append(len(ids))
        return await counts(room_id, ids)

    store.reply_counts = counted  # type: ignore[method-assign]
    messages = [{"id": i, "room_id": "r"} for i in range(1, 301)]
    await with_replies(store, "r", messages)
    assert calls == [300]


async def test_reply_counts_are_looked_up_in_the_index(db: tuple[Store, Hub], backend: str) -> None:
    store, _ = db
    if backend == "sqlite":
        sql = (
            f"EXPLAIN QUERY PLAN SELECT {PARENT}, count(*) FROM messages"
            f" WHERE room_id = ? AND {IS_REPLY} AND {PARENT} IN (1, 2) GROUP BY {PARENT}"
        )
        plan = await store.engine.read(  # type: ignore[attr-defined]
            lambda c: " ".join(str(r[3]) for r in c.execute(sql, ("r",)))
        )
        assert "USING INDEX idx_messages_reply_to" in plan, plan
    else:

        async def explain(conn: Any) -> str:
            # An empty table is read whole, index or not: the question here is
            # whether the planner can use the index at all.
            async with conn.transaction():
                await conn.execute("SET LOCAL enable_seqscan = off")
                rows = await conn.fetch("EXPLAIN " + COUNTS, "r", [1, 2])
            return " ".join(r[0] for r in rows)

        plan = await store._read(explain)  # type: ignore[attr-defined]
        assert "messages_reply_to" in plan, plan


async def test_metadata_that_is_not_json_is_no_reply_and_breaks_nothing(
    db: tuple[Store, Hub], service: ChatService, backend: str
) -> None:
    room = (await service.init_room("alpha", "odd"))["id"]
    parent = await service.post_message(room, "ann", "parent")
    store, _ = db
    # The original chatnut kept free text in metadata; a copied database may hold it.
    odd = ["not json", '{"reply_to": "x"}', '{"reply_to": 1.5}', "[1, 2]"]
    if backend == "sqlite":

        def insert(conn: Any) -> tuple[None, list[Any]]:
            for text in odd:
                conn.execute(
                    "INSERT INTO messages (room_id, sender, content, created_at, metadata)"
                    " VALUES (?, 'old', 'x', '2026-01-01T00:00:00+00:00', ?)",
                    (room, text),
                )
            return None, []

        await store.engine.write(insert)  # type: ignore[attr-defined]
    else:

        async def insert_pg(conn: Any) -> None:
            for text in odd:
                await conn.execute(
                    "INSERT INTO messages (id, room_id, sender, content, created_at, metadata)"
                    " VALUES (nextval('message_ids'), $1, 'old', 'x',"
                    " '2026-01-01T00:00:00+00:00', $2)",
                    room,
                    text,
                )

        await store._read(insert_pg)  # type: ignore[attr-defined]
    reply = await service.post_message(room, "bob", "re", reply_to=parent["id"])
    counts = await store.reply_counts(room, [parent["id"], 1])
    assert counts[parent["id"]]["count"] == 1
    assert counts[parent["id"]]["last_id"] == reply["id"]


async def test_a_thread_reads_its_parent_and_replies_in_order_a_page_at_a_time(
    service: ChatService,
) -> None:
    t = await thread_room(service)
    first = t["first"]
    whole = await service.read_thread(t["room"], first["id"])
    assert whole["parent"]["id"] == first["id"]
    assert whole["parent"]["content"] == "first question"
    assert [m["sender"] for m in whole["replies"]] == ["bob", "dan", "eve"]
    assert all(m["metadata"]["reply_to"] == first["id"] for m in whole["replies"])
    assert whole["reply_count"] == 3 and whole["has_more"] is False
    page = await service.read_thread(t["room"], first["id"], limit=2)
    assert [m["sender"] for m in page["replies"]] == ["bob", "dan"] and page["has_more"]
    rest = await service.read_thread(
        t["room"], first["id"], after=page["replies"][-1]["id"], limit=2
    )
    assert [m["sender"] for m in rest["replies"]] == ["eve"] and not rest["has_more"]
    assert rest["reply_count"] == 3
    empty = await service.read_thread(t["room"], t["lonely"]["id"])
    assert empty["replies"] == [] and empty["reply_count"] == 0


async def test_a_thread_of_a_message_elsewhere_or_nowhere_is_not_found(
    service: ChatService,
) -> None:
    t = await thread_room(service)
    other = (await service.init_room("alpha", "elsewhere"))["id"]
    with pytest.raises(NotFound, match=f"Message {t['first']['id']} is not in room"):
        await service.read_thread(other, t["first"]["id"])
    with pytest.raises(NotFound, match="not found"):
        await service.read_thread("no-such-room", t["first"]["id"])
    with pytest.raises(InvalidInput, match="message_id"):
        await service.read_thread(t["room"], 0)


async def unread_of(service: ChatService, room: str, reader: str) -> tuple[int, int]:
    summary = await service.get_room(room, reader)
    return summary["unread_count"], summary["last_read_message_id"]


async def test_mark_unread_moves_the_cursor_back_only_and_is_heard(
    service: ChatService,
) -> None:
    room = (await service.init_room("alpha", "places"))["id"]
    ids = [(await service.post_message(room, "bot", f"m{i}"))["id"] for i in range(5)]
    await service.mark_read(room, "ana", ids[-1])
    assert await unread_of(service, room, "ana") == (0, ids[-1])
    with service.hub.subscribe(ALL_ROOMS, capacity=10) as sub:
        moved = await service.mark_unread(room, "ana", ids[2])
        events = sub.drain()
    assert moved == {"room_id": room, "reader": "ana", "last_read_message_id": ids[2] - 1}
    assert [(e.kind, e.data) for e in events] == [("read", moved)]
    assert await unread_of(service, room, "ana") == (3, ids[2] - 1)
    # Never forward: a later message is unread already.
    again = await service.mark_unread(room, "ana", ids[4])
    assert again["last_read_message_id"] == ids[2] - 1
    assert await unread_of(service, room, "ana") == (3, ids[2] - 1)
    # Reading on moves it forward as always.
    await service.mark_read(room, "ana", ids[3])
    assert await unread_of(service, room, "ana") == (1, ids[3])
    # Another reader's place is their own; one with no cursor has nothing read.
    assert (await service.mark_unread(room, "bob", ids[0]))["last_read_message_id"] == 0
    assert await unread_of(service, room, "bob") == (5, 0)


async def test_marking_unread_never_takes_back_a_receipt(service: ChatService) -> None:
    room = (await service.init_room("alpha", "receipts"))["id"]
    before = await service.post_message(room, "bot", "before")
    directed = await service.post_message(room, "bot", "for ana", to="ana")
    await service.mark_read(room, "ana", directed["id"])
    read = await service.room_receipts(room, [directed["id"]])
    stamped = read["receipts"][str(directed["id"])]["ana"]["read_at"]
    assert stamped is not None
    await service.mark_unread(room, "ana", before["id"])
    assert await unread_of(service, room, "ana") == (2, before["id"] - 1)
    # The sender still sees it read, when it was first read...
    after = await service.room_receipts(room, [directed["id"]])
    assert after["receipts"][str(directed["id"])]["ana"]["read_at"] == stamped
    # ... also after the reader reads past it again.
    await service.mark_read(room, "ana", directed["id"])
    again = await service.room_receipts(room, [directed["id"]])
    assert again["receipts"][str(directed["id"])]["ana"]["read_at"] == stamped


async def test_a_bad_mark_unread_is_refused_and_moves_nothing(service: ChatService) -> None:
    room = (await service.init_room("alpha", "refusals"))["id"]
    other = (await service.init_room("alpha", "other"))["id"]
    mine = await service.post_message(room, "bot", "here")
    theirs = await service.post_message(other, "bot", "there")
    await service.mark_read(room, "ana", mine["id"])
    with pytest.raises(NotFound, match=f"Message {theirs['id']} is not in room"):
        await service.mark_unread(room, "ana", theirs["id"])
    with pytest.raises(InvalidInput, match="message_id"):
        await service.mark_unread(room, "ana", 0)
    with pytest.raises(InvalidInput, match="reader"):
        await service.mark_unread(room, "", mine["id"])
    with pytest.raises(NotFound, match="not found"):
        await service.mark_unread("nowhere", "ana", mine["id"])
    assert await unread_of(service, room, "ana") == (0, mine["id"])
