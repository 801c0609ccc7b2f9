"""The browser's sign-in on a token server, against the real process: the one-time
link sets a random session cookie (never the token), sessions end with the
process, and the link never redirects off the server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.helpers import TOKEN, ServerProcess

pytestmark = pytest.mark.e2e

BEARER = {"authorization": f"Bearer {TOKEN}"}


def fresh_link(server: ServerProcess, name: str = "n") -> tuple[str, dict[str, list[str]]]:
    room = httpx.post(
        f"{server.url}/api/rooms", json={"project": "p", "name": name}, headers=BEARER
    ).json()
    assert room["web_url"] == f"{server.url}/?room={room['id']}"  # never a sign-in link
    minted = httpx.post(
        f"{server.url}/api/signin-link", json={"next": f"/?room={room['id']}"}, headers=BEARER
    )
    link = urlsplit(minted.json()["url"])
    return link.path, parse_qs(link.query)


def sign_in(server: ServerProcess, next_path: str | None = None) -> httpx.Response:
    path, query = fresh_link(server)
    params = {"code": query["code"][0], "next": next_path or query["next"][0]}
    return httpx.get(f"{server.url}{path}?{urlencode(params)}", follow_redirects=False)


def test_the_cookie_is_a_session_id_not_the_token(token_server: ServerProcess) -> None:
    answer = sign_in(token_server)
    assert answer.status_code == 303
    session = answer.cookies["chatnut_session"]
    assert TOKEN not in answer.headers["set-cookie"] and len(session) >= 40
    assert "HttpOnly" in answer.headers["set-cookie"]
    cookie = {"cookie": f"chatnut_session={session}"}
    assert httpx.get(f"{token_server.url}/api/rooms", headers=cookie).status_code == 200
    # The token itself is no cookie: only a session minted by a link is.
    forged = {"cookie": f"chatnut_session={TOKEN}"}
    assert httpx.get(f"{token_server.url}/api/rooms", headers=forged).status_code == 401
    # A second sign-in gets a different session.
    assert sign_in(token_server).cookies["chatnut_session"] != session


def test_a_restart_ends_every_session(token_server: ServerProcess) -> None:
    session = sign_in(token_server).cookies["chatnut_session"]
    cookie = {"cookie": f"chatnut_session={session}"}
    assert httpx.get(f"{token_server.url}/api/rooms", headers=cookie).status_code == 200
    token_server.stop()
    token_server.start()
    refused = httpx.get(f"{token_server.url}/api/rooms", headers=cookie)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    "target",
    [
        "/\\evil.example/phish",
        "/\t/evil.com",
        "//evil.com",
        "/\\/evil.com",
        "https://evil.com/",
        "/\n/evil.com",
        "javascript:alert(1)",
        " /x",
    ],
)
def test_sign_in_never_redirects_off_the_server(token_server: ServerProcess, target: str) -> None:
    answer = sign_in(token_server, target)
    assert answer.status_code == 303 and answer.headers["location"] == "/"


def test_sign_in_keeps_a_local_target(token_server: ServerProcess) -> None:
    path, query = fresh_link(token_server)
    answer = httpx.get(f"{token_server.url}{path}?code={query['code'][0]}&next=%2F%3Froom%3Dabc")
    assert answer.status_code == 303 and answer.headers["location"] == "/?room=abc"


def test_the_token_can_come_from_a_file_kept_out_of_ps(home: Path, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    server = ServerProcess(home, extra_args=["--token-file", str(token_file)])
    server.start()
    try:
        assert TOKEN not in " ".join(server.command(server.port))
        assert httpx.get(f"{server.url}/api/rooms").status_code == 401
        assert httpx.get(f"{server.url}/api/rooms", headers=BEARER).status_code == 200
        # The CLI finds it the same way (CHATNUT_TOKEN_FILE).
        env = {**server.environment(), "CHATNUT_TOKEN_FILE": str(token_file)}
        status = subprocess.run(
            [sys.executable, "-m", "chatnut", "status", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert json.loads(status.stdout)["rooms"] == 0
    finally:
        server.stop()


def test_an_empty_token_file_is_refused_in_one_line(home: Path, tmp_path: Path) -> None:
    (tmp_path / "token").write_text("\n")
    server = ServerProcess(home, extra_args=["--token-file", str(tmp_path / "token")])
    with pytest.raises(RuntimeError, match=r"token-file: .* is empty"):
        server.start()
    server.kill()
