"""Threads and the reader's place, in a real Chromium against the real server: a
message with replies says so under it; its thread opens in a pane beside the
room (by mouse or keyboard, Esc closes it; on a phone it covers the room);
replies sent there and by agents arrive live on every open page. "Mark unread
from here", "Jump to unread" and "Mark read" move the name's cursor."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from mcp import Client
from playwright.async_api import Browser, Page, expect

from tests.helpers import ServerProcess
from tests.web_ui.pages import (
    LIVE_WITHIN_MS,
    StaleRead,
    call,
    open_home,
    open_room,
    read_sent,
    watched_page,
)
from tests.web_ui.test_web_ui_axe import serious_violations

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def summary(server: ServerProcess, room: str, reader: str = "human") -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.url) as http:
        answer = await http.get(f"/api/rooms/{room}", params={"reader": reader})
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found


async def thread_room(agent: Client) -> tuple[str, int]:
    room = (await call(agent, "init_room", project="demo", name="ports"))["id"]
    await call(agent, "post_message", room_id=room, sender="ops", content="before")
    parent = await call(agent, "post_message", room_id=room, sender="ops", content="which port?")
    await call(agent, "post_message", room_id=room, sender="ops", content="unrelated")
    for sender, content in (("dev", "8080"), ("qa", "**9090** now")):
        await call(
            agent,
            "post_message",
            room_id=room,
            sender=sender,
            content=content,
            reply_to=parent["id"],
        )
    return room, int(parent["id"])


async def test_a_thread_opens_beside_the_room_and_replies_arrive_live(
    page: Page, browser: Browser, server: ServerProcess, agent: Client
) -> None:
    room, parent = await thread_room(agent)
    await open_room(page, server, room)
    item = page.locator(f'#message-list li[data-id="{parent}"]')
    line = item.locator(".thread-line")
    await expect(line).to_have_text("2 replies · last just now")
    # Only the message with replies has the line.
    await expect(page.locator("#message-list .thread-line")).to_have_count(1)

    async with watched_page(browser, server) as (other, _):
        await open_room(other, server, room)
        other_line = other.locator(f'#message-list li[data-id="{parent}"] .thread-line')
        await expect(other_line).to_have_text("2 replies · last just now")

        await line.click()
        pane = page.locator("#thread")
        await expect(pane).to_be_visible()
        items = pane.locator("#thread-list li.thread-item")
        await expect(items).to_have_count(3)
        await expect(items.nth(0)).to_contain_text("which port?")
        await expect(items.nth(2).locator("strong")).to_have_text("9090")  # rendered
        await expect(pane.locator("#thread-count")).to_have_text("2 replies")
        # Beside the room, not over it.
        box = await pane.bounding_box()
        messages = await page.locator("#messages").bounding_box()
        assert box is not None and messages is not None
        assert box["x"] >= messages["x"] + messages["width"] - 1

        draft = page.locator("#thread-draft")
        await expect(draft).to_be_focused()
        await draft.fill("use 9090 then")
        await draft.press("Enter")
        await expect(items).to_have_count(4)
        await expect(items.nth(3)).to_contain_text("use 9090 then")
        await expect(draft).to_have_value("")
        await expect(line).to_have_text("3 replies · last just now")
        await expect(other_line).to_have_text("3 replies · last just now", timeout=LIVE_WITHIN_MS)
        # It is a reply like any other for the agents.
        read = await call(agent, "read_messages", room_id=room)
        sent = read["messages"][-1]
        assert (sent["sender"], sent["content"]) == ("human", "use 9090 then")
        assert sent["metadata"]["reply_to"] == parent

        # An agent's reply: counted once on both pages, appended to the open pane.
        await call(
            agent, "post_message", room_id=room, sender="dev", content="ack", reply_to=parent
        )
        await expect(items).to_have_count(5, timeout=LIVE_WITHIN_MS)
        await expect(items.nth(4)).to_contain_text("ack")
        await expect(pane.locator("#thread-count")).to_have_text("4 replies")
        await expect(line).to_have_text("4 replies · last just now")
        await expect(other_line).to_have_text("4 replies · last just now", timeout=LIVE_WITHIN_MS)

        # A first reply to a message gives it its line, live.
        lonely = await call(agent, "post_message", room_id=room, sender="ops", content="anyone?")
        await call(
            agent, "post_message", room_id=room, sender="qa", content="me", reply_to=lonely["id"]
        )
        await expect(
            other.locator(f'#message-list li[data-id="{lonely["id"]}"] .thread-line')
        ).to_have_text("1 reply · last just now", timeout=LIVE_WITHIN_MS)
        await expect(items).to_have_count(5)  # not this thread's

    await page.keyboard.press("Escape")
    await expect(page.locator("#thread")).to_be_hidden()


async def test_the_thread_is_reached_and_closed_from_the_keyboard(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room, parent = await thread_room(agent)
    await open_room(page, server, room)
    item = page.locator(f'#message-list li[data-id="{parent}"]')
    await expect(item.locator(".thread-line")).to_be_visible()
    await item.focus()
    # From the message, Tab walks its controls: the thread line is one of them.
    for _ in range(6):
        await page.keyboard.press("Tab")
        if await item.locator(".thread-line").evaluate("el => el === document.activeElement"):
            break
    await expect(item.locator(".thread-line")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("#thread")).to_be_visible()
    await expect(page.locator("#thread-draft")).to_be_focused()
    await expect(page.locator("#thread-list li.thread-item")).to_have_count(3)
    await page.keyboard.press("Escape")
    await expect(page.locator("#thread")).to_be_hidden()
    await expect(item).to_be_focused()  # back where the reader was
    # The toolbar's Thread action opens one with no replies yet.
    lonely = page.locator("#message-list li.message", has_text="unrelated")
    await lonely.focus()
    lonely_id = await lonely.get_attribute("data-id")
    await lonely.get_by_role("button", name=f"Open the thread of #{lonely_id}").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#thread-count")).to_have_text("0 replies")
    await expect(page.locator("#thread-list li.thread-item")).to_have_count(1)


async def test_on_a_phone_the_thread_covers_the_room(
    browser: Browser, server: ServerProcess, agent: Client
) -> None:
    room, parent = await thread_room(agent)
    async with watched_page(
        browser, server, viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True
    ) as (phone, _):
        await open_room(phone, server, room)
        await phone.locator(f'#message-list li[data-id="{parent}"] .thread-line').click()
        pane = phone.locator("#thread")
        await expect(pane).to_be_visible()
        box = await pane.bounding_box()
        assert box == {"x": 0, "y": 0, "width": 390, "height": 844}
        # What is on top in the middle of the screen is the thread, not the room.
        on_top = await phone.evaluate(
            "() => document.elementFromPoint(195, 422).closest('#thread') !== null"
        )
        assert on_top
        await expect(phone.locator("#thread-close")).to_be_visible()
        await phone.locator("#thread-close").click()
        await expect(pane).to_be_hidden()


async def test_mark_unread_from_here_holds_until_mark_read(
    page: Page, browser: Browser, server: ServerProcess, agent: Client
) -> None:
    room = (await call(agent, "init_room", project="demo", name="places"))["id"]
    ids = []
    for i in range(6):
        to = "human" if i == 3 else None  # one of them directed to the reader
        posted = await call(
            agent, "post_message", room_id=room, sender="bot", content=f"m{i}", to=to
        )
        ids.append(int(posted["id"]))
    async with page.expect_response(read_sent(room, lambda i: i == ids[-1])):
        await open_room(page, server, room)
    assert (await summary(server, room))["unread_count"] == 0

    target = page.locator(f'#message-list li[data-id="{ids[2]}"]')
    await target.hover()
    await target.get_by_role("button", name=f"Mark unread from #{ids[2]}").click()
    row = page.locator(f'#live-rooms a[data-room="{room}"]')
    await expect(row.locator(".badge")).to_have_text("4")
    await expect(page.locator("#message-list li.divider + li.message")).to_have_attribute(
        "data-id", str(ids[2])
    )
    await expect(page.locator("#jump-unread")).to_be_visible()
    stands = await summary(server, room)
    assert (stands["unread_count"], stands["last_read_message_id"]) == (4, ids[2] - 1)
    # The directed message counts as unread for its reader again, yet its
    # sender still sees it read: a page opened afresh reads the receipt.
    async with watched_page(browser, server) as (sender_view, _):
        await sender_view.add_init_script("localStorage.setItem('chatnut.name', 'bot')")
        await open_room(sender_view, server, room)
        mark = sender_view.locator(
            f'#message-list li[data-id="{ids[3]}"] .receipts .rcpt[data-name="human"]'
        )
        await expect(mark).to_have_attribute("data-read", "true")

    # While the room stays open the page leaves that cursor alone: a new
    # message, seen at the bottom, would otherwise be marked read at once.
    reads: list[str] = []
    page.on(
        "request",
        lambda r: reads.append(r.url) if r.method == "POST" and r.url.endswith("/read") else None,
    )
    newest = await call(agent, "post_message", room_id=room, sender="bot", content="later")
    await expect(page.locator(f'#message-list li[data-id="{newest["id"]}"]')).to_be_visible()
    await page.locator("#messages").evaluate("el => { el.scrollTop = el.scrollHeight; }")
    # The absence of a request: one would go within the page's read throttle
    # (500 ms) after its read check (250 ms); this waits past both.
    await page.wait_for_timeout(1200)
    assert reads == []
    await expect(row.locator(".badge")).to_have_text("5")
    assert (await summary(server, room))["unread_count"] == 5

    await page.locator("#room-mark-read").click()
    await expect(row.locator(".badge")).to_have_text("")
    await expect(page.locator("#jump-unread")).to_be_hidden()
    await expect(page.locator("#message-list li.divider")).to_have_count(0)
    stands = await summary(server, room)
    assert (stands["unread_count"], stands["last_read_message_id"]) == (0, newest["id"])


async def test_jump_to_unread_loads_the_oldest_unread_outside_the_page(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room = (await call(agent, "init_room", project="demo", name="long"))["id"]
    ids = []
    for i in range(130):
        posted = await call(agent, "post_message", room_id=room, sender="bot", content=f"n{i}")
        ids.append(int(posted["id"]))
    async with page.expect_response(read_sent(room, lambda i: i == ids[-1])):
        await open_room(page, server, room)
    await expect(page.locator(f'#message-list li[data-id="{ids[4]}"]')).to_have_count(0)
    # The same name marks it unread from message 5 on another device.
    async with httpx.AsyncClient(base_url=server.url) as http:
        moved = await http.post(
            f"/api/rooms/{room}/unread", json={"reader": "human", "message_id": ids[4]}
        )
        assert moved.status_code == 200, moved.text
    jump = page.locator("#jump-unread")
    await expect(jump).to_be_visible(timeout=LIVE_WITHIN_MS * 3)  # the sidebar feed's row
    await jump.click()
    first = page.locator(f'#message-list li[data-id="{ids[4]}"]')
    await expect(first).to_be_in_viewport()
    await expect(page.locator("#message-list li.divider + li.message")).to_have_attribute(
        "data-id", str(ids[4])
    )


@pytest.mark.parametrize("scheme", ["dark", "light"])
async def test_the_open_thread_has_no_serious_accessibility_violation(
    browser: Browser, server: ServerProcess, agent: Client, scheme: str
) -> None:
    room, parent = await thread_room(agent)
    async with watched_page(browser, server, color_scheme=scheme, bypass_csp=True) as (page, _):
        await open_room(page, server, room)
        await page.locator(f'#message-list li[data-id="{parent}"] .thread-line').click()
        await expect(page.locator("#thread-list li.thread-item")).to_have_count(3)
        assert await serious_violations(page) == []


async def test_a_long_thread_pages_in_the_pane(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room, parent = await thread_room(agent)
    async with httpx.AsyncClient(base_url=server.url) as http:
        for i in range(103):  # with the two it has: 105, past one page of 100
            answer = await http.post(
                f"/api/rooms/{room}/messages",
                json={"sender": "dev", "content": f"step {i}", "reply_to": parent},
            )
            assert answer.status_code == 200, answer.text
    await page.goto(f"{server.url}/?room={room}&msg={parent}")  # older than the newest 100
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    line = page.locator(f'#message-list li[data-id="{parent}"] .thread-line')
    await expect(line).to_have_text("105 replies · last just now")
    await line.click()
    items = page.locator("#thread-list li.thread-item")
    await expect(items).to_have_count(101)  # the parent and the first 100
    more = page.locator("#thread-more")
    await expect(more).to_be_visible()
    await more.click()
    await expect(items).to_have_count(106)
    await expect(items.last).to_contain_text("step 102")
    await expect(more).to_be_hidden()
    await call(agent, "post_message", room_id=room, sender="qa", content="done", reply_to=parent)
    await expect(items).to_have_count(107, timeout=LIVE_WITHIN_MS)
    await expect(line).to_have_text("106 replies · last just now")


async def test_an_edited_parent_keeps_its_thread_line(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room, parent = await thread_room(agent)
    await open_room(page, server, room)
    item = page.locator(f'#message-list li[data-id="{parent}"]')
    await expect(item.locator(".thread-line")).to_have_text("2 replies · last just now")
    async with httpx.AsyncClient(base_url=server.url) as http:
        edited = await http.patch(
            f"/api/messages/{parent}", json={"content": "which port, really?", "name": "ops"}
        )
        assert edited.status_code == 200, edited.text
    await expect(item.locator(".body")).to_have_text("which port, really?", timeout=LIVE_WITHIN_MS)
    await expect(item.locator(".thread-line")).to_have_text("2 replies · last just now")


async def test_a_room_opened_from_a_read_made_before_a_reply_counts_it(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room, parent = await thread_room(agent)
    await open_home(page, server)
    async with StaleRead(page, room) as stale:
        row = page.locator(f'#live-rooms a[data-room="{room}"]')
        await row.click()
        await stale.until_made()
        await call(
            agent, "post_message", room_id=room, sender="dev", content="8081 then", reply_to=parent
        )
        await expect(row.locator(".preview")).to_contain_text("8081 then")  # the page heard it
        stale.answer()
    line = page.locator(f'#message-list li[data-id="{parent}"] .thread-line')
    await expect(line).to_have_text("3 replies · last just now")
    await expect(page.locator("#message-list li.message[data-id]")).to_have_count(6)


async def test_edits_and_deletes_show_live_in_the_open_thread(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room, parent = await thread_room(agent)
    await open_room(page, server, room)
    await page.locator(f'#message-list li[data-id="{parent}"] .thread-line').click()
    items = page.locator("#thread-list li.thread-item")
    await expect(items).to_have_count(3)
    reply = int(await items.nth(1).get_attribute("data-id") or 0)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        edited = await http.patch(
            f"/api/messages/{reply}", json={"content": "8080, *or* 8443", "name": "dev"}
        )
        assert edited.status_code == 200, edited.text
        await expect(items.nth(1).locator(".body em")).to_have_text("or")  # rendered
        await expect(items.nth(1).locator("time.edited")).to_have_text("(edited)")
        gone = await http.delete(f"/api/messages/{parent}", params={"name": "ops"})
        assert gone.status_code == 200, gone.text
    await expect(items.nth(0).locator(".body")).to_have_text("message deleted")
    await expect(items.nth(0)).to_have_class("thread-item thread-parent")
    await expect(items).to_have_count(3)  # the replies stay


async def test_on_a_tablet_the_pane_title_and_count_keep_their_words_whole(
    browser: Browser, server: ServerProcess, agent: Client
) -> None:
    room, parent = await thread_room(agent)
    async with watched_page(browser, server, viewport={"width": 820, "height": 1180}) as (
        tablet,
        _,
    ):
        await open_room(tablet, server, room)
        await tablet.locator(f'#message-list li[data-id="{parent}"] .thread-line').click()
        count = tablet.locator("#thread-count")
        await expect(count).to_have_text("2 replies")
        # One line each: a word broken letter by letter would make it taller.
        for part in (count, tablet.locator("#thread-title")):
            lines = await part.evaluate(
                "el => { const s = getComputedStyle(el);"
                " const line = parseFloat(s.lineHeight) || parseFloat(s.fontSize) * 1.2;"
                " return Math.round(el.getBoundingClientRect().height / line); }"
            )
            assert lines <= 1, await part.inner_text()
