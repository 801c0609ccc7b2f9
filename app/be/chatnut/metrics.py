"""Every Prometheus series the server exports, declared once (docs/operating.md lists them).

The metrics are declared here, at module level, and the code that does the
work bumps them (a counter increment is a few hundred nanoseconds; nothing
here touches the database or awaits). `exposition()` renders the text a
scrape gets.

Several workers: prometheus-client's multiprocess mode. Each process writes
its values to memory-mapped files in one directory ($CHATNUT_HOME's
`metrics/`, emptied when the server starts) and a scrape, answered by
whichever worker the kernel hands it to, reads every process's files: the
whole server on every scrape, never one worker's view. The mode is fixed
when a metric's values are created, so each metric is created on first use
(`Declared`), and `started()` creates them all in each worker as it starts:
after serve.py has chosen the mode (`use_directory`), however early this
module was imported. Gauges say how processes combine: `livesum` for what each worker
holds (streams, waits, connections), `livemax` for what every worker
measures the same way (rows in `events`, the slowest event loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import shutil
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    values,
)

from chatnut import __version__

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
SAMPLE_EVERY_SECONDS = 1.0

# Latency buckets for calls that are usually milliseconds but may park (60 s).
CALL_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
WAKE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


def use_directory(path: Path) -> None:
    """Share values between processes through `path` (emptied first); before any metric exists."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(mode=0o700, parents=True)
    os.environ[MULTIPROC_ENV] = str(path)
    # The value class is picked when prometheus_client is first imported; pick again.
    values.ValueClass = values.get_value_class()


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


_DECLARED: list[Declared] = []


class Declared:
    """A metric declared now and created on first use (see the module's note)."""

    def __init__(self, kind: Any, name: str, doc: str, labels: Any = (), **options: Any) -> None:
        self.kind, self.name, self.doc, self.label_names = kind, name, doc, tuple(labels)
        self.options = options
        self._metric: Any = None
        _DECLARED.append(self)

    @property
    def metric(self) -> Any:
        if self._metric is None:
            self._metric = self.kind(self.name, self.doc, self.label_names, **self.options)
        return self._metric

    def labels(self, *values: str) -> Any:
        return self.metric.labels(*values)

    def inc(self, amount: float = 1) -> None:
        self.metric.inc(amount)

    def dec(self, amount: float = 1) -> None:
        self.metric.dec(amount)

    def set(self, value: float) -> None:
        self.metric.set(value)

    def observe(self, value: float) -> None:
        self.metric.observe(value)


MCP_CALLS = Declared(
    Counter,
    "chatnut_mcp_calls",
    "MCP tool calls, by tool and outcome (ok, error).",
    ["tool", "outcome"],
)
MCP_CALL_SECONDS = Declared(
    Histogram,
    "chatnut_mcp_call_seconds",
    "How long an MCP tool call took (a parked wait counts its wait).",
    ["tool"],
    buckets=CALL_BUCKETS,
)
HTTP_REQUESTS = Declared(
    Counter,
    "chatnut_http_requests",
    "HTTP requests, by route (its template) and status; /mcp counts here too.",
    ["route", "status"],
)
HTTP_REQUEST_SECONDS = Declared(
    Histogram,
    "chatnut_http_request_seconds",
    "How long a request took, to its last byte (event streams are not timed).",
    ["route"],
    buckets=CALL_BUCKETS,
)
SSE_STREAMS = Declared(
    Gauge, "chatnut_sse_streams", "Event streams open now.", multiprocess_mode="livesum"
)
PARKED = Declared(
    Gauge,
    "chatnut_parked",
    "Calls parked now: wait_for_messages (kind=wait) and check_inbox long-polls (kind=inbox).",
    ["kind"],
    multiprocess_mode="livesum",
)
WAKE_SECONDS = Declared(
    Histogram,
    "chatnut_wake_seconds",
    "From a message's commit to a parked waiter's answer carrying it.",
    buckets=WAKE_BUCKETS,
)
POSTS = Declared(Counter, "chatnut_posts", "Messages committed (posted by this server's callers).")
PG_BATCH_SIZE = Declared(
    Histogram,
    "chatnut_pg_batch_size",
    "Posts committed together in one PostgreSQL transaction (group commit).",
    buckets=BATCH_BUCKETS,
)
LISTEN_RECONNECTS = Declared(
    Counter,
    "chatnut_listen_reconnects",
    "LISTEN connections re-established after a loss (PostgreSQL).",
)
CATCH_UPS = Declared(
    Counter,
    "chatnut_catch_ups",
    "Catch-up reads of the events table (a NOTIFY, a reconnection, a gap).",
)
EVENT_GAPS = Declared(
    Counter,
    "chatnut_event_gaps",
    "Times this process found events it needed already pruned, and resynced its streams.",
)
EVENT_ROWS = Declared(
    Gauge,
    "chatnut_events_rows",
    "Rows in the PostgreSQL events table (measured when it is pruned).",
    multiprocess_mode="livemax",
)
POOL_CONNECTIONS = Declared(
    Gauge,
    "chatnut_pool_connections",
    "Database connections of the pools, by state (in_use, total).",
    ["state"],
    multiprocess_mode="livesum",
)
LOOP_LAG = Declared(
    Gauge,
    "chatnut_event_loop_lag_seconds",
    "How late the event loop ran a timer, the worst worker's last sample.",
    multiprocess_mode="livemax",
)
RENDER_FALLBACKS = Declared(
    Counter,
    "chatnut_render_fallbacks",
    "Messages shown as escaped text because rendering them ran past its time budget.",
)
REFUSALS = Declared(
    Counter,
    "chatnut_refusals",
    "Requests refused, by reason (host, origin, auth, throttle, size, cap, header, timeout).",
    ["reason"],
)
CONNECTIONS = Declared(
    Gauge, "chatnut_connections", "Client connections open now.", multiprocess_mode="livesum"
)
CONNECTIONS_EVICTED = Declared(
    Counter,
    "chatnut_connections_evicted",
    "Connections closed to make room (over the cap) or for sending headers too slowly.",
)
READY = Declared(
    Gauge,
    "chatnut_ready",
    "1 while every worker would answer /readyz with 200, else 0 (sampled every second).",
    multiprocess_mode="livemin",
)
BUILD_INFO = Declared(
    Gauge,
    "chatnut_build_info",
    "This server's version and Python, always 1.",
    ["version", "python"],
    multiprocess_mode="livemax",
)

