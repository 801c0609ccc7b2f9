"""The web page in a real Chromium against the real server, with agents on MCP.

Every test also checks, on the way out, that the page made no request outside
the server and threw no script error.
"""

from __future__ import annotations

import pytest
from mcp import Client
from playwright.async_api import Browser, Page, expect

from tests.browser import Watched
from tests.helpers import ServerProcess
from tests.web_ui.pages import (
    LIVE_WITHIN_MS,
    call,
    open_home,
    open_room,
    posted_message,
    room_with,
    shown_ids,
)

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def test_an_agents_post_appears_live_without_reload(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room = await room_with(agent, "live", ["**kickoff**"])
    await open_room(page, server, room)
    await expect(page.locator("#message-list strong")).to_have_text("kickoff")
    posted = await call(agent, "post_message", room_id=room, sender="lead", content="fresh news")
    item = page.locator(f'#message-list li.message[data-id="{posted["id"]}"]')
    await expect(item).to_contain_text("fresh news", timeout=LIVE_WITHIN_MS)
    await expect(item.locator(".sender")).to_have_text("lead")


async def test_every_module_the_page_imports_is_preloaded_at_once(
    page: Page, server: ServerProcess
) -> None:
    # The sidebar's feed opens only after the last module has run: the page
    # names them all up front instead of discovering one level of imports at a time.
    await open_home(page, server)
    preloaded = await page.eval_on_selector_all(
        'link[rel="modulepreload"]', "links => links.map(l => new URL(l.href).pathname)"
    )
    imported = await page.evaluate(
        """() => performance.getEntriesByType('resource')
            .map(e => new URL(e.name).pathname)
            .filter(p => p.startsWith('/js/') && p !== '/js/main.js')"""
    )
    assert preloaded and sorted(preloaded) == sorted(set(imported))


async def test_the_sidebar_shows_a_room_created_through_mcp(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    await open_home(page, server)
    room = await call(agent, "init_room", project="gamma", name="born-live")
    link = page.locator(f'#live-rooms a[data-room="{room["id"]}"]')
    await expect(link).to_contain_text("born-live", timeout=LIVE_WITHIN_MS)
    await expect(page.locator("#project-filter option[value=gamma]")).to_have_count(1)


async def test_a_server_restart_loses_and_repeats_nothing(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room = await room_with(agent, "restart", ["one", "two", "three"])
    await open_room(page, server, room)
    await expect(page.locator("#message-list li.message")).to_have_count(3)
    port = server.port
    server.stop()
    await expect(page.locator("#conn")).not_to_have_attribute("data-state", "live")
    server.start(port)
    async with Client(server.mcp_url, mode="legacy") as again:
        for word in ("four", "five", "six"):
            await call(again, "post_message", room_id=room, sender="lead", content=word)
        expected = [m["id"] for m in (await call(again, "read_messages", room_id=room))["messages"]]
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    await expect(page.locator("#message-list li.message")).to_have_count(6)
    assert await shown_ids(page) == expected


async def test_scrolled_up_reader_gets_the_pill_instead_of_a_jump(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room = await room_with(agent, "pill", [f"line {i}\n\nmore text\n\nand more" for i in range(40)])
    await open_room(page, server, room)
    await expect(page.locator("#message-list li.message")).to_have_count(40)
    # It opens at the newest message, though heights settle only as they show.
    await expect(page.locator("#message-list li.message").last).to_be_in_viewport()
    await page.eval_on_selector("#messages", "el => { el.scrollTop = 0; }")
    await call(agent, "post_message", room_id=room, sender="lead", content="while you read")
    await expect(page.locator("#pill")).to_have_text("1 new message ↓")
    assert await page.eval_on_selector("#messages", "el => el.scrollTop") < 50  # no jump
    await page.click("#pill")
    await expect(page.locator("#pill")).to_be_hidden()
    at_bottom = "el => el.scrollHeight - el.scrollTop - el.clientHeight < 48"
    assert await page.eval_on_selector("#messages", at_bottom)


async def test_a_human_post_reaches_the_agents_with_its_mentions(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room = await room_with(agent, "human", ["hello humans"])
    await call(agent, "register_agent", room_id=room, agent_name="mate", task_id="task-9")
    await open_room(page, server, room)
    await page.fill("#sender", "Dana")
    await page.dispatch_event("#sender", "change")
    await page.click("#draft")
    await page.keyboard.type("Please look @mate")
    await page.keyboard.press("Shift+Enter")
    await page.keyboard.type("second line")
    async with page.expect_response(posted_message) as posted:
        await page.keyboard.press("Enter")
    answer = await (await posted.value).json()
    assert answer["mentions"] == [{"name": "mate", "task_id": "task-9"}]
    mine = page.locator(f'#message-list li.message[data-id="{answer["id"]}"]')
    await expect(mine.locator(".mention")).to_have_text("@mate")
    await expect(page.locator("#draft")).to_have_value("")
    seen = (await call(agent, "read_messages", room_id=room, since_id=answer["id"] - 1))["messages"]
    assert [(m["sender"], m["content"], m["metadata"]) for m in seen] == [
        ("Dana", "Please look @mate\nsecond line", {"source": "web"})
    ]
    await page.reload()
    await expect(page.locator("#sender")).to_have_value("Dana")


HOSTILE = [
    '<img src=x onerror="window.__pwned = 1">',
    "<script>window.__pwned = 2</script>",
    "[click me](javascript:window.__pwned=3)",
    "![pixel](http://203.0.113.9/track.png)",
]


async def test_hostile_content_is_inert_text(
    watched: tuple[Page, Watched], server: ServerProcess, agent: Client
) -> None:
    page, watch = watched
    biggest = "z" * 65536  # the default maximum message size, in bytes
    room = await room_with(agent, "hostile", [*HOSTILE, biggest])
    await open_room(page, server, room)
    await expect(page.locator("#message-list li.message")).to_have_count(5)
    body = page.locator("#message-list .body")
    await expect(body.nth(0)).to_have_text('<img src=x onerror="window.__pwned = 1">')
    await expect(body.nth(1)).to_have_text("<script>window.__pwned = 2</script>")
    await expect(body.nth(2)).to_have_text("[click me](javascript:window.__pwned=3)")
    await page.click("#message-list .body >> nth=2")
    assert await page.locator("#message-list img, #message-list script").count() == 0
    assert await page.locator('#message-list a[href^="javascript"]').count() == 0
    assert await page.evaluate("window.__pwned") is None
    assert len(await body.nth(4).inner_text()) == 65536
    assert watch.dialogs == []


async def test_hostile_names_statuses_and_descriptions_are_inert_text(
    watched: tuple[Page, Watched], server: ServerProcess, agent: Client
) -> None:
    page, watch = watched
    evil = '<img src=x onerror="window.__pwned = 9">'
    room = await call(agent, "init_room", project=evil, name=evil, description=evil, branch=evil)
    await call(agent, "post_message", room_id=room["id"], sender=evil, content="hi")
    await call(agent, "update_status", room_id=room["id"], sender=evil, status=evil)
    await open_room(page, server, room["id"])
    await expect(page.locator("#statusbar")).to_contain_text(evil)
    await expect(page.locator("#room-name")).to_have_text(evil)
    await expect(page.locator("#room-meta")).to_contain_text(evil)
    await expect(page.locator("#message-list .sender")).to_have_text(evil)
    await expect(page.locator(f'#live-rooms a[data-room="{room["id"]}"]')).to_contain_text(evil)
    await page.fill("#search", "onerror")
    await page.press("#search", "Enter")
    await expect(page.locator("#search-results .hit").first).to_contain_text(evil)
    assert await page.locator("img").count() == 0
    assert await page.evaluate("window.__pwned") is None
    assert watch.dialogs == []


async def test_ten_tabs_each_stay_live_on_one_connection_each(
    browser: Browser, server: ServerProcess, agent: Client
) -> None:
    room = await room_with(agent, "tabs", ["first"])
    context = await browser.new_context()
    try:
        pages = [await context.new_page() for _ in range(10)]
        for tab in pages:
            await open_room(tab, server, room)
        posted = await call(agent, "post_message", room_id=room, sender="lead", content="to all")
        for tab in pages:
            item = tab.locator(f'#message-list li.message[data-id="{posted["id"]}"]')
            await expect(item).to_contain_text("to all")
        # Switching rooms closes the old stream before the next one opens.
        other = await room_with(agent, "tabs-2", ["second room"])
        await pages[0].click(f'a[data-room="{other}"]')
        await expect(pages[0].locator("#room-name")).to_have_text("tabs-2")
        status = await (await context.request.get(f"{server.url}/api/status")).json()
        assert status["waiters"] == 1  # one stream for the whole browser
    finally:
        await context.close()
