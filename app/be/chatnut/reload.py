"""`chatnut reload`: what a running server may take from its settings read again, and
how it says it is done.

The server reads its settings again on SIGHUP (the token file, the
database password file, the log level, every serve setting from the
environment it was started with and its flags). What a running server
cannot change is refused in one line and nothing changes: the address and
the database it serves, its number of workers, the metrics listener,
whether it reads a database password file, and whether it needs a token at
all (turning that on or off needs a restart, which is the moment to tell
the clients).

Each reload, done or refused, is counted in `server.reloaded` beside
server.pid ("<count> <outcome>"), which `chatnut reload` waits on.
"""

from __future__ import annotations

import contextlib

from chatnut.files import write_file
from chatnut.settings import Settings

RELOADED_FILE = "server.reloaded"

# What a reload cannot change, and how to say it.
_FIXED = (
    ("host", "the address it listens on"),
    ("port", "its port"),
    ("database", "its database"),
    ("workers", "its number of workers"),
    ("metrics_listen", "the metrics listener"),
)


def reload_problem(running: Settings, fresh: Settings) -> str | None:
    """Why `fresh` cannot replace `running` without a restart; None if it can."""
    for name, words in _FIXED:
        if getattr(running, name) != getattr(fresh, name):
            return f"{words} changed ({name}); that needs a restart (chatnut stop, chatnut serve)"
    if bool(running.tokens) != bool(fresh.tokens):
        return "turning the token on or off needs a restart"
    if (running.db_password is None) != (fresh.db_password is None):
        return "turning the database password file on or off needs a restart"
    return None


def note_reload(settings: Settings, count: int, outcome: str) -> None:
    with contextlib.suppress(OSError):
        write_file((settings.run_dir or settings.home) / RELOADED_FILE, f"{count} {outcome}\n")


def read_reloaded(settings: Settings) -> tuple[int, str]:
    """(count, outcome) of the server's last reload; (0, "") before any."""
    try:
        text = ((settings.run_dir or settings.home) / RELOADED_FILE).read_text()
    except OSError:
        return 0, ""
    count, _, outcome = text.strip().partition(" ")
    return (int(count), outcome) if count.isdigit() else (0, "")
