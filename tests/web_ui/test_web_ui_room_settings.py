"""A reader's own room settings in a real Chromium against the real server:
starred rooms in their own section at the top, a muted room with no unread
weight and no notification, a notification level per room; all kept under the
reader's name on the server, so a second device shows them too."""

from __future__ import annotations

import httpx
import pytest
from mcp import Client
from playwright.async_api import Browser, Page, expect

from tests.helpers import ServerProcess
from tests.web_ui.pages import call, open_home, open_room, room_with, watched_page
from tests.web_ui.test_web_ui_habits import NOTIFICATION_RECORDER

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def settings_of(server: ServerProcess, reader: str = "human") -> dict[str, dict[str, object]]:
    async with httpx.AsyncClient(base_url=server.url) as http:
        answer = await http.get("/api/room-prefs", params={"reader": reader})
        return {
            r["room_id"]: {k: r[k] for k in ("level", "muted", "starred")}
            for r in answer.json()["rooms"]
        }


async def test_starred_and_muted_rooms_follow_the_name_to_a_second_device(
    page: Page, browser: Browser, server: ServerProcess, agent: Client
) -> None:
    keep = await room_with(agent, "keep", ["x"])
    noisy = await room_with(agent, "noisy", ["x"])
    fav = await room_with(agent, "fav", ["x"], project="other")
    await open_room(page, server, fav)
    await page.click("#room-star")
    await expect(page.locator("#room-star")).to_have_attribute("aria-pressed", "true")
    starred = page.locator("#starred-section")
    await expect(starred).to_be_visible()
    await expect(page.locator("#starred-rooms a[data-room]")).to_have_count(1)
    await expect(page.locator(f'#starred-rooms a[data-room="{fav}"]')).to_be_visible()
    await expect(page.locator(f'#live-rooms a[data-room="{fav}"]')).to_have_count(0)
    await open_room(page, server, noisy)
    await page.click("#room-mute")
    await expect(page.locator("#room-mute")).to_have_attribute("aria-pressed", "true")
    await open_home(page, server)
    for i in range(3):
        await call(agent, "post_message", room_id=noisy, sender="bot", content=f"chatter {i}")
    for i in range(2):
        await call(agent, "post_message", room_id=keep, sender="bot", content=f"real {i}")
    keep_badge = page.locator(f'#live-rooms a[data-room="{keep}"] .badge')
    noisy_row = page.locator(f'#live-rooms a[data-room="{noisy}"]')
    await expect(keep_badge).to_have_text("2")
    # The muted room has unread on the server, and no weight on the page.
    await expect(noisy_row.locator(".badge")).to_be_hidden()
    await expect(noisy_row.locator(".muted-mark")).to_be_visible()
    await expect(page).to_have_title("(2) chatnut")
    assert await settings_of(server) == {
        fav: {"level": "mentions", "muted": False, "starred": True},
        noisy: {"level": "mentions", "muted": True, "starred": False},
    }
    # Another device under the same name shows the same.
    async with watched_page(browser, server) as (phone, _):
        await open_home(phone, server)
        await expect(phone.locator(f'#starred-rooms a[data-room="{fav}"]')).to_be_visible()
        first = phone.locator("#rooms a[data-room]").first
        await expect(first).to_have_attribute("data-room", fav)
        phone_noisy = phone.locator(f'#live-rooms a[data-room="{noisy}"]')
        await expect(phone_noisy.locator(".muted-mark")).to_be_visible()
        await expect(phone_noisy.locator(".badge")).to_be_hidden()
        await expect(phone.locator(f'#live-rooms a[data-room="{keep}"] .badge')).to_have_text("2")
        await expect(phone).to_have_title("(2) chatnut")
        # Unstarring there puts the room back in its project.
        await open_room(phone, server, fav)
        await expect(phone.locator("#room-star")).to_have_attribute("aria-pressed", "true")
        await phone.click("#room-star")
        await expect(phone.locator("#starred-section")).to_be_hidden()
        await expect(phone.locator(f'#live-rooms a[data-room="{fav}"]')).to_be_visible()
    assert (await settings_of(server))[fav]["starred"] is False


