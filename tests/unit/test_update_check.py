"""The newer-release check: parsed with packaging, cached, never awaited, silent offline."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from chatnut.update_check import UpdateChecker, newest_release


def test_newest_release_skips_prereleases_and_yanked() -> None:
    payload = {
        "releases": {
            "0.4.2": [{"yanked": False}],
            "0.10.0": [{"yanked": False}],
            "0.11.0rc1": [{"yanked": False}],
            "0.12.0": [{"yanked": True}],
            "not-a-version": [{}],
        }
    }
    assert str(newest_release(payload)) == "0.10.0"  # 0.10 > 0.4.2 numerically, not as text
    assert newest_release({}) is None


@pytest.fixture
def index() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"releases": {"0.5.0": [{}], "0.6.1": [{}]}}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/pypi/chatnut/json"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_check_reports_a_newer_release(index: str) -> None:
    checker = UpdateChecker(enabled=True, url=index, current="0.5.0")
    checker._refresh()  # what the background thread runs
    assert checker.info() == {"latest": "0.6.1", "update_available": True}
    same = UpdateChecker(enabled=True, url=index, current="0.6.1")
    same._refresh()
    assert same.info() == {"latest": "0.6.1", "update_available": False}


def test_offline_is_silent() -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    checker = UpdateChecker(enabled=True, url=f"http://127.0.0.1:{port}/x", current="0.5.0")
    checker._refresh()
    assert checker.info() == {}


def test_disabled_never_asks() -> None:
    checker = UpdateChecker(enabled=False, url="http://127.0.0.1:9/never")
    assert checker.info() == {}
    checker.refresh_in_background()
    assert checker._running is False


def test_without_a_url_of_its_own_there_is_no_check() -> None:
    """The public index's `chatnut` is another project: no URL, no answer at all."""
    checker = UpdateChecker(enabled=True, url=None)
    assert checker.enabled is False
    assert checker.info() == {}
    assert checker._running is False
