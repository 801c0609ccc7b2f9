"""axe-core over the page in a real Chromium: the home, room, search and inbox
views, in the dark and the light theme, have no serious or critical
accessibility violation. axe-core is the npm package package-lock.json pins
(`npm ci` installs it; `make lint` does too)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from playwright.async_api import Browser, Page, expect

from tests.helpers import ServerProcess
from tests.web_ui.pages import call, watched_page

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# Twelve senders: every one of the twelve sender colours is on screen.
SENDERS = [f"agent-{i}" for i in range(12)] + ["infra", "qa"]


def axe_source() -> str:
    if not AXE.exists():
        pytest.fail(f"axe-core is missing at {AXE}: run `npm ci` in the repository root")
    return AXE.read_text()


async def serious_violations(page: Page) -> list[str]:
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.add_script_tag(content=axe_source())
    found: list[dict[str, Any]] = await page.evaluate(
        """async () => {
          const result = await axe.run(document, { resultTypes: ["violations"] });
          return result.violations.map((v) => ({
            id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
          }));
        }"""
    )
    return [
        f"{v['id']} ({v['impact']}): {v['nodes']}"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


async def busy_room(agent: Client) -> str:
    room = await call(agent, "init_room", project="demo", name="busy", description="all hands")
    for i, sender in enumerate(SENDERS):
        await call(agent, "register_agent", room_id=room["id"], agent_name=sender, task_id="t")
        await call(agent, "update_status", room_id=room["id"], sender=sender, status=f"on task {i}")
        await call(
            agent,
            "post_message",
            room_id=room["id"],
            sender=sender,
            content=f"needle from {sender}: `code` and **bold**, @human look",
            to="human" if i % 3 == 0 else None,
        )
    await call(
        agent,
        "post_message",
        room_id=room["id"],
        sender="lead",
        content="**State**: all green\n\n- one\n- two",
        message_type="summary",
    )
    await call(agent, "init_room", project="other", name="quiet")
    return str(room["id"])


@pytest.mark.parametrize("scheme", ["dark", "light"])
async def test_no_serious_accessibility_violation_in_the_four_views(
    browser: Browser, server: ServerProcess, agent: Client, scheme: str
) -> None:
    room = await busy_room(agent)
    found: dict[str, list[str]] = {}
    async with watched_page(browser, server, color_scheme=scheme, bypass_csp=True) as (page, _):
        await page.goto(server.url)
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
        await expect(page.locator(f'#live-rooms a[data-room="{room}"]')).to_be_visible()
        found["home"] = await serious_violations(page)
        await page.locator(f'#live-rooms a[data-room="{room}"]').click()
        await expect(page.locator("li.message")).to_have_count(len(SENDERS) + 1)
        found["room"] = await serious_violations(page)
        await page.locator("#search").fill("needle")
        await page.locator("#search").press("Enter")
        await expect(page.locator("#search-results a.hit").first).to_be_visible()
        found["search"] = await serious_violations(page)
        await page.locator("#inbox-open").click()
        await expect(page.locator("#inbox-results a").first).to_be_visible()
        found["inbox"] = await serious_violations(page)
    failing = {view: v for view, v in found.items() if v}
    assert failing == {}, "\n".join(f"{view}: {v}" for view, vs in failing.items() for v in vs)
