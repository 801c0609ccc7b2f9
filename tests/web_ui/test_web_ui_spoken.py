"""What a screen reader hears in a real Chromium: a short burst is read in
full, a long one is counted, and a message for the reader is always read in
full, even inside a long burst."""

from __future__ import annotations

import pytest
from mcp import Client
from playwright.async_api import Page, expect

from tests.helpers import ServerProcess
from tests.web_ui.pages import call, open_room, room_with

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def test_short_bursts_and_messages_for_the_reader_are_read_in_full(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room = await room_with(agent, "spoken", ["hello"])
    await open_room(page, server, room)
    announce = page.locator("#announce")
    await call(agent, "post_message", room_id=room, sender="ann", content="the **build** is green")
    await expect(announce).to_have_text("ann: the build is green")
    for i in range(5):
        await call(
            agent,
            "post_message",
            room_id=room,
            sender="qa" if i == 2 else "bot",
            content="please review the PR" if i == 2 else f"tick {i}",
            to="human" if i == 2 else None,
        )
    await expect(announce).to_have_text(
        "5 new messages, latest from bot. For you, from qa: please review the PR", timeout=10_000
    )
