"""What each `chatnut` subcommand does with its parsed arguments (exit code back).

Settings (home, port, token, db) come from the environment like the
server's own, so the CLI finds the server `chatnut serve` started.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import webbrowser
from pathlib import Path
from typing import Any

from chatnut import validation
from chatnut.cli import data, logs, rooms
from chatnut.cli.guard import do_guard as do_guard  # `chatnut guard`, dispatched by name
from chatnut.client import server
from chatnut.client.endpoint import CliError, Endpoint, locate, server_alive
from chatnut.errors import InvalidInput
from chatnut.files import UnsafePath, create_file, write_file
from chatnut.settings import Settings, load_settings
from chatnut.store import is_url


def settings_from(args: argparse.Namespace) -> Settings:
    try:
        return load_settings({"db": getattr(args, "db", None), "url": getattr(args, "url", None)})
    except ValueError as exc:
        raise CliError(f"bad setting: {exc}") from None


def running(settings: Settings) -> Endpoint:
    if settings.url is None and not server_alive(settings):
        raise CliError(
            f"no chatnut server is running for {settings.home}; start one with `chatnut serve &`"
        )
    return locate(settings)


def do_status(args: argparse.Namespace) -> int:
    alive, facts = server.status(settings_from(args))
    if args.json:
        print(json.dumps({"running": alive, **facts}))
        return 0 if alive else 1
    for path in facts.pop("removed_stale_files", []):
        print(f"removed stale {path} (left by a server that did not shut down)")
    if not alive:
        print(f"chatnut is not running (home {facts['home']}, db {facts['db_path']})")
        return 1
    version = f" {facts['version']}" if facts.get("version") else ""
    print(f"chatnut{version} is running at {facts['url']}")
    for key in ("pid", "port", "workers", "db_path", "home", "rooms", "messages", "ready", "note"):
        if key in facts:
            value = facts[key]
            if key == "workers" and isinstance(value, list):
                value = f"{len(value)} (pids {' '.join(str(pid) for pid in value)})"
            print(f"  {key + ':':10} {value}")
    return 0


def do_stop(args: argparse.Namespace) -> int:
    print(server.stop(settings_from(args)))
    return 0


def do_reload(args: argparse.Namespace) -> int:
    print(server.reload(settings_from(args)))
    return 0


def do_logs(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    sys.stdout.writelines(logs.log_lines(settings, args.lines))
    sys.stdout.flush()
    if args.follow:
        try:
            logs.follow_log(settings, sys.stdout)
        except KeyboardInterrupt:
            return 0
    return 0


def do_open(args: argparse.Namespace) -> int:
    endpoint = running(settings_from(args))
    room_id = rooms.resolve_room(endpoint, args.room)["id"] if args.room else None
    url = rooms.page_url(endpoint, room_id)
    if args.url_only or not webbrowser.open(url, new=2):
        print(url)
    return 0


def use_colour(choice: str) -> bool:
    if choice == "auto":
        return sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    return choice == "always"


def do_tail(args: argparse.Namespace) -> int:
    from chatnut.cli.tail import Printer, tail

    endpoint = running(settings_from(args))
    room = rooms.resolve_room(endpoint, args.room)
    printer = Printer(sys.stdout, args.format, use_colour(args.color), args.since or 0)
    with contextlib.suppress(KeyboardInterrupt):
        tail(
            endpoint,
            room,
            printer,
            last=args.last,
            since=args.since,
            once=args.once,
            note=lambda text: print(f"chatnut: {text}", file=sys.stderr),
            to=args.to,
        )
    return 0


def do_post(args: argparse.Namespace) -> int:
    endpoint = running(settings_from(args))
    if args.create:
        room = rooms.create_room(endpoint, args.room)
    else:
        room = rooms.resolve_room(endpoint, args.room)
    text = sys.stdin.read() if args.text == "-" else args.text
    kind = "summary" if args.summary else "message"
    posted = rooms.post(endpoint, room["id"], args.sender, text, args.reply_to, args.to, kind)
    mentions = ", ".join(f"@{m['name']} ({m['task_id']})" for m in posted.get("mentions", []))
    to = f" → {', '.join(posted['to'])}" if posted.get("to") else ""
    print(f"posted #{posted['id']} to {room['project']}/{room['name']}{to}")
    if mentions:
        print(f"mentions registered agents: {mentions}")
    return 0


def do_handoff(args: argparse.Namespace) -> int:
    import getpass

    from chatnut.cli import coordination

    endpoint = running(settings_from(args))
    room = rooms.resolve_room(endpoint, args.room)
    reader = args.reader or getpass.getuser()
    found = coordination.handoff(endpoint, room["id"], reader, args.recent)
    if args.format == "json":
        print(json.dumps(found, ensure_ascii=False))
    else:
        print("\n".join(coordination.handoff_text(found, reader)))
    return 0


def do_inbox(args: argparse.Namespace) -> int:
    from chatnut.cli import coordination

    endpoint = running(settings_from(args))
    with contextlib.suppress(KeyboardInterrupt):
        coordination.inbox(
            endpoint, args.name, args.since, sys.stdout, fmt=args.format, follow=args.follow
        )
    return 0


def do_rooms(args: argparse.Namespace) -> int:
    endpoint = running(settings_from(args))
    found = rooms.list_rooms(endpoint, args.project, args.status, args.reader)
    if args.json:
        print(json.dumps({"rooms": found}))
    else:
        print("\n".join(rooms.room_table(found, with_unread=bool(args.reader))))
    return 0


def do_export(args: argparse.Namespace) -> int:
    endpoint = running(settings_from(args))
    room = rooms.resolve_room(endpoint, args.room)
    text = rooms.export(endpoint, room["id"], args.format)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    target = Path(args.output)
    try:
        if args.force:
            write_file(target, text)
        else:
            create_file(target, text)
    except FileExistsError:
        raise CliError(f"{target} exists; pass --force to overwrite it") from None
    except OSError as exc:  # UnsafePath (a link there) included
        raise CliError(str(exc) if isinstance(exc, UnsafePath) else f"{target}: {exc}") from None
    print(f"wrote {room['project']}/{room['name']} ({room['message_count']} messages) to {target}")
    return 0


def do_backup(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    database: str | Path = settings.database
    if getattr(args, "db", None) is None and settings.url is None:
        # The running server's database, not the setting's default: on a team
        # server's host they differ (its --db was given to `chatnut serve`).
        database = server.running_database(settings) or database
    if is_url(database):
        from chatnut.cli import db

        print(db.pg_dump(str(database), Path(args.path), settings.db_password))
        return 0
    counts = data.backup(Path(database), Path(args.path))
    print(
        f"backed up {database} to {args.path}: {counts['rooms']} rooms, "
        f"{counts['messages']} messages (open it with `chatnut serve --db {args.path}`)"
    )
    return 0


def do_db(args: argparse.Namespace) -> int:
    from chatnut.cli import db

    if args.merge:
        merged = db.merge(args.source, args.destination)
        print("\n".join(db.merge_report(args.source, args.destination, merged)))
        return 0
    copied = db.copy(args.source, args.destination)
    print("\n".join(db.report(args.source, args.destination, copied)))
    return 0


def do_prune(args: argparse.Namespace) -> int:
    endpoint = running(settings_from(args))
    pruned = data.prune(endpoint, args.archived_older_than, args.dry_run)
    verb = "would delete" if args.dry_run else "deleted"
    for room in pruned:
        extra = "" if args.dry_run else f", {room['deleted_messages']} messages"
        print(f"{verb} {room['project']}/{room['name']} (archived {room['archived_at']}{extra})")
    print(f"{verb} {len(pruned)} archived room(s) older than {args.archived_older_than:g} days")
    return 0


def install_settings(args: argparse.Namespace) -> Settings:
    """The settings `install` works with: the client's, plus the serve flags given
    (what `--service` writes into the unit)."""
    from chatnut.settings import SETTINGS

    given = {s.name: getattr(args, s.name, None) for s in SETTINGS}
    try:
        return load_settings(given)
    except ValueError as exc:
        raise CliError(f"bad setting: {exc}") from None


def do_token(args: argparse.Namespace) -> int:
    from chatnut.cli import tokens

    return tokens.run(args, settings_from(args))


def do_retention(args: argparse.Namespace) -> int:
    from chatnut.cli import retention

    return retention.do_retention(args, settings_from(args))


def do_import(args: argparse.Namespace) -> int:
    from chatnut.cli import retention

    return retention.do_import(args, settings_from(args))


def do_install(args: argparse.Namespace) -> int:
    from chatnut.install import run_install

    return run_install(args, install_settings(args))


def do_uninstall(args: argparse.Namespace) -> int:
    from chatnut.install import run_uninstall

    return run_uninstall(args, install_settings(args))


def do_bridge(args: argparse.Namespace) -> Any:
    from chatnut.bridge import run_bridge

    try:
        agent = None if args.agent is None else validation.agent(args.agent)
    except InvalidInput as exc:
        print(f"chatnut: {exc}", file=sys.stderr)
        return 2
    return run_bridge(settings_from(args), agent)
