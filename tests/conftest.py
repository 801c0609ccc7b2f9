"""Shared fixtures: an opened service on a temporary database, the SDK's in-memory
MCP client bound to it (every result checked against the tool's declared output
schema), an httpx client on the ASGI app, and the real `chatnut serve` process.

No test touches ~/.chatnut, port 8000 or a browser window.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client

from chatnut.app import create_app
from chatnut.hub import Hub
from chatnut.mcp_tools import build_mcp
from chatnut.service import ChatService
from chatnut.settings import Settings
from chatnut.store import Store, open_store
from tests.helpers import STOPPING, STOPS_THAT_HUNG, TOKEN, ServerProcess
from tests.mcp_client import CheckedClient
from tests.postgres import (
    MIGRATED,
    TEMPLATE,
    PostgresMissing,
    PostgresServer,
    Spares,
    start_server,
)

os.environ["CHATNUT_OPEN_BROWSER"] = "0"
os.environ["CHATNUT_UPDATE_CHECK"] = "0"
# The test PostgreSQL servers speak no TLS. With libpq's default (`prefer`)
# asyncpg asks first, and a connect cancelled during that question (a pool
# closing as it grows) leaves a future whose error nobody reads (asyncpg
# 0.32); the test runner reports it against whichever test is tearing down.
os.environ.setdefault("PGSSLMODE", "disable")


# A test run started in the background (`make test &`, nohup, some CI runners)
# inherits SIGINT ignored, and so would every `chatnut` process the tests start:
# the tests that stop a follower or a server with SIGINT, as a user's Ctrl-C
# does, would then wait on a process that never hears it. The children get the
# default disposition back when this process handles the signal itself.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


# anyio's pytest plugin (not pytest-asyncio): it runs an async fixture's setup and
# teardown in the same task, which the MCP client's cancel scopes require.
# Async test modules say `pytestmark = pytest.mark.anyio`. One event loop for the
# session, so that a fixture may outlive one test (the web UI's shared Chromium).
@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


# -- lanes ------------------------------------------------------------------------
# `make check` runs everything but these three, which need something from outside
# the repository: Chromium, a PostgreSQL server, the agent clients from npm.
LANES = {"browser": "web_ui", "clients": "clients"}
# The shared PostgreSQL server, or a server of a test's own (one it stops,
# restarts or starts with other settings).
POSTGRES_FIXTURES = {"postgres_server", "own_postgres", "locked_pg", "own_server"}


# -- order: the longest files first -------------------------------------------------
# The processes of a run take a whole file each (`--dist loadfile`), and a long
# file taken last is the run's tail while the others sit idle. So the files
# measured longest (the table at the end of every run) go first, longest first,
# and the rest by their number of tests; the Makefile tells xdist to keep this
# order (`--no-loadscope-reorder`). A file that grows slow belongs here.
LONGEST_FIRST = (
    "tests/e2e/test_openapi_fuzz.py",
    "tests/e2e/test_push.py",
    "tests/e2e/test_feeds.py",
    "tests/e2e/test_load.py",
    "tests/unit/test_hostile.py",
    "tests/web_ui/test_web_ui_chat.py",
    "tests/e2e/test_slow_clients.py",
    "tests/web_ui/test_web_ui_navigation.py",
    "tests/e2e/test_e2e.py",
    "tests/e2e/test_identities.py",
    "tests/e2e/test_answer_size.py",
    "tests/web_ui/test_web_ui_habits.py",
    "tests/team/test_team_server.py",
    "tests/web_ui/test_web_ui.py",
)


def _file_of(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


def _longest_first(items: list[pytest.Item]) -> None:
    counts: dict[str, int] = {}
    for item in items:
        counts[_file_of(item)] = counts.get(_file_of(item), 0) + 1
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: (rank.get(_file_of(item), len(rank)), -counts[_file_of(item)]))


# First, before `-m` deselects by the markers added here.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    _longest_first(items)
    for item in items:
        for marker, folder in LANES.items():
            if item.path.parent.name == folder:
                item.add_marker(marker)
        callspec = getattr(item, "callspec", None)
        # The `backend` parameter, or a module's own (a stack built per backend).
        on_postgres = callspec is not None and "postgres" in callspec.params.values()
        if on_postgres or POSTGRES_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker("postgres")


@pytest.fixture
def user_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user's home of the test's own (HOME, an empty PATH, Linux) for `chatnut install`."""
    home = tmp_path / "user"
    home.mkdir()
    project = tmp_path / "project"
    project.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("CHATNUT_HOME", str(home / ".chatnut"))
    for name in ("XDG_CONFIG_HOME", "CODEX_HOME", "CHATNUT_TOKEN", "CHATNUT_PORT", "CHATNUT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.chdir(project)
    return home


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the whole run (tests/postgres.py), started on first use."""
    try:
        server = start_server()
    except PostgresMissing as exc:
        pytest.fail(str(exc))  # never a skip: `make test` installs the package
    try:
        # A template with chatnut's schema: a test's database is a copy, not a
        # migration run (the migration tests use empty_postgres_url).
        server.psql(f"CREATE DATABASE {MIGRATED} TEMPLATE {TEMPLATE}")
        asyncio.run(_migrate(server.url(MIGRATED)))
        server.spares = Spares(server, MIGRATED)  # type: ignore[attr-defined]
    except BaseException:
        server.close()
        raise
    yield server
    server.spares.stop()  # type: ignore[attr-defined]
    server.close()


async def _migrate(url: str) -> None:
    store = open_store(url)
    await store.open()
    await store.close()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A database of its own for this test, at chatnut's current schema, dropped after it."""
    name = postgres_server.spares.take()  # type: ignore[attr-defined]
    yield postgres_server.url(name)
    postgres_server.drop_later(name)


@pytest.fixture
def still_postgres_url(postgres_server: PostgresServer, postgres_url: str) -> Iterator[str]:
    """`postgres_url`, with no database made or dropped on the server while the
    test runs. Such a transaction, in flight anywhere on the server, holds back
    what VACUUM may remove in every database whose sessions take a snapshot
    meanwhile: a test of what a vacuum leaves behind runs without one."""
    with postgres_server.background:
        yield postgres_url


@pytest.fixture
def empty_postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """An empty database of its own (pg_trgm installed), dropped after the test."""
    name = postgres_server.fresh_database()
    yield postgres_server.url(name)
    postgres_server.drop_database(name)


# -- the backend under test -----------------------------------------------------
# A module that says `pytest.mark.both_backends` runs each test that reaches the
# store (through db, service, mcp, api, settings or server) once on SQLite and
# once on PostgreSQL: one fixture parameter, not copied tests. A test that is
# about SQLite itself says `pytest.mark.sqlite_only`. Everything else: SQLite.
BACKENDS = ("sqlite", "postgres")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" not in metafunc.fixturenames:
        return
    both = metafunc.definition.get_closest_marker("both_backends") is not None
    if both and metafunc.definition.get_closest_marker("sqlite_only") is None:
        metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest) -> str | None:
    """The PostgreSQL URL when the test runs on PostgreSQL; None: SQLite's defaults."""
    if backend == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    return None


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
async def db(tmp_path: Path, database_url: str | None) -> AsyncIterator[tuple[Store, Hub]]:
    hub = Hub()
    store = open_store(database_url or tmp_path / "chat.db", on_commit=hub.publish)
    await store.open()
    yield store, hub
    await store.close()


