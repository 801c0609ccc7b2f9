"""One server per SQLite file, whatever home it was started from.

Two servers on one file would each keep their own hub: posts on one would
never wake the other's waiters or streams. The home's lock (server_files.py) does
not see a second home whose `--db` points at the first one's file, so the
store locks the database itself: an flock on `<db>.lock` beside it (the real
path, symlinks resolved), held while the store is open, released by the
kernel when the process dies. Not an flock on the database file: on macOS
flock and SQLite's own fcntl locks share one lock table and would conflict.
The lock file holds the owner's pid and port, so a refused server can say
whom to stop.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
from pathlib import Path
from typing import IO, Any

from chatnut.store.base import StoreOpenError

log = logging.getLogger(__name__)


class DatabaseLock:
    def __init__(self, db_path: Path, owner: dict[str, Any]) -> None:
        self.db_path = db_path
        self.owner = owner
        self._handle: IO[str] | None = None

    @property
    def path(self) -> Path:
        real = Path(os.path.realpath(self.db_path))
        return real.with_name(real.name + ".lock")

    def acquire(self) -> None:
        path = self.path
        nofollow = getattr(os, "O_NOFOLLOW", 0)
        try:
            handle = os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT | nofollow, 0o600), "r+")
        except PermissionError:
            # Read-only files (the server then serves reads only): an flock needs no
            # write access, and without even a lock file there is nothing to write to.
            try:
                handle = os.fdopen(os.open(path, os.O_RDONLY | nofollow), "r")
            except OSError as exc:
                log.warning("cannot lock %s (%s): not guarding against a second server", path, exc)
                return
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(handle)
            handle.close()
            pid, port = holder.get("pid", "?"), holder.get("port", "?")
            raise StoreOpenError(
                f"the database {self.db_path} is in use by another chatnut server "
                f"(pid {pid}, port {port}); stop it (kill -TERM {pid}) or give this "
                "server a database of its own with --db"
            ) from None
        self._handle = handle
        with contextlib.suppress(OSError):  # read-only: locked all the same
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps({"pid": os.getpid(), **self.owner}) + "\n")
            handle.flush()

    def release(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                self._handle.seek(0)
                self._handle.truncate()
                fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def _read(handle: IO[str]) -> dict[str, Any]:
    try:
        handle.seek(0)
        value = json.loads(handle.read() or "{}")
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
