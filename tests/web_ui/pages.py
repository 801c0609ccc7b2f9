"""What the web UI tests do to a page and to the agents beside it: open the page
at a room, watch it for requests outside the server and script errors, make
rooms through MCP, and read what the page shows."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from mcp import Client
from playwright.async_api import Browser, Page, Response, expect

from tests.browser import Watched
from tests.helpers import ServerProcess

# "Live": what another page did shows without a reload, well within the time a
# person would notice. Generous for a 2-core CI machine running the suite in
# parallel; the page's real speed is measured in bench/ui_bench.py.
LIVE_WITHIN_MS = 2000


@asynccontextmanager
async def watched_page(
    browser: Browser, server: ServerProcess, **options: Any
) -> AsyncIterator[tuple[Page, Watched]]:
    """A page in a context of its own (a colour scheme, permissions...), held to
    the rules of every web UI test: no request outside the server, no script error."""
    options.setdefault("viewport", {"width": 1280, "height": 800})
    context = await browser.new_context(**options)
    page = await context.new_page()
    watch = Watched()
    watch.attach(page, accept_dialogs=True)
    try:
        yield page, watch
    finally:
        await context.close()
    assert watch.outside(server.url) == []
    assert watch.errors == []


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content[0].text
    data: dict[str, Any] = result.structured_content
    return data


async def room_with(agent: Client, name: str, posts: list[str], project: str = "demo") -> str:
    room = await call(agent, "init_room", project=project, name=name)
    for i, content in enumerate(posts):
        await call(
            agent, "post_message", room_id=room["id"], sender=f"agent{i % 3}", content=content
        )
    return str(room["id"])


async def open_home(page: Page, server: ServerProcess) -> None:
    """The page with no room open, once its feed is live."""
    await page.goto(server.url)
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live")


async def open_room(page: Page, server: ServerProcess, room_id: str) -> None:
    await page.goto(f"{server.url}/?room={room_id}")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live")


def read_sent(room: str, accept: Callable[[int], bool]) -> Callable[[Response], bool]:
    """A predicate for page.expect_response: the page moved `room`'s cursor to an accepted id."""

    def check(response: Response) -> bool:
        request = response.request
        if request.method != "POST" or not request.url.endswith(f"/api/rooms/{room}/read"):
            return False
        return response.ok and accept(json.loads(request.post_data or "{}")["last_read_message_id"])

    return check


async def shown_ids(page: Page) -> list[int]:
    ids: list[int] = await page.eval_on_selector_all(
        "#message-list li.message[data-id]", "items => items.map(li => Number(li.dataset.id))"
    )
    return ids
