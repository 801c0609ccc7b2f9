"""The chat habits people expect, each in a real Chromium against the real server:
grouping and day separators, code blocks, the keyboard, the sidebar's views,
previews, the composer, notifications, search paging, empty state, a11y."""

from __future__ import annotations

import asyncio
import re

import pytest
from mcp import Client
from playwright.async_api import Browser, Page, Route, expect

from tests.browser import Watched
from tests.helpers import ServerProcess
from tests.web_ui.pages import call, open_home, open_room, read_sent, room_with, watched_page

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def test_consecutive_lines_group_under_one_header_after_a_day_separator(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room = (await call(agent, "init_room", project="demo", name="grouped"))["id"]
    for sender, text in [("ann", "one"), ("ann", "two"), ("ann", "three"), ("bob", "four")]:
        await call(agent, "post_message", room_id=room, sender=sender, content=text)
    await open_room(page, server, room)
    items = page.locator("#message-list li.message")
    await expect(items).to_have_count(4)
    classes = await items.evaluate_all("items => items.map(li => li.classList.contains('grouped'))")
    assert classes == [False, True, True, False]
    await expect(page.locator("#message-list li.day")).to_have_text(["Today"])
    await expect(items.nth(0).locator(".avatar")).to_have_text("AN")
    # Absolute local time: on hover of the header's time, and on grouped lines.
    title = await items.nth(1).locator("time.gutter").get_attribute("title")
    assert title and re.search(r"\d{4}", title)
    await items.nth(1).hover()
    await expect(items.nth(1).locator("time.gutter")).to_be_visible()
    colours = await items.evaluate_all(
        "items => items.map(li => li.querySelector('.sender').className)"
    )
    assert colours[0] != colours[3]  # two names, two colours


async def test_code_blocks_have_a_language_label_and_a_copy_button(
    browser: Browser, server: ServerProcess, agent: Client
) -> None:
    room = await room_with(
        agent, "code", ["```python\nprint('hi')\n```\n\n- [x] shipped\n- [ ] docs"]
    )
    clipboard = ["clipboard-read", "clipboard-write"]
    async with watched_page(browser, server, permissions=clipboard) as (page, _):
        await open_room(page, server, room)
        head = page.locator("#message-list .code-head")
        await expect(head.locator(".lang")).to_have_text("Python")
        await head.locator("button").click()
        await expect(head.locator("button")).to_have_text("Copied")
        assert await page.evaluate("navigator.clipboard.readText()") == "print('hi')\n"
        boxes = page.locator("#message-list li.task input[type=checkbox]")
        await expect(boxes).to_have_count(2)
        assert [await b.is_checked() for b in await boxes.all()] == [True, False]
        # A done item stands apart from an open one (not two greyed browser boxes).
        background = "els => els.map(el => getComputedStyle(el).backgroundColor)"
        fills = await boxes.evaluate_all(background)
        assert contrast(fills[0], fills[1]) >= 3, fills


async def test_ctrl_k_switches_rooms_and_alt_arrows_step_through_them(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    first = await room_with(agent, "alpha-room", ["a"])
    second = await room_with(agent, "beta-room", ["b"])
    third = await room_with(agent, "gamma-room", ["c"])
    await open_room(page, server, third)
    await page.keyboard.press("Control+k")
    await expect(page.locator("#switcher")).to_be_visible()
    await page.keyboard.type("ALPHA")
    await expect(page.locator("#switcher-list [role=option]")).to_have_count(1)
    await page.keyboard.press("Enter")
    await expect(page.locator("#room-name")).to_have_text("alpha-room")
    # Rows newest first: gamma, beta, alpha; Alt+↑ goes to the one above.
    await page.keyboard.press("Alt+ArrowUp")
    await expect(page.locator("#room-name")).to_have_text("beta-room")
    await call(agent, "post_message", room_id=first, sender="bot", content="news")
    row = page.locator(f'#live-rooms a[data-room="{first}"] .badge')
    await expect(row).to_have_text("1")
    async with page.expect_response(read_sent(first, lambda _: True)):  # seen: now read
        await page.keyboard.press("Alt+Shift+ArrowDown")  # the next room with unread
    await expect(page.locator("#room-name")).to_have_text("alpha-room")
    # Now alpha, gamma, beta: Alt+↓ goes to the one below, Alt+Shift+↑ to the
    # previous room with unread, past a read one.
    await page.keyboard.press("Alt+ArrowDown")
    await expect(page.locator("#room-name")).to_have_text("gamma-room")
    await expect(row).to_be_hidden()
    await call(agent, "post_message", room_id=second, sender="bot", content="more news")
    await expect(page.locator(f'#live-rooms a[data-room="{second}"] .badge')).to_have_text("1")
    # beta, alpha, gamma: from gamma, the previous unread room is beta, past alpha.
    await page.keyboard.press("Alt+Shift+ArrowUp")
    await expect(page.locator("#room-name")).to_have_text("beta-room")
    await page.keyboard.press("Control+k")
    await expect(page.locator("#switcher")).to_be_visible()
    await page.keyboard.type("gam")
    await expect(page.locator("#switcher-list [role=option]")).to_have_count(1)
    await page.keyboard.press("Escape")  # closes, with a query typed too
    await expect(page.locator("#switcher")).to_be_hidden()
    await page.locator("#messages").click()
    await page.keyboard.press("?")
    await expect(page.locator("#help")).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(page.locator("#help")).to_be_hidden()


async def test_a_click_on_a_switcher_option_survives_a_newer_answer(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    """The press lands on an option of the first answer; the answer to the
    typed name arrives before the release: the click still opens that room."""
    await room_with(agent, "alpha-room", ["a"])
    beta = await room_with(agent, "beta-room", ["b"])
    await open_home(page, server)
    await page.keyboard.press("Control+k")
    option = page.locator(f'#switcher-list [data-room="{beta}"]')
    await expect(page.locator("#switcher-list [role=option]")).to_have_count(2)
    held: asyncio.Queue[Route] = asyncio.Queue()
    await page.route("**/api/sidebar?*q=beta*", held.put_nowait)
    await page.keyboard.type("beta")
    answer = await asyncio.wait_for(held.get(), 10)
    box = await option.bounding_box()
    assert box is not None
    await page.mouse.move(box["x"] + 5, box["y"] + box["height"] / 2)
    await page.mouse.down()
    await answer.continue_()
    await expect(page.locator("#switcher-list [role=option]")).to_have_count(1)  # re-drawn
    await page.mouse.up()
    await expect(page.locator("#room-name")).to_have_text("beta-room")


async def test_unread_only_and_collapsible_projects_and_plain_previews(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    quiet = await room_with(agent, "quiet", ["old"], project="ops")
    busy = await room_with(agent, "busy", ["old"], project="ops")
    await room_with(agent, "elsewhere", ["x"], project="web")
    await open_home(page, server)
    table = "| shard | p50 ms |\n|---|---|\n| a | **1** |"
    await call(agent, "post_message", room_id=busy, sender="bot", content=table)
    busy_row = page.locator(f'#live-rooms a[data-room="{busy}"]')
    await expect(busy_row.locator(".preview")).to_have_text("bot: shard p50 ms a 1")
    await page.click("#unread-only")
    await expect(page.locator("#unread-only")).to_have_attribute("aria-pressed", "true")
    await expect(page.locator("#live-rooms .room-list > li")).to_have_count(1)
    await expect(busy_row).to_be_visible()
    await expect(page.locator(f'#live-rooms a[data-room="{quiet}"]')).to_have_count(0)
    await page.click("#unread-only")
    await expect(page.locator("#live-rooms .room-list > li")).to_have_count(3)
    head = page.locator('button[data-group="ops"]')
    await expect(head).to_contain_text("1")  # the project's unread, from the server
    await head.click()
    await expect(head).to_have_attribute("aria-expanded", "false")
    await expect(busy_row).to_be_hidden()
    await page.reload()
    await expect(page.locator('button[data-group="ops"]')).to_have_attribute(
        "aria-expanded", "false"
    )


async def test_composer_grows_offers_names_and_keeps_a_failed_draft(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room = await room_with(agent, "compose", ["hello"])
    await call(agent, "register_agent", room_id=room, agent_name="reviewer", task_id="t1")
    await open_room(page, server, room)
    draft = page.locator("#draft")
    before = (await draft.bounding_box() or {"height": 0})["height"]
    await draft.fill("line\nline\nline\nline")
    await draft.dispatch_event("input")
    after = (await draft.bounding_box() or {"height": 0})["height"]
    assert after > before
    await draft.fill("line\n" * 60)  # then up to a third of the screen, and it scrolls
    await draft.dispatch_event("input")
    tall = await draft.evaluate("el => [el.getBoundingClientRect().height, el.scrollHeight]")
    assert after < tall[0] <= 800 / 3 + 1 < tall[1]
    await draft.fill("")
    await draft.press_sequentially("ping @rev")
    option = page.locator("#mention-list [role=option]")
    await expect(option.first).to_have_text("@reviewer")
    await page.keyboard.press("Enter")
    await expect(draft).to_have_value("ping @reviewer ")
    await draft.press_sequentially("@agent")  # recent senders follow the registered agents
    await expect(option).to_have_text(["@agent0"])
    await page.keyboard.press("Tab")
    await expect(draft).to_have_value("ping @reviewer @agent0 ")

    async def refuse(route: object) -> None:
        await route.abort()  # type: ignore[attr-defined]

    await page.route("**/api/rooms/*/messages", refuse)
    await page.keyboard.press("Enter")
    await expect(page.locator("#composer-note")).to_contain_text("Not sent")
    await expect(draft).to_have_value("ping @reviewer @agent0 ")
    await page.unroute("**/api/rooms/*/messages")
    await page.click("#retry")
    await expect(page.locator("#message-list")).to_contain_text("ping @reviewer")
    await expect(draft).to_have_value("")
    await expect(page.locator("#retry")).to_be_hidden()


async def test_offline_closes_the_composer_with_a_reason(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room = await room_with(agent, "offline", ["hello"])
    await open_room(page, server, room)
    await page.fill("#draft", "kept")
    await page.context.set_offline(True)
    await expect(page.locator("#conn")).to_have_attribute("data-state", "offline")
    await expect(page.locator("#draft")).to_be_disabled()
    await expect(page.locator("#composer-note")).to_contain_text("Offline")
    await page.context.set_offline(False)
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=15000)
    await expect(page.locator("#draft")).to_be_enabled()
    await expect(page.locator("#draft")).to_have_value("kept")


NOTIFICATION_RECORDER = """
window.__notes = [];
window.Notification = class {
  static permission = 'default';
  static async requestPermission() {
    window.__asked = true;
    this.permission = 'granted';
    return 'granted';
  }
  constructor(title, options) { window.__notes.push([title, options.body]); }
};
"""


async def test_mention_notifications_are_opt_in(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    await page.add_init_script(NOTIFICATION_RECORDER)
    here = await room_with(agent, "here", ["x"])
    there = await room_with(agent, "there", ["y"])
    await open_room(page, server, here)
    await call(agent, "post_message", room_id=there, sender="bot", content="@human before opt-in")
    await expect(page.locator(f'#live-rooms a[data-room="{there}"] .badge')).to_have_text(
        "@1"
    )  # a mention of the reader
    assert await page.evaluate("[window.__asked ?? false, window.__notes]") == [False, []]
    await page.click("#notify-toggle")
    await expect(page.locator("#notify-toggle")).to_have_attribute("aria-pressed", "true")
    await call(agent, "post_message", room_id=there, sender="bot", content="not for you")
    await call(agent, "post_message", room_id=there, sender="bot", content="@human look")
    await page.wait_for_function("() => window.__notes.length > 0")
    assert await page.evaluate("window.__notes") == [["bot in there", "@human look"]]


async def test_a_fresh_server_explains_how_to_connect_an_agent(
    watched: tuple[Page, Watched], server: ServerProcess
) -> None:
    page, _ = watched
    await open_home(page, server)
    await expect(page.locator("#empty-state")).to_be_visible()
    await expect(page.locator("#mcp-url")).to_have_text(f"{server.url}/mcp/")
    await expect(page.locator("#empty-state")).to_contain_text("chatnut install")
    await expect(page.locator("#pick-room")).to_be_hidden()
    # Errors in words, cleared on navigation.
    await page.goto(f"{server.url}/?room=no-such-room")
    await expect(page.locator("#welcome-note")).to_contain_text("Cannot open that room")
    await page.click("#home-link")
    await expect(page.locator("#welcome-note")).to_have_text("")


async def test_the_team_panel_lists_agents_and_statuses_with_times(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room = await room_with(agent, "team", ["hi"])
    await call(agent, "register_agent", room_id=room, agent_name="builder", task_id="task-7")
    await call(agent, "update_status", room_id=room, sender="builder", status="compiling")
    await open_room(page, server, room)
    await page.click("#team-toggle")
    panel = page.locator("#team")
    await expect(panel).to_contain_text("builder")
    await expect(panel).to_contain_text("task task-7")
    await expect(panel).to_contain_text("compiling")
    await expect(panel.locator("time").first).to_have_text(re.compile("now|second|minute"))


async def test_search_pages_through_hits_with_visible_filters(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room = await room_with(agent, "hay", [f"needle {i}" for i in range(45)])
    other = await room_with(agent, "stack", ["needle elsewhere"])
    await open_room(page, server, room)
    await page.fill("#search", "needle")
    await page.press("#search", "Enter")
    hits = page.locator("#search-results a.hit[data-msg]")
    await expect(hits).to_have_count(20)
    await page.click("#search-more")
    await expect(hits).to_have_count(40)
    await page.click("#search-more")
    await expect(hits).to_have_count(46)
    await expect(page.locator("#search-more")).to_have_count(0)
    await page.click(f'button[data-room-filter="{other}"]')
    await expect(hits).to_have_count(1)
    await expect(page.locator("#search-active")).to_contain_text("room demo/stack")
    await page.click('#search-active button[data-clear="room_id"]')
    await expect(hits).to_have_count(20)
    await page.fill("#sf-sender", "agent1")
    await page.click("#search-filters button[type=submit]")
    await expect(page.locator("#search-active")).to_contain_text("sender agent1")
    await expect(hits).to_have_count(15)


def contrast(a: str, b: str) -> float:
    def luminance(rgb: str) -> float:
        parts = [int(x) / 255 for x in re.findall(r"\d+", rgb)[:3]]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in parts]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("scheme", ["dark", "light"])
async def test_inputs_reach_3_to_1_and_new_messages_are_announced(
    browser: Browser, server: ServerProcess, agent: Client, scheme: str
) -> None:
    room = await room_with(agent, "a11y", ["hi"])
    async with watched_page(browser, server, color_scheme=scheme) as (page, _):
        await open_room(page, server, room)
        for selector in ("#draft", "#search", "#sender"):
            border, behind = await page.eval_on_selector(
                selector,
                "el => [getComputedStyle(el).borderTopColor,"
                " getComputedStyle(el.closest('.composer, .sidebar')).backgroundColor]",
            )
            assert contrast(border, behind) >= 3, (selector, border, behind)
        await call(agent, "post_message", room_id=room, sender="bot", content="news")
        await expect(page.locator("#announce")).to_have_text("bot: news")


async def test_a_room_that_failed_during_an_outage_opens_on_reconnect(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    here = await room_with(agent, "here", ["hello"])
    there = await room_with(agent, "there", ["waiting for you"])
    await open_room(page, server, here)
    port = server.port
    server.stop()
    await expect(page.locator("#conn")).not_to_have_attribute("data-state", "live")
    await page.click(f'#live-rooms a[data-room="{there}"]')
    await expect(page.locator("#welcome-note")).to_contain_text("Cannot open that room")
    await expect(page.locator("#room-view")).to_be_hidden()
    server.start(port)
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    await expect(page.locator("#room-name")).to_have_text("there")
    await expect(page.locator("#message-list li.message")).to_have_text(
        [re.compile("waiting for you")]
    )
    await expect(page.locator("#welcome-note")).to_have_text("")
    assert page.url.endswith(f"/?room={there}")
