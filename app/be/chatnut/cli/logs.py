"""`chatnut logs`: the server's rotated log file, read (and followed) from disk."""

from __future__ import annotations

import contextlib
import os
import time
from typing import Any

from chatnut.client.endpoint import CliError
from chatnut.settings import Settings


def log_lines(settings: Settings, count: int) -> list[str]:
    try:
        with settings.log_file.open(encoding="utf-8", errors="replace") as handle:
            lines = handle.readlines()
    except FileNotFoundError:
        raise CliError(f"no log yet at {settings.log_file}") from None
    return lines[-count:] if count > 0 else lines


def follow_log(settings: Settings, out: Any) -> None:
    """`chatnut logs -f`: print lines as the server appends them, across rotations."""
    path = settings.log_file
    handle = path.open(encoding="utf-8", errors="replace")
    handle.seek(0, os.SEEK_END)
    inode = os.fstat(handle.fileno()).st_ino
    try:
        while True:
            line = handle.readline()
            if line:
                out.write(line)
                out.flush()
                continue
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_ino != inode:  # rotated: continue in the new file
                    handle.close()
                    handle = path.open(encoding="utf-8", errors="replace")
                    inode = os.fstat(handle.fileno()).st_ino
            time.sleep(0.25)
    finally:
        handle.close()
