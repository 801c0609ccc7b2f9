"""Editing and deleting your own messages on the web page, in a real Chromium
against the real server: the keyboard reaches Edit, Enter saves, Esc cancels,
Delete asks once more and leaves a tombstone; a second page sees both live,
and again after being offline while a change was made; agents read the same."""

from __future__ import annotations

import re

import httpx
import pytest
from mcp import Client
from playwright.async_api import Browser, Locator, Page, expect

from tests.helpers import ServerProcess
from tests.web_ui.pages import (
    LIVE_WITHIN_MS,
    StaleRead,
    call,
    open_home,
    open_room,
    watched_page,
)
from tests.web_ui.test_web_ui_axe import serious_violations

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

SECRET = "sk-live-QZXJWBMFGU"


async def as_name(page: Page, name: str) -> None:
    await page.add_init_script(f"localStorage.setItem('chatnut.name', {name!r})")


async def tab_to(page: Page, item: Locator, label: str) -> None:
    """From the message, Tab through its controls to the one named `label`."""
    await item.focus()
    for _ in range(20):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement?.getAttribute('aria-label')") == label:
            return
    raise AssertionError(f"Tab never reached {label!r}")


async def test_edit_and_delete_from_the_page_reach_a_second_page_live(
    page: Page, browser: Browser, server: ServerProcess, agent: Client
) -> None:
    room = (await call(agent, "init_room", project="demo", name="edits"))["id"]
    typo = (await call(agent, "post_message", room_id=room, sender="alice", content="at 5pm"))["id"]
    # Grouped under the first: no header of its own, yet "(edited)" shows.
    second = (await call(agent, "post_message", room_id=room, sender="alice", content="bring"))[
        "id"
    ]
    leak = (
        await call(agent, "post_message", room_id=room, sender="alice", content=f"key {SECRET}")
    )["id"]
    theirs = (
        await call(agent, "post_message", room_id=room, sender="bot", content="ok", reply_to=leak)
    )["id"]
    await as_name(page, "alice")
    await open_room(page, server, room)
    mine = page.locator(f'#message-list li[data-id="{typo}"]')
    # Only your own messages offer Edit and Delete.
    await expect(page.locator(f'#message-list li[data-id="{theirs}"] [data-edit]')).to_have_count(0)

    async with watched_page(browser, server) as (other, _):
        await as_name(other, "bob")
        await open_room(other, server, room)
        seen = other.locator(f'#message-list li[data-id="{typo}"]')
        await expect(seen.locator("[data-edit]")).to_have_count(0)  # not bob's

        # Esc cancels: nothing changes.
        await tab_to(page, mine, f"Edit #{typo}")
        await page.keyboard.press("Enter")
        box = mine.locator("textarea.edit-text")
        await expect(box).to_be_focused()
        await expect(box).to_have_value("at 5pm")
        await page.keyboard.type(" and more")
        await page.keyboard.press("Escape")
        await expect(mine.locator("textarea")).to_have_count(0)
        await expect(mine.locator(".body")).to_have_text("at 5pm")

        # Enter saves.
        await tab_to(page, mine, f"Edit #{typo}")
        await page.keyboard.press("Enter")
        await expect(box).to_be_focused()
        await box.fill("at **6pm**")
        await page.keyboard.press("Enter")
        await expect(mine.locator(".body strong")).to_have_text("6pm")
        marker = mine.locator(".edited")
        await expect(marker).to_have_text("(edited)")
        await expect(marker).to_have_attribute("title", re.compile(r"^Edited \S"))
        # The second page, live and unreloaded.
        await expect(seen.locator(".body strong")).to_have_text("6pm", timeout=LIVE_WITHIN_MS)
        await expect(seen.locator(".edited")).to_have_text("(edited)")

        # Delete asks once more, then leaves a tombstone.
        gone = page.locator(f'#message-list li[data-id="{leak}"]')
        await gone.hover()
        delete = gone.locator(f'button[data-delete="{leak}"]')
        await delete.click()
        await expect(delete).to_have_text("Delete for good?")
        await expect(gone.locator(".body")).to_contain_text(SECRET)
        await delete.click()
        await expect(gone.locator(".body")).to_have_text("message deleted")
        await expect(gone.locator("[data-edit], [data-delete], [data-reply]")).to_have_count(0)
        tomb = other.locator(f'#message-list li[data-id="{leak}"] .body')
        await expect(tomb).to_have_text("message deleted", timeout=LIVE_WITHIN_MS)
        # Nor in the quote of the reply to it.
        quote = other.locator(f'#message-list li[data-id="{theirs}"] .quote')
        await expect(quote).to_have_text("↳ alice: message deleted")
        assert SECRET not in await other.locator("#message-list").inner_text()

        read = {m["id"]: m for m in (await call(agent, "read_messages", room_id=room))["messages"]}
        assert read[typo]["content"] == "at **6pm**" and "edited_at" in read[typo]
        assert read[leak]["content"] == "" and read[leak]["deleted"] is True
        assert "edited_at" not in read[theirs] and "deleted" not in read[theirs]

        # Missed while offline: the second page reads it again when its feed is back.
        await other.context.set_offline(True)
        await expect(other.locator("#conn")).to_have_attribute("data-state", "offline")
        grouped = page.locator(f'#message-list li[data-id="{second}"]')
        await expect(grouped).to_have_class(re.compile(r"\bgrouped\b"))
        await tab_to(page, grouped, f"Edit #{second}")
        await page.keyboard.press("Enter")
        await grouped.locator("textarea").fill("bring snacks")
        await page.keyboard.press("Enter")
        await expect(grouped.locator(".body")).to_have_text("bring snacks")
        await expect(grouped.locator(".edited")).to_be_visible()
        await other.context.set_offline(False)
        await expect(other.locator("#conn")).to_have_attribute("data-state", "live", timeout=15000)
        seen_grouped = other.locator(f'#message-list li[data-id="{second}"]')
        await expect(seen_grouped.locator(".body")).to_have_text(
            "bring snacks", timeout=LIVE_WITHIN_MS
        )
        await expect(seen_grouped.locator(".edited")).to_be_visible()
        await expect(seen.locator(".body")).to_have_text("at 6pm")  # one edit, not both

    # The marker, the tombstone and an open editor, under axe-core.
    async with watched_page(browser, server, bypass_csp=True) as (checked, _):
        await as_name(checked, "alice")
        await open_room(checked, server, room)
        await checked.locator(f'#message-list li[data-id="{typo}"]').hover()
        await checked.locator(f'button[data-edit="{typo}"]').click()
        await expect(checked.locator("textarea.edit-text")).to_be_focused()
        assert await serious_violations(checked) == []


