"""`chatnut db copy [--merge] SRC DST` and `chatnut backup` on PostgreSQL.

The copy itself is store/copy.py, the merge store/merge.py; here it is run and reported. A backup of
PostgreSQL is PostgreSQL's own tool's job (a consistent dump of a live
database, restorable with pg_restore): chatnut runs `pg_dump` when it is on
the PATH and otherwise says so, rather than making a copy of its own that
would restore into nothing else.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import anyio

from chatnut.client.endpoint import CliError
from chatnut.store import StoreOpenError
from chatnut.store.copy import Copied, copy_database
from chatnut.store.location import printable
from chatnut.store.merge import Merged, merge_database
from chatnut.store.tables import CopyError


def copy(source: str, destination: str) -> list[Copied]:
    try:
        return anyio.run(copy_database, source, destination)
    except (CopyError, StoreOpenError) as exc:
        raise CliError(f"db copy: {exc}") from None
    except Exception as exc:  # the driver's own errors: one line, named
        raise CliError(f"db copy failed: {type(exc).__name__}: {exc}") from None


def merge(source: str, destination: str) -> list[Merged]:
    try:
        return anyio.run(merge_database, source, destination)
    except (CopyError, StoreOpenError) as exc:
        raise CliError(f"db copy --merge: {exc}") from None
    except Exception as exc:  # the driver's own errors: one line, named
        raise CliError(f"db copy --merge failed: {type(exc).__name__}: {exc}") from None


def merge_report(source: str, destination: str, merged: list[Merged]) -> list[str]:
    width = max((len(m.table) for m in merged), default=5)
    lines = [f"merged {printable(source)} into {printable(destination)}:"]
    for entry in merged:
        note = f"; {entry.note}" if entry.note else ""
        if entry.note == "not merged":
            lines.append(f"  {entry.table:<{width}}  not merged (source {entry.source_rows})")
            continue
        lines.append(
            f"  {entry.table:<{width}}  {entry.after:>8} rows"
            f" (before {entry.before} + added {entry.added} = {entry.after};"
            f" source {entry.source_rows}{note})"
        )
    return lines


def report(source: str, destination: str, copied: list[Copied]) -> list[str]:
    width = max((len(c.table) for c in copied), default=5)
    lines = [f"copied {printable(source)} to {printable(destination)}:"]
    for entry in copied:
        lines.append(
            f"  {entry.table:<{width}}  {entry.destination_rows:>8} rows"
            f" (source {entry.source_rows}, destination {entry.destination_rows})"
        )
    return lines


def pg_dump(url: str, target: Path, password: str | None = None) -> str:
    """Run pg_dump when there is one; otherwise the one line saying to. `password`
    (from --db-password-file) goes to it in its environment, never its arguments."""
    command = shutil.which("pg_dump")
    hint = f"pg_dump --format=custom --file {target} '{printable(url)}'"
    if command is None:
        raise CliError(
            f"chatnut backup copies SQLite files; a PostgreSQL database is backed up with"
            f" PostgreSQL's own pg_dump (not on the PATH here): {hint}"
        )
    if target.exists():
        raise CliError(f"{target} exists; choose a new path (a backup never overwrites)")
    done = subprocess.run(
        [command, "--format=custom", "--file", str(target), url],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PGPASSWORD": password} if password is not None else None,
        umask=0o077,  # the dump holds every chat: this user's only, as the README promises
    )
    if done.returncode != 0:
        target.unlink(missing_ok=True)
        reason = " ".join(done.stderr.split())[:300]
        raise CliError(f"pg_dump failed ({done.returncode}): {reason}")
    return (
        f"backed up {printable(url)} to {target} with pg_dump"
        f" (restore with `pg_restore --dbname URL {target}`)"
    )
