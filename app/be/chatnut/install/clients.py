"""Where each agent client keeps its MCP servers, rules and skills, and our entry in each.

Formats follow each client's own documentation, so a client reads our entry as it
reads one it wrote itself:
* Claude Code: `claude mcp add --transport http --scope user chatnut URL` when its CLI
  is on PATH, else the `mcpServers` entry `{"type": "http", "url"}` in `~/.claude.json`
  (project scope: `.mcp.json`); rules in `~/.claude/rules/`, skills in `~/.claude/skills/`.
* Codex: `[mcp_servers.chatnut] url = ...` in `$CODEX_HOME/config.toml` (`~/.codex`),
  literal headers in `http_headers`; rules as a section of `AGENTS.md`.
* Gemini CLI: `httpUrl` under `mcpServers` in `~/.gemini/settings.json`; rules in `GEMINI.md`.
* Cursor: `url` under `mcpServers` in `~/.cursor/mcp.json`; project rules `.cursor/rules/*.mdc`.
* VS Code: `servers` entry `{"type": "http", "url"}` in the user profile's `mcp.json`
  (Linux `~/.config/Code/User`, macOS `~/Library/Application Support/Code/User`) or
  `.vscode/mcp.json`; instructions files `*.instructions.md`.

The token. Each client that can read it from the environment is given a
reference instead of the secret (`--token-env VAR`, and always in a project
config, the file people commit): Claude Code and Gemini CLI expand `${VAR}`,
Cursor and VS Code `${env:VAR}`, Codex reads `bearer_token_env_var`. A user
config without `--token-env` holds the token itself, written owner-only
(0600), and the notes say so per client. A token never goes into a child
process's arguments (where `ps` shows it): Claude Code then gets its JSON
config written directly instead of `claude mcp add --header`.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chatnut.install.edits import Change, Command, FileEdit, whole_file
from chatnut.install.formats import json_entry, json_value, markdown_section, toml_table

NAME = "chatnut"
TOKEN_ENV = "CHATNUT_TOKEN"
PROTOCOL = "chatnut-protocol.md"


@dataclass(frozen=True)
class Target:
    home: Path
    cwd: Path
    scope: str  # "user" or "project"
    platform: str  # sys.platform: "linux" or "darwin"
    url: str
    token: str | None
    env: Mapping[str, str]
    skill: str
    protocol: str
    installing: bool = True
    notes: list[str] = field(default_factory=list)
    # `--agent NAME`: Claude Code gets the stdio bridge (this command, pushing
    # NAME's messages as a channel) instead of the URL; `bridge_env` is its env.
    bridge: list[str] | None = None
    bridge_env: dict[str, str] = field(default_factory=dict)
    # `--token-env VAR`: every config names VAR instead of holding the token.
    token_env: str | None = None

    @property
    def user(self) -> bool:
        return self.scope == "user"

    @property
    def authenticated(self) -> bool:
        return bool(self.token or self.token_env)

    @property
    def by_reference(self) -> bool:
        """The token goes in as a reference to an environment variable, not itself."""
        return self.token_env is not None or not self.user

    @property
    def variable(self) -> str:
        return self.token_env or TOKEN_ENV

    def headers(self, style: str = "${VAR}") -> dict[str, str]:
        """The bearer header: by reference (`style` is how the client spells one:
        `${VAR}` or `${env:VAR}`) where that is the rule, else the token itself."""
        if not self.authenticated:
            return {}
        if self.by_reference:
            return {"Authorization": "Bearer " + style.replace("VAR", self.variable)}
        return {"Authorization": self.bearer}

    @property
    def bearer(self) -> str:
        return f"Bearer {self.token}"

    def entry(
        self, client: str, path: Path, style: str = "${VAR}", **fields: Any
    ) -> dict[str, Any] | None:
        """Our server entry in a JSON config (None when uninstalling)."""
        if not self.installing:
            return None
        headers = self.headers(style)
        if headers:
            self.note_token(client, path)
        return {**fields, **({"headers": headers} if headers else {})}

    def note_token(self, client: str, path: Path) -> None:
        """Say plainly where the token went for this client."""
        if not self.authenticated or not self.installing:
            return
        if self.by_reference:
            self.notes.append(
                f"{client}: {path} names the token as {self.variable} instead of holding it;"
                f" set {self.variable} where {client} runs"
            )
        else:
            self.notes.append(
                f"{client}: wrote the token itself into {path} (owner-only, 0600);"
                " `--token-env VAR` writes a reference to an environment variable instead"
            )

    def text(self, content: str) -> str | None:
        return content if self.installing else None

    def xdg_config(self) -> Path:
        return Path(self.env.get("XDG_CONFIG_HOME") or self.home / ".config")


def _skill_files(target: Target, skills_root: Path) -> list[Change]:
    folder = skills_root / NAME
    return [
        whole_file(folder / "SKILL.md", target.skill, target.installing, "the chatnut skill"),
        whole_file(folder / PROTOCOL, target.protocol, target.installing, "its protocol rules"),
    ]


def _with_front_matter(front: str, body: str) -> str:
    return f"---\n{front.strip()}\n---\n\n{body}"


def _claude_entry(t: Target, config: Path) -> dict[str, Any] | None:
    # Claude Code expands ${VAR} in its MCP configs' headers and env.
    if t.bridge is None:
        return t.entry("claude", config, type="http", url=t.url)
    if not t.installing:
        return None
    env = dict(t.bridge_env)
    if t.authenticated:
        t.note_token("claude", config)
        env[TOKEN_ENV] = f"${{{t.variable}}}" if t.by_reference else str(t.token)
    entry: dict[str, Any] = {"type": "stdio", "command": t.bridge[0], "args": t.bridge[1:]}
    return {**entry, "env": env} if env else entry


def claude(t: Target) -> list[Change]:
    root = t.home / ".claude" if t.user else t.cwd / ".claude"
    config, keys = (t.home / ".claude.json", ("mcpServers", NAME))
    if not t.user:
        config = t.cwd / ".mcp.json"
    changes: list[Change] = []
    wanted = _claude_entry(t, config)
    # Its CLI would take the token in its arguments: with a literal token the
    # config is written here instead.
    literal = t.authenticated and not t.by_reference
    if shutil.which("claude", path=t.env.get("PATH")) and not literal:
        current = json_value(config, keys)
        same = isinstance(current, dict) and all(
            current.get(k) == v for k, v in (wanted or {}).items()
        )
        if current is not None and (wanted is None or not same):
            changes.append(
                Command(
                    ["claude", "mcp", "remove", "--scope", t.scope, NAME], "replace the old entry"
                )
            )
        if wanted is not None and not same and t.bridge is not None:
            argv = ["claude", "mcp", "add-json", "--scope", t.scope, NAME, json.dumps(wanted)]
            changes.append(Command(argv, "register the stdio bridge as a channel with Claude Code"))
        elif wanted is not None and not same:
            header = [f"{k}: {v}" for k, v in t.headers().items()]
            header = ["--header", *header] if header else []
            argv = ["claude", "mcp", "add", "--transport", "http", "--scope", t.scope, NAME, t.url]
            changes.append(Command([*argv, *header], "register the MCP server with Claude Code"))
    else:
        why = "Claude Code's MCP servers"
        why += " (never through its CLI's arguments with a token)" if literal else ""
        why += "" if literal else " (its CLI is not on PATH)"
        changes.append(json_entry(config, keys, wanted, why))
    if t.bridge is not None and t.installing:
        t.notes.append(
            "push: start Claude Code with `claude --dangerously-load-development-channels"
            f" server:{NAME}` (channels are a research preview) to get the channel events"
        )
    changes.append(
        whole_file(root / "rules" / PROTOCOL, t.protocol, t.installing, "protocol rules")
    )
    return changes + _skill_files(t, root / "skills")


def codex(t: Target) -> list[Change]:
    codex_home = Path(t.env.get("CODEX_HOME") or t.home / ".codex")
    config = codex_home / "config.toml" if t.user else t.cwd / ".codex" / "config.toml"
    values: dict[str, Any] | None = None
    if t.installing:
        values = {"url": t.url}
        if t.authenticated and t.by_reference:
            values["bearer_token_env_var"] = t.variable  # Codex reads the token from there
        elif t.authenticated:
            values["http_headers"] = t.headers()
        t.note_token("codex", config)
    agents = codex_home / "AGENTS.md" if t.user else t.cwd / "AGENTS.md"
    skills = codex_home / "skills" if t.user else t.cwd / ".codex" / "skills"
    return [
        toml_table(config, f"mcp_servers.{NAME}", values, "Codex's MCP servers"),
        markdown_section(agents, t.text(t.protocol), "protocol rules for Codex"),
        *_skill_files(t, skills),
    ]


def gemini(t: Target) -> list[Change]:
    root = t.home / ".gemini" if t.user else t.cwd / ".gemini"
    rules = root / "GEMINI.md" if t.user else t.cwd / "GEMINI.md"
    return [
        json_entry(
            root / "settings.json",
            ("mcpServers", NAME),
            t.entry("gemini", root / "settings.json", httpUrl=t.url),
            "Gemini CLI's MCP servers",
        ),
        markdown_section(rules, t.text(t.protocol), "protocol rules for Gemini CLI"),
        *_skill_files(t, root / "skills"),
    ]


def cursor(t: Target) -> list[Change]:
    root = t.home / ".cursor" if t.user else t.cwd / ".cursor"
    changes: list[Change] = [
        json_entry(
            root / "mcp.json",
            ("mcpServers", NAME),
            t.entry("cursor", root / "mcp.json", "${env:VAR}", url=t.url),
            "Cursor's MCP servers",
        )
    ]
    if t.user:
        if t.installing:
            t.notes.append(
                "cursor: Cursor keeps user rules in its settings, not in a file; the protocol "
                "ships with the skill (~/.cursor/skills/chatnut), or use --scope project"
            )
    else:
        rule = _with_front_matter(
            "description: chatnut team-chat protocol\nalwaysApply: true", t.protocol
        )
        path = root / "rules" / "chatnut-protocol.mdc"
        changes.append(whole_file(path, rule, t.installing, "protocol rules for Cursor"))
    return changes + _skill_files(t, root / "skills")


def vscode_user_dir(t: Target) -> Path:
    if t.platform == "darwin":
        return t.home / "Library" / "Application Support" / "Code" / "User"
    return t.xdg_config() / "Code" / "User"


def vscode(t: Target) -> list[Change]:
    if t.user:
        config = vscode_user_dir(t) / "mcp.json"
        instructions = vscode_user_dir(t) / "prompts"
        skills = t.home / ".copilot" / "skills"
    else:
        config = t.cwd / ".vscode" / "mcp.json"
        instructions = t.cwd / ".github" / "instructions"
        skills = t.cwd / ".github" / "skills"
    rule = _with_front_matter('applyTo: "**"', t.protocol)
    return [
        json_entry(
            config,
            ("servers", NAME),
            t.entry("vscode", config, "${env:VAR}", type="http", url=t.url),
            "VS Code's MCP servers",
        ),
        whole_file(
            instructions / "chatnut-protocol.instructions.md",
            rule,
            t.installing,
            "protocol instructions",
        ),
        *_skill_files(t, skills),
    ]


def missing_mark(name: str, t: Target) -> Path | None:
    """None when the client is installed for this user, else the place that says it is not."""
    marks = {
        "claude": t.home / ".claude",
        "codex": Path(t.env.get("CODEX_HOME") or t.home / ".codex"),
        "gemini": t.home / ".gemini",
        "cursor": t.home / ".cursor",
        "vscode": vscode_user_dir(t),
    }
    mark = marks[name]
    if mark.exists() or shutil.which(name if name != "vscode" else "code", path=t.env.get("PATH")):
        return None
    return mark


PLANS: dict[str, Callable[[Target], list[Change]]] = {
    "claude": claude,
    "codex": codex,
    "gemini": gemini,
    "cursor": cursor,
    "vscode": vscode,
}

__all__ = ["PLANS", "Change", "FileEdit", "Target", "missing_mark"]
