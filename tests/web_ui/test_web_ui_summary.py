"""The pinned summary in a real Chromium: a line that leaves the room its
height, opened to the summary rendered like a message (not raw Markdown), and
the choice kept per room across reloads."""

from __future__ import annotations

import pytest
from mcp import Client
from playwright.async_api import Page, expect

from tests.helpers import ServerProcess
from tests.web_ui.pages import call, open_room, room_with

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

SUMMARY = "**Done**: the release\n\n- item one\n- item two\n\n" + "more words " * 60


async def test_the_pinned_summary_is_rendered_collapsible_and_remembered(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room = await room_with(agent, "summed", ["hello"])
    other = await room_with(agent, "other", ["hello"])
    await call(
        agent, "post_message", room_id=room, sender="lead", content=SUMMARY, message_type="summary"
    )
    await call(
        agent, "post_message", room_id=other, sender="lead", content="x", message_type="summary"
    )
    await open_room(page, server, room)
    pin = page.locator("#latest-summary")
    toggle = pin.get_by_role("button", name="Show the summary")
    await expect(toggle).to_have_attribute("aria-expanded", "false")
    box = await pin.bounding_box()
    assert box is not None and box["height"] < 60, box  # one line: the room keeps its height
    await toggle.click()
    body = pin.locator(".summary-text")
    await expect(body.locator("strong")).to_have_text("Done")
    await expect(body.locator("li").first).to_have_text("item one")
    await expect(body).not_to_contain_text("**")
    await page.reload()
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    await expect(body.locator("strong")).to_have_text("Done")  # still open here
    await expect(pin.get_by_role("button", name="Hide the summary")).to_have_attribute(
        "aria-expanded", "true"
    )
    await open_room(page, server, other)  # another room keeps its own choice
    await expect(pin.get_by_role("button", name="Show the summary")).to_be_visible()
    await open_room(page, server, room)
    await pin.get_by_role("button", name="Hide the summary").click()
    await page.reload()
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    await expect(pin.get_by_role("button", name="Show the summary")).to_be_visible()
    await expect(body).to_be_hidden()
