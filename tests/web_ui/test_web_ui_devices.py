"""One person, several browsers, in a real Chromium against the real server: read
state belongs to the name on the server, so a second browser's first visit
keeps it, and "Mark all read" is something the reader does, not the page."""

from __future__ import annotations

import httpx
import pytest
from mcp import Client
from playwright.async_api import Browser, Page, expect

from tests.helpers import ServerProcess
from tests.web_ui.pages import call, open_home, room_with, watched_page

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def unread_of(server: ServerProcess, reader: str = "human") -> dict[str, int]:
    async with httpx.AsyncClient(base_url=server.url) as http:
        answer = await http.get("/api/sidebar", params={"reader": reader, "status": "all"})
        return {r["id"]: r["unread_count"] for r in answer.json()["rooms"]}


async def test_a_second_browsers_first_visit_keeps_the_unread(
    page: Page, browser: Browser, server: ServerProcess, agent: Client
) -> None:
    quiet = await room_with(agent, "quiet", ["before"])
    busy = await room_with(agent, "busy", ["before"])
    await open_home(page, server)  # the laptop: a first visit starts at "now"
    for i in range(5):
        await call(agent, "post_message", room_id=busy, sender="bot", content=f"while away {i}")
    await expect(page.locator(f'#live-rooms a[data-room="{busy}"] .badge')).to_have_text("5")
    assert await unread_of(server) == {busy: 5, quiet: 0}
    # The phone, a browser that has never been here: a deep link into the busy room.
    async with watched_page(browser, server) as (phone, _):
        await phone.goto(f"{server.url}/?room={quiet}")
        await expect(phone.locator("#conn")).to_have_attribute("data-state", "live")
        row = phone.locator(f'#live-rooms a[data-room="{busy}"]')
        await expect(row.locator(".badge")).to_have_text("5")
        await expect(phone).to_have_title("(5) quiet · chatnut")
    assert await unread_of(server) == {busy: 5, quiet: 0}
    # The laptop still has them too.
    await expect(page.locator(f'#live-rooms a[data-room="{busy}"] .badge')).to_have_text("5")


async def test_mark_all_read_per_project_and_everywhere(
    page: Page, browser: Browser, server: ServerProcess, agent: Client
) -> None:
    alpha = await room_with(agent, "a-room", ["x"], project="alpha")
    beta = await room_with(agent, "b-room", ["x"], project="beta")
    await open_home(page, server)
    for room in (alpha, beta):
        for i in range(3):
            await call(agent, "post_message", room_id=room, sender="bot", content=f"n{i}")
    alpha_row = page.locator(f'#live-rooms a[data-room="{alpha}"]')
    beta_row = page.locator(f'#live-rooms a[data-room="{beta}"]')
    await expect(alpha_row.locator(".badge")).to_have_text("3")
    await expect(beta_row.locator(".badge")).to_have_text("3")
    async with watched_page(browser, server) as (other, _):  # the same name elsewhere
        await open_home(other, server)
        await expect(other.locator(f'#live-rooms a[data-room="{alpha}"] .badge')).to_have_text("3")
        await page.get_by_role("button", name="Mark alpha read").click()
        await expect(alpha_row.locator(".badge")).to_be_hidden()
        await expect(beta_row.locator(".badge")).to_have_text("3")
        # The other browser hears it without a reload.
        await expect(other.locator(f'#live-rooms a[data-room="{alpha}"] .badge')).to_be_hidden()
        assert await unread_of(server) == {alpha: 0, beta: 3}
        await page.get_by_role("button", name="Mark all read").click()
        await expect(beta_row.locator(".badge")).to_be_hidden()
        await expect(other.locator(f'#live-rooms a[data-room="{beta}"] .badge')).to_be_hidden()
        await expect(page).to_have_title("chatnut")
    assert await unread_of(server) == {alpha: 0, beta: 0}
