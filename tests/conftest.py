"""Shared fixtures: an opened service on a temporary database, the SDK's in-memory
MCP client bound to it (every result checked against the tool's declared output
schema), an httpx client on the ASGI app, and the real `chatnut serve` process.

No test touches ~/.chatnut, port 8000 or a browser window.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from mcp import Client

from chatnut.app import create_app
from chatnut.hub import Hub
from chatnut.mcp_tools import build_mcp
from chatnut.service import ChatService
from chatnut.settings import Settings
from chatnut.store.db import Database
from tests.helpers import ServerProcess
from tests.mcp_client import CheckedClient
from tests.postgres import PostgresMissing, PostgresServer, start_server

os.environ["CHATNUT_OPEN_BROWSER"] = "0"
os.environ["CHATNUT_UPDATE_CHECK"] = "0"


# anyio's pytest plugin (not pytest-asyncio): it runs an async fixture's setup and
# teardown in the same task, which the MCP client's cancel scopes require.
# Async test modules say `pytestmark = pytest.mark.anyio`.
@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the whole run (tests/postgres.py), started on first use."""
    try:
        server = start_server()
    except PostgresMissing as exc:
        pytest.fail(str(exc))  # never a skip: `make test` installs the package
    yield server
    server.close()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database of its own for this test, dropped after it."""
    name = postgres_server.fresh_database()
    yield postgres_server.url(name)
    postgres_server.drop_database(name)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[tuple[Database, Hub]]:
    hub = Hub()
    database = Database(tmp_path / "chat.db", on_commit=hub.publish)
    await database.open()
    yield database, hub
    await database.close()


@pytest.fixture
async def service(db: tuple[Database, Hub], tmp_path: Path) -> ChatService:
    database, hub = db
    teams = tmp_path / "teams"
    teams.mkdir()
    return ChatService(
        database,
        hub,
        db_path=database.path,
        teams_dir=teams,
        web_url=lambda room_id: "http://127.0.0.1:9/" + (f"?room={room_id}" if room_id else ""),
    )


@pytest.fixture
async def mcp(service: ChatService) -> AsyncIterator[CheckedClient]:
    server = build_mcp(service)
    async with Client(server, mode="legacy") as client:
        tools = await client.list_tools()
        schemas = {t.name: t.output_schema for t in tools.tools if t.output_schema}
        yield CheckedClient(client, schemas)


@pytest.fixture
def settings(home: Path, tmp_path: Path) -> Settings:
    return Settings(
        home=home, port=0, open_browser=False, update_check=False, teams_dir=tmp_path / "teams"
    )


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, port=8123)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8123") as c:
            yield c


@pytest.fixture
async def token_api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app in token mode (token "s3cret")."""
    app = create_app(dataclasses.replace(settings, token="s3cret"), port=8123)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8123") as c:
            yield c


@pytest.fixture
def server(home: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(home)
    process.start()
    yield process
    process.stop()
