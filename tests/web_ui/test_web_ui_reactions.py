"""Reactions on the web page, in a real Chromium against the real server: one
person reacts from the toolbar, a second page sees it live with the count and
who; the second person's click on the chip adds theirs, again takes it away,
and an agent's read carries what the page shows."""

from __future__ import annotations

import httpx
import pytest
from mcp import Client
from playwright.async_api import Browser, Page, expect

from tests.helpers import ServerProcess
from tests.web_ui.pages import (
    LIVE_WITHIN_MS,
    StaleRead,
    call,
    open_home,
    open_room,
    watched_page,
)

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def as_name(page: Page, name: str) -> None:
    await page.add_init_script(f"localStorage.setItem('chatnut.name', {name!r})")


async def test_a_reaction_shows_live_on_a_second_page_and_toggles(
    page: Page, browser: Browser, server: ServerProcess, agent: Client
) -> None:
    room = (await call(agent, "init_room", project="demo", name="reacts"))["id"]
    posted = await call(agent, "post_message", room_id=room, sender="bot", content="deployed")
    await as_name(page, "alice")
    await open_room(page, server, room)
    item = page.locator(f'#message-list li[data-id="{posted["id"]}"]')
    await expect(item.locator(".reactions")).to_be_hidden()  # nobody reacted yet

    async with watched_page(browser, server) as (other, _):
        await as_name(other, "bob")
        await open_room(other, server, room)
        seen = other.locator(f'#message-list li[data-id="{posted["id"]}"]')

        await item.hover()
        await item.get_by_role("button", name=f"React 👍 to #{posted['id']}").click()
        mine = item.locator('.reaction[data-react="👍"]')
        await expect(mine).to_have_text("👍 1")
        await expect(mine).to_have_attribute("aria-pressed", "true")
        # The second page: live, unreloaded, with who reacted.
        chip = seen.locator('.reaction[data-react="👍"]')
        await expect(chip).to_have_text("👍 1", timeout=LIVE_WITHIN_MS)
        await expect(chip).to_have_attribute("title", "alice")
        await expect(chip).to_have_attribute("aria-pressed", "false")  # not bob's

        await chip.click()  # bob adds his
        await expect(chip).to_have_text("👍 2")
        await expect(chip).to_have_attribute("aria-pressed", "true")
        await expect(mine).to_have_text("👍 2", timeout=LIVE_WITHIN_MS)
        await expect(mine).to_have_attribute("title", "alice, bob")

        read = await call(agent, "read_messages", room_id=room)
        assert read["messages"][0]["reactions"] == [
            {"emoji": "👍", "count": 2, "names": ["alice", "bob"]}
        ]

        await mine.click()  # alice takes hers away
        await expect(chip).to_have_text("👍 1", timeout=LIVE_WITHIN_MS)
        await expect(chip).to_have_attribute("title", "bob")
        await chip.click()  # and bob his: the row goes
        await expect(item.locator(".reactions")).to_be_hidden(timeout=LIVE_WITHIN_MS)
    read = await call(agent, "read_messages", room_id=room)
    assert "reactions" not in read["messages"][0]


async def test_a_room_opened_from_a_read_made_before_a_reaction_shows_it(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room = (await call(agent, "init_room", project="demo", name="opening"))["id"]
    posted = (await call(agent, "post_message", room_id=room, sender="bot", content="shipped"))[
        "id"
    ]
    await as_name(page, "alice")
    await open_home(page, server)
    async with StaleRead(page, room) as stale:
        row = page.locator(f'#live-rooms a[data-room="{room}"]')
        await row.click()
        await stale.until_made()
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            toggled = await http.post(
                f"/api/rooms/{room}/messages/{posted}/reactions",
                json={"emoji": "🎉", "name": "bob"},
            )
            assert toggled.status_code == 200, toggled.text
        await call(agent, "post_message", room_id=room, sender="bot", content="and tagged")
        # Events come in order: once the room's preview shows the later message,
        # the page has heard of the reaction too.
        await expect(row.locator(".preview")).to_contain_text("and tagged")
        stale.answer()
    chip = page.locator(f'#message-list li[data-id="{posted}"] .reaction[data-react="🎉"]')
    await expect(chip).to_have_text("🎉 1")
    await expect(chip).to_have_attribute("title", "bob")
