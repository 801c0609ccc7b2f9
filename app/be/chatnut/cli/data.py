"""`chatnut backup` and `chatnut prune`: the database's copies and its old archives.

backup uses SQLite's online backup API, which copies a consistent snapshot
while the server goes on writing (WAL readers never block the writer). The
copy is written beside its target (a fresh 0600 file with a random name)
and linked into place, so a failed backup never leaves half a file, and an
existing file or link is never overwritten or followed.
prune deletes through the server's API (delete_room's rules: archived rooms
only), so open pages and feeds learn of it like any other deletion.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from chatnut.client.endpoint import CliError, Endpoint, quote
from chatnut.files import temp_beside

PAGES_PER_STEP = 1024  # the writer gets the database back between steps


def backup(source: Path, target: Path) -> dict[str, int]:
    if not source.is_file():
        raise CliError(f"no database at {source}")
    if target.exists() or target.is_symlink():
        raise CliError(f"{target} exists; choose a new path (a backup never overwrites)")
    if not target.parent.is_dir():
        raise CliError(f"directory {target.parent} does not exist")
    try:
        with temp_beside(target, ".partial") as temp:
            counts = _copy(source, temp)
            # link(2) refuses anything already at the target, a dangling link
            # included: a backup never writes through a link or over a file.
            os.link(temp, target, follow_symlinks=False)
    except FileExistsError:
        raise CliError(f"{target} exists; choose a new path (a backup never overwrites)") from None
    except sqlite3.Error as exc:
        raise CliError(f"backup of {source} failed: {exc}") from None
    return counts


def _copy(source: Path, temp: Path) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(source)) as src:
        src.execute("PRAGMA busy_timeout = 10000")
        with contextlib.closing(sqlite3.connect(temp)) as dst:
            src.backup(dst, pages=PAGES_PER_STEP)
            # A standalone copy: no -wal file needed beside it to open it.
            dst.execute("PRAGMA journal_mode = DELETE")
            check = dst.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise CliError(f"the copy failed its integrity check: {check}")
            return {
                "rooms": dst.execute("SELECT count(*) FROM rooms").fetchone()[0],
                "messages": dst.execute("SELECT count(*) FROM messages").fetchone()[0],
            }


def old_archives(endpoint: Endpoint, days: float, now: datetime) -> list[dict[str, Any]]:
    cutoff = now - timedelta(days=days)
    query = urllib.parse.urlencode({"status": "archived"})
    rooms: list[dict[str, Any]] = endpoint.call("GET", f"/api/rooms?{query}")["rooms"]
    return [
        room
        for room in rooms
        if room.get("archived_at") and _parse_time(room["archived_at"]) < cutoff
    ]


def prune(endpoint: Endpoint, days: float, dry_run: bool) -> list[dict[str, Any]]:
    if not 0 <= days <= 1e6:  # NaN fails too; inf would overflow the date arithmetic
        raise CliError(f"--archived-older-than must be 0..1000000 days, got {days}")
    rooms = old_archives(endpoint, days, datetime.now(UTC))
    if not dry_run:
        for room in rooms:
            room["deleted_messages"] = endpoint.call("DELETE", f"/api/rooms/{quote(room['id'])}")[
                "deleted_messages"
            ]
    return rooms


def _parse_time(text: str) -> datetime:
    stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
