"""Coordination on the web page, in a real Chromium against the real server, with
agents on MCP: "→ names" on addressed messages, summaries styled and pinned,
presence dots, the "mentions & directed" view. Hostile names stay text."""

from __future__ import annotations

import asyncio

import pytest
from mcp import Client
from playwright.async_api import Page, expect

from tests.helpers import ServerProcess
from tests.web_ui.pages import LIVE_WITHIN_MS, call, open_room

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

EVIL = '<img src=x onerror="window.__pwned = 7">'


async def test_addressed_messages_and_summaries_are_shown_apart(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room = (await call(agent, "init_room", project="demo", name="coord"))["id"]
    asked = await call(
        agent, "post_message", room_id=room, sender="lead", content="is it done?", to=["dev", EVIL]
    )
    first = await call(
        agent,
        "post_message",
        room_id=room,
        sender="lead",
        content="state one",
        message_type="summary",
    )
    await open_room(page, server, room)
    item = page.locator(f'#message-list li[data-id="{asked["id"]}"]')
    await expect(item.locator(".to")).to_have_text(f"→ dev, {EVIL.lower()}")
    assert await page.locator("#message-list img").count() == 0
    assert await page.evaluate("window.__pwned") is None
    await expect(page.locator(f'#message-list li[data-id="{first["id"]}"]')).to_have_class(
        "message summary"
    )
    pin = page.locator("#latest-summary")
    await expect(pin.locator(".summary-text")).to_have_text("state one")
    second = await call(
        agent,
        "post_message",
        room_id=room,
        sender="dev",
        content="state two",
        message_type="summary",
    )
    await expect(pin.locator(".summary-text")).to_have_text("state two", timeout=LIVE_WITHIN_MS)
    await expect(pin.locator("[data-summary]")).to_have_text(f"#{second['id']}")


async def test_presence_dots_show_waiting_seen_and_never(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room = (await call(agent, "init_room", project="demo", name="presence"))["id"]
    for name in ("dev", "ghost"):
        await call(agent, "register_agent", room_id=room, agent_name=name, task_id="t")
    await call(agent, "update_status", room_id=room, sender="dev", status="coding")
    async with Client(server.mcp_url, mode="legacy") as dev:
        waiting = asyncio.create_task(call(dev, "check_inbox", agent_name="dev", timeout=60))
        while not any(
            a["waiting"] for a in (await call(agent, "list_agents", room_id=room))["agents"]
        ):
            await asyncio.sleep(0.01)  # the wait is in the server: poll its presence
        await open_room(page, server, room)
        bar = page.locator("#presence-bar")
        await expect(bar.locator('[data-presence="dev"]')).to_have_attribute(
            "data-state", "waiting"
        )
        await expect(bar.locator('[data-presence="ghost"]')).to_have_attribute(
            "data-state", "never"
        )
        await expect(page.locator('#statusbar [data-presence="dev"]')).to_have_attribute(
            "data-state", "waiting"
        )
        await call(agent, "post_message", room_id=room, sender="lead", content="go", to="dev")
        await asyncio.wait_for(waiting, 10)


async def test_mentions_and_directed_view_across_rooms(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    one = (await call(agent, "init_room", project="demo", name="one"))["id"]
    two = (await call(agent, "init_room", project="demo", name="two"))["id"]
    await call(agent, "register_agent", room_id=two, agent_name="dev", task_id="t")
    await call(agent, "post_message", room_id=one, sender="qa", content="for dev", to="dev")
    await call(agent, "post_message", room_id=one, sender="qa", content="for qa", to="qa")
    mention = await call(agent, "post_message", room_id=two, sender="qa", content="hey @dev")
    await page.goto(server.url)
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    await page.click("#inbox-open")
    await page.fill("#inbox-name", "DEV")
    await page.press("#inbox-name", "Enter")
    hits = page.locator("#inbox-results a.hit")
    await expect(hits).to_have_count(2)
    await expect(hits.nth(0)).to_contain_text("demo/two · qa")  # newest first
    await expect(hits.nth(1)).to_contain_text("demo/one · qa → dev")
    live = await call(agent, "post_message", room_id=two, sender="lead", content="new", to="dev")
    await expect(hits).to_have_count(3, timeout=LIVE_WITHIN_MS)
    await expect(hits.nth(0)).to_contain_text(f"#{live['id']}")
    await hits.nth(1).click()
    await expect(page).to_have_url(f"{server.url}/?room={two}&msg={mention['id']}")
    await expect(page.locator(f'#message-list li[data-id="{mention["id"]}"]')).to_be_visible()
