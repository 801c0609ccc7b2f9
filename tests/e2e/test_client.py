"""The client side the CLI and the stdio bridge share (chatnut.client): loopback
calls go straight to the server, never through the environment's proxy."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from tests.helpers import TOKEN, ServerProcess

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


class RecordingProxy:
    """A "proxy" on 127.0.0.1 that records what reaches it and answers 502."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.seen: list[bytes] = []
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    self.seen.append(conn.recv(65536))
                    conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def proxy() -> Iterator[RecordingProxy]:
    recording = RecordingProxy()
    yield recording
    recording.close()


def proxied_env(server: ServerProcess, proxy: RecordingProxy) -> dict[str, str]:
    env = server.environment()
    env.update({name: proxy.url for name in PROXY_VARS})
    env.pop("NO_PROXY", None)
    env.pop("no_proxy", None)
    return env


def test_cli_calls_never_go_through_the_proxy(
    token_server: ServerProcess, proxy: RecordingProxy
) -> None:
    env = proxied_env(token_server, proxy)

    def chatnut(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "chatnut", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    posted = chatnut("post", "demo/plan", "hello", "--sender", "cli", "--create")
    assert posted.returncode == 0, posted.stderr
    # `open` with a token asks the server for a sign-in link over MCP.
    opened = chatnut("open", "demo/plan", "--url-only")
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout.startswith(token_server.url + "/auth/link?code=")
    assert proxy.seen == []


async def test_bridge_calls_never_go_through_the_proxy(
    token_server: ServerProcess, proxy: RecordingProxy
) -> None:
    env = proxied_env(token_server, proxy)
    env["CHATNUT_TOKEN"] = TOKEN
    params = StdioServerParameters(command=sys.executable, args=["-m", "chatnut"], env=env)
    async with Client(params, mode="legacy") as client:
        answer = await client.call_tool("init_room", {"project": "p", "name": "bridged"})
        assert not answer.is_error, answer.content
    assert proxy.seen == []
    rooms = httpx.get(
        f"{token_server.url}/api/rooms", headers={"Authorization": f"Bearer {TOKEN}"}
    ).json()["rooms"]
    assert [r["name"] for r in rooms] == ["bridged"]


def test_the_client_package_uses_no_private_sdk_module() -> None:
    root = Path(__file__).parents[2] / "app" / "be" / "chatnut"
    for path in [*root.joinpath("client").glob("*.py"), root / "bridge.py"]:
        assert "mcp.shared._" not in path.read_text(), path
