"""A mangled session cookie or sign-in code is refused like any unknown one,
against the real server: 401, and one line in the log — not a 500 and a
traceback (thousands of which once rotated the log's whole history away)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import TOKEN, ServerProcess

pytestmark = pytest.mark.e2e

COOKIES = [
    b"chatnut_session=\xc3\xa9t\xc3\xa9",
    b"chatnut_session=1.\xff\xfe.abc",
    "chatnut_session=9999999999.nonce.m\u00e2c".encode(),
]
CODES = ["%C3%A9t%C3%A9", "9999999999.n.%E2%80%AE", "%FF"]


@pytest.fixture(params=["one process", "signed"])
def token_server(home: Path, request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    # A name to serve behind a proxy makes it a team server: sessions and links
    # are then signed (sessions_signed.py) instead of kept in memory (sessions_in_memory.py).
    extra = ["--allow-host", "chat.example.com"] if request.param == "signed" else []
    server = ServerProcess(home, extra_args=extra, env={"CHATNUT_TOKEN": TOKEN})
    server.start()
    yield server
    server.stop()


def test_bad_cookies_and_codes_are_refused_in_one_line(
    token_server: ServerProcess, home: Path
) -> None:
    log = home / "chatnut.log"
    before = log.read_text().splitlines()
    for cookie in COOKIES:
        answer = httpx.get(f"{token_server.url}/api/rooms", headers={"cookie": cookie})
        assert answer.status_code == 401, answer.text
        assert answer.json()["error"]["code"] == "unauthorized"
        assert httpx.get(f"{token_server.url}/", headers={"cookie": cookie}).status_code == 200
    for code in CODES:
        answer = httpx.get(f"{token_server.url}/auth/link?code={code}&next=/")
        assert answer.status_code == 401, answer.text
        assert answer.json()["error"]["code"] == "link_expired"
    added = log.read_text().splitlines()[len(before) :]
    assert not any("Traceback" in line or "Exception" in line for line in added), added
    assert len(added) <= 2 * len(COOKIES) + len(CODES), added
    # The server still answers, and a good credential still works.
    ok = httpx.get(f"{token_server.url}/api/rooms", headers={"authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200
