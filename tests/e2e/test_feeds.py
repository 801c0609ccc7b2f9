"""The SSE feeds at the protocol level, against the real server process.

Every message exactly once and in order — across resumes by header and by
query, a 50 000-message backlog with posts arriving while it streams, and a
client too slow to keep up — plus the sidebar's snapshot and deltas.
"""

from __future__ import annotations

import signal
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from tests.helpers import ServerProcess
from tests.sse_client import SSE, open_stream

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]


async def make_room(http: httpx.AsyncClient, name: str = "feed", project: str = "p") -> str:
    response = await http.post("/api/rooms", json={"project": project, "name": name})
    return str(response.json()["id"])


async def post(http: httpx.AsyncClient, room: str, content: str, sender: str = "ana") -> int:
    response = await http.post(
        f"/api/rooms/{room}/messages", json={"sender": sender, "content": content}
    )
    assert response.status_code == 200, response.text
    return int(response.json()["id"])


def ids(events: list[SSE]) -> list[int]:
    return [int(e.id) for e in events if e.event == "message" and e.id is not None]


async def test_room_feed_sends_backlog_then_live_with_ids_and_hygiene_headers(
    http: httpx.AsyncClient,
) -> None:
    room = await make_room(http)
    first = [await post(http, room, f"m{i}") for i in range(3)]
    async with http.stream("GET", f"/api/rooms/{room}/stream") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-accel-buffering"] == "no"
        assert response.headers["cache-control"] == "no-store"
        lines = response.aiter_lines()
        assert await lines.__anext__() == "retry: 2000"
    async with open_stream(http, f"/api/rooms/{room}/stream") as stream:
        backlog = await stream.until("ready")
        assert ids(backlog) == first
        assert backlog[-1].json() == {"room_id": room, "last_event_id": first[-1]}
        live = await post(http, room, "**live**")
        event = await stream.next()
        assert (event.event, event.id) == ("message", str(live))
        assert event.json()["content"] == "**live**"
        assert "html" not in event.json()  # the room feed is raw unless asked


async def test_resume_by_header_and_by_query_sends_exactly_the_rest(
    http: httpx.AsyncClient,
) -> None:
    room = await make_room(http)
    sent = [await post(http, room, f"m{i}") for i in range(10)]
    url = f"/api/rooms/{room}/stream"
    async with open_stream(http, url, {"Last-Event-ID": str(sent[3])}) as stream:
        assert ids(await stream.until("ready")) == sent[4:]
    async with open_stream(http, f"{url}?last_event_id={sent[6]}") as stream:
        assert ids(await stream.until("ready")) == sent[7:]
    # Both: the header is EventSource's own reconnect, newer than the page's query.
    async with open_stream(http, f"{url}?last_event_id=0", {"Last-Event-ID": str(sent[8])}) as s:
        assert ids(await s.until("ready")) == sent[9:]


async def test_bad_resume_points_and_unknown_rooms_are_refused_clearly(
    http: httpx.AsyncClient,
) -> None:
    room = await make_room(http)
    bad = await http.get(f"/api/rooms/{room}/stream", headers={"Last-Event-ID": "abc"})
    assert bad.status_code == 422
    assert "Last-Event-ID" in bad.json()["error"]["message"]
    negative = await http.get(f"/api/rooms/{room}/stream?last_event_id=-1")
    assert negative.status_code == 422
    missing = await http.get("/api/rooms/no-such-room/stream")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert (await http.get("/api/stream?room=no-such-room")).status_code == 404


def bulk_insert(db_path: Path, room: str, count: int) -> None:
    """Fill a room fast, straight into the server's WAL database (triggers keep
    the counts and the search index), as a long-running team would have."""
    with sqlite3.connect(db_path, timeout=30) as conn:
        conn.executemany(
            "INSERT INTO messages (room_id, sender, content, message_type, created_at)"
            " VALUES (?, 'bulk', ?, 'message', '2026-01-01T00:00:00.000+00:00')",
            ((room, f"backlog message {i}") for i in range(count)),
        )


@pytest.mark.sqlite_only  # fills the SQLite file directly
async def test_a_50000_message_backlog_streams_once_in_order_while_posts_arrive(
    http: httpx.AsyncClient, server: ServerProcess
) -> None:
    room = await make_room(http)
    bulk_insert(server.home / "chatnut.db", room, 50_000)
    live: list[int] = []
    received: list[int] = []
    async with open_stream(http, f"/api/rooms/{room}/stream?last_event_id=0") as stream:
        first = await stream.next()  # the backlog is streaming now
        received.append(int(first.id or 0))

        async def post_during_backlog() -> None:
            for i in range(50):
                live.append(await post(http, room, f"live {i}"))

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(post_during_backlog)
            received += ids(await stream.until("ready"))
        while len(received) < 50_000 + len(live):
            event = await stream.next()
            received.append(int(event.id or 0))
    expected = list(range(received[0], received[0] + 50_000)) + live
    assert received == expected
    assert len(set(received)) == len(received)


