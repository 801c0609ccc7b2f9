"""The files a running server leaves in CHATNUT_HOME: server.port, server.pid, and the lock.

The lock (an fcntl lock on server.lock, held for the server's life) is what
makes "one server per home" true even after a crash: the kernel releases it
when the process dies, so stale port/pid files from a `kill -9` are simply
replaced by the next server, while a live one is detected and refused.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import IO


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


def write_atomically(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.write_text(text)
    temp.replace(path)


def write_runtime_files(port_file: Path, pid_file: Path, port: int) -> None:
    write_atomically(pid_file, f"{os.getpid()}\n")
    write_atomically(port_file, f"{port}\n")


def remove_runtime_files(port_file: Path, pid_file: Path) -> None:
    # Only remove what is ours: a newer server may have replaced the files.
    if read_int(pid_file) == os.getpid():
        port_file.unlink(missing_ok=True)
        pid_file.unlink(missing_ok=True)
