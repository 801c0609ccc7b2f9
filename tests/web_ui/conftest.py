"""Fixtures of the web UI tests: one Chromium for the whole run (each test gets a
context of its own, so no cookie, storage or cache crosses between tests), a
watched page on the test's server, and an agent on MCP beside it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from mcp import Client
from playwright.async_api import Browser, Page

from tests.browser import Watched, chromium
from tests.helpers import ServerProcess
from tests.web_ui.pages import watched_page


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    # Launching Chromium costs about a second of the machine's two cores; a
    # fresh context per test gives the same isolation for a few milliseconds.
    async with chromium() as launched:
        yield launched


@pytest.fixture
async def watched(browser: Browser, server: ServerProcess) -> AsyncIterator[tuple[Page, Watched]]:
    async with watched_page(browser, server) as opened:
        yield opened


@pytest.fixture
def page(watched: tuple[Page, Watched]) -> Page:
    return watched[0]


@pytest.fixture
async def agent(server: ServerProcess) -> AsyncIterator[Client]:
    async with Client(server.mcp_url, mode="legacy") as client:
        yield client
