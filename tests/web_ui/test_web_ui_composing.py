"""Writing in the page, in a real Chromium against the real server: your own
messages are never unread and sending takes you to the bottom; a draft belongs
to its room, survives a reload and marks the room's row."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from mcp import Client
from playwright.async_api import Page, expect

from tests.helpers import ServerProcess
from tests.web_ui.pages import call, open_room, room_with

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def unread_for(server: ServerProcess, room: str, reader: str = "human") -> int:
    async with httpx.AsyncClient(base_url=server.url) as http:
        answer = await http.get(f"/api/rooms/{room}", params={"reader": reader})
        return int(answer.json()["unread_count"])


async def until_unread(server: ServerProcess, room: str, want: int) -> None:
    deadline = asyncio.get_running_loop().time() + 5
    while (got := await unread_for(server, room)) != want:
        assert asyncio.get_running_loop().time() < deadline, f"unread stayed {got}, not {want}"
        await asyncio.sleep(0.05)


async def scroll_to_top(page: Page) -> None:
    await page.locator("#messages").hover()
    await page.mouse.wheel(0, -20000)
    await expect(page.locator("#message-list li.message").first).to_be_in_viewport()


async def test_your_own_message_is_never_unread_and_sending_jumps_to_the_bottom(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room = await room_with(agent, "mine", [f"line {i}\n\nmore\n\nmore" for i in range(60)])
    await open_room(page, server, room)
    await scroll_to_top(page)
    # The same name posts from another device: not news to its reader.
    async with httpx.AsyncClient(base_url=server.url) as http:
        other = await http.post(
            f"/api/rooms/{room}/messages", json={"sender": "human", "content": "from my phone"}
        )
        assert other.status_code == 200
    await expect(page.locator(f'li.message[data-id="{other.json()["id"]}"]')).to_be_attached()
    await expect(page.locator("#pill")).to_be_hidden()
    # Sending from here takes the reader to the bottom, where the post is.
    await page.locator("#draft").fill("my own words")
    await page.locator("#draft").press("Enter")
    mine = page.locator("li.message", has_text="my own words")
    await expect(mine).to_be_in_viewport()
    await expect(page.locator("#pill")).to_be_hidden()
    await until_unread(server, room, 0)
    # Reopened, the room has no "New" divider above the reader's own post.
    await page.reload()
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    await expect(mine).to_be_in_viewport()
    await expect(page.locator("#message-list li.divider")).to_have_count(0)


async def test_a_draft_belongs_to_its_room_survives_a_reload_and_marks_the_row(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    first = await room_with(agent, "first", ["hello"])
    second = await room_with(agent, "second", ["hello"])
    await open_room(page, server, first)
    await page.locator("#draft").fill("half a thought")
    first_row = page.locator(f'#live-rooms a[data-room="{first}"]')
    second_row = page.locator(f'#live-rooms a[data-room="{second}"]')
    await second_row.click()
    await expect(page.locator("#room-name")).to_have_text("second")
    await expect(page.locator("#draft")).to_have_value("")  # not carried into the next room
    await expect(first_row.locator(".draft-mark")).to_be_visible()
    await expect(first_row).to_have_accessible_name(re.compile(r"^first\W+draft\W+agent0: hello\W"))
    await expect(second_row.locator(".draft-mark")).to_be_hidden()
    await page.reload()
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    await expect(first_row.locator(".draft-mark")).to_be_visible()
    await first_row.click()
    await expect(page.locator("#draft")).to_have_value("half a thought")
    await page.locator("#draft").press("Enter")
    await expect(page.locator("li.message", has_text="half a thought")).to_be_visible()
    await expect(page.locator("#draft")).to_have_value("")
    await expect(first_row.locator(".draft-mark")).to_be_hidden()
    await page.reload()
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    await expect(page.locator("#draft")).to_have_value("")
    assert (await call(agent, "read_messages", room_id=first))["messages"][-1]["content"] == (
        "half a thought"
    )