async def test_a_room_opened_from_a_read_made_before_a_delete_shows_the_tombstone(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room = (await call(agent, "init_room", project="demo", name="opening"))["id"]
    leak = (
        await call(agent, "post_message", room_id=room, sender="alice", content=f"key {SECRET}")
    )["id"]
    reply = (
        await call(agent, "post_message", room_id=room, sender="bot", content="ok", reply_to=leak)
    )["id"]
    await as_name(page, "alice")
    await open_home(page, server)
    async with StaleRead(page, room) as stale:
        row = page.locator(f'#live-rooms a[data-room="{room}"]')
        await row.click()
        await stale.until_made()
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            gone = await http.delete(f"/api/messages/{leak}", params={"name": "alice"})
            assert gone.status_code == 200, gone.text
            later = await http.patch(
                f"/api/messages/{reply}", json={"content": "ok, rotated", "name": "bot"}
            )
            assert later.status_code == 200, later.text
        # Events come in order, and the room's preview follows the last one: once
        # it shows the edit, the page has heard of the delete too.
        await expect(row.locator(".preview")).to_contain_text("ok, rotated")
        stale.answer()
    item = page.locator(f'#message-list li[data-id="{leak}"]')
    await expect(item.locator(".body")).to_have_text("message deleted")
    quote = page.locator(f'#message-list li[data-id="{reply}"] .quote')
    await expect(quote).to_have_text("↳ alice: message deleted")
    await expect(page.locator(f'#message-list li[data-id="{reply}"] .body')).to_have_text(
        "ok, rotated"
    )
    assert SECRET not in await page.locator("#message-list").inner_text()
