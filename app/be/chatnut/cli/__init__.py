"""The `chatnut` command: argument parsing, then hand-off. No rules live here.

With no arguments, `chatnut` is a stdio MCP server that forwards to the
running HTTP server (starting it first if need be), for clients that only
speak stdio. A human who types `chatnut` at a terminal gets this help instead.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from chatnut import __version__
from chatnut.cli.guard import add_guard
from chatnut.settings import SETTINGS

CLIENTS = ("claude", "codex", "gemini", "cursor", "vscode", "all")


# The commands that talk to a server, local or (with --url) remote.
CLIENT_COMMANDS: tuple[str, ...] = ("status", "stop", "tail", "post", "rooms", "open", "export")
CLIENT_COMMANDS += ("prune", "install", "uninstall", "token")


def _add_setting_flags(
    parser: argparse.ArgumentParser, scope: str = "serve", absent: object = None
) -> None:
    for setting in SETTINGS:
        if setting.flag is None or setting.scope != scope:
            continue
        if setting.flag in parser._option_string_actions:  # the command's own (install --port)
            continue
        envs = " / ".join(setting.env)
        default = "" if setting.default in (None, ()) else f" Default: {setting.default}."
        parser.add_argument(
            setting.flag,
            dest=setting.name,
            default=absent,
            action="append" if setting.repeatable else "store",
            metavar=setting.metavar,
            help=f"{setting.help}{default} Env: {envs}.",
        )


def _add_serve(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser(
        "serve",
        help="run the server in the foreground (`chatnut serve &` to background it)",
        description="Run the chatnut server. Settings without a flag are read from the "
        "environment: " + ", ".join(f"{s.env[0]} ({s.help})" for s in SETTINGS if s.flag is None),
    )
    _add_setting_flags(serve)


def _add_install(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for name, verb in (("install", "register"), ("uninstall", "unregister")):
        sub = commands.add_parser(
            name,
            help=f"{verb} chatnut with your agent clients (MCP URL, rules, skill)",
            description=f"{verb.capitalize()} the server's /mcp/ URL with each client the way "
            "that client documents it, and its protocol rules and skill. Never touches other "
            "settings; keeps a .chatnut-backup of every file it changes.",
        )
        sub.add_argument("--client", choices=CLIENTS, default="all")
        sub.add_argument(
            "--scope",
            choices=("user", "project"),
            default="user",
            help="user: for every project (default); project: this directory only",
        )
        sub.add_argument(
            "--dry-run", action="store_true", help="show what would change (diffs); write nothing"
        )
        sub.add_argument(
            "-v", "--verbose", action="store_true", help="show each file's diff, not one line"
        )
        sub.add_argument(
            "--service",
            action="store_true",
            help="the login service instead (systemd user unit on Linux, launchd agent on macOS)",
        )
        sub.add_argument("--port", type=int, help="port to register (default: the port setting)")
        sub.add_argument(
            "--agent",
            metavar="NAME",
            help="Claude Code: register the stdio bridge as NAME's push channel instead of the URL",
        )
        sub.add_argument(
            "--token-env",
            metavar="VAR",
            help="write a reference to the environment variable VAR where each client"
            " supports one, never the token itself (e.g. an agent's own token)",
        )
        # With --service: the server the unit runs, as `chatnut serve` takes it.
        _add_setting_flags(sub)


def _room_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    tail = commands.add_parser("tail", help="follow a room live in the terminal")
    tail.add_argument("room", metavar="ROOM", help="room id or project/name")
    tail.add_argument("--since", type=int, metavar="ID", help="start after this message id")
    tail.add_argument("--last", type=int, default=10, metavar="N", help="backlog to show (10)")
    tail.add_argument("--format", choices=("text", "json"), default="text")
    tail.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    tail.add_argument("--once", action="store_true", help="print and exit; do not follow")
    tail.add_argument("--to", metavar="NAME", help="only messages addressed to NAME (to or @)")

    post = commands.add_parser("post", help="post a message to a room")
    post.add_argument("room", metavar="ROOM", help="room id or project/name")
    post.add_argument("text", metavar="TEXT", help='the message (Markdown); "-" reads stdin')
    post.add_argument("--sender", required=True, metavar="NAME")
    post.add_argument("--reply-to", type=int, metavar="ID")
    post.add_argument("--create", action="store_true", help="create project/name if missing")
    post.add_argument(
        "--to", action="append", metavar="NAME", help="address it to NAME (repeatable)"
    )
    post.add_argument("--summary", action="store_true", help="post it as a summary")

    handoff = commands.add_parser("handoff", help="catch up on a room: team, summary, unread")
    handoff.add_argument("room", metavar="ROOM", help="room id or project/name")
    handoff.add_argument("--reader", metavar="NAME", help="whose unread messages (default: $USER)")
    handoff.add_argument("--recent", type=int, default=20, metavar="N", help="messages (20)")
    handoff.add_argument("--format", choices=("text", "json"), default="text")

    inbox = commands.add_parser("inbox", help="messages addressed to NAME in every live room")
    inbox.add_argument("name", metavar="NAME")
    inbox.add_argument("--since", type=int, default=0, metavar="ID", help="after this id")
    inbox.add_argument("--follow", action="store_true", help="keep waiting for new ones")
    inbox.add_argument("--format", choices=("text", "json"), default="text")

    room_list = commands.add_parser("rooms", help="list rooms (with unread counts for --reader)")
    room_list.add_argument("--project")
    room_list.add_argument("--status", choices=("live", "archived", "all"), default="live")
    room_list.add_argument("--reader", metavar="NAME", help="count unread messages for NAME")
    room_list.add_argument("--json", action="store_true")

    opener = commands.add_parser("open", help="open the web UI (at a room) in the browser")
    opener.add_argument("room", metavar="ROOM", nargs="?", help="room id or project/name")
    opener.add_argument("--url-only", action="store_true", help="print the URL instead")

    export = commands.add_parser("export", help="a room as Markdown or JSON")
    export.add_argument("room", metavar="ROOM", help="room id or project/name")
    export.add_argument("--format", choices=("md", "json"), default="md")
    export.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    export.add_argument("--force", action="store_true", help="overwrite FILE")


def _server_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    status = commands.add_parser("status", help="is the server running? port, pid, db, counts")
    status.add_argument("--json", action="store_true")
    commands.add_parser("stop", help="stop the running server (SIGTERM) and wait")
    commands.add_parser(
        "reload",
        help="reread the settings (token file) and replace the workers one at a time (SIGHUP)",
    )
    logs = commands.add_parser("logs", help="show the server log")
    logs.add_argument("-n", "--lines", type=int, default=50, help="last N lines (0: all)")
    logs.add_argument("-f", "--follow", action="store_true")
    backup = commands.add_parser("backup", help="consistent copy of the database, while it runs")
    backup.add_argument("path", metavar="PATH")
    backup.add_argument("--db", metavar="PATH", help="database to copy (default: the server's)")
    database = commands.add_parser("db", help="whole-database operations (copy)")
    db_commands = database.add_subparsers(dest="db_command", metavar="DB_COMMAND", required=True)
    copier = db_commands.add_parser(
        "copy",
        help="copy a whole database to an empty one (SQLite <-> PostgreSQL), ids kept;"
        " --merge adds it to one that holds rooms",
        description="Copy every room, message, read cursor, status and registration from SRC "
        "to DST, keeping ids and timestamps, then set DST's id sequence past SRC's. SRC and "
        "DST are SQLite paths or postgresql:// URLs. DST must hold no data. Prints each "
        "table's row count, counted on both sides after the copy. With --merge, DST may "
        "already hold rooms: SRC's rooms are matched by project and name, its messages "
        "appended with new ids (replies and read cursors renumbered), in one transaction; "
        "push cursors, idempotency keys, claims, principals and tokens are not merged.",
    )
    copier.add_argument(
        "--merge",
        action="store_true",
        help="add SRC's history to DST's instead of filling an empty DST",
    )
    copier.add_argument("source", metavar="SRC")
    copier.add_argument("destination", metavar="DST")
    prune = commands.add_parser("prune", help="delete archived rooms older than DAYS")
    prune.add_argument("--archived-older-than", type=float, required=True, metavar="DAYS")
    prune.add_argument("--dry-run", action="store_true")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chatnut",
        description="Persistent team chat for AI coding agents (MCP at /mcp/, web UI at /). "
        "Without a command, chatnut speaks MCP over stdio and forwards to the server.",
    )
    parser.add_argument("--version", action="version", version=f"chatnut {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_serve(commands)
    _add_install(commands)
    _server_commands(commands)
    _room_commands(commands)
    add_guard(commands)
    from chatnut.cli import tokens

    token_verbs = tokens.add_parser(commands)
    from chatnut.cli import retention

    token_verbs += retention.add_parser(commands)
    # `chatnut --url URL` is the stdio bridge to a remote server; on a command the
    # flag's default is "absent" so it cannot undo one given before the command.
    _add_setting_flags(parser, "client")
    parser.add_argument(
        "--agent",
        metavar="NAME",
        help="push NAME's messages into the session as a Claude Code channel (the stdio bridge)",
    )
    for name in CLIENT_COMMANDS:
        _add_setting_flags(commands.choices[name], "client", argparse.SUPPRESS)
    for verb in token_verbs:
        _add_setting_flags(verb, "client", argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from chatnut.cli import commands
    from chatnut.cli.terminal import guard
    from chatnut.client.endpoint import CliError

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "serve":
        from chatnut.serve import serve

        served = [s for s in SETTINGS if s.flag and s.scope == "serve"]
        overrides = {s.name: getattr(args, s.name) for s in served}
        return serve(overrides)
    if args.command is None and sys.stdin.isatty():
        parser.print_help(sys.stderr)
        print("\n(without a command, chatnut speaks MCP on stdin/stdout)", file=sys.stderr)
        return 2
    handler = getattr(commands, f"do_{args.command or 'bridge'}")
    if args.command is None:  # the bridge: stdout is the MCP channel, never a terminal
        return int(handler(args))
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = guard(stdout), guard(stderr)
    try:
        code: int = handler(args)
    except CliError as exc:
        print(f"chatnut: {exc}", file=sys.stderr)
        return 1
    finally:
        sys.stdout.flush()
        sys.stdout, sys.stderr = stdout, stderr
    return code