async def test_a_starred_room_beyond_the_first_page_is_still_listed_first(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    old = await room_with(agent, "old-but-starred", ["x"])
    hushed = await room_with(agent, "old-and-muted", ["x"])
    for i in range(105):  # rooms with newer activity push them past the first page
        newest = await room_with(agent, f"newer-{i:03}", ["y"])
    async with httpx.AsyncClient(base_url=server.url) as http:
        for room, change in ((old, {"starred": True}), (hushed, {"muted": True})):
            body = {"reader": "human", **change}
            changed = await http.put(f"/api/rooms/{room}/prefs", json=body)
            assert changed.status_code == 200, changed.text
    prefs_requests: list[str] = []
    page.on(
        "request", lambda r: prefs_requests.append(r.url) if "/api/room-prefs" in r.url else None
    )
    await open_home(page, server)
    await expect(page.locator(f'#starred-rooms a[data-room="{old}"]')).to_be_visible()
    await expect(page.locator(f'#live-rooms a[data-room="{old}"]')).to_have_count(0)
    # One request for every room's settings, not one per row.
    assert len(prefs_requests) == 1
    await expect(page.locator(f'#live-rooms a[data-room="{hushed}"]')).to_have_count(0)
    # The muted room's unread stays out of the title though its row is not loaded.
    for i in range(2):
        await call(agent, "post_message", room_id=hushed, sender="bot", content=f"hush {i}")
    await call(agent, "post_message", room_id=newest, sender="bot", content="real")
    await expect(page.locator(f'#live-rooms a[data-room="{newest}"] .badge')).to_have_text("1")
    await expect(page).to_have_title("(1) chatnut")
    # And after a reload, when nothing about it has changed since.
    prefs_requests.clear()
    await open_home(page, server)
    await expect(page.locator(f'#live-rooms a[data-room="{newest}"] .badge')).to_have_text("1")
    await expect(page).to_have_title("(1) chatnut")
    assert len(prefs_requests) == 1
    async with httpx.AsyncClient(base_url=server.url) as http:
        totals = (await http.get("/api/sidebar/totals", params={"reader": "human"})).json()
    assert totals["unread"] == 3  # the server still counts them


async def test_the_notification_level_decides_what_notifies(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    await page.add_init_script(NOTIFICATION_RECORDER)
    here = await room_with(agent, "here", ["x"])
    loud = await room_with(agent, "loud", ["x"])
    hushed = await room_with(agent, "hushed", ["x"])
    await open_room(page, server, loud)
    await page.select_option("#room-level", "all")
    await open_room(page, server, hushed)
    await page.select_option("#room-level", "none")
    await open_room(page, server, here)
    await page.click("#notify-toggle")
    await expect(page.locator("#notify-toggle")).to_have_attribute("aria-pressed", "true")
    assert await settings_of(server) == {
        loud: {"level": "all", "muted": False, "starred": False},
        hushed: {"level": "none", "muted": False, "starred": False},
    }
    await call(agent, "post_message", room_id=hushed, sender="bot", content="@human hushed")
    await call(agent, "post_message", room_id=loud, sender="bot", content="plain chatter")
    await page.wait_for_function("() => window.__notes.length > 0")
    # The mention in the "nothing" room came first and did not notify.
    assert await page.evaluate("window.__notes") == [["bot in loud", "plain chatter"]]
    # A muted room notifies nothing, whatever its level (in the same page:
    # the recorder's permission is not kept across a reload).
    await page.click(f'#live-rooms a[data-room="{loud}"]')
    await expect(page.locator("#room-name")).to_have_text("loud")
    await page.click("#room-mute")
    await expect(page.locator("#room-mute")).to_have_attribute("aria-pressed", "true")
    await page.click(f'#live-rooms a[data-room="{here}"]')
    await expect(page.locator("#room-name")).to_have_text("here")
    await call(agent, "post_message", room_id=loud, sender="bot", content="@human muted")
    await call(agent, "post_message", room_id=here, sender="bot", content="to be sure")
    await expect(page.locator("#message-list")).to_contain_text("to be sure")
    assert await page.evaluate("window.__notes") == [["bot in loud", "plain chatter"]]
