"""A retention purge reaches the open page in a real Chromium, without a reload:
the open room drops the purged messages (with a note where they were) and the
sidebar's unread counts fall with them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mcp import Client
from playwright.async_api import Page, expect

from tests.e2e.test_retention_feeds import backdate
from tests.helpers import ServerProcess
from tests.web_ui.pages import LIVE_WITHIN_MS, call, open_room, room_with, shown_ids

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


@pytest.fixture
def server(home: Path) -> Iterator[ServerProcess]:
    """The page's server, keeping messages 30 days."""
    process = ServerProcess(home, extra_args=["--retain-days", "30"])
    process.start()
    yield process
    process.stop()


async def test_an_open_room_drops_purged_messages_live(
    page: Page, server: ServerProcess, agent: Client, home: Path
) -> None:
    room = await room_with(agent, "purging", ["old one", "old two", "recent"])
    quiet = await room_with(agent, "quiet", ["hello"])
    await open_room(page, server, room)  # the first visit: everything so far is read
    first = await shown_ids(page)
    assert len(first) == 3
    later = [
        (await call(agent, "post_message", room_id=quiet, sender="bot", content=f"n{i}"))["id"]
        for i in range(3)
    ]
    badge = page.locator(f'#live-rooms a[data-room="{quiet}"] .badge')
    await expect(badge).to_have_text("3")

    await backdate(home, None, [*first[:2], *later[:2]])
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        done = (await http.post("/api/admin/retention/run", json={})).json()
    assert done["messages"] == 4

    items = page.locator("#message-list li.message")
    await expect(items).to_have_count(1, timeout=LIVE_WITHIN_MS * 5)
    assert await shown_ids(page) == [first[2]]
    await expect(items.first).to_contain_text("recent")
    await expect(page.locator("#message-list li.notice.purged")).to_contain_text(
        "deleted by the retention policy"
    )
    await expect(badge).to_have_text("1")
    await expect(page).to_have_title("(1) purging · chatnut")
    # Live messages still land after the purge.
    await call(agent, "post_message", room_id=room, sender="bot", content="after the purge")
    await expect(items).to_have_count(2)
