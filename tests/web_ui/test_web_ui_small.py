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


async def test_the_hover_toolbar_is_whole_at_the_top_of_the_list(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room = await room_with(agent, "hover", [f"line {i}\n\nmore\n\nmore" for i in range(30)])
    await open_home(page, server)
    await page.locator(f'#live-rooms a[data-room="{room}"]').click()
    first = page.locator("#message-list li.message").first
    # The room settles at its newest message first; a wheel before that is undone.
    await expect(page.locator("#message-list li.message").last).to_be_in_viewport()
    await page.locator("#messages").hover()
    await page.mouse.wheel(0, -20000)
    await expect(first).to_be_in_viewport()
    # A message whose top is at the top edge of the list, as scrolling leaves one.
    target = page.locator("#message-list li.message").nth(5)
    await target.evaluate("li => li.scrollIntoView({ block: 'start' })")
    await target.hover()
    toolbar = target.locator(".msg-actions")
    await expect(toolbar).to_be_visible()
    top = await page.eval_on_selector("#messages", "s => s.getBoundingClientRect().top")
    box = await toolbar.bounding_box()
    assert box is not None and box["y"] >= top, (box, top)
