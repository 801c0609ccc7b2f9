"""Slow and idle clients cannot hold the server (SPEC §9).

uvicorn times out an idle keep-alive connection, but not one that never
finishes its request headers: 1 100 half-open connections used up every file
descriptor, and trickled headers held a connection for as long as the client
liked. `GuardedHttp` is uvicorn's httptools protocol plus three bounds:

* headers must be complete within HEADER_SECONDS of a request's first byte
  (or of the connection, for a client that sends nothing), else the
  connection is closed;
* request headers are at most MAX_HEADER_BYTES (httptools has no limit);
* at most `max_connections` connections are open: past that, the connection
  that has been idle longest — waiting for headers or between keep-alive
  requests, never one being answered (a stream, a parked wait) — is closed to
  make room; with none idle, the new one is closed.

Request bodies get their own deadline in SecurityMiddleware (BODY_SECONDS).
The process raises its open-file limit to the hard limit at start, so the
connection bound, not the descriptor table, is what a flood meets.
"""

from __future__ import annotations

import asyncio
import resource
import time
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from chatnut import metrics

# Generous: a busy client may open a connection and only get round to using it
# seconds later; the connection cap, not this, is what stops a flood.
HEADER_SECONDS = 30.0
MAX_HEADER_BYTES = 64 * 1024
# Descriptors kept for everything else: the database and its WAL, the log,
# the listening socket, worker pipes.
RESERVED_FILES = 256
MOST_CONNECTIONS = 16_384


def raise_file_limit() -> int:
    """Lift the soft open-file limit to the hard one; the resulting soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 65_536)
    if wanted > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            pass
    return soft


def connection_bound(configured: int) -> int:
    """The connection cap: the setting, or (0) what the descriptor limit allows."""
    files = raise_file_limit()
    room = max(64, files - RESERVED_FILES)
    return min(configured, room) if configured else min(room, MOST_CONNECTIONS)


class GuardedHttp(HttpToolsProtocol):
    max_connections = 1000  # set per server by `guarded_http`

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None
        self._header_bytes = 0
        self._idle_since: float | None = time.monotonic()

    # -- idle / header phase ---------------------------------------------------

    def _arm(self) -> None:
        if self._header_deadline is None:
            self._header_deadline = self.loop.call_later(HEADER_SECONDS, self._too_slow)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _too_slow(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            metrics.CONNECTIONS_EVICTED.inc()
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        metrics.CONNECTIONS.inc()
        if len(self.connections) > self.max_connections and not self._make_room():
            metrics.refused("too_many_connections")
            transport.close()
            return
        self._arm()

    def _make_room(self) -> bool:
        idle = [
            c
            for c in self.connections
            if isinstance(c, GuardedHttp) and c is not self and c._idle_since is not None
        ]
        if not idle:
            return False
        oldest = min(idle, key=lambda c: c._idle_since or 0.0)
        metrics.CONNECTIONS_EVICTED.inc()
        oldest.transport.close()
        self.connections.discard(oldest)
        return True

    def data_received(self, data: bytes) -> None:
        in_head = self._idle_since is not None
        super().data_received(data)
        if in_head and self._idle_since is not None:  # the head is still not complete
            self._header_bytes += len(data)
            if self._header_bytes > MAX_HEADER_BYTES and not self.transport.is_closing():
                self._disarm()
                self.send_400_response("Request headers too large.")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        self._idle_since = None
        self._header_bytes = 0
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._idle_since = time.monotonic()  # uvicorn's keep-alive timer runs now

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        metrics.CONNECTIONS.dec()
        super().connection_lost(exc)


def guarded_http(max_connections: int) -> type[GuardedHttp]:
    """The protocol class for one server, with its connection cap."""
    return type("GuardedHttp", (GuardedHttp,), {"max_connections": max_connections})
