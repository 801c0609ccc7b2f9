"""`chatnut install` / `chatnut uninstall`: plan every change, show it, then make it.

The plan is computed from the files as they are, so a second run finds
nothing to do and says so; each change is one line (file, why, lines added
and removed), `--dry-run` prints the plan in full (diffs, commands, token
masked) and stops, `-v` prints the diffs and makes the changes. One
client's unreadable config is reported and skipped without blocking the
others.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

from chatnut import validation
from chatnut.bundled_files import skill_dir
from chatnut.client.endpoint import LOOPBACK, CliError, Endpoint, running_port
from chatnut.errors import InvalidInput
from chatnut.install.clients import PLANS, Target, missing_mark
from chatnut.install.edits import Change, FileEdit, InstallError
from chatnut.install.service import service_plan
from chatnut.install.team_service import needs_system_unit, system_service_plan
from chatnut.security import is_loopback
from chatnut.settings import Settings

CHECK_SECONDS = 3.0


def mcp_url(settings: Settings, port: int | None) -> str:
    if settings.url is not None:  # a remote (team) server: its /mcp/, as given
        if port is not None:
            raise InstallError("give --url or --port, not both")
        return f"{settings.url}/mcp/"
    # The server running on this home is the truth (it may be on --port 0, or
    # on another --port than the setting); then --port, then the setting.
    chosen = port if port is not None else (running_port(settings) or settings.port)
    if chosen == 0:
        raise InstallError("the port setting is 0 and no server is running: pass --port N")
    return f"http://{LOOPBACK}:{chosen}/mcp/"


def answer_note(url: str, token: str | None) -> str | None:
    """One line when nothing (or something else) answers at the registered URL."""
    base = url.removesuffix("/").removesuffix("/mcp")
    try:
        status = Endpoint(base, token).call("GET", "/api/status", timeout=CHECK_SECONDS)
    except CliError as exc:
        return f"note: {url} does not answer yet ({exc}); start the server: `chatnut serve &`"
    if not isinstance(status, dict) or status.get("status") != "ok":
        return f"note: {base} answers, but not as a chatnut server; check the port"
    return None


TOKEN_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")


def token_variable(value: str | None) -> str | None:
    if value is not None and not TOKEN_VARIABLE.match(value):
        raise InstallError(
            f"--token-env must name an environment variable (letters, digits, _), got {value!r}"
        )
    return value


def remote_notes(settings: Settings, token_env: str | None = None) -> list[str]:
    """What a user registering a remote server should know before a client tries it."""
    if settings.url is None:
        return []
    host = urlsplit(settings.url).hostname or ""
    notes = []
    if token_env is not None and not os.environ.get(token_env):
        notes.append(
            f"note: {token_env} is not set in this shell: the clients will send what it"
            " holds where they run (set it there to the agent's own token)"
        )
    elif token_env is None and not settings.token:
        notes.append(
            "note: no CHATNUT_TOKEN is set, so no Authorization header is registered;"
            " a team server (bound beyond loopback) refuses calls without one"
        )
    elif settings.url.startswith("http://") and not is_loopback(host):
        notes.append(
            f"note: {settings.url} is plain http: the token crosses the network in clear;"
            " put TLS in front of the server (README, Team server)"
        )
    return notes


def bridge_command(agent: str, settings: Settings) -> list[str]:
    """The stdio bridge for `agent`, run by this interpreter (PATH need not find chatnut)."""
    command = [sys.executable, "-m", "chatnut", "--agent", agent]
    if settings.url is not None:
        command += ["--url", settings.url]
    return command


def bridge_environment(port: int | None) -> dict[str, str]:
    """Where this home's server is, when it is not the default home or port."""
    env = {}
    if os.environ.get("CHATNUT_HOME"):
        env["CHATNUT_HOME"] = os.environ["CHATNUT_HOME"]
    if port is not None:
        env["CHATNUT_PORT"] = str(port)
    return env


