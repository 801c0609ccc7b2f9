"""The page as an all-day chat client, in a real Chromium against the real server:
read state (a watched room stays read, the "New" divider), windows around a
message, replies, the sidebar's focus and the habits of chat clients."""

from __future__ import annotations

import asyncio
import re
import sqlite3

import httpx
import pytest
from mcp import Client
from playwright.async_api import Browser, Page, Route, expect

from tests.helpers import ServerProcess
from tests.web_ui.pages import (
    call,
    open_home,
    open_room,
    posted_message,
    read_sent,
    room_with,
    shown_ids,
    watched_page,
)

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

# Every count the page shows for unread, recorded whenever it changes.
RECORD_UNREAD = """
window.__unreadSeen = [];
const note = () => {
  const title = /^\\((\\d+)\\)/.exec(document.title);
  if (title) window.__unreadSeen.push('title ' + title[1]);
  for (const b of document.querySelectorAll('#live-rooms .room-list .badge')) {
    if (!b.hidden && b.textContent) window.__unreadSeen.push('badge ' + b.textContent);
  }
};
new MutationObserver(note).observe(
  document, { subtree: true, childList: true, characterData: true });
"""


async def unread_for(server: ServerProcess, room: str, reader: str = "human") -> int:
    async with httpx.AsyncClient(base_url=server.url) as http:
        answer = await http.get(f"/api/rooms/{room}", params={"reader": reader})
        return int(answer.json()["unread_count"])


AT_BOTTOM = "() => { const s = document.getElementById('messages');"
AT_BOTTOM += " return s.scrollHeight - s.scrollTop - s.clientHeight < 10 "
AT_BOTTOM += " && document.getElementById('newer').hidden; }"