async def test_room_feed_reports_status_cleared_archive_and_ends_on_delete(
    http: httpx.AsyncClient,
) -> None:
    room = await make_room(http, "lifecycle")
    async with open_stream(http, f"/api/rooms/{room}/stream") as stream:
        await stream.until("ready")
        await http.post(f"/api/rooms/{room}/statuses", json={"sender": "bo", "status": "testing"})
        status = await stream.next()
        assert status.event == "status"
        assert (status.json()["sender"], status.json()["status"]) == ("bo", "testing")
        await post(http, room, "to be cleared")
        assert (await stream.next()).event == "message"
        await http.post(f"/api/rooms/{room}/clear")
        cleared = await stream.next()
        assert cleared.event == "cleared"
        assert cleared.json()["deleted_count"] == 1
        await http.post(f"/api/rooms/{room}/archive")
        archived = await stream.next()
        assert archived.event == "room"
        assert archived.json()["action"] == "archived"
        assert (await http.delete(f"/api/rooms/{room}")).status_code == 200
        deleted = await stream.next()
        assert (deleted.event, deleted.json()["action"]) == ("room", "deleted")
        assert await stream.rest() == []  # and the stream ended


async def test_sidebar_sends_a_snapshot_then_one_small_delta_per_change(
    http: httpx.AsyncClient,
) -> None:
    quiet = await make_room(http, "quiet")
    for i in range(30):
        await make_room(http, f"other-{i}")
    async with open_stream(http, "/api/stream/rooms?reader=ana") as stream:
        snapshot = await stream.next()
        assert snapshot.event == "snapshot"
        assert len(snapshot.json()["rooms"]) == 31
        await stream.until("ready")

        created = await make_room(http, "brand-new")
        delta = await stream.next()
        assert delta.event == "room"
        assert (delta.json()["id"], delta.json()["message_count"]) == (created, 0)

        last = await post(http, quiet, "hello sidebar", sender="bo")
        delta = await stream.next()
        room = delta.json()
        assert (room["id"], room["message_count"], room["unread_count"]) == (quiet, 1, 1)
        assert room["last_message"]["id"] == last
        assert room["last_message"]["preview"] == "hello sidebar"
        # One change carries one room, however many rooms there are.
        assert len(delta.data) < 1000

        await http.post(
            f"/api/rooms/{quiet}/read", json={"reader": "ana", "last_read_message_id": last}
        )
        assert (await stream.next()).json()["unread_count"] == 0

        await http.post(f"/api/rooms/{created}/archive")
        archived = await stream.next()
        assert (archived.json()["id"], archived.json()["status"]) == (created, "archived")
        await http.delete(f"/api/rooms/{created}")
        gone = await stream.next()
        assert (gone.event, gone.json()["id"]) == ("room_deleted", created)


async def test_the_feed_snapshot_is_bounded_and_totals_follow_changes(
    http: httpx.AsyncClient,
) -> None:
    ids = [await make_room(http, f"r{i:03}", "big") for i in range(130)]
    async with open_stream(http, "/api/stream/rooms?reader=ana") as stream:
        stream.skipped = set()
        snapshot = (await stream.next()).json()
        assert len(snapshot["rooms"]) == 100 and snapshot["has_more"] is True
        assert snapshot["totals"]["live"] == 130 and snapshot["totals"]["unread"] == 0
        await stream.until("ready")
        await post(http, ids[-1], "one")
        await post(http, ids[-1], "two")
        events = await stream.until("totals")
        assert {e.event for e in events[:-1]} == {"room"}
        assert events[-1].json()["projects"][0]["unread"] == 2


async def test_sidebar_project_filter_and_another_readers_cursor(
    http: httpx.AsyncClient,
) -> None:
    ours = await make_room(http, "ours", project="alpha")
    theirs = await make_room(http, "theirs", project="beta")
    async with open_stream(http, "/api/stream/rooms?project=alpha&reader=ana") as stream:
        snapshot = await stream.next()
        assert [r["id"] for r in snapshot.json()["rooms"]] == [ours]
        await stream.until("ready")
        await post(http, theirs, "not for alpha")
        await http.post(f"/api/rooms/{ours}/read", json={"reader": "bo", "last_read_message_id": 0})
        mine = await post(http, ours, "for alpha")
        delta = await stream.next()  # neither beta's post nor bo's cursor came first
        assert (delta.json()["id"], delta.json()["last_message"]["id"]) == (ours, mine)


