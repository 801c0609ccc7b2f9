"""`chatnut install` against a running server and the real clients: it registers
the URL the server on this home is actually on (`--port 0` included) and says
whether it answers; then Claude Code, Codex and Gemini CLI — installed from npm
(tests/clients/npm.py) — list chatnut at that URL, connected where they check."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.clients import npm as clients
from tests.helpers import ServerProcess

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def client_bin() -> Path:
    try:
        return clients.ensure()
    except (RuntimeError, subprocess.SubprocessError) as exc:
        pytest.fail(f"could not install the real clients: {exc}")


@pytest.fixture
def user(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A fresh HOME with each client's directory, and a project directory in it."""
    home = tmp_path / "user"
    for folder in (".claude", ".codex", ".gemini", ".cursor"):
        (home / folder).mkdir(parents=True)
    project = home / "project"
    project.mkdir()
    yield home, project


def environment(
    server: ServerProcess, home: Path, client_bin: Path | None = None
) -> dict[str, str]:
    env = server.environment()
    path = [str(Path(sys.executable).parent), "/usr/bin", "/bin"]
    if client_bin is not None:
        path.insert(0, str(client_bin))
    env.update(HOME=str(home), PATH=os.pathsep.join(path), NO_COLOR="1")
    for name in ("XDG_CONFIG_HOME", "CODEX_HOME", "CHATNUT_PORT", "CLAUDE_CONFIG_DIR"):
        env.pop(name, None)
    return env


def install(client: str, env: dict[str, str], cwd: Path) -> str:
    done = clients.run([sys.executable, "-m", "chatnut", "install", "--client", client], env, cwd)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_install_registers_the_running_servers_port_and_checks_it(
    server: ServerProcess, user: tuple[Path, Path]
) -> None:
    home, project = user
    assert server.port != 8000  # `serve --port 0`: the port setting says nothing
    out = install("cursor", environment(server, home), project)
    config = json.loads((home / ".cursor" / "mcp.json").read_text())
    assert config["mcpServers"]["chatnut"]["url"] == server.mcp_url
    assert f"checked: chatnut answers at {server.mcp_url}" in out


def test_install_says_so_when_nothing_answers(
    server: ServerProcess, user: tuple[Path, Path]
) -> None:
    home, project = user
    env = environment(server, home)
    server.stop()
    env["CHATNUT_PORT"] = "9"  # discard: nothing listens there
    done = clients.run(
        [sys.executable, "-m", "chatnut", "install", "--client", "cursor"], env, project
    )
    assert done.returncode == 0
    notes = [line for line in done.stdout.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "http://127.0.0.1:9/mcp/ does not answer" in notes[0]


def test_claude_code_lists_chatnut_connected(
    server: ServerProcess, user: tuple[Path, Path], client_bin: Path
) -> None:
    home, project = user
    env = environment(server, home, client_bin)
    install("claude", env, project)  # through `claude mcp add`, the real one
    listed = clients.run([str(client_bin / "claude"), "mcp", "list"], env, project)
    line = next(row for row in listed.stdout.splitlines() if row.startswith("chatnut:"))
    assert server.mcp_url in line and "Connected" in line and "Failed" not in line, listed.stdout


def test_codex_lists_chatnut_at_the_url(
    server: ServerProcess, user: tuple[Path, Path], client_bin: Path
) -> None:
    home, project = user
    env = environment(server, home, client_bin)
    install("codex", env, project)
    listed = clients.run([str(client_bin / "codex"), "mcp", "list", "--json"], env, project)
    assert listed.returncode == 0, listed.stderr
    servers = {entry["name"]: entry for entry in json.loads(listed.stdout)}
    chatnut = servers["chatnut"]
    # Codex reports no connection status in its list; it reports the transport.
    assert chatnut["transport"]["url"] == server.mcp_url and chatnut["enabled"] is True


def test_gemini_cli_lists_chatnut_connected(
    server: ServerProcess, user: tuple[Path, Path], client_bin: Path
) -> None:
    home, project = user
    env = environment(server, home, client_bin)
    install("gemini", env, project)
    # Gemini CLI ignores every MCP server in a folder the user has not trusted.
    (home / ".gemini" / "trustedFolders.json").write_text(
        json.dumps({str(project): "TRUST_FOLDER"})
    )
    listed = clients.run([str(client_bin / "gemini"), "mcp", "list"], env, project)
    # It prints the list on stderr.
    line = next(row for row in (listed.stdout + listed.stderr).splitlines() if "chatnut:" in row)
    assert server.mcp_url in line and "Connected" in line and "Disconnected" not in line, (
        listed.stdout + listed.stderr
    )
