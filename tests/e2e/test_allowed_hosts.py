"""Behind a reverse proxy: --allow-host, --public-url, and what stays refused."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from chatnut.app import create_app
from chatnut.settings import Settings, load_settings
from tests.helpers import INITIALIZE, MCP_HEADERS, ServerProcess

pytestmark = pytest.mark.anyio

BASE = "http://127.0.0.1:8123"


def _client(app: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)  # type: ignore[arg-type]


@pytest.fixture
async def proxied(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app as it runs behind a proxy for chat.example.com and an internal name on :8443."""
    app = create_app(
        dataclasses.replace(
            settings, allowed_hosts=("chat.example.com", "chat.internal:8443"), token="s3cret"
        ),
        port=8123,
    )
    async with app.router.lifespan_context(app), _client(app) as client:
        client.headers["authorization"] = "Bearer s3cret"
        yield client


@pytest.mark.parametrize(
    "host", ["chat.example.com", "chat.example.com:443", "CHAT.example.com", "chat.internal:8443"]
)
@pytest.mark.parametrize("path", ["/", "/api/status", "/api/rooms"])
async def test_allowed_names_are_served(proxied: httpx.AsyncClient, host: str, path: str) -> None:
    assert (await proxied.get(path, headers={"host": host})).status_code == 200


@pytest.mark.parametrize(
    "host",
    ["evil.example", "chat.example.com.evil.example", "evil-chat.example.com", "example.com"],
)
async def test_other_names_stay_refused(proxied: httpx.AsyncClient, host: str) -> None:
    response = await proxied.get("/api/status", headers={"host": host})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden_host"


@pytest.mark.parametrize(
    "origin", ["https://chat.example.com", "http://chat.example.com", "https://chat.internal:8443"]
)
async def test_allowed_origins_may_speak_mcp_and_write(
    proxied: httpx.AsyncClient, origin: str
) -> None:
    headers = {"host": "chat.example.com", "origin": origin}
    response = await proxied.post("/mcp/", json=INITIALIZE, headers={**MCP_HEADERS, **headers})
    assert response.status_code == 200, response.text
    created = await proxied.post("/api/rooms", json={"project": "p", "name": "n"}, headers=headers)
    assert created.status_code in (200, 201), created.text


@pytest.mark.parametrize(
    "origin",
    [
        "https://chat.example.com:8443",  # a name without a port admits the default ports only
        "https://chat.internal",  # a name with a port admits that port only
        "https://evil.chat.example.com",
        "https://chat.example.com.evil.example",
        "ftp://chat.example.com",
        "null",
    ],
)
async def test_other_origins_stay_refused(proxied: httpx.AsyncClient, origin: str) -> None:
    headers = {"host": "chat.example.com", "origin": origin}
    response = await proxied.post("/mcp/", json=INITIALIZE, headers={**MCP_HEADERS, **headers})
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden_origin"
    write = await proxied.post("/api/rooms", json={"project": "p", "name": "n"}, headers=headers)
    assert write.status_code == 403
    rooms = (await proxied.get("/api/rooms")).json()
    assert rooms["rooms"] == []


async def test_allowed_name_still_needs_the_token(proxied: httpx.AsyncClient) -> None:
    response = await proxied.get(
        "/api/rooms", headers={"host": "chat.example.com", "authorization": ""}
    )
    assert response.status_code == 401


async def test_public_url_is_the_address_given_out(settings: Settings) -> None:
    public = dataclasses.replace(settings, public_url="https://chat.example.com", token="s3cret")
    app = create_app(public, port=8123)
    async with app.router.lifespan_context(app), _client(app) as client:
        client.headers["authorization"] = "Bearer s3cret"
        service = app.state.service
        room = await service.init_room(project="p", name="n")
        # init_room and ping give the plain page address; `chatnut open` the sign-in.
        assert room["web_url"] == f"https://chat.example.com/?room={room['id']}"
        assert (await service.ping())["web_url"] == "https://chat.example.com"
        minted = await client.post("/api/signin-link", json={"next": f"/?room={room['id']}"})
        link = urlsplit(minted.json()["url"])
        assert (link.scheme, link.netloc, link.path) == ("https", "chat.example.com", "/auth/link")
        # The link works when the browser comes through the proxy under that name,
        # and the proxy's origin may then call the API.
        headers = {"host": "chat.example.com", "origin": "https://chat.example.com"}
        signed_in = await client.get(f"{link.path}?{link.query}", headers=headers)
        assert signed_in.status_code == 303
        assert signed_in.headers["location"] == f"/?room={room['id']}"
        # Behind https: only ever sent over TLS, and only by this exact host.
        cookie = signed_in.headers["set-cookie"]
        assert cookie.startswith("__Host-chatnut_session=") and "; Secure" in cookie
        assert "Path=/" in cookie and "Domain" not in cookie
        client.cookies.clear()
        listed = await client.get(
            "/api/rooms",
            headers={
                "host": "chat.example.com",
                "authorization": "",
                "cookie": cookie.split(";")[0],
            },
        )
        assert listed.status_code == 200, listed.text
        created = await client.post(
            "/api/rooms", json={"project": "p", "name": "m"}, headers=headers
        )
        assert created.status_code in (200, 201), created.text


async def test_public_url_without_token_is_bare(settings: Settings) -> None:
    app = create_app(dataclasses.replace(settings, public_url="http://chat.lan:8080"), port=8123)
    async with app.router.lifespan_context(app):
        service = app.state.service
        assert (await service.ping())["web_url"] == "http://chat.lan:8080"
        room = await service.init_room(project="p", name="n")
        assert room["web_url"] == f"http://chat.lan:8080/?room={room['id']}"


