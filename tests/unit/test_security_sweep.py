"""The security checks across the whole surface: every operation the OpenAPI schema declares, the
SSE feeds and /mcp/ refuse a foreign Host, a foreign Origin (where it applies) and
a missing token; stored XSS payloads come back as inert JSON data; names that
reach a file name or path cannot traverse.

On both backends, with one app per backend (and one in token mode) for the
whole module: the sweep is a few hundred requests, and an app start on
PostgreSQL (a pool, a LISTEN connection) costs more than all of them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from chatnut.app import create_app
from chatnut.settings import Settings
from tests.helpers import MCP_HEADERS

pytestmark = pytest.mark.anyio

BASE = "http://127.0.0.1:8123"
XSS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "javascript:alert(1)",
    "[click](javascript:alert(1))",
    '"><svg onload=alert(1)>',
    "</script><script>alert(1)</script>",
]


def every_operation() -> list[tuple[str, str]]:
    schema = create_app(Settings(port=0, open_browser=False, update_check=False)).openapi()
    operations = [
        (method.upper(), re.sub(r"\{[^}]+\}", "x", path))
        for path, methods in schema["paths"].items()
        for method in methods
    ]
    return [*operations, ("POST", "/mcp/"), ("POST", "/mcp"), ("GET", "/")]


OPERATIONS = every_operation()


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"  # module-scoped here: the apps below live for the module


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, port=8123)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            yield client


@dataclasses.dataclass
class Apps:
    api: httpx.AsyncClient  # loopback, no token
    token_api: httpx.AsyncClient  # token "s3cret"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def module_database(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None: SQLite (a file in each app's home); else a PostgreSQL database for the module."""
    if request.param == "sqlite":
        yield None
        return
    postgres = request.getfixturevalue("postgres_server")
    database = postgres.spares.take()
    yield postgres.url(database)
    postgres.drop_later(database)


@pytest.fixture(scope="module")
async def apps(
    module_database: str | None, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Apps]:
    def settings(home: Path, token: str | None) -> Settings:
        return Settings(
            home=home,
            db=module_database,  # None: SQLite, a file in each home
            port=0,
            open_browser=False,
            update_check=False,
            teams_dir=home / "teams",
            token=token,
        )

    plain, guarded = tmp_path_factory.mktemp("sweep"), tmp_path_factory.mktemp("sweep-token")
    async with (
        running(settings(plain, None)) as api,
        running(settings(guarded, "s3cret")) as token_api,
    ):
        yield Apps(api, token_api)


def refused(response: httpx.Response, status: int, code: str) -> bool:
    return (
        response.status_code == status
        and response.headers["content-type"] == "application/json"
        and response.json()["error"]["code"] == code
    )


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
async def test_foreign_host_and_origin_on_every_operation(
    apps: Apps, method: str, path: str
) -> None:
    api = apps.api
    # The checks run before any route: a stream is refused before it starts.
    response = await api.request(method, path, headers={"host": "evil.example"}, json={})
    assert refused(response, 403, "forbidden_host"), (method, path, response.text)
    if path == "/":
        return  # the page itself: a link from anywhere may open it
    # Reads too: a foreign page must not make the server do work.
    response = await api.request(
        method, path, headers={**MCP_HEADERS, "origin": "http://evil.example"}, json={}
    )
    assert refused(response, 403, "forbidden_origin"), (method, path, response.text)
    response = await api.request(
        method, path, headers={**MCP_HEADERS, "sec-fetch-site": "cross-site"}, json={}
    )
    assert refused(response, 403, "forbidden_origin"), (method, path, response.text)


@pytest.mark.parametrize(("method", "path"), [op for op in OPERATIONS if op[1] != "/"])
async def test_token_mode_guards_every_operation(apps: Apps, method: str, path: str) -> None:
    token_api = apps.token_api
    response = await token_api.request(method, path, headers=MCP_HEADERS, json={})
    assert refused(response, 401, "unauthorized"), (method, path, response.text)
    wrong = {**MCP_HEADERS, "authorization": "Bearer s3cre"}
    response = await token_api.request(method, path, headers=wrong, json={})
    assert refused(response, 401, "unauthorized"), (method, path, response.text)


async def test_stored_xss_comes_back_as_inert_json_data(apps: Apps) -> None:
    api = apps.api
    payload = XSS[0]
    room = (
        await api.post(
            "/api/rooms", json={"project": payload, "name": XSS[1], "description": XSS[2]}
        )
    ).json()
    room_id = room["id"]
    for text in XSS:
        posted = await api.post(
            f"/api/rooms/{room_id}/messages", json={"sender": XSS[4], "content": text}
        )
        assert posted.status_code == 200, posted.text
        await api.post(f"/api/rooms/{room_id}/statuses", json={"sender": text, "status": text})
    reads: list[Any] = [
        await api.get("/api/rooms"),
        await api.get(f"/api/rooms/{room_id}"),
        await api.get(f"/api/rooms/{room_id}/messages", params={"since_id": 0}),
        await api.get(f"/api/rooms/{room_id}/statuses"),
        await api.get("/api/search", params={"q": "alert(1)"}),
        await api.get(f"/api/rooms/{room_id}/export", params={"format": "json"}),
    ]
    for response in reads:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert "text/html" not in response.headers["content-type"]
    messages = reads[2].json()["messages"]
    assert [m["content"] for m in messages] == XSS  # verbatim: data, escaped by whoever shows it
    assert {m["sender"] for m in messages} == {XSS[4]}
    assert reads[1].json()["project"] == payload and reads[1].json()["name"] == XSS[1]
    markdown = await api.get(f"/api/rooms/{room_id}/export")
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert markdown.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("name", ["../../etc/passwd", "..", "a/b\\c", 'x"; filename="evil.sh'])
async def test_export_file_name_cannot_traverse_or_inject(apps: Apps, name: str) -> None:
    api = apps.api
    room = (await api.post("/api/rooms", json={"project": "p", "name": name})).json()
    response = await api.get(f"/api/rooms/{room['id']}/export")
    disposition = response.headers["content-disposition"]
    filename = re.fullmatch(r'attachment; filename="([^"]*)"', disposition)
    assert filename is not None, disposition
    assert "/" not in filename[1] and "\\" not in filename[1]
    assert not filename[1].startswith(".")
