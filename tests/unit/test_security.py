"""Host, Origin, token and body-size checks on every kind of route."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from chatnut.app import create_app
from chatnut.settings import Settings
from tests.helpers import INITIALIZE, MCP_HEADERS

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]

BASE = "http://127.0.0.1:8123"


def assert_refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == code


@pytest.mark.parametrize(
    "path", ["/", "/api/rooms", "/api/status", "/api/docs", "/api/rooms/x/export", "/mcp/"]
)
@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8123", "192.168.1.5:8123", "127.0.0.1.evil.example"]
)
async def test_foreign_host_is_refused_everywhere(
    api: httpx.AsyncClient, path: str, host: str
) -> None:
    assert_refused(await api.get(path, headers={"host": host}), 403, "forbidden_host")


@pytest.mark.parametrize(
    "host", ["127.0.0.1:8123", "localhost:8123", "[::1]:8123", "127.0.0.2", "app.localhost:8123"]
)
async def test_loopback_hosts_are_served(api: httpx.AsyncClient, host: str) -> None:
    assert (await api.get("/api/status", headers={"host": host})).status_code == 200


async def test_foreign_host_on_mcp_post_is_refused(api: httpx.AsyncClient) -> None:
    response = await api.post("/mcp/", json=INITIALIZE, headers={**MCP_HEADERS, "host": "evil.com"})
    assert_refused(response, 403, "forbidden_host")


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",
        "http://localhost:3000",
        "http://127.0.0.1:9999",
        "https://127.0.0.1:8123",
        "null",
    ],
)
async def test_foreign_origin_is_refused_on_mcp_and_writes(
    api: httpx.AsyncClient, origin: str
) -> None:
    for path in ("/mcp/", "/mcp"):
        response = await api.post(path, json=INITIALIZE, headers={**MCP_HEADERS, "origin": origin})
        assert_refused(response, 403, "forbidden_origin")
    response = await api.post(
        "/api/rooms", json={"project": "p", "name": "n"}, headers={"origin": origin}
    )
    assert_refused(response, 403, "forbidden_origin")
    assert (await api.get("/api/rooms")).json()["rooms"] == []


async def test_own_origin_and_no_origin_are_served(api: httpx.AsyncClient) -> None:
    own = await api.post("/api/rooms", json={"project": "p", "name": "n"}, headers={"origin": BASE})
    assert own.status_code == 200
    none = await api.post("/mcp/", json=INITIALIZE, headers=MCP_HEADERS)
    assert none.status_code == 200 and none.json()["result"]["serverInfo"]["name"] == "chatnut"
    own_mcp = await api.post("/mcp", json=INITIALIZE, headers={**MCP_HEADERS, "origin": BASE})
    assert own_mcp.status_code == 200  # /mcp without the slash: served, not redirected


async def test_oversize_body_is_refused_before_reading(api: httpx.AsyncClient) -> None:
    huge = b"x" * (65536 * 6 + 64 * 1024 + 1)
    response = await api.post(
        "/api/rooms", content=huge, headers={"content-type": "application/json"}
    )
    assert_refused(response, 413, "body_too_large")

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"y" * 50_000

    response = await api.post("/mcp/", content=chunks(), headers=MCP_HEADERS)
    # Over MCP, a JSON-RPC error its clients can show (no id found: null).
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == -32600 and error["message"].startswith("request too large")


async def test_token_mode_requires_bearer_on_api_and_mcp(token_api: httpx.AsyncClient) -> None:
    assert_refused(await token_api.get("/api/rooms"), 401, "unauthorized")
    assert_refused(
        await token_api.post("/mcp/", json=INITIALIZE, headers=MCP_HEADERS), 401, "unauthorized"
    )
    wrong = {"authorization": "Bearer nope"}
    assert_refused(await token_api.get("/api/rooms", headers=wrong), 401, "unauthorized")
    good = {"authorization": "Bearer s3cret"}
    assert (await token_api.get("/api/rooms", headers=good)).status_code == 200
    response = await token_api.post("/mcp/", json=INITIALIZE, headers={**MCP_HEADERS, **good})
    assert response.status_code == 200
    assert (await token_api.get("/")).status_code == 200  # the page itself holds no data


async def test_one_time_link_sets_the_cookie_once(token_api: httpx.AsyncClient) -> None:
    auth = {"authorization": "Bearer s3cret"}
    room: dict[str, Any] = (
        await token_api.post("/api/rooms", json={"project": "p", "name": "n"}, headers=auth)
    ).json()
    assert room["web_url"] == f"http://127.0.0.1:8123/?room={room['id']}"  # no sign-in
    minted = await token_api.post(
        "/api/signin-link", json={"next": f"/?room={room['id']}"}, headers=auth
    )
    link = urlsplit(minted.json()["url"])
    assert link.path == "/auth/link"
    assert parse_qs(link.query)["next"] == [f"/?room={room['id']}"]
    first = await token_api.get(f"{link.path}?{link.query}")
    assert first.status_code == 303 and first.headers["location"] == f"/?room={room['id']}"
    cookie = first.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    # The browser now reads the API with its cookie, no header.
    assert (await token_api.get("/api/rooms")).status_code == 200
    token_api.cookies.clear()
    again = await token_api.get(f"{link.path}?{link.query}")
    assert_refused(again, 401, "link_expired")
    assert_refused(await token_api.get("/api/rooms"), 401, "unauthorized")


async def test_link_never_redirects_off_the_server(settings: Settings) -> None:
    app = create_app(dataclasses.replace(settings, token="s3cret"), port=8123)
    async with app.router.lifespan_context(app):
        links = app.state.chatnut.links
        url = urlsplit(links.mint("//evil.example/"))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=BASE
        ) as client:
            response = await client.get(f"{url.path}?{url.query}")
    assert response.status_code == 303 and response.headers["location"] == "/"


def test_open_links_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from chatnut import sessions_in_memory as signin

    monkeypatch.setattr(signin, "MAX_OPEN_LINKS", 3)
    links = signin.OneTimeLinks()
    codes = [parse_qs(urlsplit(links.mint("/")).query)["code"][0] for _ in range(5)]
    assert not links.redeem(codes[0]) and not links.redeem(codes[1])
    assert all(links.redeem(code) for code in codes[2:])
    assert not links.redeem(codes[4])  # once only
