"""The terminal commands and the stdio bridge against a remote server: --url / CHATNUT_URL
with the token, never this home's own server."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from chatnut.cli import main
from tests.helpers import ServerProcess

pytestmark = pytest.mark.e2e
TOKEN = "team-token-123"


@pytest.fixture
def team(tmp_path: Path) -> Iterator[ServerProcess]:
    """A token-protected server in a home of its own (the "team server")."""
    server_home = tmp_path / "server-home"
    server_home.mkdir()
    process = ServerProcess(server_home, ["--token", TOKEN], env={"CHATNUT_TOKEN": TOKEN})
    process.start()
    yield process
    process.stop()


@pytest.fixture
def laptop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This machine: a home with no server of its own, the team's token in the environment."""
    home = tmp_path / "laptop"
    home.mkdir()
    monkeypatch.setenv("CHATNUT_HOME", str(home))
    monkeypatch.setenv("CHATNUT_TOKEN", TOKEN)
    for name in ("CHATNUT_DB", "CHAT_DB_PATH", "CHATNUT_PORT", "CHATNUT_URL"):
        monkeypatch.delenv(name, raising=False)
    return home


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_terminal_commands_talk_to_the_url_with_the_token(
    team: ServerProcess, laptop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = ["--url", team.url]
    post = ("post", "demo/plan", "from afar", "--sender", "ana", "--create")
    code, out, err = cli(capsys, *post, *url)
    assert code == 0, err
    assert "posted #1 to demo/plan" in out
    code, out, _ = cli(capsys, "rooms", "--json", *url)
    assert [r["name"] for r in json.loads(out)["rooms"]] == ["plan"]
    code, out, _ = cli(capsys, "tail", "demo/plan", "--once", "--format", "json", *url)
    assert code == 0 and [json.loads(line)["content"] for line in out.splitlines()] == ["from afar"]
    code, out, _ = cli(capsys, "export", "demo/plan", *url)
    assert code == 0 and "from afar" in out
    code, out, _ = cli(capsys, "open", "demo/plan", "--url-only", *url)
    link = out.strip()
    assert code == 0 and link.startswith(f"{team.url}/auth/link?code=") and TOKEN not in link
    code, out, _ = cli(capsys, "status", "--json", *url)
    facts = json.loads(out)
    assert code == 0 and facts["running"] is True and facts["url"] == team.url
    assert facts["messages"] == 1 and facts["db_path"] == str(team.home / "chatnut.db")
    # What the server stored is what the commands said.
    stored = httpx.get(f"{team.url}/api/rooms", headers={"authorization": f"Bearer {TOKEN}"}).json()
    assert stored["rooms"][0]["message_count"] == 1
    # This home never got a server of its own.
    assert not (laptop / "server.port").exists() and not (laptop / "chatnut.db").exists()


def test_chatnut_url_environment_and_the_mcp_url_both_work(
    team: ServerProcess,
    laptop: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHATNUT_URL", team.mcp_url)  # the URL `install --url` takes
    code, out, err = cli(capsys, "post", "demo/env", "hi", "--sender", "bo", "--create")
    assert code == 0, err
    code, out, _ = cli(capsys, "status")
    assert code == 0 and f"is running at {team.url}" in out and "messages:  1" in out


def test_wrong_token_or_dead_url_is_one_clear_line(
    team: ServerProcess,
    laptop: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHATNUT_TOKEN", "wrong")
    post = ("post", "demo/x", "no", "--sender", "x", "--create")
    code, _, err = cli(capsys, *post, "--url", team.url)
    assert code == 1 and err.count("\n") == 1 and "CHATNUT_TOKEN" in err
    rooms = httpx.get(f"{team.url}/api/rooms", headers={"authorization": f"Bearer {TOKEN}"})
    assert rooms.json()["rooms"] == []  # nothing written
    code, _, err = cli(capsys, "rooms", "--url", "http://127.0.0.1:9")
    assert code == 1 and err.count("\n") == 1 and "check --url / CHATNUT_URL" in err
    code, _, err = cli(capsys, "stop", "--url", team.url)
    assert code == 1 and "stopped on its own host" in err
    assert team.proc is not None and team.proc.poll() is None
    code, _, err = cli(capsys, "rooms", "--url", "ftp://example.com")
    assert code == 1 and err.count("\n") == 1 and "http:// or https://" in err


@pytest.mark.anyio
async def test_stdio_bridge_forwards_to_the_url(team: ServerProcess, laptop: Path) -> None:
    local = {"CHATNUT_DB", "CHAT_DB_PATH", "CHATNUT_PORT"}
    env = {k: v for k, v in os.environ.items() if k not in local}
    env.update(CHATNUT_HOME=str(laptop), CHATNUT_URL=team.url, CHATNUT_TOKEN=TOKEN)
    params = StdioServerParameters(command=sys.executable, args=["-m", "chatnut"], env=env)
    async with Client(params, mode="legacy") as client:
        pinged = await client.call_tool("ping", {})
        assert pinged.structured_content["db_path"] == str(team.home / "chatnut.db")
        room = await client.call_tool("init_room", {"project": "p", "name": "bridged"})
        posted = await client.call_tool(
            "post_message",
            {"room_id": room.structured_content["id"], "sender": "ana", "content": "via url"},
        )
        assert posted.structured_content["id"] == 1
    assert not (laptop / "server.port").exists() and not (laptop / "chatnut.db").exists()
    # With --url on the bare command as well.
    env.pop("CHATNUT_URL")
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "chatnut", "--url", team.mcp_url], env=env
    )
    async with Client(params, mode="legacy") as client:
        listed = await client.call_tool("list_rooms", {})
        assert [r["name"] for r in listed.structured_content["rooms"]] == ["bridged"]
    assert not (laptop / "server.port").exists()
