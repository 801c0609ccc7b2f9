"""`chatnut retention set|show|run` and `chatnut import FILE`, through the running
server's admin routes (/api/admin/retention; with --url, a remote server's, with
an admin's CHATNUT_TOKEN): the job and the database are the server's.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from chatnut.client.endpoint import locate
from chatnut.settings import Settings

RUN_TIMEOUT = 600.0  # a first run on a long history writes and deletes a lot


def add_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> list[argparse.ArgumentParser]:
    """The `retention` and `import` commands; the parsers that take the client flags."""
    retention = commands.add_parser(
        "retention",
        help="how long messages are kept: set, show, run",
        description="Messages older than the policy are written to a .jsonl.gz under the "
        "server's home, then deleted. The policy: serve --retain-days, overridden per "
        "project and per room.",
    )
    verbs = retention.add_subparsers(dest="retention_command", metavar="VERB", required=True)
    set_rule = verbs.add_parser("set", help="PROJECT[/ROOM] DAYS|off")
    set_rule.add_argument("scope", metavar="PROJECT[/ROOM]")
    set_rule.add_argument("days", metavar="DAYS|off")
    show = verbs.add_parser("show", help="the server's days and every override")
    show.add_argument("--json", action="store_true")
    run = verbs.add_parser("run", help="run the job now")
    run.add_argument("--dry-run", action="store_true", help="say what would go; write nothing")
    run.add_argument("--json", action="store_true")
    restore = commands.add_parser(
        "import", help="restore messages from a retention file, ids included"
    )
    restore.add_argument("file", metavar="FILE", help="a .jsonl.gz the server's retention wrote")
    restore.add_argument("--json", action="store_true")
    return [set_rule, show, run, restore]


def _days(days: Any) -> str:
    return "off" if days is None else f"{days} days"


def do_retention(args: argparse.Namespace, settings: Settings) -> int:
    endpoint = locate(settings)
    path = "/api/admin/retention"
    if args.retention_command == "set":
        rule = endpoint.call("PUT", path, {"scope": args.scope, "days": args.days})
        scope = rule["project"] + (f"/{rule['room']}" if rule["room"] else "")
        print(f"{scope}: {_days(rule['days'])}")
        return 0
    if args.retention_command == "show":
        shown = endpoint.call("GET", path)
        if args.json:
            print(json.dumps(shown))
            return 0
        print(f"server (--retain-days): {_days(shown['default_days'])}")
        for rule in shown["rules"]:
            scope = rule["project"] + (f"/{rule['room']}" if rule["room"] else "")
            print(f"{scope}: {_days(rule['days'])}")
        return 0
    done = endpoint.call("POST", f"{path}/run", {"dry_run": args.dry_run}, timeout=RUN_TIMEOUT)
    if args.json:
        print(json.dumps(done))
        return 0
    verb = "would delete" if args.dry_run else "deleted"
    for room in done["rooms"]:
        print(f"{verb} {room['messages']} message(s) from {room['project']}/{room['room']}")
    if done.get("busy"):
        print("another worker is running retention now; nothing done")
    elif done["file"]:
        print(f"{verb} {done['messages']} message(s), written first to {done['file']}")
    else:
        print(f"{verb} {done['messages']} message(s)")
    return 0


def do_import(args: argparse.Namespace, settings: Settings) -> int:
    endpoint = locate(settings)
    file = str(Path(args.file).expanduser().absolute())
    done = endpoint.call("POST", "/api/admin/retention/import", {"file": file}, timeout=RUN_TIMEOUT)
    if args.json:
        print(json.dumps(done))
    else:
        print(
            f"restored {done['restored']} of {done['messages']} message(s) from {done['file']}"
            " (the rest were there already, or their room is gone)"
        )
    return 0
