"""Long messages in a real Chromium: a long code block or a long message is
shown collapsed with "Show more"; the code's Copy still copies all of it."""

from __future__ import annotations

import pytest
from mcp import Client
from playwright.async_api import Browser, expect

from tests.helpers import ServerProcess
from tests.web_ui.pages import call, room_with, watched_page

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

CODE = "\n".join(f"line_{i} = {i}" for i in range(120))
LOG = "\n\n".join(f"log line {i}: all is well" for i in range(400))


async def test_long_code_and_long_messages_collapse_and_copy_keeps_the_whole(
    browser: Browser, server: ServerProcess, agent: Client
) -> None:
    room = await room_with(agent, "long", ["short one"])
    code = await call(
        agent, "post_message", room_id=room, sender="dev", content=f"```python\n{CODE}\n```"
    )
    log = await call(agent, "post_message", room_id=room, sender="ops", content=LOG)
    clipboard = ["clipboard-read", "clipboard-write"]
    async with watched_page(browser, server, permissions=clipboard) as (page, _):
        await page.goto(f"{server.url}/?room={room}")
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
        code_item = page.locator(f'li.message[data-id="{code["id"]}"]')
        log_item = page.locator(f'li.message[data-id="{log["id"]}"]')
        await expect(code_item).to_be_visible()
        for item in (code_item, log_item):
            await item.scroll_into_view_if_needed()
            box = await item.bounding_box()
            assert box is not None and box["height"] < 600, box
        more = code_item.get_by_role("button", name="Show more")
        await expect(more).to_have_attribute("aria-expanded", "false")
        await code_item.get_by_role("button", name="Copy python code").click()
        assert await page.evaluate("navigator.clipboard.readText()") == CODE + "\n"
        await more.click()
        await expect(code_item.get_by_role("button", name="Show less")).to_have_attribute(
            "aria-expanded", "true"
        )
        box = await code_item.bounding_box()
        assert box is not None and box["height"] > 1500, box
        await log_item.get_by_role("button", name="Show more").click()
        await expect(log_item.get_by_text("log line 399: all is well")).to_be_visible()
        # Short messages have no such button.
        short = page.locator("li.message", has_text="short one")
        await expect(short.get_by_role("button", name="Show more")).to_have_count(0)
