"""`chatnut install --url URL --token-env AGENT_TOKEN` with the real clients: Claude
Code, Codex and Gemini CLI each read the registration it wrote (a reference to
the variable, never the token), take their own agent's token from the
environment, and reach the server as exactly that agent, as the server's
request log shows (it names the principal, never the secret).

A post through Claude Code's registration carries that agent's principal: the
model is a stand-in (fake_anthropic.py) that asks for one `post_message`, so
no key and no network are needed; everything between it and the server is the
real Claude Code. Codex lists no connection status; its `exec` connects to its
MCP servers as it starts, before any model answers, which is what is checked.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.clients import npm as clients
from tests.clients.fake_anthropic import TOOL, Script, fake_anthropic
from tests.helpers import TOKEN, ServerProcess
from tests.identity import bearer

pytestmark = pytest.mark.e2e

VARIABLE = "AGENT_TOKEN"
SEEN_WITHIN = 60.0  # seconds for a client's first call to reach the server's log


@pytest.fixture(scope="module")
def client_bin() -> Path:
    try:
        return clients.ensure()
    except (RuntimeError, subprocess.SubprocessError) as exc:
        pytest.fail(f"could not install the real clients: {exc}")


class Team:
    """A token server that logs each request as JSON (with its principal), and the
    agents' own tokens."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.admin = httpx.Client(base_url=server.url, headers=bearer(TOKEN), timeout=30)
        self.tokens = {
            name: self._token(name) for name in ("claude-a", "codex-a", "gemini-a", "idle-a")
        }
        self.room = self.admin.post("/api/rooms", json={"project": "p", "name": "r"}).json()["id"]

    def _token(self, name: str) -> str:
        made = self.admin.post("/api/admin/tokens", json={"name": name})
        assert made.status_code == 200, made.text
        secret: str = made.json()["token"]
        return secret

    def calls_by(self, principal: str) -> list[dict[str, Any]]:
        """The MCP requests the server logged under this principal."""
        found = []
        for line in list(self.server.output):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if (
                entry.get("logger") == "chatnut.access"
                and entry.get("route") == "/mcp"
                and entry.get("principal") == principal
            ):
                found.append(entry)
        return found

    def wait_for_calls_by(self, principal: str) -> list[dict[str, Any]]:
        deadline = time.monotonic() + SEEN_WITHIN
        while time.monotonic() < deadline:
            calls = self.calls_by(principal)
            if calls:
                return calls
            time.sleep(0.1)  # polling the server's log lines, with a deadline
        raise AssertionError(f"no MCP call by {principal} reached the server")


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    home = tmp_path_factory.mktemp("server")
    server = ServerProcess(home, ["--log-format", "json"], env={"CHATNUT_TOKEN": TOKEN})
    server.start()
    made = Team(server)
    yield made
    made.admin.close()
    server.stop()
    # Nobody used the idle agent's token, and no secret reached the log.
    assert made.calls_by("idle-a") == []
    logged = "".join(server.output)
    assert all(secret not in logged for secret in made.tokens.values())


@pytest.fixture
def user(tmp_path: Path) -> tuple[Path, Path]:
    home = tmp_path / "user"
    for folder in (".claude", ".codex", ".gemini"):
        (home / folder).mkdir(parents=True)
    project = home / "project"
    project.mkdir()
    return home, project


def environment(team: Team, home: Path, client_bin: Path) -> dict[str, str]:
    """The user's environment: the clients on PATH, no shared token and no model key."""
    env = team.server.environment()
    for name in list(env):
        if name.startswith(("ANTHROPIC_", "OPENAI_", "GEMINI_", "GOOGLE_", "CLAUDE_", "CODEX_")):
            del env[name]
    for name in ("CHATNUT_TOKEN", "CHATNUT_TOKEN_FILE", "XDG_CONFIG_HOME", "CHATNUT_PORT"):
        env.pop(name, None)
    path = [str(client_bin), str(Path(sys.executable).parent), "/usr/bin", "/bin"]
    env.update(HOME=str(home), PATH=os.pathsep.join(path), NO_COLOR="1")
    return env


def install(team: Team, client: str, env: dict[str, str], cwd: Path, config: Path) -> None:
    """Register with `--token-env` (the variable unset: install never sees a token)."""
    argv = [sys.executable, "-m", "chatnut", "install", "--client", client]
    argv += ["--url", team.server.url, "--token-env", VARIABLE]
    done = clients.run(argv, env, cwd)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"names the token as {VARIABLE} instead of holding it" in done.stdout
    written = config.read_text()
    assert VARIABLE in written and "cnt_" not in written and TOKEN not in written


