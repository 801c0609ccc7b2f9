"""Storage: one interface (base.Store), one package per backend.

`open_store` is the one place that looks at the database's name to pick a
backend: a `postgresql://` URL is PostgreSQL (store/postgres/), anything
else a SQLite file path (store/sqlite/). Nothing else in chatnut asks which
backend it is on.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from chatnut.store.base import OnCommit, Store, StoreOpenError

__all__ = ["Store", "StoreOpenError", "is_url", "open_store", "shared_by_processes"]

URL_SCHEMES = ("postgresql://", "postgres://")


def is_url(location: str | Path) -> bool:
    return str(location).startswith(URL_SCHEMES)


def shared_by_processes(location: str | Path) -> bool:
    """Whether several server processes may serve this database (`--workers`):
    PostgreSQL delivers each one's commits to all; a SQLite file has one server."""
    return is_url(location)


def open_store(
    location: str | Path,
    *,
    on_commit: OnCommit | None = None,
    durability: str = "normal",
    owner: dict[str, Any] | None = None,
    on_resync: Callable[[], None] | None = None,
    keep_events: tuple[float, int] = (3600.0, 100_000),
    password: Callable[[], str | None] | None = None,
) -> Store:
    """The store for a path or URL (not opened yet: `await store.open()`).

    `owner` ({"port": ...}) is what a second server on the same SQLite file is
    told about the first. Shared by processes (PostgreSQL): `on_resync` is
    called when this process finds it missed events (they were pruned before
    it read them), `keep_events` (seconds, rows) bounds the events kept, and
    `password` (asked each time a connection opens) is the database password
    when it does not come from the URL or libpq (`--db-password-file`).
    """
    if is_url(location):
        from chatnut.store.postgres import PostgresStore  # the optional extra's driver

        return PostgresStore(
            str(location),
            on_commit=on_commit,
            on_resync=on_resync,
            keep_events=keep_events,
            password=password,
        )
    from chatnut.store.sqlite import SqliteStore

    return SqliteStore(Path(location), durability=durability, on_commit=on_commit, owner=owner)
