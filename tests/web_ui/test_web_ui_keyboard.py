"""The message list from the keyboard, in a real Chromium: one Tab stop for the
whole list (on the newest message, or the first unread), ↑/↓ between
messages, and a message's own actions reachable from it with Tab."""

from __future__ import annotations

import pytest
from mcp import Client
from playwright.async_api import Page, expect

from tests.helpers import ServerProcess
from tests.web_ui.pages import call, open_room, room_with

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

FOCUSED_ID = "() => document.activeElement.closest('li.message')?.dataset.id ?? null"
STOPS = """() => [...document.querySelectorAll('#message-list *')]
  .filter((el) => el.tabIndex >= 0 && !el.closest('li.message:focus-within')).length"""


async def test_one_tab_stop_for_the_list_and_arrows_between_messages(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room = await room_with(agent, "keys", [f"message {i}" for i in range(8)])
    ids = [m["id"] for m in (await call(agent, "read_messages", room_id=room))["messages"]]
    await open_room(page, server, room)
    await expect(page.locator(f'li.message[data-id="{ids[-1]}"]')).to_be_visible()
    await page.locator("#to").focus()
    await page.keyboard.press("Shift+Tab")  # back into the list: one stop, the newest
    assert await page.evaluate(FOCUSED_ID) == str(ids[-1])
    assert await page.evaluate("() => document.activeElement.matches('li.message')")
    assert await page.evaluate(STOPS) == 0  # every other message is out of the Tab order
    await page.keyboard.press("ArrowUp")
    await page.keyboard.press("ArrowUp")
    assert await page.evaluate(FOCUSED_ID) == str(ids[-3])
    await page.keyboard.press("ArrowDown")
    assert await page.evaluate(FOCUSED_ID) == str(ids[-2])
    # Tab goes into the focused message's actions, not to the next message.
    await page.keyboard.press("Tab")
    assert await page.evaluate(FOCUSED_ID) == str(ids[-2])
    assert await page.evaluate("() => !document.activeElement.matches('li.message')")
    # Shift+Tab from the composer comes back to where the reader was.
    await page.locator("#to").focus()
    await page.keyboard.press("Shift+Tab")
    assert await page.evaluate(FOCUSED_ID) == str(ids[-2])