def test_claude_code_connects_as_its_own_agent_and_posts_as_it(
    team: Team, user: tuple[Path, Path], client_bin: Path
) -> None:
    home, project = user
    env = environment(team, home, client_bin)
    install(team, "claude", env, project, home / ".claude.json")
    claude = str(client_bin / "claude")

    # Without the variable, or with a revoked-looking token in it, it does not connect.
    unknown = clients.run([claude, "mcp", "list"], {**env, VARIABLE: "cnt_" + "x" * 43}, project)
    line = next(row for row in unknown.stdout.splitlines() if row.startswith("chatnut:"))
    assert "Connected" not in line, unknown.stdout

    env[VARIABLE] = team.tokens["claude-a"]
    listed = clients.run([claude, "mcp", "list"], env, project)
    line = next(row for row in listed.stdout.splitlines() if row.startswith("chatnut:"))
    assert team.server.mcp_url in line and "Connected" in line, listed.stdout
    assert team.wait_for_calls_by("claude-a")

    # A post through the same registration, the model asking for one tool call.
    script = Script({"room_id": team.room, "sender": "claude-a", "content": "through claude"})
    with fake_anthropic(script) as model:
        posted = clients.run(
            [claude, "-p", "post it", "--allowedTools", TOOL],
            {**env, "ANTHROPIC_BASE_URL": model, "ANTHROPIC_API_KEY": "sk-ant-fake"},
            project,
        )
    assert posted.returncode == 0, posted.stdout + posted.stderr
    assert any(TOOL in offered for offered in script.offered)
    messages = team.admin.get(f"/api/rooms/{team.room}/messages").json()["messages"]
    mine = [m for m in messages if m["content"] == "through claude"]
    assert len(mine) == 1 and mine[0]["sender"] == "claude-a"
    assert mine[0]["principal"] == "claude-a"
    assert any(c.get("tool") == "post_message" for c in team.calls_by("claude-a"))

    # The same agent asked to post as someone else: the tool answers the refusal,
    # and nothing is written.
    script = Script({"room_id": team.room, "sender": "lead", "content": "as the lead"})
    with fake_anthropic(script) as model:
        refused = clients.run(
            [claude, "-p", "post it", "--allowedTools", TOOL],
            {**env, "ANTHROPIC_BASE_URL": model, "ANTHROPIC_API_KEY": "sk-ant-fake"},
            project,
        )
    assert refused.returncode == 0, refused.stdout + refused.stderr
    assert "this token is claude-a's; it cannot act as lead" in json.dumps(script.results)
    after = team.admin.get(f"/api/rooms/{team.room}/messages").json()["messages"]
    assert after == messages


def test_codex_reads_the_variable_and_connects_as_its_own_agent(
    team: Team, user: tuple[Path, Path], client_bin: Path
) -> None:
    home, project = user
    env = environment(team, home, client_bin)
    install(team, "codex", env, project, home / ".codex" / "config.toml")
    env[VARIABLE] = team.tokens["codex-a"]
    codex = str(client_bin / "codex")
    listed = clients.run([codex, "mcp", "list", "--json"], env, project)
    assert listed.returncode == 0, listed.stderr
    entry = {e["name"]: e for e in json.loads(listed.stdout)}["chatnut"]
    assert entry["transport"]["url"] == team.server.mcp_url
    assert entry["transport"]["bearer_token_env_var"] == VARIABLE
    assert entry["auth_status"] == "bearer_token"
    # `codex exec` starts its MCP servers first; its model (a local port where
    # nothing listens) never answers, and the run is stopped once the call is seen.
    argv = [codex, "exec", "--skip-git-repo-check"]
    argv += ["-c", 'model_providers.nowhere={name="nowhere",base_url="http://127.0.0.1:9/v1"}']
    argv += ["-c", "model_provider=nowhere", "say hi"]
    process = subprocess.Popen(
        argv,
        env=env,
        cwd=project,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        calls = team.wait_for_calls_by("codex-a")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    # Authenticated as that agent: its initialize answered (200), nothing refused
    # (a GET for a server stream is 405 on this stateless endpoint, as for anyone).
    statuses = {c["status"] for c in calls}
    assert 200 in statuses and not statuses & {401, 403}, statuses


def test_gemini_cli_reads_the_variable_and_connects_as_its_own_agent(
    team: Team, user: tuple[Path, Path], client_bin: Path
) -> None:
    home, project = user
    env = environment(team, home, client_bin)
    install(team, "gemini", env, project, home / ".gemini" / "settings.json")
    # Gemini CLI ignores every MCP server in a folder the user has not trusted.
    (home / ".gemini" / "trustedFolders.json").write_text(
        json.dumps({str(project): "TRUST_FOLDER"})
    )
    env[VARIABLE] = team.tokens["gemini-a"]
    listed = clients.run([str(client_bin / "gemini"), "mcp", "list"], env, project)
    # It prints the list on stderr.
    output = listed.stdout + listed.stderr
    line = next(row for row in output.splitlines() if "chatnut:" in row)
    assert team.server.mcp_url in line and "Connected" in line, output
    assert "Disconnected" not in line
    calls = team.wait_for_calls_by("gemini-a")
    # Authenticated as that agent: its initialize answered (200), nothing refused
    # (a GET for a server stream is 405 on this stateless endpoint, as for anyone).
    statuses = {c["status"] for c in calls}
    assert 200 in statuses and not statuses & {401, 403}, statuses
