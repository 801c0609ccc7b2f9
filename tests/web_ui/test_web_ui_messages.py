"""The open room's message list in a real Chromium against the real server:
times that refresh, day separators, one colour per sender, permalinks and
what the live region says."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from mcp import Client
from playwright.async_api import Browser, Page, expect

from tests.helpers import ServerProcess
from tests.web_ui.pages import call, open_home, open_room, room_with, watched_page

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def test_relative_times_refresh_in_the_room_the_sidebar_and_the_team_panel(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room = await room_with(agent, "clockwork", ["tick"])
    await call(agent, "update_status", room_id=room, sender="agent0", status="waiting")
    await page.clock.install()  # the page's timers, run ahead below
    await open_room(page, server, room)
    await page.click("#team-toggle")
    shown = [
        page.locator(f'#live-rooms a[data-room="{room}"] time.when'),
        page.locator("#message-list li.message time.ago"),
        page.locator("#team li time").last,
    ]
    for time in shown:
        await expect(time).to_have_text("just now")
    await page.clock.fast_forward("05:00")  # each refresh timer fires once, 5 minutes on
    for time in shown:
        await expect(time).to_have_text("5 minutes ago")


async def test_a_search_hits_time_refreshes_too(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    await room_with(agent, "findings", ["the haystack holds a needle"])
    await page.clock.install()
    await open_home(page, server)
    await page.fill("#search", "needle")
    await page.press("#search", "Enter")
    when = page.locator("#search-results a.hit time.ago")
    await expect(when).to_have_text("just now")
    await page.clock.fast_forward("05:00")
    await expect(when).to_have_text("5 minutes ago")


TEAM = ["ann", "bob", "cy", "dee", "eve", "fay", "gus", "hal", "ivy", "jo", "kai", "lu"]


async def test_a_team_of_twelve_gets_twelve_colours_and_initials(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room = (await call(agent, "init_room", project="demo", name="dozen"))["id"]
    for name in TEAM:
        await call(agent, "post_message", room_id=room, sender=f"{name}-bot", content="here")
    await open_room(page, server, room)
    items = page.locator("#message-list li.message")
    await expect(items).to_have_count(12)
    colours = await items.evaluate_all(
        "items => items.map(li => getComputedStyle(li.querySelector('.sender')).color)"
    )
    assert len(set(colours)) == 12, colours
    avatars = await items.evaluate_all(
        "items => items.map(li => [li.querySelector('.avatar').textContent,"
        " getComputedStyle(li.querySelector('.avatar')).color])"
    )
    assert [text for text, _ in avatars] == [f"{name[0]}B".upper() for name in TEAM]
    assert [colour for _, colour in avatars] == colours  # the avatar wears its sender's hue


def insert_at(server: ServerProcess, room: str, rows: list[tuple[str, datetime]]) -> None:
    """Messages written straight into the database with the times a test needs."""
    with sqlite3.connect(server.home / "chatnut.db", timeout=30) as conn:
        conn.executemany(
            "INSERT INTO messages (room_id, sender, content, message_type, created_at)"
            " VALUES (?, ?, ?, 'message', ?)",
            (
                (room, sender, f"{sender} at {at:%H:%M}", at.isoformat(timespec="milliseconds"))
                for sender, at in rows
            ),
        )


async def test_day_separators_split_the_days_and_break_a_group(
    browser: Browser, server: ServerProcess, agent: Client
) -> None:
    room = (await call(agent, "init_room", project="demo", name="days"))["id"]
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    before_yesterday = midnight - timedelta(days=1)
    # One sender, three minutes apart, across a midnight: two days, two headers.
    insert_at(
        server,
        room,
        [
            ("ann", before_yesterday - timedelta(minutes=2)),
            ("ann", before_yesterday + timedelta(minutes=1)),
            ("ann", before_yesterday + timedelta(minutes=2)),
        ],
    )
    await call(agent, "post_message", room_id=room, sender="ann", content="today")
    async with watched_page(browser, server, timezone_id="UTC") as (page, _):
        await open_room(page, server, room)
        days = page.locator("#message-list li.day")
        old_day = before_yesterday - timedelta(days=1)
        await expect(days).to_have_text(
            [f"{old_day:%A, %B} {old_day.day}, {old_day.year}", "Yesterday", "Today"]
        )
        grouped = await page.eval_on_selector_all(
            "#message-list li",
            "items => items.map(li => li.classList.contains('day') ? 'day'"
            " : li.classList.contains('grouped') ? 'line' : 'header')",
        )
        assert grouped == ["day", "header", "day", "header", "line", "day", "header"]


async def test_a_message_id_is_a_permalink_and_its_link_can_be_copied(
    browser: Browser, server: ServerProcess, agent: Client
) -> None:
    room = await room_with(agent, "links", ["the first", "the second"])
    clipboard = ["clipboard-read", "clipboard-write"]
    async with watched_page(browser, server, permissions=clipboard) as (page, _):
        await open_room(page, server, room)
        # Numbered names keep their number in the avatar: agent0, agent1.
        await expect(page.locator("#message-list .avatar")).to_have_text(["A0", "A1"])
        first = page.locator("#message-list li.message").first
        message = await first.get_attribute("data-id")
        link = f"{server.url}/?room={room}&msg={message}"
        copy = first.locator("button[data-copy-link]")
        await expect(copy).to_be_hidden()  # the actions show on hover
        await first.hover()
        await copy.click()
        await expect(copy).to_have_text("Link copied")
        assert await page.evaluate("navigator.clipboard.readText()") == link
        await first.locator("a.msg-id").click()
        await expect(page).to_have_url(link)
        await expect(first).to_have_class("message flash")
        # The link, opened afresh, shows the message highlighted.
        await page.goto(link)
        await expect(page.locator(f'li.message[data-id="{message}"]')).to_have_class(
            "message flash"
        )


async def test_the_live_region_says_the_end_of_a_burst_and_nothing_while_scrolled_up(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room = await room_with(agent, "spoken", [f"line {i}\n\nmore\n\nand more" for i in range(40)])
    await open_room(page, server, room)
    announce = page.locator("#announce")
    await call(agent, "post_message", room_id=room, sender="ann", content="first")
    await expect(announce).to_have_text("ann: first")  # one message: read in full
    # Within the pause, the rest of the burst is kept and said once it ends
    # (three or fewer in full, more counted).
    for sender in ("bob", "cy", "dee"):
        await call(agent, "post_message", room_id=room, sender=sender, content="more")
    await expect(announce).to_have_text("bob: more. cy: more. dee: more", timeout=10_000)
    # Scrolled up, the reader gets the pill; the live region stays quiet.
    await page.eval_on_selector("#messages", "el => { el.scrollTop = 0; }")
    await call(agent, "post_message", room_id=room, sender="eve", content="while away")
    await expect(page.locator("#pill")).to_have_text("1 new message ↓")
    await expect(announce).to_have_text("bob: more. cy: more. dee: more")
