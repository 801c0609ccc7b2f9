"""Service rules that no single tool shows: waking, unsubscribing, browser opening,
auto-archiving."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import pytest

from chatnut.errors import NotFound
from chatnut.hub import Hub
from chatnut.service import ChatService

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]


async def start_waiting(
    service: ChatService, hub: Hub, room_id: str
) -> asyncio.Task[dict[str, Any]]:
    """A wait_for_messages in progress: returns once it is subscribed to the room."""
    before = hub.subscriber_count(room_id)
    task = asyncio.create_task(service.wait_for_messages(room_id, 0, timeout=30))
    while hub.subscriber_count(room_id) == before and not task.done():
        await asyncio.sleep(0)  # yield to it until it has subscribed
    return task


async def test_five_hundred_waiters_are_all_woken_and_then_gone(
    service: ChatService, db: tuple[Any, Hub]
) -> None:
    _, hub = db
    room = await service.init_room("p", "crowd")
    started = asyncio.Event()
    waiting = 0

    async def wait() -> dict[str, Any]:
        nonlocal waiting
        task = asyncio.create_task(service.wait_for_messages(room["id"], 0, timeout=30))
        waiting += 1
        if waiting == 500:
            started.set()
        return await task

    tasks = [asyncio.create_task(wait()) for _ in range(500)]
    await started.wait()
    while hub.subscriber_count(room["id"]) < 500:  # every waiter subscribed (no cap)
        await asyncio.sleep(0)
    posted = await service.post_message(room["id"], "a", "everyone up")
    results = await asyncio.wait_for(asyncio.gather(*tasks), 20)
    assert all([m["id"] for m in r["messages"]] == [posted["id"]] for r in results)
    assert hub.subscriber_count() == 0


async def test_a_cancelled_wait_unsubscribes(service: ChatService, db: tuple[Any, Hub]) -> None:
    _, hub = db
    room = await service.init_room("p", "r")
    task = await start_waiting(service, hub, room["id"])
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert hub.subscriber_count() == 0


async def test_deleting_a_room_ends_its_waits(service: ChatService, db: tuple[Any, Hub]) -> None:
    _, hub = db
    room = await service.init_room("p", "r")
    task = await start_waiting(service, hub, room["id"])
    await service.archive_room("p", "r")
    await service.delete_room(room["id"])
    # "was deleted while waiting" when the waiter was already blocked, "not found"
    # when the deletion beat its first read: either way it ends, naming the room.
    with pytest.raises(NotFound, match=room["id"]):
        await asyncio.wait_for(task, 10)


async def test_browser_opens_only_for_a_new_room(service: ChatService) -> None:
    opened: list[str] = []
    service.on_room_created = opened.append
    room = await service.init_room("p", "r")
    await service.init_room("p", "r")
    await service.archive_room("p", "r")
    await service.init_room("p", "r")
    assert opened == [room["web_url"]]


@pytest.mark.sqlite_only
async def test_auto_archive_only_touches_idle_live_rooms(
    service: ChatService, db: tuple[Any, Hub]
) -> None:
    database, _ = db
    idle = await service.init_room("p", "idle")
    busy = await service.init_room("p", "busy")
    await service.post_message(busy["id"], "a", "still here")

    def age(conn: sqlite3.Connection) -> Any:
        old = "2020-01-01T00:00:00.000+00:00"
        conn.execute("UPDATE rooms SET created_at = ?", (old,))
        conn.execute("UPDATE messages SET created_at = ? WHERE room_id = ?", (old, idle["id"]))
        return None, []

    await database.engine.write(age)
    archived = await service.archive_idle_rooms(idle_hours=24)
    assert archived == [idle["id"]]
    rooms = {r["name"]: r["status"] for r in (await service.list_rooms(status="all"))["rooms"]}
    assert rooms == {"idle": "archived", "busy": "live"}


async def test_closing_the_hub_ends_waits_as_timed_out(
    service: ChatService, db: tuple[Any, Hub]
) -> None:
    _, hub = db
    room = await service.init_room("p", "r")
    task = await start_waiting(service, hub, room["id"])
    hub.close()
    result = await asyncio.wait_for(task, 5)
    assert result == {"messages": [], "has_more": False, "next_since_id": 0, "timed_out": True}
    later = await asyncio.wait_for(service.wait_for_messages(room["id"], 0, timeout=30), 5)
    assert later["timed_out"] is True  # a wait that starts during shutdown ends at once