async def test_combined_tab_feed_carries_sidebar_and_the_open_room_with_html(
    http: httpx.AsyncClient,
) -> None:
    room = await make_room(http, "tab")
    other = await make_room(http, "elsewhere")
    before = await post(http, room, "before")
    url = f"/api/stream?room={room}&last_event_id={before - 1}&reader=ana"
    async with open_stream(http, url) as stream:
        events = await stream.until("ready")
        assert [e.event for e in events] == ["snapshot", "message", "ready"]
        assert events[1].json()["html"] == "<p>before</p>\n"
        await post(http, other, "elsewhere")
        delta = await stream.next()
        assert (delta.event, delta.json()["id"]) == ("room", other)
        mid = await post(http, room, "<script>alert(1)</script>")
        message = await stream.next()
        assert (message.event, message.id) == ("message", str(mid))
        assert message.json()["html"] == "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"
        assert (await stream.next()).json()["id"] == room  # its sidebar delta


async def status_of(http: httpx.AsyncClient) -> dict[str, Any]:
    return dict((await http.get("/api/status")).json())


@pytest.fixture
def slow() -> Iterator[socket.socket]:
    """A client socket with a small receive buffer, closed however the test ends."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        yield sock


@pytest.mark.slow  # waits out the send deadline
async def test_a_client_that_stops_reading_is_dropped_and_resumes_without_loss(
    http: httpx.AsyncClient, server: ServerProcess, slow: socket.socket
) -> None:
    room = await make_room(http, "slow")
    baseline = (await status_of(http))["waiters"]
    slow.connect(("127.0.0.1", server.port))
    slow.sendall(
        f"GET /api/rooms/{room}/stream HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode()
    )
    # Its stream is subscribed once it says `ready`; from then on it reads nothing.
    slow.settimeout(30)
    head = b""
    while b"event: ready" not in head:
        chunk = await anyio.to_thread.run_sync(slow.recv, 4096)
        assert chunk, f"the stream ended before it was ready: {head!r}"
        head += chunk
    big = "x" * 60_000
    sent: list[int] = []
    got: list[int] = []
    async with open_stream(http, f"/api/rooms/{room}/stream") as fast:
        await fast.until("ready")
        assert (await status_of(http))["waiters"] == baseline + 2

        async def keep_reading() -> None:
            while len(got) < 1200:
                got.append(int((await fast.next()).id or 0))

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(keep_reading)
            # Far more than the slow client's buffers: it must be dropped, never
            # block the posts or the reader that keeps up.
            for _ in range(1200):
                sent.append(await post(http, room, big))
    assert got == sent  # the reader that keeps up got everything, in order
    # The slow one's connection ends (server side closed) — read what it has.
    raw = b""
    while chunk := slow.recv(1 << 20):
        raw += chunk
    blocks = [block.split(b"\n") for block in raw.split(b"\n\n")]
    delivered = [int(b[0][4:]) for b in blocks if len(b) > 1 and b[1] == b"event: message"]
    assert delivered == sent[: len(delivered)]
    assert len(delivered) < len(sent)
    # It comes back with Last-Event-ID and gets exactly the rest.
    resume = str(delivered[-1]) if delivered else "0"
    async with open_stream(http, f"/api/rooms/{room}/stream", {"Last-Event-ID": resume}) as again:
        assert ids(await again.until("ready")) == sent[len(delivered) :]


async def test_sigterm_ends_open_streams_and_the_server_exits(
    http: httpx.AsyncClient, server: ServerProcess
) -> None:
    room = await make_room(http)
    async with (
        open_stream(http, f"/api/rooms/{room}/stream") as room_feed,
        open_stream(http, "/api/stream/rooms") as sidebar,
    ):
        await room_feed.until("ready")
        await sidebar.until("ready")
        assert server.proc is not None
        server.proc.send_signal(signal.SIGTERM)
        with anyio.fail_after(15):
            assert await room_feed.rest() == []
            assert await sidebar.rest() == []
            code = await anyio.to_thread.run_sync(server.proc.wait)
    # uvicorn re-raises the signal once it has shut down cleanly; the clean part
    # shows in the runtime files it removed on the way out.
    assert code == -signal.SIGTERM
    assert not (server.home / "server.port").exists()


async def test_the_every_room_feed_starts_now_and_resumes_across_rooms(
    http: httpx.AsyncClient,
) -> None:
    a = await make_room(http, "a")
    b = await make_room(http, "b")
    old = await post(http, a, "history")
    async with open_stream(http, "/api/stream?room=*") as stream:
        events = await stream.until("ready")
        assert ids(events) == []  # no resume point: from now on, no history replay
        assert (events[-1].id, events[-1].json()["last_event_id"]) == (str(old), old)
        in_b = await post(http, b, "in b")
        in_a = await post(http, a, "in a")
        got = [e for e in [await stream.next() for _ in range(4)] if e.event == "message"]
        assert [(e.json()["room_id"], int(e.id or 0)) for e in got] == [(b, in_b), (a, in_a)]
    # Message ids are global, so one Last-Event-ID resumes every room at once.
    async with open_stream(http, "/api/stream?room=*", {"Last-Event-ID": str(old)}) as stream:
        assert ids(await stream.until("ready")) == [in_b, in_a]
