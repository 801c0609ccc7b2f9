"""Slow, idle and unauthenticated clients cannot hold the server.

uvicorn times out an idle keep-alive connection, but not one that never
finishes its request headers: 1 100 half-open connections used up every file
descriptor, and trickled headers held a connection for as long as the client
liked. `GuardedHttp` is uvicorn's httptools protocol plus these bounds:

* headers must be complete within `header_seconds` of a request's first byte
  (or of the connection, or of the last answer), else the connection is
  closed;
* request headers are at most MAX_HEADER_BYTES (httptools has no limit);
* a connection is *trusted* once one of its requests authenticated (the
  authentication guard calls the `chatnut.trust` hook in the request's
  scope; on a server without a token every request does). Until then it is
  a stranger's, and strangers share their own smaller cap
  (`max_untrusted`) and a per-address cap (`max_untrusted_per_address`):
  past either, a stranger's connection is closed to make room, even one
  being answered — first those whose request was already answered (a
  flood's refused requests), then the oldest. A flood without the token
  churns only its own slots;
* at most `max_connections` connections are open: past that, a stranger's
  connection goes first, then the one idle longest — waiting for headers or
  between keep-alive requests, never a trusted one being answered (a
  stream, a parked wait); with none of those, the new one is closed.

Request bodies get their own deadline in security/limits.py.
The process raises its open-file limit to the hard limit at start, so the
connection bound, not the descriptor table, is what a flood meets.
"""

from __future__ import annotations

import asyncio
import json
import resource
import time
from typing import Any, ClassVar, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from chatnut import metrics

MAX_HEADER_BYTES = 64 * 1024
# Descriptors kept for everything else: the database and its WAL, the log,
# the listening socket, worker pipes.
RESERVED_FILES = 256
MOST_CONNECTIONS = 16_384
# The scope key of the hook the authentication guard calls.
TRUST_HOOK = "chatnut.trust"


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