@pytest.fixture
async def service(db: tuple[Store, Hub], tmp_path: Path) -> ChatService:
    store, hub = db
    teams = tmp_path / "teams"
    teams.mkdir()
    return ChatService(
        store,
        hub,
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
def settings(home: Path, tmp_path: Path, database_url: str | None) -> Settings:
    return Settings(
        home=home,
        db=database_url,
        port=0,
        open_browser=False,
        update_check=False,
        teams_dir=tmp_path / "teams",
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
def team_server(home: Path, postgres_url: str) -> Iterator[Callable[[int], ServerProcess]]:
    """Starts `chatnut serve --workers N` on a PostgreSQL database of its own (the
    team server); stopped after the test."""
    started: list[ServerProcess] = []

    def start(workers: int) -> ServerProcess:
        started.append(ServerProcess(home, ["--db", postgres_url, "--workers", str(workers)]))
        started[-1].start()
        return started[-1]

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def token_server(home: Path) -> Iterator[ServerProcess]:
    """The real server with a token (helpers.TOKEN) that every client must send."""
    process = ServerProcess(home, env={"CHATNUT_TOKEN": TOKEN})
    process.start()
    yield process
    process.stop()


@pytest.fixture
def server(home: Path, database_url: str | None) -> Iterator[ServerProcess]:
    process = ServerProcess(home, extra_args=["--db", database_url] if database_url else None)
    process.start()
    yield process
    process.stop_soon()


@pytest.fixture(scope="session", autouse=True)
def servers_stop_in_time() -> Iterator[None]:
    """The servers a teardown only told to stop (ServerProcess.stop_soon) have
    all ended by the end of the run; one that had to be killed fails it."""
    yield
    for thread in STOPPING:
        thread.join(timeout=40)
    assert not STOPS_THAT_HUNG, f"servers that did not stop within 15 s: {STOPS_THAT_HUNG}"


# -- where the time goes ----------------------------------------------------------
# At the end of a run, the files that took longest (setup, call and teardown of
# all their tests, summed), so a growing suite shows which file to split or share.
FILE_SECONDS: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    path = report.nodeid.split("::", 1)[0]
    FILE_SECONDS[path] = FILE_SECONDS.get(path, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FILE_SECONDS or hasattr(terminalreporter.config, "workerinput"):
        return
    slowest = sorted(FILE_SECONDS.items(), key=lambda item: -item[1])[:12]
    terminalreporter.write_sep("=", "slowest files (seconds, summed over their tests)")
    for path, seconds in slowest:
        terminalreporter.write_line(f"{seconds:8.1f}  {path}")
