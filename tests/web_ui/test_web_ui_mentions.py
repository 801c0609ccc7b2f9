"""Mentions of the reader, in a real Chromium: a message that says @name counts
as addressed to that reader in the page: it is in "Mentions & directed", the
name is highlighted, and its room gets a mention badge, not a plain count."""

from __future__ import annotations

import re

import pytest
from mcp import Client
from playwright.async_api import Page, expect

from tests.helpers import ServerProcess
from tests.web_ui.pages import call, open_home, room_with

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def test_a_mention_of_the_reader_is_addressed_highlighted_and_badged(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    talk = await room_with(agent, "talk", ["hello"])
    chatter = await room_with(agent, "chatter", ["hello"])
    await open_home(page, server)
    mention = await call(
        agent, "post_message", room_id=talk, sender="qa", content="@human can you look at this?"
    )
    await call(agent, "post_message", room_id=chatter, sender="bot", content="build 1 green")
    await call(agent, "post_message", room_id=chatter, sender="bot", content="@humans is no one")
    talk_row = page.locator(f'#live-rooms a[data-room="{talk}"]')
    chatter_row = page.locator(f'#live-rooms a[data-room="{chatter}"]')
    await expect(talk_row.locator(".badge")).to_have_text("@1")
    await expect(talk_row.locator(".badge")).to_have_class("badge mention")
    await expect(chatter_row.locator(".badge")).to_have_text("2")
    await expect(chatter_row.locator(".badge")).to_have_class("badge")
    await expect(talk_row).to_have_accessible_name(re.compile(r"1 unread, mentions you$"))
    # The switcher shows it too.
    await page.keyboard.press("Control+k")
    option = page.locator(f'#switcher-list [data-room="{talk}"]')
    await expect(option.locator(".badge.mention")).to_have_text("@1")
    await page.keyboard.press("Escape")
    # Mentions & directed lists it, though it was not sent `to` the reader.
    await page.locator("#inbox-open").click()
    hit = page.locator(f'#inbox-results a[data-msg="{mention["id"]}"]')
    await expect(hit).to_be_visible()
    await expect(page.locator("#inbox-results")).not_to_contain_text("@humans is no one")
    await expect(page.locator("#inbox-results")).not_to_contain_text("null")
    # In the room the reader's name is highlighted and the message marked as theirs.
    await hit.click()
    item = page.locator(f'li.message[data-id="{mention["id"]}"]')
    await expect(item).to_have_class(re.compile(r"\bfor-me\b"))
    await expect(item.locator(".mention.me")).to_have_text("@human")
    # Read, the mark goes.
    await expect(talk_row.locator(".badge")).to_be_hidden()
    await page.reload()
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    await expect(talk_row.locator(".badge")).to_be_hidden()
