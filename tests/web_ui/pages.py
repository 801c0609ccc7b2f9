"""What the web UI tests do to a page and to the agents beside it: open the page
at a room, watch it for requests outside the server and script errors, make
rooms through MCP, and read what the page shows."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from mcp import Client
from playwright.async_api import Browser, Page, Response, Route, expect

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
    """Open `room_id` and wait until its first page of messages is drawn, so
    what a test posts next arrives live, not in that first read."""
    await page.goto(f"{server.url}/?room={room_id}")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    await expect(page.locator("#message-list")).to_have_attribute("aria-busy", "false")


def posted_message(response: Response) -> bool:
    """A predicate for page.expect_response: the page's post of a message (not a
    read cursor, a reaction or a draft that goes out beside it)."""
    request = response.request
    return (
        request.method == "POST"
        and re.search(r"/api/rooms/[^/]+/messages$", request.url) is not None
    )


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


class StaleRead:
    """The room's first read of its messages, made now and answered later: the
    page draws a room from a read older than what it heard meanwhile."""

    def __init__(self, page: Page, room: str) -> None:
        self.page = page
        self.pattern = f"**/api/rooms/{room}/messages?*"
        self.made = asyncio.Event()
        self._answer = asyncio.Event()
        self._answered = asyncio.Event()

    async def __aenter__(self) -> StaleRead:
        await self.page.route(self.pattern, self._hold)
        return self

    async def __aexit__(self, *_: object) -> None:
        if self.made.is_set() and self._answer.is_set():
            await asyncio.wait_for(self._answered.wait(), 10)  # answered before unrouting
        await self.page.unroute(self.pattern, self._hold)

    async def _hold(self, route: Route) -> None:
        if self.made.is_set():  # only the first read is held
            await route.continue_()
            return
        answer = await route.fetch()
        self.made.set()
        await self._answer.wait()
        await route.fulfill(response=answer)
        self._answered.set()

    async def until_made(self) -> None:
        await asyncio.wait_for(self.made.wait(), 10)

    def answer(self) -> None:
        self._answer.set()
