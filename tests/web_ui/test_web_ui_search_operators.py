"""Search operators typed into the page's search box, in a real Chromium: the
hint says what they are, they narrow the hits, the words left are what is
highlighted, and an operator the server cannot use is explained in one line."""

from __future__ import annotations

import pytest
from mcp import Client
from playwright.async_api import Page, expect

from tests.helpers import ServerProcess
from tests.web_ui.pages import call, open_home

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def test_operators_narrow_the_page_search(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    ci = (await call(agent, "init_room", project="demo", name="ci"))["id"]
    other = (await call(agent, "init_room", project="demo", name="release"))["id"]
    posts = [
        (ci, "qa", "deploy failed on **step 3**"),
        (ci, "bob", "deploy failed for bob"),
        (other, "qa", "deploy failed in release"),
        (ci, "qa", "from:qa is how you search"),
    ]
    for room, sender, content in posts:
        await call(agent, "post_message", room_id=room, sender=sender, content=content)
    await open_home(page, server)
    await expect(page.locator("#search")).to_have_attribute("aria-describedby", "search-hint")
    await page.fill("#search", "from:qa in:ci deploy")
    await page.press("#search", "Enter")
    hint = page.locator("#search-hint")
    await expect(hint).to_be_visible()
    for operator in ("from:", "in:", "to:", "has:code", "before:", "after:"):
        await expect(hint).to_contain_text(operator)
    hits = page.locator("#search-results a.hit[data-msg]")
    await expect(hits).to_have_count(1)
    await expect(hits.first).to_contain_text("demo/ci · qa")
    await expect(hits.first.locator("mark")).to_have_text(["deploy"])
    await expect(hits.first).to_contain_text("deploy failed on step 3")  # plain text

    await page.fill("#search", '"from:qa" in:ci')
    await page.press("#search", "Enter")
    await expect(hits).to_have_count(1)
    await expect(hits.first.locator("mark")).to_have_text(["from:qa"])

    await page.fill("#search", "deploy has:links")
    await page.press("#search", "Enter")
    await expect(page.locator("#search-results")).to_have_text(
        "Search failed: has:links is not known; has:code is the one there is"
    )
