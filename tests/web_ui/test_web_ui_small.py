"""Smaller habits in a real Chromium: initials that tell numbered agents apart,
and "Unread only" counting the rooms it shows."""

from __future__ import annotations

import pytest
from mcp import Client
from playwright.async_api import Page, expect

from tests.helpers import ServerProcess
from tests.web_ui.pages import call, open_home, room_with

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def test_numbered_agents_get_initials_of_their_own(page: Page, server: ServerProcess) -> None:
    await open_home(page, server)
    found = await page.evaluate(
        "import('/js/dom.js').then((m) => ['agent-1', 'agent-10', 'agent1', 'qa'].map(m.initials))"
    )
    assert found == ["A1", "A10", "A1", "QA"]


async def test_unread_only_counts_the_rooms_it_shows(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    rooms = [await room_with(agent, f"room-{i}", ["x"]) for i in range(3)]
    await open_home(page, server)
    await call(agent, "post_message", room_id=rooms[0], sender="bot", content="news")
    head = page.locator('button[data-group="demo"]')
    await expect(head.locator(".badge")).to_have_text("1")
    await expect(head.locator(".count")).to_have_text("3")
    await page.locator("#unread-only").click()
    await expect(page.locator("#live-rooms .room-list a[data-room]")).to_have_count(1)
    await expect(head.locator(".count")).to_have_text("1")
    await expect(page.locator("#live-count")).to_have_text("1")


async def test_search_snippets_are_plain_text_cut_at_word_edges(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    words = "alphabetagammadelta " * 4 + "the **important** needle is in `main.py` today"
    content = words + " zetaetathetaiota" * 10
    room = await room_with(agent, "searched", [content])
    await open_home(page, server)
    await page.locator("#search").fill("needle")
    await page.locator("#search").press("Enter")
    hit = page.locator(f'#search-results a.hit[data-room="{room}"] div').last
    await expect(hit).to_contain_text("needle")
    text = (await hit.text_content()) or ""
    assert "**" not in text and "`" not in text, text
    assert "the important needle is in main.py today" in text, text
    whole = set(content.replace("`", " ").replace("*", " ").split())
    first, last = text.removeprefix("… ").split()[0], text.removesuffix(" …").split()[-1]
    assert first in whole and last in whole, text
