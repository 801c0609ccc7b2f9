"""Start a fresh worker (worker.py) in place of a forked child: what a reload does.

Apart from worker.py so that `chatnut serve`, which hands this to the
supervisor, and the worker, which runs the server `serve` defines, do not
import each other.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from typing import Any, NoReturn

WORKER_SETTINGS_VAR = "CHATNUT_WORKER_SPEC"


def exec_worker(
    overrides: dict[str, Any],
    sockets: list[socket.socket],
    port: int,
    ready_fd: int,
    parent: int,
    lock_fd: int | None,
    log_fd: int | None = None,
) -> NoReturn:
    """Replace this (forked) process with a fresh worker; never returns."""
    kept = [s.fileno() for s in sockets] + [ready_fd]
    kept += [fd for fd in (lock_fd, log_fd) if fd is not None]
    for fd in kept:
        os.set_inheritable(fd, True)
    spec = {
        "overrides": overrides,
        "sockets": [s.fileno() for s in sockets],
        "port": port,
        "ready": ready_fd,
        "parent": parent,
        "lock": lock_fd,
        "log": log_fd,
    }
    env = {**os.environ, WORKER_SETTINGS_VAR: json.dumps(spec, default=str)}
    os.execve(sys.executable, [sys.executable, "-m", "chatnut.worker"], env)