# The one-word reason of each refusal code the security checks answer with.
REFUSAL_REASONS = {
    "forbidden_host": "host",
    "forbidden_origin": "origin",
    "unauthorized": "auth",
    "link_expired": "auth",
    "too_many_failures": "throttle",
    "throttled": "throttle",
    "body_too_large": "size",
    "body_timeout": "timeout",
    "duplicate_header": "header",
    "too_many_waits": "cap",
    "too_many_streams": "cap",
    "too_many_connections": "cap",
}


def refused(code: str) -> None:
    reason = REFUSAL_REASONS.get(code)
    if reason is not None:
        REFUSALS.labels(reason).inc()


def started() -> None:
    """Create every metric (a scrape names each series from the start) and say the build."""
    for declared in _DECLARED:
        _ = declared.metric
    BUILD_INFO.labels(__version__, platform.python_version()).set(1)


def exposition() -> bytes:
    """The whole server's metrics in Prometheus' text format."""
    if not multiprocess():
        return bytes(generate_latest(REGISTRY))
    from prometheus_client import multiprocess as mp

    registry = CollectorRegistry()
    mp.MultiProcessCollector(registry)
    return bytes(generate_latest(registry))


def process_gone(pid: int) -> None:
    """A worker exited: its live gauges stop counting (its counters keep their totals)."""
    if multiprocess():
        from prometheus_client import multiprocess as mp

        with contextlib.suppress(OSError):
            mp.mark_process_dead(pid)


async def sample(pool_usage: Any, readiness: Any) -> None:
    """Every second: the event loop's lag, the pools' connections (in use, total) and
    whether this process is ready (`readiness()`: None when it is)."""
    loop = asyncio.get_running_loop()
    while True:
        before = loop.time()
        await asyncio.sleep(SAMPLE_EVERY_SECONDS)
        LOOP_LAG.set(max(loop.time() - before - SAMPLE_EVERY_SECONDS, 0.0))
        with contextlib.suppress(Exception):
            in_use, total = pool_usage()
            POOL_CONNECTIONS.labels("in_use").set(in_use)
            POOL_CONNECTIONS.labels("total").set(total)
        try:
            READY.set(1 if await readiness() is None else 0)
        except Exception:
            READY.set(0)


def woke(messages: Sequence[Mapping[str, Any]]) -> None:
    """A parked waiter answers with these messages: how long since each committed."""
    now = time.time()
    for message in messages:
        with contextlib.suppress(KeyError, TypeError, ValueError):
            created = datetime.fromisoformat(message["created_at"]).timestamp()
            WAKE_SECONDS.observe(max(now - created, 0.0))