async def test_the_watched_room_stays_read_through_a_burst(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room = await room_with(agent, "watched", ["start"])
    await open_room(page, server, room)
    await page.evaluate(RECORD_UNREAD)
    first = (await call(agent, "read_messages", room_id=room))["messages"][0]["id"]
    last = first + 50  # ids are global and this server has no other room
    # The cursor follows without waiting for a lull: it reaches the last post.
    async with page.expect_response(read_sent(room, lambda id: id == last)):
        for i in range(50):
            posted = await call(agent, "post_message", room_id=room, sender="bot", content=f"n{i}")
        assert posted["id"] == last
    await expect(page.locator(f'li.message[data-id="{last}"]')).to_be_in_viewport()
    assert await page.evaluate("window.__unreadSeen") == []
    await expect(page).to_have_title("watched · chatnut")
    detail = await unread_for(server, room)
    assert detail == 0


async def test_a_room_with_unread_opens_at_a_new_divider(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room = await room_with(agent, "catching-up", [f"old {i}" for i in range(60)])
    home = await room_with(agent, "elsewhere", ["here"])
    await open_room(page, server, home)  # the first visit: everything so far is read
    new_ids = [
        (await call(agent, "post_message", room_id=room, sender="bot", content=f"new {i}"))["id"]
        for i in range(80)
    ]
    row = page.locator(f'#live-rooms a[data-room="{room}"]')
    await expect(row.locator(".badge")).to_have_text("80")
    await expect(page).to_have_title("(80) elsewhere · chatnut")
    await expect(page.locator('button[data-group="demo"] .badge')).to_have_text("80")
    # Only what was seen is read: past the divider, not the bottom of the room.
    seen_part = read_sent(room, lambda id: new_ids[0] <= id < new_ids[-1])
    async with page.expect_response(seen_part):
        await row.click()
    divider = page.locator("#message-list li.divider")
    await expect(divider).to_be_in_viewport()
    after = divider.locator("xpath=following-sibling::li[contains(@class, 'message')][1]")
    await expect(after).to_have_attribute("data-id", str(new_ids[0]))
    await expect(after).to_contain_text("new 0")
    assert (await shown_ids(page))[0] < new_ids[0]  # what was read is above, for context
    assert 0 < await unread_for(server, room) < 80
    async with page.expect_response(read_sent(room, lambda id: id == new_ids[-1])):
        await page.locator("#messages").hover()
        # The reader scrolls down as a person does, until the newest is on screen.
        while not await page.evaluate(AT_BOTTOM):
            await page.mouse.wheel(0, 2000)
            await page.wait_for_timeout(50)
    assert await unread_for(server, room) == 0
    await expect(page).to_have_title("catching-up · chatnut")


async def test_a_first_visit_shows_rows_while_its_catch_up_runs_and_no_old_unread(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    """The first rows do not wait for the first visit's catch-up, and they carry
    no counts meanwhile (the old unread it is about to clear); once it is done
    the feed starts and the counts stay at zero."""
    room = await room_with(agent, "backlog", [f"old {i}" for i in range(30)])
    held: list[object] = []
    await page.route("**/api/catch-up", lambda route: held.append(route))
    await page.add_init_script(RECORD_UNREAD)
    await page.goto(server.url)
    row = page.locator(f'#live-rooms a[data-room="{room}"]')
    await expect(row).to_be_visible()
    assert len(held) == 1  # the catch-up is still waiting: the rows came first
    await expect(row.locator(".badge")).to_be_hidden()
    await held[0].continue_()  # type: ignore[attr-defined]
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    assert await unread_for(server, room) == 0
    await expect(row.locator(".badge")).to_be_hidden()
    assert await page.evaluate("window.__unreadSeen") == []


def fill_room(server: ServerProcess, room: str, count: int) -> list[int]:
    with sqlite3.connect(server.home / "chatnut.db", timeout=30) as conn:
        conn.executemany(
            "INSERT INTO messages (room_id, sender, content, message_type, created_at)"
            " VALUES (?, ?, ?, 'message', '2026-11-24T10:00:00.000+00:00')",
            ((room, f"agent{i % 4}", f"message number {i}") for i in range(count)),
        )
        rows = conn.execute("SELECT id FROM messages WHERE room_id = ? ORDER BY id", (room,))
        return [r[0] for r in rows]


async def test_a_deep_link_into_a_huge_room_loads_a_window_around_it(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room = (await call(agent, "init_room", project="big", name="ten-thousand"))["id"]
    ids = fill_room(server, room, 10_000)
    target = ids[20]
    await page.goto(f"{server.url}/?room={room}&msg={target}")
    item = page.locator(f'li.message[data-id="{target}"]')
    await expect(item).to_be_in_viewport()
    await expect(item).to_have_class("message flash")
    shown = await shown_ids(page)
    assert len(shown) <= 500 and shown == sorted(shown)
    assert shown[0] == ids[0]
    # Scrolling down loads the next pages, and the page stays bounded.
    for _ in range(6):
        newest = (await shown_ids(page))[-1]
        await page.eval_on_selector("#messages", "el => { el.scrollTop = el.scrollHeight; }")
        await expect(page.locator("#message-list li.message").last).not_to_have_attribute(
            "data-id", str(newest)
        )
    shown = await shown_ids(page)
    assert len(shown) <= 500 and shown == sorted(shown) and len(set(shown)) == len(shown)
    assert shown[-1] > ids[500]


async def test_a_deep_link_asks_for_its_window_beside_the_rooms_summary(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    """The window around a linked message does not wait for the room's summary
    (one round trip less); held summaries still end in the message shown."""
    room = await room_with(agent, "linked", [f"line {i}" for i in range(40)])
    target = (await call(agent, "read_messages", room_id=room))["messages"][10]["id"]
    held: list[Route] = []
    await page.route(f"**/api/rooms/{room}?reader=*", lambda route: held.append(route))
    async with page.expect_request(lambda r: f"/messages?around={target}&" in r.url):
        await page.goto(f"{server.url}/?room={room}&msg={target}")
    # The summary is asked for in the same turn (a first visit's deep link
    # opens after its catch-up, once the page has loaded): it is still held.
    deadline = asyncio.get_running_loop().time() + 5
    while not held and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.02)
    assert len(held) == 1  # the window was asked for first
    await held[0].continue_()
    item = page.locator(f'li.message[data-id="{target}"]')
    await expect(item).to_be_in_viewport()
    await expect(item).to_have_class("message flash")


async def test_a_deep_link_whose_room_is_gone_says_so_once(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    """Both requests fail; the page says the summary's error in words, and the
    window's failure is no script error (the watched fixture checks that)."""
    await page.goto(f"{server.url}/?room=no-such-room&msg=5")
    await expect(page.locator("#welcome-note")).to_contain_text("Cannot open that room")


async def test_a_reply_quotes_its_parent_and_jumps_to_it(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room = await room_with(agent, "threads", ["the **original** question"])
    first = (await call(agent, "read_messages", room_id=room))["messages"][0]["id"]
    for i in range(150):
        await call(agent, "post_message", room_id=room, sender="bot", content=f"filler {i}")
    await call(agent, "post_message", room_id=room, sender="lead", content="answer", reply_to=first)
    await open_room(page, server, room)
    quote = page.locator("#message-list li.message").last.locator(".quote")
    # The parent is not in the page: its line comes from the server.
    await expect(quote).to_have_text("↳ agent0: the original question")
    await quote.click()
    parent = page.locator(f'li.message[data-id="{first}"]')
    await expect(parent).to_be_in_viewport()
    await expect(parent).to_contain_text("the original question")
    # The reply action sets the composer's target; the post carries it.
    await parent.hover()
    await parent.locator("button[data-reply]").click()
    await expect(page.locator("#replying")).to_contain_text(f"#{first}")
    await page.fill("#draft", "me too")
    async with page.expect_response(posted_message) as posted:
        await page.press("#draft", "Enter")
    answer = await (await posted.value).json()
    assert answer["metadata"]["reply_to"] == first
    await expect(page.locator("#replying")).to_be_hidden()


async def test_light_theme_follows_the_system_and_the_toggle_sticks(
    browser: Browser, server: ServerProcess, agent: Client
) -> None:
    await room_with(agent, "themed", ["hi"])
    async with watched_page(browser, server, color_scheme="light") as (page, _):
        await page.goto(server.url)
        body, toggle = page.locator("body"), page.locator("#theme-toggle")
        await expect(body).to_have_css("background-color", "rgb(255, 255, 255)")
        await toggle.click()  # system -> light
        await toggle.click()  # light -> dark
        await expect(body).to_have_css("background-color", "rgb(17, 19, 23)")
        await page.reload()
        # Waited for, not read at once: the reloaded page applies the stored
        # choice when its script runs.
        await expect(toggle).to_have_attribute("aria-label", "Theme: dark")
        await expect(body).to_have_css("background-color", "rgb(17, 19, 23)")


async def test_a_focused_room_row_keeps_focus_when_its_room_gets_a_post(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    target = await room_with(agent, "focused", ["first"])
    await room_with(agent, "newer", ["second"])
    await open_home(page, server)
    rows = page.locator("#live-rooms .room-list > li")
    await expect(rows.first).to_have_attribute("data-id", await first_id(agent, "newer"))
    link = page.locator(f'#live-rooms a[data-room="{target}"]')
    await link.focus()
    await call(agent, "post_message", room_id=target, sender="bot", content="moves it up")
    await expect(rows.first).to_have_attribute("data-id", target)
    await expect(link).to_be_focused()
    # Its name says what the row shows (name, preview, age), then project and unread.
    await expect(link).to_have_accessible_name(
        re.compile(r"^focused\W+bot: moves it up\W+just now in demo, 1 unread$")
    )


async def first_id(agent: Client, name: str) -> str:
    rooms = (await call(agent, "list_rooms"))["rooms"]
    return str(next(r["id"] for r in rooms if r["name"] == name))


async def test_the_drawer_closes_on_a_tap_outside_and_on_escape(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room = await room_with(agent, "mobile", ["hi"])
    await call(agent, "update_status", room_id=room, sender="bot", status="working")
    await page.set_viewport_size({"width": 390, "height": 844})
    await open_room(page, server, room)
    # Header, status bar and composer take at most a third of the screen.
    chrome = await page.evaluate(
        "['.room-head', '#statusbar', '#composer']"
        ".map(s => document.querySelector('#room-view ' + s).getBoundingClientRect().height)"
        ".reduce((a, b) => a + b, 0)"
    )
    assert chrome <= 844 / 3
    menu = page.locator("#room-view [data-menu]")
    await expect(menu).to_be_in_viewport()
    await menu.click()
    await expect(page.locator("#app")).to_have_class("app drawer-open")
    await page.mouse.click(380, 400)  # outside the drawer
    await expect(page.locator("#app")).to_have_class("app")
    await menu.click()
    await expect(page.locator("#app")).to_have_class("app drawer-open")
    await page.keyboard.press("Escape")
    await expect(page.locator("#app")).to_have_class("app")
    # Picking a room in the drawer opens it and puts the drawer away.
    other = await room_with(agent, "elsewhere", ["over here"])
    await menu.click()
    await page.click(f'#live-rooms a[data-room="{other}"]')
    await expect(page.locator("#room-name")).to_have_text("elsewhere")
    await expect(page.locator("#app")).to_have_class("app")
    await expect(page.locator("#sidebar")).not_to_be_in_viewport()


async def test_an_archived_room_never_counts_as_unread(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    here = await room_with(agent, "here", ["seen"])
    fading = await room_with(agent, "fading", ["read before"], project="ops")
    async with page.expect_response(read_sent(fading, lambda id: id > 0)):
        await open_room(page, server, fading)  # the reader has a cursor there
    await open_room(page, server, here)
    for i in range(2):
        await call(agent, "post_message", room_id=fading, sender="bot", content=f"unread {i}")
    row = page.locator(f'#live-rooms a[data-room="{fading}"]')
    # The same count on the row, its project and the title.
    await expect(row.locator(".badge")).to_have_text("2")
    await expect(page.locator('button[data-group="ops"] .badge')).to_have_text("2")
    await expect(page).to_have_title("(2) here · chatnut")
    await call(agent, "archive_room", project="ops", name="fading")
    await expect(page).to_have_title("here · chatnut")
    await expect(row).to_have_count(0)
    await page.click("#archived-toggle")
    archived = page.locator(f'#archived-rooms a[data-room="{fading}"]')
    await expect(archived).to_have_accessible_name(re.compile(r"^fading\W.* in ops$"))
    await expect(archived.locator(".badge")).to_be_hidden()
    await page.keyboard.press("Control+k")
    await page.keyboard.type("fading")
    option = page.locator(f'#switcher-list [data-room="{fading}"]')
    await expect(option).to_contain_text("ops · archived")
    await expect(option.locator(".badge")).to_have_count(0)
    # Opened, it shows its end: no "New" divider above messages it never counted.
    await option.click()
    await expect(page.locator("#room-name")).to_have_text("fading")
    last = page.locator("#message-list li.message").last
    await expect(last).to_contain_text("unread 1")
    await expect(last).to_be_in_viewport()
    await expect(page.locator("#message-list .divider")).to_have_count(0)


# Headless Chromium never hides a page: the page is told its tab is hidden
# or shown the way the browser tells it, by visibilityState and the event.
SET_HIDDEN = """hidden => {
  Object.defineProperty(document, 'visibilityState',
    { value: hidden ? 'hidden' : 'visible', configurable: true });
  document.dispatchEvent(new Event('visibilitychange'));
}"""


async def test_a_hidden_tab_counts_what_it_did_not_see_and_reads_it_when_shown(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room = await room_with(agent, "background", ["start"])
    await open_room(page, server, room)
    await expect(page.locator("#message-list li.message")).to_have_count(1)
    await page.evaluate(SET_HIDDEN, True)
    posted = [
        await call(agent, "post_message", room_id=room, sender="bot", content=f"while away {i}")
        for i in range(3)
    ]
    badge = page.locator(f'#live-rooms a[data-room="{room}"] .badge')
    await expect(badge).to_have_text("3")
    await expect(page).to_have_title("(3) background · chatnut")
    assert await unread_for(server, room) == 3
    async with page.expect_response(read_sent(room, lambda id: id == posted[-1]["id"])):
        await page.evaluate(SET_HIDDEN, False)
    await expect(page).to_have_title("background · chatnut")
    await expect(badge).to_be_hidden()
    assert await unread_for(server, room) == 0
