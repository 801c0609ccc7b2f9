"""Retention: messages older than the policy are written to a compressed JSONL
file under the home, then deleted; `chatnut import FILE` puts them back.

Each purge step publishes a `purged` event ({room_id, through_id}: the
room's messages up to that id are gone), so open pages and streams drop them
live; a stream resuming with Last-Event-ID is told of the purges it missed.

The policy: the server's --retain-days, overridden per project and per room
(`chatnut retention set PROJECT[/ROOM] DAYS|off`); the most specific wins.
Archived rooms are never purged (an archive is kept on purpose). Each run
takes a `now`, so tests set the clock instead of waiting.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from chatnut import errors
from chatnut import validation as check
from chatnut.principals import ANYONE, Caller
from chatnut.shapes.admin import PurgedRoom, Restored, RetentionPolicy, RetentionRule, RetentionRun
from chatnut.store.base import Row, Store

MAX_DAYS = 36_500
BATCH = 1000  # messages read, written and deleted per step
MAX_IMPORT_LINE = 4 * 1024 * 1024
RETENTION_LOCK = 7365619  # advisory key: one worker runs the job at a time
EVERY_SECONDS = 3600.0

log = logging.getLogger(__name__)


def parse_days(text: str) -> int | None:
    """DAYS (1..36500) or "off"; anything else is refused in one line."""
    if text.strip().lower() == "off":
        return None
    try:
        days = int(text)
    except ValueError:
        raise errors.InvalidInput(
            f"retention must be DAYS (1..{MAX_DAYS}) or off, got {text!r}"
        ) from None
    if not 1 <= days <= MAX_DAYS:
        raise errors.InvalidInput(f"retention must be DAYS (1..{MAX_DAYS}) or off, got {text!r}")
    return days


def parse_scope(scope: str) -> tuple[str, str]:
    project, _, room = scope.strip().partition("/")
    if not project or "/" in room or len(scope) > 300:
        raise errors.InvalidInput(f"retention applies to PROJECT or PROJECT/ROOM, got {scope!r}")
    return project, room


def policy(default: int | None, rules: list[RetentionRule], project: str, room: str) -> int | None:
    """Days kept for a room: its own rule, else its project's, else the server's."""
    by_scope = {(r["project"], r["room"]): r["days"] for r in rules}
    for key in ((project, room), (project, "")):
        if key in by_scope:
            return by_scope[key]
    return default


class RetentionJob:
    def __init__(self, store: Store, default_days: int | None, directory: Path) -> None:
        self.store = store
        self.default_days = default_days
        self.directory = directory
        self._running = asyncio.Lock()  # a manual run and the timer's, in one process

    async def show(self, *, caller: Caller = ANYONE) -> RetentionPolicy:
        caller.needs("admin", "reading the retention policy")
        return {"default_days": self.default_days, "rules": await self.store.retention_rules()}

    async def set(self, scope: str, days: str, *, caller: Caller = ANYONE) -> RetentionRule:
        caller.needs("admin", "setting the retention policy")
        project, room = parse_scope(scope)
        value = parse_days(days)
        return await self.store.set_retention_rule(
            project, room, value, datetime.now(UTC).isoformat(timespec="milliseconds")
        )

    async def run(
        self, *, dry_run: bool = False, now: datetime | None = None, caller: Caller = ANYONE
    ) -> RetentionRun:
        """Export then delete every expired message; a dry run only counts them."""
        caller.needs("admin", "running retention")
        async with self._running, self.store.solo_turn(RETENTION_LOCK) as mine:
            if not mine:
                return {"dry_run": dry_run, "rooms": [], "messages": 0, "file": None, "busy": True}
            return await self._run(dry_run, now or datetime.now(UTC))

    async def _run(self, dry_run: bool, now: datetime) -> RetentionRun:
        rules = await self.store.retention_rules()
        rooms = await self.store.list_rooms(None, "live")
        path = self.directory / f"{now.strftime('%Y%m%dT%H%M%S.%fZ')}.jsonl.gz"
        purged: list[PurgedRoom] = []
        out = None
        try:
            for room in rooms:
                days = policy(self.default_days, rules, room["project"], room["name"])
                if days is None:
                    continue
                cutoff = (now - timedelta(days=days)).isoformat(timespec="milliseconds")
                count = 0
                if dry_run:  # counted only: nothing is read out, nothing written
                    count = await self.store.count_expired(room["id"], cutoff)
                while not dry_run:
                    entries = await self.store.expired_messages(room["id"], cutoff, BATCH)
                    if not entries:
                        break
                    if out is None:
                        out, path = _open_private(path)
                    await asyncio.to_thread(_append, out, entries)
                    ids = [e["message"]["id"] for e in entries]
                    deleted = await self.store.purge_messages(room["id"], ids)
                    count += deleted
                    if not deleted:  # gone meanwhile (the room cleared): none left to take
                        break
                if count:
                    purged.append(
                        {"project": room["project"], "room": room["name"], "messages": count}
                    )
        finally:
            if out is not None:
                raw = out.fileobj
                out.close()
                raw.close()
        total = sum(r["messages"] for r in purged)
        return {
            "dry_run": dry_run,
            "rooms": purged,
            "messages": total,
            "file": str(path) if out is not None else None,
        }

    async def purges_since(self, after_id: int, room_id: str | None) -> list[Row]:
        """The purges a stream resuming after message `after_id` may have missed
        (one room's, or every room's with None), as `purged` events' data."""
        return await self.store.purges_after(after_id, room_id)

    async def restore(self, file: str, *, caller: Caller = ANYONE) -> Restored:
        """Restore a file this server wrote (under its retention folder only)."""
        caller.needs("admin", "importing messages")
        check.text("file", file, max_chars=4096)  # a NUL or lone surrogate is no path
        path = Path(file).expanduser().resolve()
        if path.parent != self.directory.resolve() or not path.name.endswith(".jsonl.gz"):
            raise errors.InvalidInput(
                f"import reads only {self.directory}/*.jsonl.gz, got {file!r}"
            )
        if not path.is_file():
            raise errors.InvalidInput(f"no such file: {path}")
        # Checked whole before anything is written (a bad file restores nothing),
        # then restored a batch at a time; the file is read off the event loop.
        total = await asyncio.to_thread(_check_file, path)
        restored = 0
        with gzip.open(path, "rb") as lines:
            while batch := await asyncio.to_thread(_next_batch, lines):
                restored += await self.store.restore_messages(batch)
        return {"file": str(path), "messages": total, "restored": restored}


