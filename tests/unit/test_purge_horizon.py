"""A room's purge horizon on both backends: `purged` says only what is true
("every message of the room up to through_id is gone"), never moves back, is
found again by a stream resuming from before it, and is lowered by a restore
below what it puts back."""

from __future__ import annotations

import pytest

from chatnut.hub import ALL_ROOMS
from chatnut.service import ChatService

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]


async def test_the_horizon_is_only_ever_what_is_true(service: ChatService) -> None:
    room = (await service.init_room("demo", "plan"))["id"]
    other = (await service.init_room("demo", "other"))["id"]
    ids = [(await service.post_message(room, "ana", f"m{n}"))["id"] for n in range(4)]
    elsewhere = (await service.post_message(other, "ana", "kept"))["id"]
    store = service.store
    with service.hub.subscribe(ALL_ROOMS, capacity=16) as sub:
        # Newer messages purged while an older one stays (a merged-in history
        # can hold such): the horizon stops below the one still there.
        assert await store.purge_messages(room, [ids[0], ids[2]]) == 2
        [event] = [e for e in sub.drain() if e.kind == "purged"]
        assert event.room_id == room
        assert event.data == {
            "room_id": room,
            "project": "demo",
            "room": "plan",
            "through_id": ids[1] - 1,
            "messages": 2,
        }
        assert await store.purge_messages(room, [ids[1]]) == 1
        [event] = [e for e in sub.drain() if e.kind == "purged"]
        assert event.data["through_id"] == ids[3] - 1
        # Nothing deleted (already gone): no event, the horizon stays.
        assert await store.purge_messages(room, [ids[0]]) == 0
        assert [e for e in sub.drain() if e.kind == "purged"] == []

    horizon = {"room_id": room, "project": "demo", "room": "plan", "through_id": ids[3] - 1}
    # A stream that last saw any message up to the newest id at the purge is told.
    assert await service.retention.purges_since(ids[0], None) == [horizon]
    assert await service.retention.purges_since(elsewhere, room) == [horizon]
    assert await service.retention.purges_since(ids[0], other) == []
    later = (await service.post_message(room, "ana", "later"))["id"]
    assert await service.retention.purges_since(later, None) == []

    # A restore of the middle message lowers the horizon below it.
    entry = {"message": {"id": ids[1], "room_id": room, "sender": "ana", "content": "m1"}}
    message = (await service.read_messages(room, 0, 10))["messages"]
    assert [m["id"] for m in message] == [ids[3], later]
    full = dict(entry["message"], message_type="message", created_at="2020-01-01T00:00:00+00:00")
    assert await store.restore_messages([{"message": full}]) == 1
    assert await service.retention.purges_since(0, room) == [{**horizon, "through_id": ids[1] - 1}]
    full0 = dict(full, id=ids[0], content="m0")
    assert await store.restore_messages([{"message": full0}]) == 1
    # Nothing this room held is below the horizon any more.
    assert all(p["through_id"] < ids[0] for p in await service.retention.purges_since(0, None))
