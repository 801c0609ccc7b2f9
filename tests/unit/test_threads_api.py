"""Threads and "mark unread from here" over REST: what the page reads."""

from __future__ import annotations

import httpx
import pytest

from tests.unit.rest import assert_error, make_room, post

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]


async def reply(api: httpx.AsyncClient, room: str, parent: int, content: str) -> int:
    answer = await api.post(
        f"/api/rooms/{room}/messages",
        json={"sender": "web-user", "content": content, "reply_to": parent},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["metadata"]["reply_to"] == parent
    return int(answer.json()["id"])


async def test_pages_carry_reply_counts_and_a_thread_reads_whole(api: httpx.AsyncClient) -> None:
    room = (await make_room(api))["id"]
    parent = await post(api, room, "which port?")
    other = await post(api, room, "unrelated")
    first = await reply(api, room, parent, "8080")
    last = await reply(api, room, parent, "**9090** now")
    # Every way a page reads messages carries the counts.
    for params in ({}, {"since_id": 0}, {"around": parent}, {"before_id": last + 1}):
        page = await api.get(f"/api/rooms/{room}/messages", params={**params, "html": "true"})
        assert page.status_code == 200, page.text
        shown = {m["id"]: m for m in page.json()["messages"]}
        assert shown[parent]["replies"]["count"] == 2, params
        assert shown[parent]["replies"]["last_id"] == last
        assert "replies" not in shown[other] and "replies" not in shown[first]
    thread = await api.get(f"/api/rooms/{room}/messages/{parent}/thread", params={"html": "true"})
    assert thread.status_code == 200, thread.text
    body = thread.json()
    assert body["room_id"] == room and body["reply_count"] == 2 and body["has_more"] is False
    assert body["parent"]["content"] == "which port?"
    assert [m["id"] for m in body["replies"]] == [first, last]
    assert "<strong>9090</strong>" in body["replies"][1]["html"]
    paged = await api.get(
        f"/api/rooms/{room}/messages/{parent}/thread", params={"after": first, "limit": 1}
    )
    assert [m["id"] for m in paged.json()["replies"]] == [last]
    assert "html" not in paged.json()["replies"][0]
    counts = await api.get(f"/api/rooms/{room}/replies", params={"ids": f"{parent},{other}"})
    assert counts.status_code == 200, counts.text
    assert list(counts.json()["replies"]) == [str(parent)]
    assert counts.json()["replies"][str(parent)]["count"] == 2


async def test_bad_thread_reads_are_refused_in_one_line(api: httpx.AsyncClient) -> None:
    room = (await make_room(api))["id"]
    elsewhere = (await make_room(api, "elsewhere"))["id"]
    parent = await post(api, room, "here")
    assert_error(
        await api.get(f"/api/rooms/{elsewhere}/messages/{parent}/thread"),
        404,
        "not_found",
        f"Message {parent} is not in room",
    )
    assert_error(
        await api.get(f"/api/rooms/{room}/messages/0/thread"), 422, "invalid_input", "message_id"
    )
    assert_error(
        await api.get(f"/api/rooms/{room}/replies", params={"ids": "1,x"}),
        422,
        "invalid_input",
        "ids",
    )
    too_many = ",".join(str(i) for i in range(1, 502))
    assert_error(
        await api.get(f"/api/rooms/{room}/replies", params={"ids": too_many}),
        422,
        "invalid_input",
        "at most 500",
    )


async def test_mark_unread_over_rest_and_its_refusals(api: httpx.AsyncClient) -> None:
    room = (await make_room(api))["id"]
    ids = [await post(api, room, f"m{i}") for i in range(4)]
    read = await api.post(
        f"/api/rooms/{room}/read", json={"reader": "ana", "last_read_message_id": ids[-1]}
    )
    assert read.status_code == 200, read.text
    moved = await api.post(
        f"/api/rooms/{room}/unread", json={"reader": "ana", "message_id": ids[1]}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json() == {"room_id": room, "reader": "ana", "last_read_message_id": ids[1] - 1}
    summary = (await api.get(f"/api/rooms/{room}", params={"reader": "ana"})).json()
    assert summary["unread_count"] == 3
    for body, status, word in (
        ({"reader": "ana", "message_id": 0}, 422, "message_id"),
        ({"reader": "", "message_id": ids[0]}, 422, "reader"),
        ({"reader": "ana"}, 422, "message_id"),
        ({"reader": "ana", "message_id": ids[0], "extra": 1}, 422, "extra"),
    ):
        assert_error(
            await api.post(f"/api/rooms/{room}/unread", json=body), status, "invalid_input", word
        )
    assert_error(
        await api.post(f"/api/rooms/{room}/unread", json={"reader": "ana", "message_id": 999999}),
        404,
        "not_found",
        "999999",
    )
    summary = (await api.get(f"/api/rooms/{room}", params={"reader": "ana"})).json()
    assert summary["unread_count"] == 3 and summary["last_read_message_id"] == ids[1] - 1
