"""One worker of a team server in an interpreter of its own: what a reload starts.

The supervisor forks its first workers from itself (the app is imported once,
before the forks). A reload must run the code installed now instead — that
is how an upgrade is picked up — so each replacement is forked and then
exec'd as `python -m chatnut.worker`, keeping the descriptors it needs: the
listening sockets, the pipe it says "ready" on, and the home's lock. What to
do comes in one environment variable (never argv, which `ps` shows): the
`chatnut serve` flags to read the settings from again, and the numbers of
those descriptors.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys

from chatnut.worker_spawn import WORKER_SETTINGS_VAR


def main() -> int:
    from chatnut.log_relay import send_to_parent
    from chatnut.serve import configure_logging, run_server
    from chatnut.settings import load_settings
    from chatnut.supervisor import _watch_parent

    spec = json.loads(os.environ.pop(WORKER_SETTINGS_VAR))
    settings = load_settings(spec["overrides"])
    configure_logging(settings)
    if spec.get("log") is not None:
        # Like a forked worker: the supervisor alone writes the log file.
        send_to_parent(spec["log"])
    _watch_parent(spec["parent"])
    sockets = [socket.socket(fileno=fd) for fd in spec["sockets"]]
    ready_fd = spec["ready"]

    def ready() -> None:
        try:
            os.write(ready_fd, b"r")
            os.close(ready_fd)
        except OSError:
            pass

    # Until the server handles them, the supervisor's signals must not end us.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    return 0 if run_server(settings, sockets, spec["port"], ready) else 1


if __name__ == "__main__":
    sys.exit(main())
