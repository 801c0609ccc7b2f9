"""The project's claims in the page's team panel, in a real Chromium against the real
server, made by an agent on MCP from another room of the project."""

from __future__ import annotations

import pytest
from mcp import Client
from playwright.async_api import Page, expect

from tests.helpers import ServerProcess
from tests.web_ui.pages import call, open_room

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

EVIL = '<img src=x onerror="window.__pwned = 7">'


async def test_the_team_panel_lists_the_projects_claims(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room = (await call(agent, "init_room", project="demo", name="watched"))["id"]
    other = (await call(agent, "init_room", project="demo", name="elsewhere"))["id"]
    await call(agent, "init_room", project="beta", name="watched")
    await open_room(page, server, room)
    await page.click("#team-toggle")
    claims = page.locator("#team .claims")
    await expect(claims).to_contain_text("No file or task claimed in this project.")

    await call(agent, "claim", room_id=other, agent_name="alice", paths=["src/**"], note=EVIL)
    await call(
        agent, "claim", room_id=other, agent_name="bob", paths=[], task="T-9", exclusive=False
    )
    await page.click("#team-toggle")  # closed, then opened again: drawn afresh
    await page.click("#team-toggle")
    await expect(claims.locator("h2")).to_have_text("Claims (2)")
    first = claims.locator("li").first
    await expect(first).to_contain_text("alice src/**")
    await expect(first).to_contain_text(f"— {EVIL}")  # a note is text, never markup
    await expect(claims.locator("li").last).to_contain_text("bob — task T-9 (shared)")
    assert await page.locator("#team img").count() == 0
    assert await page.evaluate("window.__pwned") is None
