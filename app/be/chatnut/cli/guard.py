"""`chatnut guard install|uninstall`, in the current directory's git repository."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from chatnut.guard import install


def add_guard(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    guard = commands.add_parser(
        "guard",
        help="a git pre-commit hook that refuses commits touching others' claimed files",
        description="Install (or remove) a pre-commit hook in this git repository that asks "
        "the chatnut server whether any staged file is claimed exclusively by another agent "
        "of the project, and refuses the commit naming the holder, the paths and the expiry. "
        "A hook already there is kept and runs first. CHATNUT_GUARD=off skips the check; "
        "an unreachable server lets the commit through with a warning.",
    )
    actions = guard.add_subparsers(dest="guard_command", metavar="ACTION", required=True)
    adding = actions.add_parser("install", help="write the hook (chained with any hook there)")
    adding.add_argument(
        "--agent", metavar="NAME", help="whose claims do not count (CHATNUT_AGENT overrides)"
    )
    adding.add_argument(
        "--project", metavar="P", help="the claims' project (default: the repository's name)"
    )
    adding.add_argument(
        "--url", metavar="URL", help="a remote server (default: this machine's, or CHATNUT_URL)"
    )
    actions.add_parser("uninstall", help="remove the hook, putting back the one it chained")


def do_guard(args: argparse.Namespace) -> int:
    repo = Path(os.getcwd())
    if args.guard_command == "install":
        print(install.install(repo, args.agent, args.project, args.url))
    else:
        print(install.uninstall(repo))
    return 0