def untrusted_bounds(total: int, configured: int = 0, per_address: int = 0) -> tuple[int, int]:
    """The strangers' caps: (all of them, from one address); 0 means the default.

    By default strangers get a quarter of the connections (at least 16, at most
    half), and one address a sixteenth of that (at least 8: a browser's first
    visit opens about six at once).
    """
    strangers = configured or min(max(16, total // 4), max(1, total // 2))
    strangers = min(strangers, total)
    one_address = per_address or max(8, strangers // 16)
    return strangers, min(one_address, strangers)


class Pool:
    """Connections in the order they are to be closed: those already answered
    (they had their say, and a flood's refused requests end up here) before
    those still waiting for theirs, each oldest first."""

    def __init__(self) -> None:
        self.answered: dict[GuardedHttp, None] = {}
        self.waiting: dict[GuardedHttp, None] = {}

    def __len__(self) -> int:
        return len(self.answered) + len(self.waiting)

    def first(self) -> GuardedHttp | None:
        return next(iter(self.answered), None) or next(iter(self.waiting), None)

    def discard(self, connection: GuardedHttp) -> None:
        self.answered.pop(connection, None)
        self.waiting.pop(connection, None)


class Strangers:
    """The open connections no request has authenticated yet: all, and per address."""

    def __init__(self) -> None:
        self.all = Pool()
        self.by_address: dict[str, Pool] = {}

    def _pools(self, connection: GuardedHttp) -> tuple[Pool, Pool]:
        return self.all, self.by_address.setdefault(connection.address, Pool())

    def add(self, connection: GuardedHttp) -> None:
        for pool in self._pools(connection):
            pool.waiting[connection] = None

    def answered(self, connection: GuardedHttp) -> None:
        if connection in self.all.waiting:
            for pool in self._pools(connection):
                del pool.waiting[connection]
                pool.answered[connection] = None

    def remove(self, connection: GuardedHttp) -> None:
        if connection in self.all.waiting or connection in self.all.answered:
            for pool in self._pools(connection):
                pool.discard(connection)
            if not self.by_address[connection.address]:
                del self.by_address[connection.address]

    def first(self, address: str | None = None) -> GuardedHttp | None:
        """The stranger to close first (of one address, or of all)."""
        pool = self.all if address is None else self.by_address.get(address)
        return pool.first() if pool is not None else None

    def count(self, address: str | None = None) -> int:
        pool = self.all if address is None else self.by_address.get(address)
        return len(pool) if pool is not None else 0


class GuardedHttp(HttpToolsProtocol):
    # Set per server by `guarded_http`.
    max_connections: ClassVar[int] = 1000
    max_untrusted: ClassVar[int] = 250
    max_untrusted_per_address: ClassVar[int] = 16
    header_seconds: ClassVar[float]  # the header deadline (settings: header_timeout)
    strangers: ClassVar[Strangers] = Strangers()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None
        self._header_bytes = 0
        self._idle_since: float | None = time.monotonic()
        self.trusted = False
        self.address = ""

    # -- idle / header phase ---------------------------------------------------

    def _arm(self) -> None:
        if self._header_deadline is None:
            self._header_deadline = self.loop.call_later(self.header_seconds, self._too_slow)

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
        self.address = self.client[0] if self.client else ""
        self.strangers.add(self)
        self._arm()
        # A stranger past a strangers' cap pushes out another stranger: one
        # already answered before one still waiting, the oldest first.
        if self.strangers.count(self.address) > self.max_untrusted_per_address:
            self._evict(self.strangers.first(self.address))
        if self.strangers.count() > self.max_untrusted:
            self._evict(self.strangers.first())
        if len(self.connections) > self.max_connections and not self._make_room():
            metrics.refused("too_many_connections")
            self._evict(self)

    def _evict(self, connection: GuardedHttp | None) -> None:
        if connection is None:
            return
        connection._disarm()
        metrics.CONNECTIONS_EVICTED.inc()
        connection.transport.close()
        # Counted out now: the transport tells connection_lost only later.
        self.connections.discard(connection)
        self.strangers.remove(connection)

    def _make_room(self) -> bool:
        stranger = self.strangers.first()
        if stranger is not None and stranger is not self:
            self._evict(stranger)
            return True
        idle = [
            c
            for c in self.connections
            if isinstance(c, GuardedHttp) and c is not self and c._idle_since is not None
        ]
        if not idle:
            return False
        self._evict(min(idle, key=lambda c: c._idle_since or 0.0))
        return True

    def trust(self) -> None:
        """A request on this connection authenticated: it is no stranger's any more."""
        if not self.trusted:
            self.trusted = True
            self.strangers.remove(self)

    def data_received(self, data: bytes) -> None:
        in_head = self._idle_since is not None
        super().data_received(data)
        if in_head and self._idle_since is not None:  # the head is still not complete
            self._header_bytes += len(data)
            if self._header_bytes > MAX_HEADER_BYTES and not self.transport.is_closing():
                self._disarm()
                self.send_400_response("Request headers too large.")

    def send_400_response(self, msg: str) -> None:
        """A request refused before it reached the app (unparsable, or headers
        past the bound) still gets the one JSON error shape every answer has."""
        body = json.dumps({"error": {"code": "bad_request", "message": msg}}).encode()
        head = [b"HTTP/1.1 400 Bad Request\r\n"]
        for name, value in self.server_state.default_headers:
            head.extend([name, b": ", value, b"\r\n"])
        head.append(
            b"content-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n"
            % len(body)
        )
        self.transport.write(b"".join(head) + body)
        self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        scope = cast(dict[str, Any], self.scope)
        scope.setdefault("extensions", {})[TRUST_HOOK] = self.trust
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        self._idle_since = None
        self._header_bytes = 0
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self.strangers.answered(self)
        self._idle_since = time.monotonic()  # uvicorn's keep-alive timer runs now
        # uvicorn's keep-alive timer stops at every byte, also the bytes of a body
        # left unread by an early answer: the header deadline bounds those.
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        metrics.CONNECTIONS.dec()
        self.strangers.remove(self)
        super().connection_lost(exc)


def guarded_http(
    max_connections: int,
    max_untrusted: int = 0,
    max_untrusted_per_address: int = 0,
    *,
    header_seconds: float,
) -> type[GuardedHttp]:
    """The protocol class for one server, with its connection caps and header deadline."""
    strangers, per_address = untrusted_bounds(
        max_connections, max_untrusted, max_untrusted_per_address
    )
    return type(
        "GuardedHttp",
        (GuardedHttp,),
        {
            "max_connections": max_connections,
            "max_untrusted": strangers,
            "max_untrusted_per_address": per_address,
            "header_seconds": header_seconds,
            "strangers": Strangers(),
        },
    )
