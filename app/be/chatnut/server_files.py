"""The files a running server leaves in CHATNUT_HOME: server.port, server.pid, and the lock.

(server.port and server.pid go to CHATNUT_RUN_DIR instead when it is set,
the original chatnut's name for their place.)

The lock (an fcntl lock on server.lock, held for the server's life) is what
makes "one server per home" true even after a crash: the kernel releases it
when the process dies, so stale port/pid files from a `kill -9` are simply
replaced by the next server, while a live one is detected and refused.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
from pathlib import Path
from typing import IO

from chatnut.files import private_dir, write_file


class AlreadyRunning(RuntimeError):
    pass


class InstanceLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 — held open for the server's life
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise AlreadyRunning(str(self.path)) from None
        self._handle = handle

    def fileno(self) -> int | None:
        """The locked file's descriptor (a process exec'd with it keeps the lock)."""
        return None if self._handle is None else self._handle.fileno()

    def release(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def write_runtime_files(port_file: Path, pid_file: Path, port: int) -> None:
    # A random temp name, removed when the write fails (a full disk): no
    # `.server.port.<pid>.tmp` left behind, none a planted link could catch.
    port_file.parent.mkdir(parents=True, exist_ok=True)
    write_file(pid_file, f"{os.getpid()}\n")
    write_file(port_file, f"{port}\n")


def make_home_private(home: Path, db_path: Path) -> None:
    """Home 0700, and every file in it (and the database's) 0600: other local users
    must not read chats, tokens or the log.

    New files are private by the process umask; this tightens what an older
    chatnut, or the usual 022 umask, left readable to every local user.
    """
    private_dir(home)
    database = [db_path, *(db_path.with_name(db_path.name + s) for s in ("-wal", "-shm"))]
    for path in [*home.iterdir(), *database]:
        with contextlib.suppress(OSError):
            info = path.lstat()
            if stat.S_ISREG(info.st_mode) and info.st_uid == os.getuid() and info.st_mode & 0o077:
                # Take away what others may do, never add to what the owner may:
                # a database made read-only on purpose stays read-only.
                path.chmod(stat.S_IMODE(info.st_mode) & 0o700)


def remove_runtime_files(port_file: Path, pid_file: Path, *others: Path) -> None:
    # Only remove what is ours: a newer server may have replaced the files.
    if read_int(pid_file) == os.getpid():
        for path in (*others, port_file, pid_file):
            path.unlink(missing_ok=True)