def test_allowed_hosts_from_flag_and_environment() -> None:
    from_env = load_settings({}, {"CHATNUT_ALLOWED_HOSTS": "chat.example.com, b.example:8443,"})
    assert from_env.allowed_hosts == ("chat.example.com", "b.example:8443")
    # The flag, given twice, beats the environment.
    from_flags = load_settings(
        {"allowed_hosts": ["A.example", "b.example"]}, {"CHATNUT_ALLOWED_HOSTS": "c.example"}
    )
    assert from_flags.allowed_hosts == ("a.example", "b.example")


@pytest.mark.parametrize(
    ("flag", "value", "says"),
    [
        ("--allow-host", "*", "not a host name"),
        ("--allow-host", "*.example.com", "not a host name"),
        ("--allow-host", "https://chat.example.com", "not a host name"),
        ("--allow-host", "chat.example.com/path", "not a host name"),
        ("--allow-host", "chat.example.com:99999", "bad port"),
        ("--public-url", "ftp://chat.example.com", "http:// or https://"),
        ("--public-url", "https://chat.example.com/chat", "has a path"),
        ("--public-url", "chat.example.com", "http:// or https://"),
    ],
)
def test_bad_names_are_refused_in_one_line(home: Path, flag: str, value: str, says: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "chatnut", "serve", "--port", "0", flag, value],
        env=ServerProcess(home).environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and says in result.stderr, result.stderr
    assert list(home.iterdir()) == []  # nothing written


def test_allowed_host_does_not_lift_the_token_rule(home: Path) -> None:
    result = subprocess.run(
        [
            *(sys.executable, "-m", "chatnut", "serve", "--host", "0.0.0.0", "--port", "0"),
            *("--allow-host", "chat.example.com", "--public-url", "https://chat.example.com"),
        ],
        env=ServerProcess(home).environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "needs a token" in result.stderr
    assert not (home / "server.port").exists()


@pytest.mark.e2e
def test_real_server_answers_its_allowed_name(home: Path) -> None:
    server = ServerProcess(
        home, ["--allow-host", "chat.example.com", "--public-url", "https://chat.example.com"]
    )
    server.start()
    try:
        ok = httpx.get(f"{server.url}/api/status", headers={"host": "chat.example.com"})
        assert ok.status_code == 200
        other = httpx.get(f"{server.url}/api/status", headers={"host": "evil.example"})
        assert other.status_code == 403
        answer = httpx.post(
            server.mcp_url,
            json={
                "jsonrpc": "2.0",
                "id": 2,
                "method": "tools/call",
                "params": {"name": "ping", "arguments": {}},
            },
            headers={
                **MCP_HEADERS,
                "host": "chat.example.com",
                "origin": "https://chat.example.com",
                "mcp-protocol-version": "2025-11-25",
            },
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["result"]["structuredContent"]["web_url"] == (
            "https://chat.example.com"
        )
    finally:
        server.stop()


async def test_sign_in_on_a_team_server_works_across_workers(
    settings: Settings, postgres_url: str
) -> None:
    """A link minted by one worker is redeemed by another; the session works on both.

    The workers share a PostgreSQL database, as a team server's do: a SQLite file
    takes one server only (its lock refuses a second)."""
    team = dataclasses.replace(
        settings, db=postgres_url, token="s3cret", public_url="https://chat.example.com"
    )
    worker_a, worker_b = create_app(team, port=8123), create_app(team, port=8123)
    elsewhere = create_app(dataclasses.replace(team, token="other"), port=8123)
    async with (
        worker_a.router.lifespan_context(worker_a),
        worker_b.router.lifespan_context(worker_b),
        elsewhere.router.lifespan_context(elsewhere),
        _client(worker_a) as a,
        _client(worker_b) as b,
        _client(elsewhere) as other,
    ):
        room = await worker_a.state.service.init_room(project="p", name="n")
        minted = await a.post(
            "/api/signin-link", json={}, headers={"authorization": "Bearer s3cret"}
        )
        link = urlsplit(minted.json()["url"])
        target = f"{link.path}?{link.query}"
        assert "s3cret" not in target
        signed_in = await b.get(target)
        assert signed_in.status_code == 303
        cookie = signed_in.headers["set-cookie"].split(";")[0]
        name, _, session = cookie.partition("=")
        assert "s3cret" not in session
        for client in (a, b):
            listed = await client.get("/api/rooms", headers={"cookie": cookie})
            assert listed.status_code == 200 and listed.json()["rooms"][0]["id"] == room["id"]
        # Once only (on the worker that redeemed it); never under another token.
        assert (await b.get(target)).json()["error"]["code"] == "link_expired"
        assert (await other.get(target)).status_code == 401
        assert (await other.get("/api/rooms", headers={"cookie": cookie})).status_code == 401
        # A tampered session, or a link code offered as a session, is no session.
        expires, nonce, mac = session.split(".")
        forged = f"{name}={int(expires) + 3600}.{nonce}.{mac}"
        assert (await a.get("/api/rooms", headers={"cookie": forged})).status_code == 401
        code = dict(p.split("=", 1) for p in link.query.split("&"))["code"]
        as_session = f"{name}={code}"
        assert (await a.get("/api/rooms", headers={"cookie": as_session})).status_code == 401


def test_signed_codes_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    from chatnut import sessions_signed as signed

    links = signed.SignedLinks("s3cret", ttl=60)
    code = urlsplit(links.mint("/")).query.split("&")[0].removeprefix("code=")
    now = signed.time.time()
    monkeypatch.setattr(signed.time, "time", lambda: now + 61)
    assert not links.redeem(code)
