"""`chatnut install` / `uninstall` against a temporary HOME: the exact files written,
merges that keep the user's settings, backups, idempotence, dry runs, both OSes."""

from __future__ import annotations

import dataclasses
import json
import os
import plistlib
import stat
import sys
import tomllib
from pathlib import Path

import pytest

from chatnut.bundled_files import skill_dir
from chatnut.cli import main

SKILL = (skill_dir() / "SKILL.md").read_text()
PROTOCOL = (skill_dir() / "chatnut-protocol.md").read_text()
URL = "http://127.0.0.1:8000/mcp/"

# A stand-in for the `claude` CLI: records its argv and edits ~/.claude.json as
# `claude mcp add/remove --scope user` does.
FAKE_CLAUDE = f"""#!{sys.executable}
import json, os, sys
home = os.environ["HOME"]
with open(os.path.join(home, "claude-argv.log"), "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
path = os.path.join(home, ".claude.json")
doc = json.load(open(path)) if os.path.exists(path) else {{}}
args = sys.argv[1:]
servers = doc.setdefault("mcpServers", {{}})
if args[:2] == ["mcp", "add"]:
    entry = {{"type": "http", "url": args[7]}}
    if "--header" in args:
        name, value = args[args.index("--header") + 1].split(": ", 1)
        entry["headers"] = {{name: value}}
    servers[args[6]] = entry
elif args[:2] == ["mcp", "remove"]:
    servers.pop(args[-1], None)
json.dump(doc, open(path, "w"), indent=2)
"""

FAKE_RECORDER = f"""#!{sys.executable}
import json, os, sys
with open(os.path.join(os.environ["HOME"], "commands.log"), "a") as log:
    log.write(json.dumps([os.path.basename(sys.argv[0]), *sys.argv[1:]]) + "\\n")
"""


def fake_tool(home: Path, name: str, script: str) -> None:
    path = Path(os.environ["PATH"]) / name
    path.write_text(script)
    path.chmod(0o755)


def run(*args: str) -> int:
    return main(list(args))


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.endswith(".log")
    }


