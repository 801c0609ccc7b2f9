"""One process writes the log: workers hand their lines to the supervising parent.

With `--workers N` every worker used to hold its own RotatingFileHandler on the
one chatnut.log: when one rotated the file, the others went on writing into
the renamed one (or rotated it again), and lines were lost. Now a worker's file
handler is swapped, right after the fork, for a pipe to the parent, which
writes the lines (already formatted: time, pid, level) through the one
rotating handler. Its console handler (stderr) stays: writing a terminal
needs no rotation.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import os


def file_handler() -> logging.handlers.RotatingFileHandler | None:
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.handlers.RotatingFileHandler):
            return handler
    return None


def send_to_parent(write_fd: int) -> None:
    """In a worker: log lines go to `write_fd` instead of the file."""
    handler = file_handler()
    if handler is None:
        os.close(write_fd)
        return
    pipe = logging.StreamHandler(os.fdopen(write_fd, "w", encoding="utf-8", buffering=1))
    pipe.setFormatter(handler.formatter)
    pipe.setLevel(handler.level)
    root = logging.getLogger()
    root.handlers[:] = [pipe if h is handler else h for h in root.handlers]
    # The inherited handler's file stays as it was: the parent writes it.
    with contextlib.suppress(OSError):
        handler.stream.close() if handler.stream else None


class Relay:
    """In the parent: the workers' pipes, read as they become readable."""

    def __init__(self) -> None:
        self.pending: dict[int, bytes] = {}  # fd -> an incomplete last line

    def fds(self) -> list[int]:
        return list(self.pending)

    def add(self, read_fd: int) -> None:
        os.set_blocking(read_fd, False)
        self.pending[read_fd] = b""

    def read(self, fd: int, *, last: bool = False) -> bool:
        """Write what `fd` holds; False once there is nothing more to read now."""
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            if not last:
                return False
            data = b""  # the workers are gone: nothing more will come
        except OSError:
            data = b""
        if not data:  # the worker is gone: what it left, and the pipe closed
            rest = self.pending.pop(fd)
            os.close(fd)
            if rest:
                write_line(rest + b"\n")
            return False
        *lines, self.pending[fd] = (self.pending[fd] + data).split(b"\n")
        for line in lines:
            write_line(line + b"\n")
        return True

    def close(self) -> None:
        """Once the workers are gone: what they wrote last, and the pipes closed."""
        for fd in list(self.pending):
            while self.read(fd, last=True):
                pass


def write_line(line: bytes) -> None:
    """A formatted line into the log file, rotating it first if it is due."""
    handler = file_handler()
    if handler is None:
        return
    text = line.decode("utf-8", errors="replace")
    record = logging.makeLogRecord({"msg": text.rstrip("\n")})
    handler.acquire()
    try:
        if handler.stream is None:
            handler.stream = handler._open()
        if handler.shouldRollover(record):
            handler.doRollover()
        handler.stream.write(text)
        handler.stream.flush()
    finally:
        handler.release()
