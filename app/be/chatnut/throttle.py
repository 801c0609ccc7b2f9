"""Failed authentication, slowed per client address.

A token on a public bind is guessed, not stolen, when guessing is free: an
address that fails LIMIT times within WINDOW seconds is answered 429 for
PENALTY seconds, whatever it sends, and the log says so once per address and
penalty. Counted per process (each worker of a team server keeps its own),
in memory bounded by MAX_ADDRESSES (the least recently failing go first).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable

log = logging.getLogger(__name__)

LIMIT = 10
WINDOW = 60.0
PENALTY = 60.0
MAX_ADDRESSES = 10_000


class AuthThrottle:
    def __init__(
        self,
        limit: int = LIMIT,
        window: float = WINDOW,
        penalty: float = PENALTY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.penalty = penalty
        self.clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._blocked: dict[str, float] = {}

    def blocked_for(self, address: str) -> float:
        """Seconds this address is still refused (0: not refused)."""
        until = self._blocked.get(address)
        if until is None:
            return 0.0
        left = until - self.clock()
        if left <= 0:
            del self._blocked[address]
            return 0.0
        return left

    def failed(self, address: str) -> None:
        now = self.clock()
        times = self._failures.pop(address, None) or deque()
        times.append(now)
        while times and times[0] <= now - self.window:
            times.popleft()
        self._failures[address] = times
        if len(self._failures) > MAX_ADDRESSES:
            self._failures.popitem(last=False)
        if len(times) >= self.limit and address not in self._blocked:
            self._blocked[address] = now + self.penalty
            times.clear()
            log.warning(
                "%d failed authentications from %s within %.0f s: refused for %.0f s",
                self.limit,
                address,
                self.window,
                self.penalty,
            )
