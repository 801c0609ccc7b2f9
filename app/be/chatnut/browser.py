"""Open the web UI for a human, only where there is a human to see it."""

from __future__ import annotations

import logging
import os
import sys
import threading
import webbrowser

log = logging.getLogger(__name__)


def has_display() -> bool:
    if sys.platform == "darwin":
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def open_in_background(url: str) -> None:
    """webbrowser.open may block for seconds; a tool call must never wait for it."""

    def run() -> None:
        try:
            webbrowser.open(url, new=2)
        except Exception as exc:  # a missing browser is not the agent's problem
            log.info("could not open a browser for %s: %s", url, exc)

    threading.Thread(target=run, name="chatnut-open-browser", daemon=True).start()
