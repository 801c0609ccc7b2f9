"""Fixtures of the tests that drive the real `chatnut serve` process."""

from __future__ import annotations

import pytest

from tests.helpers import ServerProcess


@pytest.fixture
def cli_env(server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> ServerProcess:
    """The test's server, and the environment a CLI command needs to find it."""
    for name, value in server.environment().items():
        monkeypatch.setenv(name, value)
    for name in ("CHATNUT_DB", "CHAT_DB_PATH", "CHATNUT_TOKEN", "CHATNUT_PORT"):
        monkeypatch.delenv(name, raising=False)
    return server