def test_claude_without_its_cli_merges_claude_json_and_copies_rules_and_skill(
    user_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    original = {"numStartups": 7, "mcpServers": {"other": {"type": "stdio", "command": "x"}}}
    (user_home / ".claude.json").write_text(json.dumps(original, indent=2))
    assert run("install", "--client", "claude") == 0
    written = json.loads((user_home / ".claude.json").read_text())
    assert list(written) == ["numStartups", "mcpServers"]
    assert written["mcpServers"] == {
        "other": {"type": "stdio", "command": "x"},
        "chatnut": {"type": "http", "url": URL},
    }
    assert json.loads((user_home / ".claude.json.chatnut-backup").read_text()) == original
    assert (user_home / ".claude/rules/chatnut-protocol.md").read_text() == PROTOCOL
    assert (user_home / ".claude/skills/chatnut/SKILL.md").read_text() == SKILL
    assert (user_home / ".claude/skills/chatnut/chatnut-protocol.md").read_text() == PROTOCOL

    before = snapshot(user_home)
    capsys.readouterr()
    assert run("install", "--client", "claude") == 0
    assert "nothing to change" in capsys.readouterr().out
    assert snapshot(user_home) == before

    assert run("uninstall", "--client", "claude") == 0
    assert json.loads((user_home / ".claude.json").read_text()) == original
    assert not (user_home / ".claude/rules/chatnut-protocol.md").exists()
    assert not (user_home / ".claude/skills/chatnut").exists()


def test_claude_with_its_cli_runs_mcp_add_once(user_home: Path) -> None:
    fake_tool(user_home, "claude", FAKE_CLAUDE)
    assert run("install", "--client", "claude") == 0
    assert run("install", "--client", "claude") == 0
    calls = [json.loads(line) for line in (user_home / "claude-argv.log").read_text().splitlines()]
    assert calls == [["mcp", "add", "--transport", "http", "--scope", "user", "chatnut", URL]]
    assert run("uninstall", "--client", "claude") == 0
    calls = [json.loads(line) for line in (user_home / "claude-argv.log").read_text().splitlines()]
    assert calls[-1] == ["mcp", "remove", "--scope", "user", "chatnut"]


def test_token_is_registered_as_a_header_and_masked_in_dry_run(
    user_home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHATNUT_TOKEN", "s3cret-token-value")
    fake_tool(user_home, "claude", FAKE_CLAUDE)
    assert run("install", "--client", "claude", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "s3cret-token-value" not in out
    # Never in a child's argv (`ps` shows it): the config is written, owner-only.
    assert "--header" not in out
    assert f"claude: wrote the token itself into {user_home}/.claude.json (owner-only" in out
    assert not (user_home / "claude-argv.log").exists()
    assert run("install", "--client", "claude") == 0
    assert not (user_home / "claude-argv.log").exists()
    assert stat.S_IMODE((user_home / ".claude.json").stat().st_mode) == 0o600
    entry = json.loads((user_home / ".claude.json").read_text())["mcpServers"]["chatnut"]
    assert entry == {
        "type": "http",
        "url": URL,
        "headers": {"Authorization": "Bearer s3cret-token-value"},
    }
    assert run("install", "--client", "gemini") == 0
    gemini = json.loads((user_home / ".gemini/settings.json").read_text())
    assert gemini["mcpServers"]["chatnut"]["headers"] == {
        "Authorization": "Bearer s3cret-token-value"
    }


def test_dry_run_prints_the_exact_content_and_writes_nothing(
    user_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("install", "--client", "cursor", "--dry-run") == 0
    out = capsys.readouterr().out
    assert f"create {user_home}/.cursor/mcp.json" in out
    assert f'+    "chatnut": {{\n+      "url": "{URL}"\n+    }}' in out
    assert "nothing written" in out
    assert snapshot(user_home) == {}


def test_install_says_a_line_per_file_and_the_diff_only_when_asked(
    user_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for client in ("gemini", "codex"):
        (user_home / f".{client}").mkdir()
    assert run("install", "--client", "gemini") == 0
    out = capsys.readouterr().out
    changes = [line for line in out.splitlines() if line.startswith(("create ", "change "))]
    # settings, the rules section, the skill and its rules: one line each
    assert len(changes) == 4
    rules = f"create {user_home}/.gemini/GEMINI.md"
    lines = PROTOCOL.count("\n")
    assert any(line.startswith(rules) and line.endswith(" -0 lines") for line in changes)
    assert "@@" not in out and "+++" not in out  # no diff
    assert len(out.splitlines()) < 10
    assert snapshot(user_home)  # and it was written

    assert run("install", "--client", "codex", "-v") == 0
    verbose = capsys.readouterr().out
    assert "@@" in verbose and f"+++ {user_home}/.codex/AGENTS.md" in verbose
    assert len(verbose.splitlines()) > lines  # the whole rules diff
    assert "change(s) made" in verbose


CODEX_CONFIG = """# my codex settings
model = "o4"

[mcp_servers.docs]
command = "docs-mcp"

[mcp_servers.chatnut]
url = "http://127.0.0.1:9999/mcp/"

[mcp_servers.chatnut.env_http_headers]
X = "Y"

[profiles.fast]
model = "o4-mini"
"""


def test_codex_table_is_replaced_in_place_and_nothing_else_changes(user_home: Path) -> None:
    config = user_home / ".codex" / "config.toml"
    config.parent.mkdir()
    config.write_text(CODEX_CONFIG)
    assert run("install", "--client", "codex") == 0
    text = config.read_text()
    assert text == CODEX_CONFIG.replace(
        'url = "http://127.0.0.1:9999/mcp/"\n\n[mcp_servers.chatnut.env_http_headers]\nX = "Y"\n',
        f'url = "{URL}"\n',
    )
    parsed, old = tomllib.loads(text), tomllib.loads(CODEX_CONFIG)
    assert parsed["mcp_servers"]["chatnut"] == {"url": URL}
    assert parsed["profiles"] == old["profiles"] and parsed["model"] == "o4"
    assert (user_home / ".codex/config.toml.chatnut-backup").read_text() == CODEX_CONFIG
    agents = (user_home / ".codex/AGENTS.md").read_text()
    assert PROTOCOL.strip() in agents and agents.startswith("<!-- BEGIN chatnut")
    assert (user_home / ".codex/skills/chatnut/SKILL.md").read_text() == SKILL

    assert run("uninstall", "--client", "codex") == 0
    assert "chatnut" not in tomllib.loads(config.read_text())["mcp_servers"]
    assert not (user_home / ".codex/AGENTS.md").exists()


def test_codex_appends_to_a_config_without_the_table(user_home: Path) -> None:
    config = user_home / ".codex" / "config.toml"
    config.parent.mkdir()
    config.write_text('model = "o4"\n')
    (user_home / ".codex/AGENTS.md").write_text("# Mine\n\nBe terse.\n")
    assert run("install", "--client", "codex") == 0
    assert config.read_text() == f'model = "o4"\n\n[mcp_servers.chatnut]\nurl = "{URL}"\n'
    assert (user_home / ".codex/AGENTS.md").read_text().startswith("# Mine\n\nBe terse.\n\n")
    assert run("uninstall", "--client", "codex") == 0
    assert config.read_text() == 'model = "o4"\n'
    assert (user_home / ".codex/AGENTS.md").read_text() == "# Mine\n\nBe terse.\n"


@pytest.mark.parametrize(
    ("path", "content"),
    [
        (".codex/config.toml", "model = \n"),
        (".codex/config.toml", '[mcp_servers]\nchatnut = { url = "x" }\n'),
        (".gemini/settings.json", '{\n  // comment\n  "theme": "dark"\n}\n'),
        (".gemini/settings.json", "[1, 2]\n"),
    ],
)
def test_unreadable_or_odd_config_is_refused_and_left_untouched(
    user_home: Path, capsys: pytest.CaptureFixture[str], path: str, content: str
) -> None:
    target = user_home / path
    target.parent.mkdir(parents=True)
    target.write_text(content)
    client = path.split("/")[0].strip(".")
    assert run("install", "--client", client) == 1
    assert "left alone" in capsys.readouterr().err
    assert target.read_text() == content
    assert not target.with_name(target.name + ".chatnut-backup").exists()


def test_gemini_keeps_other_settings_and_user_rules(user_home: Path) -> None:
    settings = user_home / ".gemini/settings.json"
    settings.parent.mkdir()
    settings.write_text('{\n    "theme": "dark",\n    "mcpServers": {}\n}\n')
    (user_home / ".gemini/GEMINI.md").write_text("Always answer in English.")
    assert run("install", "--client", "gemini") == 0
    assert settings.read_text() == (
        '{\n    "theme": "dark",\n    "mcpServers": {\n        "chatnut": {\n'
        f'            "httpUrl": "{URL}"\n        }}\n    }}\n}}\n'
    )
    rules = (user_home / ".gemini/GEMINI.md").read_text()
    assert rules.startswith("Always answer in English.\n\n<!-- BEGIN chatnut")
    assert run("uninstall", "--client", "gemini") == 0
    assert (user_home / ".gemini/GEMINI.md").read_text() == "Always answer in English.\n"


def test_cursor_project_scope_writes_project_files(user_home: Path) -> None:
    project = Path.cwd()
    assert run("install", "--client", "cursor", "--scope", "project") == 0
    assert json.loads((project / ".cursor/mcp.json").read_text()) == {
        "mcpServers": {"chatnut": {"url": URL}}
    }
    rule = (project / ".cursor/rules/chatnut-protocol.mdc").read_text()
    assert rule.startswith("---\ndescription: chatnut team-chat protocol\nalwaysApply: true\n---")
    assert (project / ".cursor/skills/chatnut/SKILL.md").read_text() == SKILL
    assert snapshot(user_home) == {}


@pytest.mark.parametrize(
    ("platform", "user_dir"),
    [("linux", ".config/Code/User"), ("darwin", "Library/Application Support/Code/User")],
)
def test_vscode_user_mcp_json_per_os(
    user_home: Path, monkeypatch: pytest.MonkeyPatch, platform: str, user_dir: str
) -> None:
    monkeypatch.setattr(sys, "platform", platform)
    assert run("install", "--client", "vscode") == 0
    config = user_home / user_dir / "mcp.json"
    assert json.loads(config.read_text()) == {"servers": {"chatnut": {"type": "http", "url": URL}}}
    instructions = (user_home / user_dir / "prompts/chatnut-protocol.instructions.md").read_text()
    assert instructions == f'---\napplyTo: "**"\n---\n\n{PROTOCOL}'
    assert (user_home / ".copilot/skills/chatnut/SKILL.md").read_text() == SKILL


def test_vscode_honours_xdg_config_home(user_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(user_home / "xdg"))
    assert run("install", "--client", "vscode") == 0
    assert (user_home / "xdg/Code/User/mcp.json").is_file()


def test_all_installs_only_the_clients_that_are_there(
    user_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (user_home / ".gemini").mkdir()
    assert run("install") == 0
    out = capsys.readouterr().out
    assert "claude: skipped" in out and "gemini: skipped" not in out
    assert (user_home / ".gemini/settings.json").exists()
    assert not (user_home / ".claude").exists() and not (user_home / ".cursor").exists()


def test_port_flag_changes_the_registered_url(user_home: Path) -> None:
    assert run("install", "--client", "cursor", "--port", "8123") == 0
    entry = json.loads((user_home / ".cursor/mcp.json").read_text())["mcpServers"]["chatnut"]
    assert entry == {"url": "http://127.0.0.1:8123/mcp/"}


REMOTE = "https://chat.example.com/mcp/"
BEARER = {"Authorization": "Bearer team-token"}


def test_url_registers_a_remote_server_with_the_token_in_each_client(
    user_home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHATNUT_TOKEN", "team-token")
    for client in ("claude", "codex", "gemini", "cursor", "vscode"):
        assert run("install", "--client", client, "--url", REMOTE) == 0
    assert f"MCP URL: {REMOTE} (with the bearer token header)" in capsys.readouterr().out
    claude = json.loads((user_home / ".claude.json").read_text())["mcpServers"]["chatnut"]
    assert claude == {"type": "http", "url": REMOTE, "headers": BEARER}
    codex = tomllib.loads((user_home / ".codex/config.toml").read_text())
    assert codex["mcp_servers"]["chatnut"] == {"url": REMOTE, "http_headers": BEARER}
    gemini = json.loads((user_home / ".gemini/settings.json").read_text())
    assert gemini["mcpServers"]["chatnut"] == {"httpUrl": REMOTE, "headers": BEARER}
    cursor = json.loads((user_home / ".cursor/mcp.json").read_text())
    assert cursor["mcpServers"]["chatnut"] == {"url": REMOTE, "headers": BEARER}
    vscode = json.loads((user_home / ".config/Code/User/mcp.json").read_text())
    assert vscode["servers"]["chatnut"] == {"type": "http", "url": REMOTE, "headers": BEARER}
    # The base URL or CHATNUT_URL register the same /mcp/ URL: nothing to change.
    assert run("install", "--client", "cursor", "--url", "https://chat.example.com") == 0
    monkeypatch.setenv("CHATNUT_URL", "https://chat.example.com/mcp")
    assert run("install", "--client", "gemini") == 0
    assert "nothing to change" in capsys.readouterr().out
    assert run("uninstall", "--client", "cursor") == 0
    assert "chatnut" not in json.loads((user_home / ".cursor/mcp.json").read_text())["mcpServers"]


def test_url_warnings_and_refusals(
    user_home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run("install", "--client", "cursor", "--url", REMOTE, "--dry-run") == 0
    assert "no CHATNUT_TOKEN is set" in capsys.readouterr().out
    monkeypatch.setenv("CHATNUT_TOKEN", "team-token")
    assert run("install", "--client", "cursor", "--url", "http://chat.lan/mcp/", "--dry-run") == 0
    assert "plain http: the token crosses the network in clear" in capsys.readouterr().out
    assert run("install", "--client", "cursor", "--url", REMOTE, "--port", "8123") == 1
    assert "give --url or --port, not both" in capsys.readouterr().err
    assert run("install", "--service", "--url", REMOTE) == 1
    assert "--service runs a local server" in capsys.readouterr().err
    assert snapshot(user_home) == {}


def test_linux_service_writes_a_systemd_user_unit_and_enables_it(user_home: Path) -> None:
    fake_tool(user_home, "systemctl", FAKE_RECORDER)
    assert run("install", "--service") == 0
    unit = user_home / ".config/systemd/user/chatnut.service"
    text = unit.read_text()
    assert f'ExecStart="{sys.executable}" -m chatnut serve\n' in text
    assert f'Environment="CHATNUT_HOME={user_home}/.chatnut"\n' in text
    assert "Restart=on-failure\n" in text and "WantedBy=default.target\n" in text
    assert stat.S_IMODE(unit.stat().st_mode) == 0o600
    log = [json.loads(line) for line in (user_home / "commands.log").read_text().splitlines()]
    assert log == [
        ["systemctl", "--user", "daemon-reload"],
        ["systemctl", "--user", "enable", "--now", "chatnut.service"],
    ]
    assert run("install", "--service") == 0  # idempotent: no second enable
    assert len((user_home / "commands.log").read_text().splitlines()) == 2
    assert run("uninstall", "--service") == 0
    assert not unit.exists()


def test_macos_service_writes_a_launchd_agent(
    user_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    fake_tool(user_home, "launchctl", FAKE_RECORDER)
    assert run("install", "--service") == 0
    plist = user_home / "Library/LaunchAgents/io.chatnut.server.plist"
    agent = plistlib.loads(plist.read_bytes())
    assert agent["ProgramArguments"] == [sys.executable, "-m", "chatnut", "serve"]
    assert agent["RunAtLoad"] is True and agent["KeepAlive"] == {"SuccessfulExit": False}
    assert agent["EnvironmentVariables"]["CHATNUT_HOME"] == f"{user_home}/.chatnut"
    log = [json.loads(line) for line in (user_home / "commands.log").read_text().splitlines()]
    uid = os.getuid()
    assert log == [
        ["launchctl", "bootout", f"gui/{uid}/io.chatnut.server"],
        ["launchctl", "bootstrap", f"gui/{uid}", str(plist)],
    ]


TEAM_FLAGS = [
    "--db", "postgresql://chatnut@db.internal/chatnut",
    "--workers", "4",
    "--host", "0.0.0.0",
    "--allow-host", "chat.example.com",
    "--allow-host", "chat2.example.com",
    "--public-url", "https://chat.example.com",
    "--log-format", "json",
    "--metrics-listen", "127.0.0.1:9108",
    "--max-message-bytes", "100000",
    "--auto-archive-hours", "48",
    "--durability", "full",
]  # fmt: skip


def test_a_team_servers_service_is_a_system_unit_keeping_every_setting_and_no_secret(
    user_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from chatnut.settings import load_settings

    tokens = tmp_path / "tokens"
    tokens.write_text("team-token-abcdef0123456789\n")
    flags = [*TEAM_FLAGS, "--token-file", str(tokens)]
    assert run("install", "--service", *flags, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "create /etc/systemd/system/chatnut.service (systemd system unit)" in out
    assert "+After=network-online.target postgresql.service" in out
    assert "+ExecReload=/bin/kill -HUP $MAINPID" in out
    assert "+WantedBy=multi-user.target" in out
    assert "team-token-abcdef0123456789" not in out
    assert "run systemctl enable --now chatnut.service" in out
    assert "nothing written" in out
    environment = dict(
        line.removeprefix('+Environment="').removesuffix('"').split("=", 1)
        for line in out.splitlines()
        if line.startswith('+Environment="')
    )
    # The unit's server is the one the flags described: every setting survives.
    from_unit = load_settings({}, environment)
    expected = load_settings(
        {
            "db": "postgresql://chatnut@db.internal/chatnut",
            "workers": "4",
            "host": "0.0.0.0",
            "allowed_hosts": ["chat.example.com", "chat2.example.com"],
            "public_url": "https://chat.example.com",
            "log_format": "json",
            "metrics_listen": "127.0.0.1:9108",
            "max_message_bytes": "100000",
            "auto_archive_hours": "48",
            "durability": "full",
            "token_file": str(tokens),
        },
        # The suite turns the update check off; the unit keeps that too.
        {"CHATNUT_HOME": environment["CHATNUT_HOME"], "CHATNUT_UPDATE_CHECK": "0"},
    )
    assert from_unit == dataclasses.replace(expected, open_browser=False)
    assert from_unit.token == "team-token-abcdef0123456789"  # read from the file at start


def test_a_team_servers_service_refuses_an_inline_secret(
    user_home: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHATNUT_TOKEN", "inline-token-0123456789")
    assert run("install", "--service", *TEAM_FLAGS, "--dry-run") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "never holds the token" in err and "--token-file" in err
    monkeypatch.delenv("CHATNUT_TOKEN")
    with_password = ["--db", "postgresql://chatnut:hunter2@db.internal/chatnut", "--workers", "2"]
    assert run("install", "--service", *with_password, "--dry-run") == 1
    err = capsys.readouterr().err
    assert "never holds the database password" in err and "hunter2" not in err
    assert snapshot(user_home) == {}


def test_token_env_writes_each_clients_reference_and_never_the_token(
    user_home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHATNUT_TOKEN", "team-admin-token")
    monkeypatch.setenv("ALICE_TOKEN", "cnt_alices-own-token")
    fake_tool(user_home, "claude", FAKE_CLAUDE)
    for client in ("claude", "codex", "gemini", "cursor", "vscode"):
        assert (
            run("install", "--client", client, "--url", REMOTE, "--token-env", "ALICE_TOKEN") == 0
        )
    out = capsys.readouterr().out
    calls = [json.loads(line) for line in (user_home / "claude-argv.log").read_text().splitlines()]
    assert calls == [
        [
            *("mcp", "add", "--transport", "http", "--scope", "user", "chatnut", REMOTE),
            *("--header", "Authorization: Bearer ${ALICE_TOKEN}"),
        ]
    ]
    codex = tomllib.loads((user_home / ".codex/config.toml").read_text())
    assert codex["mcp_servers"]["chatnut"] == {"url": REMOTE, "bearer_token_env_var": "ALICE_TOKEN"}
    gemini = json.loads((user_home / ".gemini/settings.json").read_text())
    assert gemini["mcpServers"]["chatnut"]["headers"] == {"Authorization": "Bearer ${ALICE_TOKEN}"}
    for path, keys in (
        (".cursor/mcp.json", ("mcpServers",)),
        (".config/Code/User/mcp.json", ("servers",)),
    ):
        entry = json.loads((user_home / path).read_text())[keys[0]]["chatnut"]
        assert entry["headers"] == {"Authorization": "Bearer ${env:ALICE_TOKEN}"}
    for client in ("codex", "gemini", "cursor", "vscode"):
        assert f"set ALICE_TOKEN where {client} runs" in out
    written = "".join(p.read_text() for p in user_home.rglob("*") if p.is_file())
    assert "cnt_alices-own-token" not in written and "team-admin-token" not in written
    assert run("install", "--client", "cursor", "--token-env", "not a name") == 1
    assert "--token-env must name an environment variable" in capsys.readouterr().err


def test_project_scope_never_writes_a_token(
    user_home: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    project = tmp_path / "repo"
    project.mkdir()
    monkeypatch.chdir(project)
    monkeypatch.setenv("CHATNUT_TOKEN", "team-admin-token")
    for client in ("claude", "codex", "gemini", "cursor", "vscode"):
        assert run("install", "--client", client, "--scope", "project", "--url", REMOTE) == 0
    written = {p: p.read_text() for p in project.rglob("*") if p.is_file()}
    assert written and not any("team-admin-token" in text for text in written.values())
    gemini = json.loads((project / ".gemini/settings.json").read_text())
    assert gemini["mcpServers"]["chatnut"]["headers"] == {
        "Authorization": "Bearer ${CHATNUT_TOKEN}"
    }
    cursor = json.loads((project / ".cursor/mcp.json").read_text())
    assert cursor["mcpServers"]["chatnut"]["headers"] == {
        "Authorization": "Bearer ${env:CHATNUT_TOKEN}"
    }
    vscode = json.loads((project / ".vscode/mcp.json").read_text())
    assert vscode["servers"]["chatnut"]["headers"] == {
        "Authorization": "Bearer ${env:CHATNUT_TOKEN}"
    }
