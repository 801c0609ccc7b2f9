"""The event stream's own hygiene: keepalive comments, the retry hint, one-line data."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from chatnut.errors import StorageUnavailable
from chatnut.feeds import wire
from chatnut.feeds.feed import FeedSpec, feed
from chatnut.service import ChatService

pytestmark = pytest.mark.anyio


def test_encode_is_one_event_with_id_and_single_line_data() -> None:
    chunk = wire.encode("message", {"content": "two\nlines", "n": "ü"}, 7)
    lines = chunk.decode().split("\n")
    assert lines[:2] == ["id: 7", "event: message"]
    assert json.loads(lines[2].removeprefix("data: ")) == {"content": "two\nlines", "n": "ü"}
    assert lines[3:] == ["", ""]
    assert b"id:" not in wire.encode("status", {})


async def test_an_idle_stream_sends_keepalive_comments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wire, "KEEPALIVE_SECONDS", 0.05)
    never = anyio.Event()

    async def idle() -> AsyncIterator[bytes]:
        yield wire.retry_hint()
        await never.wait()

    sent: list[dict[str, Any]] = []
    keepalive = anyio.Event()
    disconnect = anyio.Event()

    async def receive() -> dict[str, Any]:
        await disconnect.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message.get("body", b"").startswith(b":"):
            keepalive.set()
            disconnect.set()

    scope = {"type": "http", "method": "GET", "headers": []}
    with anyio.fail_after(10):
        await wire.EventStream(idle(), send_timeout=10)(scope, receive, send)
    bodies = [m.get("body", b"") for m in sent if m["type"] == "http.response.body"]
    assert bodies[0] == b"retry: 2000\n\n"
    assert any(b.startswith(b": ping") for b in bodies)
    assert keepalive.is_set()


@pytest.mark.parametrize(
    ("room_events", "expected"),
    [
        (True, ("room", {"action": "deleted", "room": {"id": "gone"}})),
        (False, ("room_deleted", {"id": "gone"})),
    ],
)
async def test_a_room_gone_before_its_backlog_ends_the_feed_in_that_feeds_own_words(
    service: ChatService, room_events: bool, expected: tuple[str, dict[str, Any]]
) -> None:
    # The routes check the room first; a deletion right after that check is
    # what the feed itself must survive.
    spec = FeedSpec(room_id="gone", sidebar=not room_events, room_events=room_events)
    chunks = [chunk async for chunk in feed(service, spec)]
    last = chunks[-1].decode().splitlines()
    assert (last[0], json.loads(last[1].removeprefix("data: "))) == (
        f"event: {expected[0]}",
        expected[1],
    )
    assert service.hub.subscriber_count() == 0  # and it let go of the hub


async def test_an_outage_mid_stream_ends_it_in_one_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def cut() -> AsyncIterator[bytes]:
        yield wire.retry_hint()
        raise StorageUnavailable("the database is unavailable (restarting); try again shortly")

    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "headers": []}
    with anyio.fail_after(10), caplog.at_level("INFO"):
        await wire.EventStream(cut(), send_timeout=10)(scope, receive, send)  # ends; raises nothing
    bodies = [m.get("body", b"") for m in sent if m["type"] == "http.response.body"]
    assert bodies[0] == b"retry: 2000\n\n"
    assert sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    said = [r for r in caplog.records if r.name == wire.log.name]
    assert [r.getMessage() for r in said] == [
        "ended an event stream: the database is unavailable (restarting); try again shortly"
    ]
    assert said[0].exc_info is None  # a line, not a traceback