def make_target(args: argparse.Namespace, settings: Settings, installing: bool) -> Target:
    files = skill_dir()
    if args.service and settings.url is not None:
        raise InstallError("--service runs a local server; --url registers a remote one")
    agent = getattr(args, "agent", None)
    if agent is not None:
        if args.client != "claude" or args.service:
            raise InstallError(
                "--agent registers a Claude Code channel: use it with --client claude"
            )
        try:
            agent = validation.agent(agent)
        except InvalidInput as exc:
            raise InstallError(str(exc)) from None
    token_env = token_variable(getattr(args, "token_env", None))
    token = settings.token if token_env is None else os.environ.get(token_env)
    return Target(
        home=Path.home(),
        cwd=Path.cwd(),
        scope=args.scope,
        platform=sys.platform,
        url=mcp_url(settings, args.port),
        token=token,
        token_env=token_env,
        env=dict(os.environ),
        skill=(files / "SKILL.md").read_text(encoding="utf-8"),
        protocol=(files / "chatnut-protocol.md").read_text(encoding="utf-8"),
        installing=installing,
        notes=remote_notes(settings, token_env) if installing else [],
        bridge=None if agent is None else bridge_command(agent, settings),
        bridge_env=bridge_environment(args.port),
    )


def _plan(args: argparse.Namespace, settings: Settings, target: Target) -> tuple[list[Change], int]:
    if args.service and target.platform != "darwin" and needs_system_unit(settings):
        token_file = getattr(args, "token_file", None) or target.env.get("CHATNUT_TOKEN_FILE")
        plan = system_service_plan(
            settings,
            sys.executable,
            target.env,
            installing=target.installing,
            dry_run=args.dry_run,
            token_file=token_file,
        )
        return plan, 0
    if args.service:
        return service_plan(target, settings), 0
    names = list(PLANS) if args.client == "all" else [args.client]
    changes: list[Change] = []
    failures = 0
    for name in names:
        mark = missing_mark(name, target)
        if args.client == "all" and mark is not None:
            print(f"{name}: skipped, not installed here ({mark} not found)")
            continue
        try:
            changes.extend(PLANS[name](target))
        except InstallError as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            failures += 1
    return changes, failures


def _run(args: argparse.Namespace, settings: Settings, installing: bool) -> int:
    verb = "install" if installing else "uninstall"
    try:
        target = make_target(args, settings, installing)
        changes, failures = _plan(args, settings, target)
    except InstallError as exc:
        print(f"chatnut {verb}: {exc}", file=sys.stderr)
        return 1
    pending = [c for c in changes if c.changes]
    for note in target.notes:
        print(note)
    if not pending:
        print(f"chatnut {verb}: nothing to change — already {verb}ed" if not failures else "")
        return 1 if failures else 0
    if installing and not args.service:
        print(
            f"MCP URL: {target.url}"
            + (" (with the bearer token header)" if target.authenticated else "")
        )
    # A line per file; the whole diff only when asked for (five clients' rules
    # would otherwise be hundreds of lines on every install).
    full = args.dry_run or getattr(args, "verbose", False)
    for change in pending:
        sys.stdout.write(change.show(target.token) if full else change.summary(target.token))
    if args.dry_run:
        print(f"dry run: {len(pending)} change(s) shown, nothing written")
        return 1 if failures else 0
    try:
        project = target.cwd if target.scope == "project" else None
        for change in pending:
            change.check(project)
        for change in pending:
            if not isinstance(change, FileEdit):
                change.apply()
            elif (backup := change.apply(target.token)) is not None:
                print(f"kept the previous file as {backup}")
    except (InstallError, OSError) as exc:
        print(f"chatnut {verb}: {exc}", file=sys.stderr)
        return 1
    print(f"chatnut {verb}: {len(pending)} change(s) made")
    if installing and not args.service:
        print(answer_note(target.url, target.token) or f"checked: chatnut answers at {target.url}")
    return 1 if failures else 0


def run_install(args: argparse.Namespace, settings: Settings) -> int:
    return _run(args, settings, installing=True)


def run_uninstall(args: argparse.Namespace, settings: Settings) -> int:
    return _run(args, settings, installing=False)
