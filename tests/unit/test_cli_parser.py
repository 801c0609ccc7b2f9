"""The CLI's surface: every subcommand is in the README's table and the other way
round, and the docs' first-session commands parse."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from chatnut.cli import build_parser

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def subcommands() -> set[str]:
    parser = build_parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return set(actions[0].choices)


def test_readme_command_table_lists_exactly_the_subcommands() -> None:
    listed = set(re.findall(r"^\| `chatnut (\w+)", README, flags=re.MULTILINE))
    assert listed == subcommands()


def test_readme_first_session_commands_parse() -> None:
    block = README.split("A first session, from a fresh clone:", 1)[1].split("```")[1]
    for line in block.splitlines():
        command = line.split("#", 1)[0].strip().rstrip("&").strip()
        if command.startswith("chatnut "):
            words = re.findall(r'"[^"]*"|\S+', command)[1:]
            build_parser().parse_args([w.strip('"') for w in words])
