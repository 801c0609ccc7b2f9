"""Is there a newer release of this chatnut? Asked in the background, cached, never awaited.

The public package index's `chatnut` is another project (the original 0.4.x
this one grew from), so asking it would report its releases as ours
(`"latest": "0.4.2"`). This project's releases are wherever its operator
publishes them: `CHATNUT_UPDATE_URL` names a JSON answer in the package
index's shape (`{"releases": {"0.6.0": [...]}}`, what `/pypi/<name>/json`
serves on a private index). Without one there is no check, and `ping` says
nothing about updates.

`ping` reports `latest` and `update_available` only once an answer is in the
cache; a call never waits for the network, and an offline machine simply
never gets the two fields. CHATNUT_UPDATE_CHECK=0 turns the check off.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from typing import Any

from packaging.version import InvalidVersion, Version

from chatnut import __version__
from chatnut.shapes.health import UpdateInfo

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 3.0
REFRESH_SECONDS = 6 * 3600


def newest_release(payload: dict[str, Any]) -> Version | None:
    """The highest non-yanked, non-pre-release version in an index JSON answer."""
    best: Version | None = None
    for text, files in (payload.get("releases") or {}).items():
        try:
            version = Version(text)
        except InvalidVersion:
            continue
        if version.is_prerelease or version.is_devrelease:
            continue
        if files and all(f.get("yanked") for f in files):
            continue
        if best is None or version > best:
            best = version
    return best


class UpdateChecker:
    def __init__(self, enabled: bool, url: str | None, current: str = __version__) -> None:
        # No place to ask (the default): no check at all, rather than someone else's answer.
        self.enabled = enabled and url is not None
        self.url = url or ""
        self.current = Version(current)
        self._latest: Version | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()
        self._running = False

    def info(self) -> UpdateInfo:
        """What is known now (possibly nothing); starts a refresh when the cache is stale."""
        if not self.enabled:
            return {}
        if time.monotonic() - self._checked_at > REFRESH_SECONDS or self._checked_at == 0.0:
            self.refresh_in_background()
        if self._latest is None:
            return {}
        return {"latest": str(self._latest), "update_available": self._latest > self.current}

    def refresh_in_background(self) -> None:
        with self._lock:
            if self._running or not self.enabled:
                return
            self._running = True
        threading.Thread(target=self._refresh, name="chatnut-update-check", daemon=True).start()

    def _refresh(self) -> None:
        try:
            request = urllib.request.Request(self.url, headers={"Accept": "application/json"})
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                payload = json.loads(response.read(4 * 1024 * 1024))
            self._latest = newest_release(payload)
        except Exception as exc:  # offline, blocked, malformed: stay silent
            log.debug("update check failed: %s", exc)
        finally:
            self._checked_at = time.monotonic()
            with self._lock:
                self._running = False
