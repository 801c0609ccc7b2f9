"""Receipts on the web page, in a real Chromium against the real server, with
agents on MCP: a mark per addressee for delivered · read · acked, the room's
and one name's "awaiting ack" lists, overdue after 10 minutes, and an ack made
by an agent showing on the open page within a second."""

from __future__ import annotations

import time

import pytest
from mcp import Client
from playwright.async_api import Locator, Page, expect

from tests.helpers import ServerProcess
from tests.web_ui.pages import LIVE_WITHIN_MS, call, open_room

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def expect_marks(item: Locator, name: str, delivered: bool, read: bool, acked: bool) -> None:
    mark = item.locator(f'.receipts .rcpt[data-name="{name}"]')
    await expect(mark).to_have_attribute("data-delivered", str(delivered).lower())
    await expect(mark).to_have_attribute("data-read", str(read).lower())
    await expect(mark).to_have_attribute("data-acked", str(acked).lower())
    said = ", ".join(
        word if done else f"not {word}"
        for word, done in (("delivered", delivered), ("read", read), ("acked", acked))
    )
    await expect(mark.locator(".sr-only")).to_have_text(f": {said}")


async def test_marks_per_name_and_an_agents_ack_shows_within_a_second(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room = (await call(agent, "init_room", project="demo", name="acks"))["id"]
    asked = await call(
        agent,
        "post_message",
        room_id=room,
        sender="lead",
        content="please review #12",
        to=["dev", "qa", "ops"],
        ack_required=True,
    )
    plain = await call(agent, "post_message", room_id=room, sender="lead", content="hello all")
    async with (
        Client(server.mcp_url, mode="legacy") as dev,
        Client(server.mcp_url, mode="legacy") as qa,
    ):
        await call(dev, "check_inbox", agent_name="dev")
        await call(dev, "mark_read", room_id=room, reader="dev", last_read_message_id=asked["id"])
        await call(qa, "check_inbox", agent_name="qa")

        await open_room(page, server, room)
        item = page.locator(f'#message-list li[data-id="{asked["id"]}"]')
        await expect_marks(item, "dev", delivered=True, read=True, acked=False)
        await expect_marks(item, "qa", delivered=True, read=False, acked=False)
        await expect_marks(item, "ops", delivered=False, read=False, acked=False)
        no_to = page.locator(f'#message-list li[data-id="{plain["id"]}"]')
        await expect(no_to.locator(".to")).to_have_count(0)
        await expect(no_to.locator(".receipts")).to_have_count(0)  # no `to`, no marks

        awaiting = page.locator("#awaiting")
        await expect(awaiting.locator("summary")).to_have_text("Awaiting ack: 3")
        await expect(awaiting.locator("li")).to_have_count(3)

        # dev acks over MCP: the open page shows it within a second, unreloaded.
        started = time.monotonic()
        await call(dev, "ack_message", room_id=room, message_id=asked["id"], agent_name="dev")
        mark = item.locator('.rcpt[data-name="dev"]')
        await expect(mark).to_have_attribute("data-acked", "true", timeout=LIVE_WITHIN_MS)
        assert time.monotonic() - started < LIVE_WITHIN_MS / 1000
        await expect(awaiting.locator("summary")).to_have_text(
            "Awaiting ack: 2", timeout=LIVE_WITHIN_MS
        )
        await expect(awaiting.locator('li[data-name="dev"]')).to_have_count(0)

        # A directed message posted live gets its marks, and qa's read arrives live.
        later = await call(
            agent, "post_message", room_id=room, sender="lead", content="and this", to=["qa"]
        )
        fresh = page.locator(f'#message-list li[data-id="{later["id"]}"]')
        await expect_marks(fresh, "qa", delivered=False, read=False, acked=False)
        await call(qa, "mark_read", room_id=room, reader="qa", last_read_message_id=later["id"])
        await expect(fresh.locator('.rcpt[data-name="qa"]')).to_have_attribute(
            "data-read", "true", timeout=LIVE_WITHIN_MS
        )
        await expect_marks(item, "qa", delivered=True, read=True, acked=False)
    assert await page.evaluate("document.title")  # the page is still the same page


async def test_overdue_after_ten_minutes_in_the_room_and_for_a_name(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room = (await call(agent, "init_room", project="demo", name="late"))["id"]
    asked = await call(
        agent,
        "post_message",
        room_id=room,
        sender="lead",
        content="ack when deployed",
        to=["qa"],
        ack_required=True,
    )
    await page.clock.install()  # the page's clock, run ahead below
    await open_room(page, server, room)
    awaiting = page.locator("#awaiting")
    row = awaiting.locator(f'li[data-msg="{asked["id"]}"]')
    await expect(awaiting.locator("summary")).to_have_text("Awaiting ack: 1")
    await expect(row).not_to_have_class("overdue")
    await expect(awaiting.locator("p.muted")).to_have_text(
        "Overdue: not acked 10 minutes after it was posted."
    )
    await page.clock.fast_forward("09:00")
    await expect(row).not_to_have_class("overdue")
    await page.clock.fast_forward("02:00")  # 11 minutes on: past the stated 10
    await expect(awaiting.locator("summary")).to_have_text("Awaiting ack: 1 (1 overdue)")
    await expect(row).to_have_class("overdue")
    await expect(row.locator(".overdue-tag")).to_have_text("overdue")

    # Per name: "Mentions & directed" for qa lists what awaits qa's ack.
    await page.click("#inbox-open")
    await page.fill("#inbox-name", "qa")
    await page.press("#inbox-name", "Enter")
    mine = page.locator("#inbox-awaiting")
    await expect(mine.locator("summary")).to_have_text("Awaiting qa's ack: 1 (1 overdue)")
    await expect(mine.locator("li.overdue a")).to_have_text(f"#{asked['id']}")
    async with Client(server.mcp_url, mode="legacy") as qa:
        await call(qa, "ack_message", room_id=room, message_id=asked["id"], agent_name="qa")
    await expect(mine).to_be_hidden(timeout=LIVE_WITHIN_MS)  # nothing awaits qa any more


async def test_a_resumed_page_misses_no_receipt_change(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room = (await call(agent, "init_room", project="demo", name="resume"))["id"]
    asked = await call(
        agent,
        "post_message",
        room_id=room,
        sender="lead",
        content="ack after the restart",
        to=["dev"],
        ack_required=True,
    )
    await open_room(page, server, room)
    item = page.locator(f'#message-list li[data-id="{asked["id"]}"]')
    await expect_marks(item, "dev", delivered=False, read=False, acked=False)
    # The feed goes away and is kept away while dev acks: no receipt event can
    # reach the page; a receipt event is never replayed on resume either.
    await page.route("**/api/stream?*", lambda route: route.abort())
    port = server.port
    server.stop()
    await expect(page.locator("#conn")).not_to_have_attribute("data-state", "live")
    server.start(port)
    async with Client(server.mcp_url, mode="legacy") as dev:
        await call(dev, "ack_message", room_id=room, message_id=asked["id"], agent_name="dev")
    await expect(item.locator('.rcpt[data-name="dev"]')).to_have_attribute("data-acked", "false")
    await page.unroute("**/api/stream?*")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=15000)
    await expect_marks(item, "dev", delivered=True, read=False, acked=True)
    await expect(page.locator("#awaiting")).to_be_hidden()  # nothing awaits any more
