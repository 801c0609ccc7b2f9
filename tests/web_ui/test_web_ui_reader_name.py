"""Changing the name field reaches the feeds without a reload, in a real Chromium:
the sidebar's unread counts become the new name's, live messages count for it,
and what is read from then on moves the new name's cursors, not the old one's."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from mcp import Client
from playwright.async_api import Page, expect

from tests.helpers import ServerProcess
from tests.web_ui.pages import call, open_home, room_with

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def unread_of(server: ServerProcess, reader: str) -> dict[str, int]:
    async with httpx.AsyncClient(base_url=server.url) as http:
        answer = await http.get("/api/sidebar", params={"reader": reader, "status": "all"})
        return {r["id"]: r["unread_count"] for r in answer.json()["rooms"]}


async def until_unread(server: ServerProcess, reader: str, want: dict[str, int]) -> None:
    """Polls the server (a cursor moves after the page's read is sent), for 5 s at most."""
    deadline = asyncio.get_running_loop().time() + 5
    while (got := await unread_of(server, reader)) != want:
        assert asyncio.get_running_loop().time() < deadline, f"{reader}: {got}, not {want}"
        await asyncio.sleep(0.05)


async def read_up_to(server: ServerProcess, room: str, reader: str, message_id: int) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        answer = await http.post(
            f"/api/rooms/{room}/read",
            json={"reader": reader, "last_read_message_id": message_id},
        )
        assert answer.status_code == 200, answer.text


async def test_a_new_name_in_the_field_takes_over_the_feeds(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    alpha = await room_with(agent, "alpha", ["a0", "a1", "a2"])
    beta = await room_with(agent, "beta", ["b0", "b1", "b2", "b3"])
    newest = (await call(agent, "read_messages", room_id=beta, limit=10))["messages"][-1]["id"]
    first = {
        room: (await call(agent, "read_messages", room_id=room, limit=1))["messages"][0]["id"]
        for room in (alpha, beta)
    }
    for room in (alpha, beta):
        await read_up_to(server, room, "ann", newest)  # ann has read everything
        await read_up_to(server, room, "ben", first[room])  # ben only the first of each
    await page.add_init_script(
        "localStorage.getItem('chatnut.name') || localStorage.setItem('chatnut.name', 'ann')"
    )
    await open_home(page, server)
    rows = {
        room: page.locator(f'#live-rooms a[data-room="{room}"] .badge') for room in (alpha, beta)
    }
    for badge in rows.values():
        await expect(badge).to_be_hidden()

    await page.fill("#sender", "ben")
    await page.press("#sender", "Tab")  # the field's "change"
    await expect(rows[alpha]).to_have_text("2")
    await expect(rows[beta]).to_have_text("3")
    await expect(page).to_have_title("(5) chatnut")
    # Live traffic counts for the new name too.
    await call(agent, "post_message", room_id=alpha, sender="bot", content="@ben news")
    await expect(rows[alpha]).to_have_text("@3")
    assert await unread_of(server, "ann") == {alpha: 1, beta: 0}

    # Reading now moves ben's cursor, and leaves ann's where it was.
    await page.locator(f'#live-rooms a[data-room="{alpha}"]').click()
    await expect(rows[alpha]).to_be_hidden()
    await until_unread(server, "ben", {alpha: 0, beta: 3})
    assert await unread_of(server, "ann") == {alpha: 1, beta: 0}

    # Back to ann with the room open: the room opens again at ann's cursor and
    # she, watching it, reads it.
    await page.fill("#sender", "ann")
    await page.press("#sender", "Tab")
    await until_unread(server, "ann", {alpha: 0, beta: 0})
    await expect(rows[beta]).to_be_hidden()
    assert await page.evaluate("localStorage.getItem('chatnut.name')") == "ann"


async def test_another_tab_follows_the_new_name_through_the_one_feed(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    """Tabs of one browser share the name and the one stream (the leader tab's):
    a name changed in a tab that does not hold the stream reaches both."""
    room = await room_with(agent, "shared", ["s0", "s1", "s2"])
    newest = (await call(agent, "read_messages", room_id=room, limit=10))["messages"]
    await read_up_to(server, room, "ann", newest[-1]["id"])
    await read_up_to(server, room, "ben", newest[0]["id"])
    await page.add_init_script(
        "localStorage.getItem('chatnut.name') || localStorage.setItem('chatnut.name', 'ann')"
    )
    await open_home(page, server)  # the first tab leads: it holds the stream
    second = await page.context.new_page()
    await open_home(second, server)
    badge = f'#live-rooms a[data-room="{room}"] .badge'
    for tab in (page, second):
        await expect(tab.locator(badge)).to_be_hidden()
    await second.fill("#sender", "ben")
    await second.press("#sender", "Tab")
    for tab in (second, page):
        await expect(tab.locator(badge)).to_have_text("2")
    await expect(page.locator("#sender")).to_have_value("ben")  # the field says who reads
    await call(agent, "post_message", room_id=room, sender="bot", content="more")
    for tab in (second, page):
        await expect(tab.locator(badge)).to_have_text("3")
