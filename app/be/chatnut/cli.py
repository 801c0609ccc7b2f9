"""The `chatnut` command: argument parsing, then hand-off. No rules live here."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from chatnut import __version__
from chatnut.settings import SETTINGS


def _add_setting_flags(parser: argparse.ArgumentParser) -> None:
    for setting in SETTINGS:
        if setting.flag is None:
            continue
        envs = " / ".join(setting.env)
        default = "" if setting.default is None else f" Default: {setting.default}."
        parser.add_argument(
            setting.flag,
            dest=setting.name,
            default=None,
            metavar=setting.metavar,
            help=f"{setting.help}{default} Env: {envs}.",
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chatnut",
        description="Persistent team chat for AI coding agents (MCP at /mcp/, web UI at /).",
    )
    parser.add_argument("--version", action="version", version=f"chatnut {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="run the server in the foreground (`chatnut serve &` to background it)",
        description="Run the chatnut server. Settings without a flag are read from the "
        "environment: " + ", ".join(f"{s.env[0]} ({s.help})" for s in SETTINGS if s.flag is None),
    )
    _add_setting_flags(serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "serve":
        from chatnut.serve import serve

        overrides = {s.name: getattr(args, s.name) for s in SETTINGS if s.flag is not None}
        return serve(overrides)
    parser.print_help(sys.stderr)
    return 2
