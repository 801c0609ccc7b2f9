"""Keeping tokens where they belong: no short shared token on the network, no token
sent on through a redirect, a warning before one crosses plain http."""

from __future__ import annotations

import http.server
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from chatnut.client import endpoint
from tests.helpers import ServerProcess
from tests.identity import chatnut

SECRET = "a-team-token-that-is-long-enough-0123456789"


def test_a_short_shared_token_is_refused_beyond_loopback(home: Path) -> None:
    import subprocess

    result = subprocess.run(
        [sys.executable, "-m", "chatnut", "serve", "--host", "0.0.0.0", "--port", "0"],
        env={**ServerProcess(home).environment(), "CHATNUT_TOKEN": "abc"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "3-character token" in result.stderr and "at least 32" in result.stderr
    assert "chatnut token create" in result.stderr
    assert list(home.iterdir()) == []  # nothing written, nothing listened on


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Answers every request with `reply` and notes what it was sent."""

    reply: tuple[int, dict[str, str]] = (200, {})
    seen: list[dict[str, str]]

    def do_GET(self) -> None:
        self.seen.append(dict(self.headers))
        status, headers = self.reply
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_POST = do_GET

    def log_message(self, *args: object) -> None:
        pass


def _serve(reply: tuple[int, dict[str, str]]) -> Iterator[tuple[str, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []
    handler = type("Handler", (_Recorder,), {"reply": reply, "seen": seen})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def elsewhere() -> Iterator[tuple[str, list[dict[str, str]]]]:
    yield from _serve((200, {}))


def test_the_remote_cli_never_follows_a_redirect_with_the_token(
    home: Path, elsewhere: tuple[str, list[dict[str, str]]]
) -> None:
    target, reached = elsewhere
    for redirecting in _serve((307, {"location": f"{target}/api/rooms"})):
        base, asked = redirecting
        for command in (["rooms"], ["token", "list"]):
            done = chatnut(home, None, *command, "--url", base, CHATNUT_TOKEN=SECRET, NO_PROXY="*")
            assert done.returncode == 1, done.stdout
            assert done.stderr.count("\n") == 1, done.stderr
            assert f"answered 307, redirecting to {target}/api/rooms" in done.stderr
            assert "does not follow a redirect" in done.stderr
        assert len(asked) == 2 and all(h["Authorization"] == f"Bearer {SECRET}" for h in asked)
    assert reached == []  # the second host never heard from us


def test_a_token_over_plain_http_to_another_host_is_warned_about_once(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(endpoint, "_warned_plain", set())
    endpoint.warn_plain_http("http://chat.example.com:8000", SECRET)
    endpoint.warn_plain_http("http://chat.example.com:8000", SECRET)
    endpoint.warn_plain_http("https://secure.example.com", SECRET)
    endpoint.warn_plain_http("http://127.0.0.1:8000", SECRET)
    endpoint.warn_plain_http("http://other.example.com", None)
    err = capsys.readouterr().err
    assert err.count("warning") == 1
    assert "sending the token to chat.example.com over plain http" in err


def test_failed_authentication_is_throttled_per_address(home: Path) -> None:
    # Reachable by others (here through a proxy's name), so guesses are counted;
    # a loopback-only server's clients are all local and are not.
    server = ServerProcess(
        home, extra_args=["--allow-host", "chat.example.com"], env={"CHATNUT_TOKEN": SECRET}
    )
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            for guess in range(10):
                answer = http.get("/api/rooms", headers={"authorization": f"Bearer guess-{guess}"})
                assert answer.status_code == 401
            # The eleventh, even with the right token, waits out the minute.
            refused = http.get("/api/rooms", headers={"authorization": f"Bearer {SECRET}"})
            assert refused.status_code == 429
            assert refused.json()["error"]["code"] == "too_many_failures"
            assert 50 <= int(refused.headers["retry-after"]) <= 61
            # A guess with a made-up principal token counts the same way.
            assert http.get("/mcp/", headers={"authorization": "Bearer cnt_x"}).status_code == 429
            # The page itself (no data) is still served.
            assert http.get("/").status_code == 200
        log = (home / "chatnut.log").read_text().splitlines()
        logged = [line for line in log if "failed authentications from" in line]
        assert len(logged) == 1 and "127.0.0.1" in logged[0]
    finally:
        server.stop()
