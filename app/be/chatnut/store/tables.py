"""Raw row access to one database, for `chatnut db copy` (store/copy.py, store/merge.py).

The interface each backend's tables.py implements, apart from the copy that
drives it: the backends import this module, the copy imports the backends,
and nothing imports back.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from typing import Any

BATCH_ROWS = 1000


class CopyError(Exception):
    """A refusal or failure, said in one line."""


class Tables(ABC):
    """Raw row access to one database, for copying (not for serving)."""

    location: str

    @abstractmethod
    async def connect(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def refuse_if_served(self) -> None:
        """Raise when a chatnut server has this database open; while this
        connection lasts, keep one from opening it where the backend can."""

    @abstractmethod
    async def data_tables(self) -> list[str]:
        """The tables that hold data (not derived ones, not the migrations record)."""

    @abstractmethod
    async def columns(self, table: str) -> list[str]: ...

    @abstractmethod
    async def count(self, table: str) -> int: ...

    @abstractmethod
    async def message_id_high_water(self) -> int:
        """The largest message id ever handed out (0 when none)."""

    @abstractmethod
    async def begin_snapshot(self) -> None:
        """Start a read transaction: every read until `end` sees one moment."""

    @abstractmethod
    def read(self, table: str, columns: Sequence[str]) -> AsyncIterator[list[tuple[Any, ...]]]:
        """The rows of `table` in batches, in primary-key order."""

    @abstractmethod
    async def begin_write(self) -> None: ...

    @abstractmethod
    async def clear(self, table: str) -> None:
        """Delete every row of `table` (in the write transaction)."""

    @abstractmethod
    async def write(
        self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
    ) -> None: ...

    @abstractmethod
    async def delete_from(self, table: str, column: str, first: int) -> None:
        """Delete the rows of `table` whose `column` is `first` or more."""

    @abstractmethod
    async def upsert(
        self,
        table: str,
        columns: Sequence[str],
        key: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
    ) -> None:
        """Insert rows, replacing every column of a row with the same `key`."""

    @abstractmethod
    async def set_message_id_high_water(self, value: int) -> None: ...

    @abstractmethod
    async def commit(self) -> None: ...

    @abstractmethod
    async def rollback(self) -> None: ...
