"""`chatnut install --client claude --agent NAME`: Claude Code gets the stdio bridge
as NAME's push channel instead of the URL (temporary HOME; the real `claude mcp
list` checks the bridge connects), and the launch command is printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chatnut.cli import main
from tests.clients import npm as clients
from tests.helpers import ServerProcess

LAUNCH = "claude --dangerously-load-development-channels server:chatnut"


def bridge_entry(env: dict[str, str] | None = None, url: str | None = None) -> dict[str, object]:
    args = ["-m", "chatnut", "--agent", "dev"] + (["--url", url] if url else [])
    return {
        "type": "stdio",
        "command": sys.executable,
        "args": args,
        **({"env": env} if env else {}),
    }


def test_agent_registers_the_bridge_and_prints_the_launch_command(
    user_home: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["install", "--client", "claude", "--agent", "Dev"]) == 0
    out = capsys.readouterr().out
    assert LAUNCH in out
    servers = json.loads((user_home / ".claude.json").read_text())["mcpServers"]
    assert servers == {"chatnut": bridge_entry({"CHATNUT_HOME": str(user_home / ".chatnut")})}
    assert main(["install", "--client", "claude", "--agent", "dev"]) == 0
    assert "nothing to change" in capsys.readouterr().out
    assert main(["uninstall", "--client", "claude"]) == 0
    assert "chatnut" not in json.loads((user_home / ".claude.json").read_text())["mcpServers"]


def test_project_scope_with_a_team_server_names_the_token_by_reference(
    user_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHATNUT_TOKEN", "s3cret-token-value")
    monkeypatch.delenv("CHATNUT_HOME")
    url = "https://chat.example.com"
    assert (
        main(
            ["install", "--client", "claude", "--scope", "project", "--agent", "dev", "--url", url]
        )
        == 0
    )
    written = (Path.cwd() / ".mcp.json").read_text()
    assert "s3cret" not in written  # a project file is the one people commit
    entry = json.loads(written)["mcpServers"]["chatnut"]
    assert entry == bridge_entry({"CHATNUT_TOKEN": "${CHATNUT_TOKEN}"}, url)


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--client", "codex", "--agent", "dev"], "use it with --client claude"),
        (["--client", "claude", "--agent", "no spaces"], "--agent must be letters"),
    ],
)
def test_bad_agent_installs_are_refused_in_one_line_with_nothing_written(
    user_home: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    said: str,
) -> None:
    assert main(["install", *argv]) == 1
    err = capsys.readouterr().err.strip()
    assert said in err and "\n" not in err
    assert not (user_home / ".claude.json").exists() and not (user_home / ".codex").exists()


def test_the_bridge_refuses_a_bad_agent_name(tmp_path: Path) -> None:
    env = {**os.environ, "CHATNUT_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "chatnut", "--agent", "a b"],
        env=env,
        stdin=subprocess.PIPE,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "--agent must be letters" in done.stderr
    assert not (tmp_path / "server.port").exists()  # it started nothing


@pytest.mark.e2e
def test_claude_code_lists_the_channel_bridge_connected(
    server: ServerProcess, tmp_path: Path
) -> None:
    try:
        client_bin = clients.ensure()
    except (RuntimeError, subprocess.SubprocessError) as exc:
        pytest.fail(f"could not install the real clients: {exc}")
    home, project = tmp_path / "user", tmp_path / "user" / "project"
    project.mkdir(parents=True)
    (home / ".claude").mkdir()
    env = server.environment()
    path = [str(client_bin), str(Path(sys.executable).parent), "/usr/bin", "/bin"]
    env.update(HOME=str(home), PATH=os.pathsep.join(path), NO_COLOR="1")
    for name in ("XDG_CONFIG_HOME", "CLAUDE_CONFIG_DIR"):
        env.pop(name, None)

    def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv,
            env=env,
            cwd=project,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )

    installed = run(
        [sys.executable, "-m", "chatnut", "install", "--client", "claude", "--agent", "dev"]
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert LAUNCH in installed.stdout
    listed = run([str(client_bin / "claude"), "mcp", "list"])
    line = next(row for row in listed.stdout.splitlines() if row.startswith("chatnut:"))
    assert "--agent dev" in line and "Connected" in line and "Failed" not in line, listed.stdout
