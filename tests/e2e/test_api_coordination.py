"""Coordination over REST and SSE: posting `to`, addressed pages with next_since_id,
the handoff and inbox routes (long-poll included), the room feed's
`addressed_to`, their place in the OpenAPI document, and refusals in the one
error shape with nothing written."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.helpers import ServerProcess
from tests.sse_client import open_stream

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]


async def make_room(api: httpx.AsyncClient, name: str = "coord") -> str:
    response = await api.post("/api/rooms", json={"project": "p", "name": name})
    return str(response.json()["id"])


async def post(api: httpx.AsyncClient, room: str, content: str, **extra: Any) -> dict[str, Any]:
    response = await api.post(
        f"/api/rooms/{room}/messages", json={"sender": "qa", "content": content, **extra}
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_post_to_and_read_addressed_pages(api: httpx.AsyncClient) -> None:
    room = await make_room(api)
    mine = await post(api, room, "for dev", to="Dev")
    await post(api, room, "noise")
    last = await post(api, room, "summary", to=["dev", "qa"], message_type="summary")
    assert mine["to"] == ["dev"] and mine["metadata"] == {"source": "cli"}
    page = (await api.get(f"/api/rooms/{room}/messages?addressed_to=DEV&limit=1")).json()
    assert [m["id"] for m in page["messages"]] == [mine["id"]]
    assert page["has_more"] is True and page["next_since_id"] == mine["id"]
    rest = (
        await api.get(f"/api/rooms/{room}/messages?addressed_to=dev&since_id={mine['id']}")
    ).json()
    assert [m["id"] for m in rest["messages"]] == [last["id"]]
    assert rest["next_since_id"] == last["id"]
    newest = (await api.get(f"/api/rooms/{room}/messages")).json()
    assert newest["messages"][-1]["to"] == ["dev", "qa"]
    # The sidebar's preview (rooms list and feed deltas) says to whom, too.
    summary = (await api.get(f"/api/rooms/{room}")).json()
    assert summary["last_message"]["to"] == ["dev", "qa"]
    assert summary["last_message"]["message_type"] == "summary"


async def test_handoff_and_inbox_routes(api: httpx.AsyncClient) -> None:
    one, two = await make_room(api, "one"), await make_room(api, "two")
    await post(api, one, "state", message_type="summary")
    first = await post(api, one, "one", to="dev")
    second = await post(api, two, "two", to="dev")
    handoff = (await api.get(f"/api/rooms/{one}/handoff?reader=dev&recent=5")).json()
    assert handoff["latest_summary"]["content"] == "state" and handoff["unread_count"] == 2
    assert handoff["agents"] == [] and handoff["complete"] is True
    inbox = (await api.get("/api/inbox?agent_name=dev")).json()
    assert [(m["id"], m["room"]["name"]) for m in inbox["messages"]] == [
        (first["id"], "one"),
        (second["id"], "two"),
    ]
    newest = (await api.get("/api/inbox?agent_name=dev&limit=1&newest=true")).json()
    assert [m["id"] for m in newest["messages"]] == [second["id"]] and newest["has_more"]

    waiting = asyncio.create_task(
        api.get(f"/api/inbox?agent_name=dev&since_id={second['id']}&timeout=30")
    )
    service = api._transport.app.state.service  # type: ignore[attr-defined]
    while not service.hub.subscriber_count():
        await asyncio.sleep(0.005)  # the long-poll is parked: its subscription shows it
    third = await post(api, two, "three", to="dev")
    woken = (await asyncio.wait_for(waiting, 5)).json()
    assert [m["id"] for m in woken["messages"]] == [third["id"]] and not woken["timed_out"]
    # A human reading dev's inbox or handoff is not dev: no presence noted for
    # dev (the poster, qa, is noted: a post's sender is the caller).
    assert {name for _, name, _ in service.presence.take_unsaved()} == {"qa"}


async def test_routes_are_in_the_openapi_document(api: httpx.AsyncClient) -> None:
    paths = (await api.get("/api/openapi.json")).json()["paths"]
    assert "get" in paths["/api/inbox"] and "get" in paths["/api/rooms/{room_id}/handoff"]
    inbox = {p["name"] for p in paths["/api/inbox"]["get"]["parameters"]}
    assert inbox == {"agent_name", "since_id", "limit", "timeout", "newest"}
    messages = {p["name"] for p in paths["/api/rooms/{room_id}/messages"]["get"]["parameters"]}
    assert "addressed_to" in messages


R = "/api/rooms/ROOM"
BAD = [
    ("POST", f"{R}/messages", {"sender": "a", "content": "x", "to": ""}, "to must not be empty"),
    ("POST", f"{R}/messages", {"sender": "a", "content": "x", "to": ["a"] * 21}, "limit is 20"),
    ("POST", f"{R}/messages", {"sender": "a", "content": "x", "to": 3}, "to"),
    ("GET", f"{R}/messages?addressed_to=", None, "addressed_to"),
    ("GET", f"{R}/handoff?reader=dev&recent=101", None, "recent"),
    ("GET", f"{R}/handoff", None, "reader"),
    ("GET", f"{R}/stream?addressed_to=%20", None, "addressed_to"),
    ("GET", "/api/inbox?agent_name=dev&timeout=-1", None, "timeout"),
    ("GET", "/api/inbox?agent_name=", None, "agent_name"),
    ("GET", "/api/inbox?agent_name=dev&limit=0", None, "limit"),
]


@pytest.mark.parametrize(("method", "path", "body", "named"), BAD)
async def test_bad_input_is_one_error_shape_and_writes_nothing(
    api: httpx.AsyncClient, method: str, path: str, body: Any, named: str
) -> None:
    room = await make_room(api)
    response = await api.request(method, path.replace("ROOM", room), json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input" and named in error["message"]
    assert (await api.get(f"/api/rooms/{room}/messages")).json()["messages"] == []


@pytest.mark.e2e
async def test_room_feed_addressed_to_carries_only_that_names_messages(
    http: httpx.AsyncClient,
) -> None:
    room = await make_room(http)
    await http.post(f"/api/rooms/{room}/agents", json={"agent_name": "dev", "task_id": "t"})
    old = await post(http, room, "old for dev", to="dev")
    await post(http, room, "old noise")
    async with open_stream(http, f"/api/rooms/{room}/stream?addressed_to=DEV") as stream:
        backlog = [e for e in await stream.until("ready") if e.event == "message"]
        assert [e.json()["id"] for e in backlog] == [old["id"]]
        await post(http, room, "noise", to="qa")
        mention = await post(http, room, "ping @dev")
        event = await stream.next()
        assert (event.event, event.id) == ("message", str(mention["id"]))
        assert "to" not in event.json()  # addressed by its @mention, not by `to`


@pytest.mark.e2e
async def test_a_dropped_inbox_long_poll_is_released_at_once(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    _, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(
        b"GET /api/inbox?agent_name=dev&timeout=60 HTTP/1.1\r\n"
        + f"Host: 127.0.0.1:{server.port}\r\n\r\n".encode()
    )
    await writer.drain()
    while (await http.get("/api/status")).json()["waiters"] != 1:
        await asyncio.sleep(0.01)  # parked in the server: its health shows the waiter
    writer.close()
    await writer.wait_closed()
    started = asyncio.get_running_loop().time()
    while (await http.get("/api/status")).json()["waiters"] != 0:
        await asyncio.sleep(0.01)
    assert asyncio.get_running_loop().time() - started < 5  # not the 60 s timeout
