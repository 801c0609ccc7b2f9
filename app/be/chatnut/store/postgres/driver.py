"""The PostgreSQL driver, asyncpg, and what its failures mean to a caller.

asyncpg was measured against psycopg 3 on the post path (bench/pg_drivers.py:
the same one-statement `chatnut_post` through a pool of 4 connections): p50
1.4 ms against 3.9 ms, p99 33 ms against 60 ms on the shared 2-core machine,
32-poster throughput alike (~450/s, bound by the write lock). It speaks the
binary protocol and prepares statements by itself; psycopg's cost is its
Python-side adaptation per call.

It is an optional extra (`pip install 'chatnut[postgres]'`): without it, a
postgresql:// URL is refused in one line that says what to install.
"""

from __future__ import annotations

import logging
from typing import Any

from chatnut.errors import StorageUnavailable
from chatnut.store.base import StoreOpenError
from chatnut.store.location import printable

INSTALL = "pip install 'chatnut[postgres]'"

try:
    import asyncpg
except ImportError:  # pragma: no cover - exercised by a subprocess test
    asyncpg = None


class OneLineOutages(logging.Filter):
    """The driver's own warnings about an outage (its pool reconnecting while the
    database restarts) as one line each, not a traceback each."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None and is_outage(record.exc_info[1]):
            text = " ".join(str(record.exc_info[1]).split()) or type(record.exc_info[1]).__name__
            record.msg = f"{record.getMessage()} ({text})"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


# A filter on a logger sees only that logger's own records: the pool's too.
for _name in ("asyncpg", "asyncpg.pool", "asyncpg.connection"):
    logging.getLogger(_name).addFilter(OneLineOutages())


def require_driver() -> Any:
    if asyncpg is None:
        raise StoreOpenError(f"a postgresql:// database needs the PostgreSQL driver: {INSTALL}")
    return asyncpg


def is_outage(exc: BaseException) -> bool:
    """The database is not there (down, restarting, unreachable) or no longer lets
    this server in (its password was changed before the server was told), as
    opposed to a refusal of one request."""
    if asyncpg is None:
        return False
    return isinstance(
        exc,
        (
            OSError,
            TimeoutError,
            asyncpg.PostgresConnectionError,
            asyncpg.InterfaceError,
            asyncpg.CannotConnectNowError,
            asyncpg.AdminShutdownError,
            asyncpg.CrashShutdownError,
            asyncpg.ConnectionFailureError,
            asyncpg.InvalidAuthorizationSpecificationError,
            # A connection the server ended mid-transaction can leave the
            # driver's protocol state inconsistent: the next call on it, or its
            # release to the pool, says "cannot switch to state N".
            asyncpg.InternalClientError,
        ),
    )


def unavailable(exc: BaseException) -> StorageUnavailable:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return StorageUnavailable(f"the database is unavailable ({text}); try again shortly")


def safe_location(url: str) -> str:
    """The URL without its password, for logs, ping and /api/status."""
    return printable(url)