def _append(out: Any, entries: list[Row]) -> None:
    for entry in entries:
        out.write(json.dumps(entry, separators=(",", ":")).encode() + b"\n")
    out.flush()  # on disk before the messages go
    os.fsync(out.fileobj.fileno())


def _entry(line: bytes, number: int, name: str) -> Row:
    if len(line) > MAX_IMPORT_LINE:
        raise errors.InvalidInput(f"{name}: line {number} is too long")
    entry = json.loads(line)
    message = entry.get("message") if isinstance(entry, dict) else None
    if (
        not isinstance(message, dict)
        or not isinstance(message.get("id"), int)
        or not isinstance(message.get("room_id"), str)
        or not all(
            isinstance(entry.get(t, []), list)
            and all(isinstance(r, dict) for r in entry.get(t, []))
            for t in ("message_recipients", "receipts")
        )
    ):
        raise errors.InvalidInput(f"{name}: line {number} holds no message")
    return entry


def _check_file(path: Path) -> int:
    """The number of messages in a retention file; refused in one line if it is not one."""
    count = 0
    try:
        with gzip.open(path, "rb") as lines:
            for count, line in enumerate(lines, 1):
                _entry(line, count, path.name)
    except (OSError, EOFError, ValueError) as exc:
        raise errors.InvalidInput(f"{path.name} is not a retention export: {exc}") from None
    return count


def _next_batch(lines: Any) -> list[Row]:
    batch = []
    for line in lines:
        batch.append(_entry(line, 0, ""))
        if len(batch) == BATCH:
            break
    return batch


def _open_private(path: Path) -> tuple[Any, Path]:
    """A new 0600 file (never an existing one, never through a link), and its path:
    `path`, or `path` with -2, -3, ... when a run of the same instant wrote one."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    stem = path.name.removesuffix(".jsonl.gz")
    for attempt in range(1, 100):
        target = path if attempt == 1 else path.with_name(f"{stem}-{attempt}.jsonl.gz")
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            continue
        return gzip.GzipFile(fileobj=os.fdopen(fd, "wb"), mode="wb"), target
    raise FileExistsError(f"{path} and 98 more exist")


async def retention_forever(job: RetentionJob) -> None:
    """At start, then every hour, the job: a no-op unless a policy is set."""
    while True:
        try:
            done = await job.run()
            if done["messages"]:
                log.info(
                    "retention: %d message(s) written to %s, then deleted",
                    done["messages"],
                    done["file"],
                )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("retention pass failed: %s", exc)
        await asyncio.sleep(EVERY_SECONDS)
