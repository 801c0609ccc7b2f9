"""`chatnut` with no arguments: the stdio bridge, driven by the official MCP client
over stdio. It starts the HTTP server when none runs — exactly one, however many
bridges start at once — and forwards tools/list and tools/call to it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from chatnut import bridge
from chatnut.cli import main
from chatnut.client.endpoint import Endpoint
from chatnut.settings import Settings

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


def bridge_params(home: Path) -> StdioServerParameters:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"CHATNUT_DB", "CHAT_DB_PATH", "CHATNUT_TOKEN"}
    }
    env.update(
        CHATNUT_HOME=str(home),
        CHATNUT_PORT="0",  # never port 8000 in tests; server.port says where it went
        CHATNUT_OPEN_BROWSER="0",
        CHATNUT_UPDATE_CHECK="0",
    )
    return StdioServerParameters(command=sys.executable, args=["-m", "chatnut"], env=env)


@pytest.fixture
def bridge_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("CHATNUT_HOME", str(home))
    yield home
    main(["stop"])  # the server the bridge started (SIGTERM via its pid file)


async def test_bridge_starts_the_server_and_forwards_tools(bridge_home: Path) -> None:
    async with Client(bridge_params(bridge_home), mode="legacy") as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        assert len(tools) == 22 and {"post_message", "wait_for_messages"} <= tools
        room = await client.call_tool("init_room", {"project": "p", "name": "bridged"})
        assert not room.is_error
        room_id = room.structured_content["id"]
        posted = await client.call_tool(
            "post_message", {"room_id": room_id, "sender": "ana", "content": "via stdio"}
        )
        assert posted.structured_content["content"] == "via stdio"
        refused = await client.call_tool(
            "post_message", {"room_id": room_id, "sender": "", "content": "x"}
        )
        assert refused.is_error and "sender" in refused.content[0].text  # type: ignore[union-attr]
    port = int((bridge_home / "server.port").read_text())
    assert port != 8000
    # The server outlives the bridge: it was started in its own session.
    assert main(["status"]) == 0


@pytest.mark.slow  # ten interpreters started at once
async def test_ten_bridges_at_once_start_exactly_one_server(bridge_home: Path) -> None:
    db_paths: list[str] = []

    async def one_agent() -> None:
        async with Client(bridge_params(bridge_home), mode="legacy") as client:
            answer = await client.call_tool("ping", {})
            db_paths.append(answer.structured_content["db_path"])

    async with anyio.create_task_group() as group:
        for _ in range(10):
            group.start_soon(one_agent)
    assert db_paths == [str(bridge_home / "chatnut.db")] * 10
    log = (bridge_home / "chatnut.log").read_text()
    assert log.count("chatnut ready on") == 1


async def test_bridge_restarts_a_server_that_went_away(bridge_home: Path) -> None:
    async with Client(bridge_params(bridge_home), mode="legacy") as client:
        first_pid = (bridge_home / "server.pid").read_text()
        assert main(["stop"]) == 0
        answer = await client.call_tool("ping", {})
        assert answer.structured_content["status"] == "ok"
        assert (bridge_home / "server.pid").read_text() != first_pid


def test_bare_chatnut_at_a_terminal_prints_help() -> None:
    # stdin a TTY: a human typed `chatnut`; show the commands instead of waiting for JSON.
    import pty

    leader, follower = pty.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "chatnut"],
            stdin=follower,
            capture_output=True,
            text=True,
            timeout=30,
        )
    finally:
        os.close(leader)
        os.close(follower)
    assert result.returncode == 2 and "install" in result.stderr and "tail" in result.stderr


class _Dropped(Exception):
    pass


@pytest.mark.parametrize(("repeatable", "calls"), [(True, 2), (False, 1)])
async def test_a_call_cut_off_by_a_dying_server_is_repeated_only_if_harmless(
    monkeypatch: pytest.MonkeyPatch, repeatable: bool, calls: int
) -> None:
    upstream = bridge.Upstream(Settings(), Endpoint("http://127.0.0.1:1"), http=None)
    alive = iter([True, False])  # up before the call, gone when it fails
    monkeypatch.setattr(bridge, "server_alive", lambda _settings: next(alive, True))
    restarts: list[str] = []

    async def restart() -> None:
        restarts.append("started")

    attempts: list[int] = []

    async def once(_call: object) -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise _Dropped("connection reset mid-call")
        return "answered"

    monkeypatch.setattr(upstream, "_restart", restart)
    monkeypatch.setattr(upstream, "_once", once)
    if repeatable:
        assert await upstream.forward(lambda c: c, repeatable=True) == "answered"
    else:
        with pytest.raises(bridge.CutOff):
            await upstream.forward(lambda c: c, repeatable=False)
    assert len(attempts) == calls  # a post is never sent a second time
    assert restarts == ["started"]  # either way the server is back for the next call
