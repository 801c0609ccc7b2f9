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

from typing import Any

from chatnut.errors import StorageUnavailable
from chatnut.store.base import StoreOpenError
from chatnut.store.location import printable

INSTALL = "pip install 'chatnut[postgres]'"

try:
    import asyncpg
except ImportError:  # pragma: no cover - exercised by a subprocess test
    asyncpg = None


def require_driver() -> Any:
    if asyncpg is None:
        raise StoreOpenError(f"a postgresql:// database needs the PostgreSQL driver: {INSTALL}")
    return asyncpg


def is_outage(exc: BaseException) -> bool:
    """The database is not there (down, restarting, unreachable), as opposed to a refusal."""
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
        ),
    )


def unavailable(exc: BaseException) -> StorageUnavailable:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return StorageUnavailable(f"the database is unavailable ({text}); try again shortly")


def safe_location(url: str) -> str:
    """The URL without its password, for logs, ping and /api/status."""
    return printable(url)
