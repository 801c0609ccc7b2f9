"""Nothing the CLI writes follows a link it did not make, and what holds the token
is private: `install` in a hostile repository, `export -o` and `backup`
onto planted links, config modes and environment references for project files."""

from __future__ import annotations

import json
import os
import stat
import sys
import tomllib
from pathlib import Path

import httpx
import pytest

from chatnut.cli import main
from tests.helpers import ServerProcess

BASHRC = "# the user's shell startup\nexport PATH=$HOME/bin:$PATH\n"


@pytest.fixture
def user_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "user"
    home.mkdir()
    (home / ".bashrc").write_text(BASHRC)
    project = tmp_path / "repo"
    project.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PATH", str(bin_dir))  # no client CLIs: files are written directly
    monkeypatch.setenv("CHATNUT_HOME", str(home / ".chatnut"))
    for name in ("XDG_CONFIG_HOME", "CODEX_HOME", "CHATNUT_TOKEN", "CHATNUT_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.chdir(project)
    return home


def tree(root: Path) -> dict[str, str]:
    """Every entry under root: file text, or where a link points."""
    found = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            found[key] = "-> " + os.readlink(path)
        elif path.is_file():
            found[key] = path.read_text()
    return found


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_a_planted_backup_link_is_refused_and_nothing_is_written(
    user_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = Path.cwd()
    (repo / "AGENTS.md").write_text("# Our agents\n")
    (repo / "AGENTS.md.chatnut-backup").symlink_to(user_home / ".bashrc")
    before = tree(repo)
    assert main(["install", "--client", "codex", "--scope", "project"]) == 1
    err = capsys.readouterr().err
    assert f"{repo}/AGENTS.md.chatnut-backup is a symbolic link" in err
    assert len(err.strip().splitlines()) == 1
    assert (user_home / ".bashrc").read_text() == BASHRC
    assert tree(repo) == before  # not even the config that came first in the plan


@pytest.mark.parametrize(
    ("client", "linked"),
    [("claude", ".mcp.json"), ("gemini", "GEMINI.md"), ("codex", "AGENTS.md")],
)
def test_a_config_that_is_a_link_is_refused(
    user_home: Path, capsys: pytest.CaptureFixture[str], client: str, linked: str
) -> None:
    repo = Path.cwd()
    (repo / linked).symlink_to(user_home / ".bashrc")
    before = tree(repo)
    assert main(["install", "--client", client, "--scope", "project"]) == 1
    err = capsys.readouterr().err
    assert f"{repo}/{linked} is a symbolic link" in err
    assert (user_home / ".bashrc").read_text() == BASHRC
    assert tree(repo) == before


def test_a_linked_directory_inside_the_project_is_refused(
    user_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The repository ships `.gemini -> ~/.gemini`: a project install would edit the user's.
    (user_home / ".gemini").mkdir()
    (user_home / ".gemini" / "settings.json").write_text('{"theme": "dark"}\n')
    repo = Path.cwd()
    (repo / ".gemini").symlink_to(user_home / ".gemini")
    assert main(["install", "--client", "gemini", "--scope", "project"]) == 1
    assert f"{repo}/.gemini is a symbolic link" in capsys.readouterr().err
    assert tree(user_home / ".gemini") == {"settings.json": '{"theme": "dark"}\n'}
    assert not (repo / "GEMINI.md").exists()


def test_a_planted_temp_name_is_not_followed(user_home: Path) -> None:
    repo = Path.cwd()
    (repo / "AGENTS.md").write_text("# Our agents\n")
    # The name the old code wrote through: .<name>.<pid>.tmp
    (repo / f".AGENTS.md.{os.getpid()}.tmp").symlink_to(user_home / ".bashrc")
    assert main(["install", "--client", "codex", "--scope", "project"]) == 0
    assert (user_home / ".bashrc").read_text() == BASHRC
    assert "chatnut" in (repo / "AGENTS.md").read_text()
    assert not (repo / "AGENTS.md").is_symlink()


def test_a_token_in_a_user_config_is_written_0600_and_backups_too(
    user_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHATNUT_TOKEN", "s3cret-token-value")
    (user_home / ".gemini").mkdir()
    (user_home / ".gemini" / "settings.json").write_text('{"theme": "dark"}\n')
    (user_home / ".gemini" / "settings.json").chmod(0o644)
    assert main(["install", "--client", "gemini"]) == 0
    settings = user_home / ".gemini" / "settings.json"
    assert "s3cret-token-value" in settings.read_text() and mode(settings) == 0o600
    assert mode(user_home / ".gemini" / "settings.json.chatnut-backup") == 0o600
    assert mode(user_home / ".gemini" / "GEMINI.md") == 0o644  # no secret in it


def test_project_configs_name_the_token_by_environment_variable(
    user_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CHATNUT_TOKEN", "s3cret-token-value")
    repo = Path.cwd()
    assert main(["install", "--client", "claude", "--scope", "project"]) == 0
    assert main(["install", "--client", "codex", "--scope", "project"]) == 0
    out = capsys.readouterr().out
    assert "names the token as CHATNUT_TOKEN" in out and "s3cret-token-value" not in out
    claude = json.loads((repo / ".mcp.json").read_text())["mcpServers"]["chatnut"]
    assert claude["headers"] == {"Authorization": "Bearer ${CHATNUT_TOKEN}"}
    codex = tomllib.loads((repo / ".codex" / "config.toml").read_text())
    assert codex["mcp_servers"]["chatnut"]["bearer_token_env_var"] == "CHATNUT_TOKEN"
    assert "http_headers" not in codex["mcp_servers"]["chatnut"]
    assert all("s3cret-token-value" not in text for text in tree(repo).values())


@pytest.fixture
def cli_server(server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> ServerProcess:
    for name, value in server.environment().items():
        monkeypatch.setenv(name, value)
    httpx.post(f"{server.url}/api/rooms", json={"project": "demo", "name": "plan"})
    return server


@pytest.mark.e2e
def test_export_onto_a_dangling_link_is_refused(
    cli_server: ServerProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = tmp_path / "victim"
    out = tmp_path / "out.md"
    out.symlink_to(victim)
    for extra in ([], ["--force"]):
        assert main(["export", "demo/plan", "-o", str(out), *extra]) == 1
        assert f"{out} is a symbolic link" in capsys.readouterr().err
        assert not victim.exists() and out.is_symlink()
    fresh = tmp_path / "fresh.md"
    assert main(["export", "demo/plan", "-o", str(fresh)]) == 0
    assert fresh.read_text().startswith("# ") and mode(fresh) == 0o600


@pytest.mark.e2e
def test_backup_onto_a_dangling_link_is_refused(
    cli_server: ServerProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = tmp_path / "victim.db"
    target = tmp_path / "copy.db"
    target.symlink_to(victim)
    assert main(["backup", str(target)]) == 1
    assert "exists" in capsys.readouterr().err
    assert not victim.exists() and target.is_symlink()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    good = tmp_path / "good.db"
    assert main(["backup", str(good)]) == 0
    assert mode(good) == 0o600
