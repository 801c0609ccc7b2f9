"""One colour per sender name in every view of the page, in a real Chromium and
both themes: the messages and their avatars, the agents bar, the status bar,
the team panel, the pinned summary, @mention chips, search results and the
"Mentions & directed" list; with no serious axe-core violation."""

from __future__ import annotations

import re

import pytest
from mcp import Client
from playwright.async_api import Browser, Page, expect

from tests.helpers import ServerProcess
from tests.web_ui.pages import call, open_room, watched_page
from tests.web_ui.test_web_ui_axe import serious_violations

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

# Enough names that some share a hashed hue: a view that hashed on its own
# instead of asking the page's one function would disagree on one of them.
TEAM = ["builder", "qa", "infra", "docs", "agent-1", "agent-10", "ops", "sec", "pm", "ux", "db"]
READER = "human"


async def colours_of(page: Page, selector: str) -> dict[str, str]:
    """name -> computed text colour of each element matching `selector`, read in one
    go in the page (a view that draws again cannot detach them half way)."""
    pairs: list[list[str]] = await page.evaluate(
        """selector => [...document.querySelectorAll(selector)].map(el =>
          [el.textContent.replace(/^@/, '').toLowerCase(), getComputedStyle(el).color])""",
        selector,
    )
    return dict((name, colour) for name, colour in pairs)


def rgb(text: str) -> str:
    found = re.search(r"rgba?\([^)]*\)", text)
    assert found, text
    return found[0]


@pytest.mark.parametrize("scheme", ["dark", "light"])
async def test_a_name_wears_one_colour_in_every_view(
    browser: Browser, server: ServerProcess, agent: Client, scheme: str
) -> None:
    room = (await call(agent, "init_room", project="demo", name="colours"))["id"]
    for name in TEAM:
        await call(agent, "register_agent", room_id=room, agent_name=name, task_id="t")
        await call(agent, "update_status", room_id=room, sender=name, status="busy")
        await call(
            agent,
            "post_message",
            room_id=room,
            sender=name,
            content=f"hello from {name}, @{TEAM[0]} and @{READER}",
            to=READER,
        )
    await call(
        agent, "post_message", room_id=room, sender="qa", content="all done", message_type="summary"
    )
    async with watched_page(browser, server, color_scheme=scheme, bypass_csp=True) as (page, _):
        await open_room(page, server, room)
        await expect(page.locator("#message-list li.message")).to_have_count(len(TEAM) + 1)
        await expect(page.locator("#presence-bar .agent-chip")).to_have_count(len(TEAM))
        await expect(page.locator("#statusbar .status-chip")).to_have_count(len(TEAM))
        await expect(page.locator("#latest-summary header b")).to_have_text("qa")
        messages = await colours_of(page, "#message-list li.message .sender")
        assert set(messages) == set(TEAM)
        assert len(set(messages.values())) == len(TEAM)  # eleven names, eleven colours
        avatars = await page.eval_on_selector_all(
            "#message-list li.message",
            "items => items.map(li => [li.dataset.sender,"
            " getComputedStyle(li.querySelector('.avatar')).color])",
        )
        assert {name: colour for name, colour in avatars} == messages
        views = {
            "agents bar": await colours_of(page, "#presence-bar .agent-chip b"),
            "status bar": await colours_of(page, "#statusbar .status-chip b"),
            "summary": await colours_of(page, "#latest-summary header b"),
        }
        chips = await page.eval_on_selector_all(
            "#message-list .mention:not(.me)",
            "els => els.map(el => [el.textContent.slice(1), getComputedStyle(el).boxShadow,"
            " getComputedStyle(el).color, getComputedStyle(el).backgroundColor])",
        )
        assert chips, "no @mention chip"
        views["mention chips"] = {name: rgb(shadow) for name, shadow, _, _ in chips}
        for name, _, text, behind in chips:
            assert text != behind, name  # the chip's own text colour, not the name's
        assert not await serious_violations(page)
        await page.click("#team-toggle")
        await expect(page.locator("#team li b").first).to_be_visible()
        views["team panel"] = await colours_of(page, "#team li b")

        await page.fill("#search", "hello from")
        await page.press("#search", "Enter")
        await expect(page.locator("#search-results a.hit[data-msg]")).to_have_count(len(TEAM))
        views["search results"] = await colours_of(page, "#search-results .where b.sender")
        assert not await serious_violations(page)

        await page.click("#inbox-open")  # the reader's own name: READER
        await expect(page.locator("#inbox-title")).to_have_text(f"Mentions & directed: {READER}")
        await expect(page.locator("#inbox-results a.hit")).to_have_count(len(TEAM))
        views["mentions & directed"] = await colours_of(page, "#inbox-results .where b.sender")

        for view, seen in views.items():
            assert seen, view
            for name, colour in seen.items():
                assert colour == messages[name], (view, name, colour, messages[name])
