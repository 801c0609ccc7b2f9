"""The page's navigation in a real Chromium: history, search, room actions,
windowed history, the tab title, narrow screens and the keyboard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from mcp import Client
from playwright.async_api import Page, expect

from tests.helpers import ServerProcess
from tests.web_ui.pages import call, open_home, open_room, room_with, shown_ids

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def test_deep_links_and_back_forward_move_between_rooms(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    first = await room_with(agent, "first", ["in first"])
    second = await room_with(agent, "second", ["in second"])
    await open_room(page, server, first)
    await expect(page.locator("#room-name")).to_have_text("first")
    await page.click(f'#live-rooms a[data-room="{second}"]')
    await expect(page.locator("#room-name")).to_have_text("second")
    assert page.url == f"{server.url}/?room={second}"
    await page.go_back()
    await expect(page.locator("#room-name")).to_have_text("first")
    await expect(page.locator("#message-list")).to_contain_text("in first")
    await page.go_forward()
    await expect(page.locator("#room-name")).to_have_text("second")


async def test_search_highlights_hits_and_opens_the_room_at_the_message(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    posts = ["the needle-in-haystack is here"] + [f"filler {i}" for i in range(249)]
    room = await room_with(agent, "haystack", posts)
    await open_room(page, server, room)
    await page.fill("#search", "needle-in")
    await page.press("#search", "Enter")
    hit = page.locator("#search-results a.hit").first
    await expect(hit.locator("mark")).to_have_text("needle-in")
    await hit.click()
    target = page.locator("#message-list li.message").first
    await expect(target).to_contain_text("the needle-in-haystack is here")
    await expect(target).to_be_in_viewport()
    assert "msg=" in page.url
    await page.go_back()
    await expect(page.locator("#search-results")).not_to_contain_text("null")


async def test_archive_then_delete_from_the_page(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room = await room_with(agent, "doomed", ["last words"])
    await open_room(page, server, room)
    await page.click("#archive-room")  # the fixture accepts the confirmation
    await expect(page.locator(f'#archived-rooms a[data-room="{room}"]')).to_have_count(1)
    await expect(page.locator("#draft")).to_be_disabled()
    await expect(page.locator("#composer-note")).to_contain_text("archived")
    await page.click("#delete-room")
    await expect(page.locator(f'a[data-room="{room}"]')).to_have_count(0)
    await expect(page.locator("#welcome")).to_contain_text("deleted")
    listed = await call(agent, "list_rooms", status="all")
    assert room not in [r["id"] for r in listed["rooms"]]


async def test_a_long_room_opens_on_its_newest_page_and_loads_older_on_scroll(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room = await room_with(agent, "long", [f"message number {i}" for i in range(260)])
    await open_room(page, server, room)
    await expect(page.locator("#message-list li.message")).to_have_count(100)
    ids = await shown_ids(page)
    assert ids == sorted(ids) and len(set(ids)) == 100
    await page.eval_on_selector("#messages", "el => { el.scrollTop = 0; }")
    await expect(page.locator("#message-list li.message")).to_have_count(200)
    await page.eval_on_selector("#messages", "el => { el.scrollTop = 0; }")
    await expect(page.locator("#message-list li.message")).to_have_count(260)
    ids = await shown_ids(page)
    assert ids == sorted(ids) and len(set(ids)) == 260


async def test_the_tab_title_counts_unread_messages(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    here = await room_with(agent, "here", ["seen"])
    there = await room_with(agent, "there", [])
    await open_room(page, server, here)
    await expect(page).to_have_title("here · chatnut")
    await call(agent, "post_message", room_id=there, sender="lead", content="elsewhere")
    await call(agent, "post_message", room_id=there, sender="lead", content="again")
    await expect(page).to_have_title("(2) here · chatnut")
    await page.click(f'#live-rooms a[data-room="{there}"]')
    await expect(page).to_have_title("there · chatnut")


# 360 px: a small phone. 640 x 400: a 1280 x 800 screen at 200 % zoom.
@pytest.mark.parametrize(("width", "height"), [(360, 740), (640, 400)])
async def test_small_and_zoomed_screens_have_no_sideways_scroll_and_a_room_drawer(
    page: Page, server: ServerProcess, agent: Client, width: int, height: int
) -> None:
    room = await room_with(agent, "narrow", ["```python\n" + "x = 1  # " + "long " * 60 + "\n```"])
    await page.set_viewport_size({"width": width, "height": height})
    await open_room(page, server, room)
    assert await page.evaluate("document.documentElement.scrollWidth") <= width
    await expect(page.locator("#draft")).to_be_in_viewport()
    # The room's name keeps a line of its own, however many actions the header has.
    name = page.locator("#room-name")
    await expect(name).to_have_text("narrow")
    box = await name.bounding_box()
    assert box is not None and box["width"] >= 40, box
    await expect(page.locator("#sidebar")).not_to_be_in_viewport()
    await page.click("#room-view [data-menu]")
    await expect(page.locator(f'#live-rooms a[data-room="{room}"]')).to_be_in_viewport()


async def test_the_keyboard_reaches_search_rooms_and_the_composer(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room = await room_with(agent, "keys", ["hello"])
    await open_home(page, server)
    await page.keyboard.press("/")
    await expect(page.locator("#search")).to_be_focused()
    link = page.locator(f'#live-rooms a[data-room="{room}"]')
    for _ in range(6):
        await page.keyboard.press("Tab")
        if await link.evaluate("el => el === document.activeElement"):
            break
    await expect(link).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("#room-name")).to_have_text("keys")
    await page.focus("#draft")
    await page.keyboard.type("typed without a mouse")
    await page.keyboard.press("Enter")
    await expect(page.locator("#message-list")).to_contain_text("typed without a mouse")


async def test_a_big_sidebar_is_paged_and_a_post_lifts_an_unloaded_room(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        ids = [
            (await http.post("/api/rooms", json={"project": "big", "name": f"room-{i:03}"})).json()[
                "id"
            ]
            for i in range(400)
        ]
    await open_home(page, server)
    rows = page.locator("#live-rooms .room-list > li")
    await expect(rows).to_have_count(100)  # the snapshot's page, not every room
    await expect(page.locator("#live-count")).to_have_text("400")  # the server's count
    await expect(page.locator('.group[data-project="big"] .group-head .count')).to_have_text("400")
    await page.click('button[data-more="big"]')
    await expect(rows).to_have_count(150)
    shown = await rows.evaluate_all("items => items.map(li => li.dataset.id)")
    assert len(set(shown)) == 150 and set(shown) <= set(ids)  # every room once
    # Newest first: a post lifts the oldest room, not yet loaded, to the top.
    assert ids[0] not in shown
    await call(agent, "post_message", room_id=ids[0], sender="lead", content="me first")
    await expect(rows.first).to_have_attribute("data-id", ids[0])
    await expect(rows.first.locator(".preview")).to_have_text("lead: me first")
    await expect(rows).to_have_count(151)


async def test_search_counts_per_room_and_filters_by_project_and_dates(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    await room_with(agent, "hay", ["needle a", "needle b"], project="web")
    await room_with(agent, "stack", ["needle c"], project="ops")
    await open_home(page, server)
    await page.fill("#search", "needle")
    await page.press("#search", "Enter")
    hits = page.locator("#search-results a.hit[data-msg]")
    await expect(hits).to_have_count(3)
    counts = page.locator("#search-results .room-count")
    await expect(counts).to_have_count(2)
    assert sorted(await counts.all_inner_texts()) == ["ops/stack (1)", "web/hay (2)"]
    filters = page.locator("#search-filters")
    await page.select_option("#sf-project", "ops")
    await filters.locator("button[type=submit]").click()
    await expect(page.locator("#search-active")).to_contain_text("project ops")
    await expect(hits).to_have_count(1)
    await expect(hits).to_contain_text("needle c")
    await page.click('#search-active button[data-clear="project"]')
    await expect(hits).to_have_count(3)
    today = datetime.now(UTC).date()
    tomorrow = today + timedelta(days=1)
    await page.fill("#sf-after", tomorrow.isoformat())
    await filters.locator("button[type=submit]").click()
    await expect(page.locator("#search-active")).to_contain_text(f"from {tomorrow}")
    await expect(page.locator("#search-results h2")).to_have_text("No messages match")
    await page.click('#search-active button[data-clear="after"]')
    await page.fill("#sf-before", today.isoformat())
    await filters.locator("button[type=submit]").click()
    await expect(page.locator("#search-active")).to_have_text(f"Filtered by: to {today}×")
    await expect(hits).to_have_count(3)
    await page.keyboard.press("Escape")  # Esc closes the search
    await expect(page.locator("#search-view")).to_be_hidden()
    await expect(page.locator("#welcome")).to_be_visible()


async def test_a_sidebar_row_shows_its_name_and_age_with_or_without_a_badge(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    long = "a preview far longer than the sidebar is wide, " * 4
    read = await room_with(agent, "read-room-name", [long])
    unread = await room_with(agent, "unread-room-name", [long])
    await open_room(page, server, read)
    await call(agent, "post_message", room_id=unread, sender="bot", content=long)
    await expect(page.locator(f'#live-rooms a[data-room="{unread}"] .badge')).to_have_text("1")
    for room in (read, unread):
        parts = await page.eval_on_selector(
            f'#live-rooms a[data-room="{room}"]',
            """link => {
              const box = (sel) => link.querySelector(sel).getBoundingClientRect();
              const name = link.querySelector('.name');
              return { clipped: name.scrollWidth > name.clientWidth,
                       nameTop: box('.name').top, whenTop: box('.when').top,
                       whenHeight: box('.when').height, nameHeight: box('.name').height,
                       previewTop: box('.preview').top };
            }""",
        )
        # The name is whole, the age sits on its line, the preview below them.
        assert not parts["clipped"], parts
        assert abs(parts["nameTop"] - parts["whenTop"]) < parts["nameHeight"], parts
        assert parts["whenHeight"] < parts["nameHeight"] * 1.5, parts  # one line
        assert parts["previewTop"] >= parts["nameTop"] + parts["nameHeight"] - 1, parts
