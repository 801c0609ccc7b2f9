"""Fixtures of the tests that drive the real `chatnut serve` process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.helpers import ServerProcess


@pytest.fixture
async def http(server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    """A REST client of the test's server."""
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        yield client


@pytest.fixture
def cli_env(server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> ServerProcess:
    """The test's server, and the environment a CLI command needs to find it."""
    for name, value in server.environment().items():
        monkeypatch.setenv(name, value)
    for name in ("CHATNUT_DB", "CHAT_DB_PATH", "CHATNUT_TOKEN", "CHATNUT_PORT"):
        monkeypatch.delenv(name, raising=False)
    return server
