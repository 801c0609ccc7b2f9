"""`chatnut db copy SRC DST`: a whole database from one backend to another, ids kept.

What is copied is the data: every table of the source's schema except what
each backend derives from it (search indexes, per-room counters kept by
triggers, the migrations record), which the destination rebuilds for itself
as the rows arrive. Rows keep their ids, timestamps and every column; the
message id sequence is then set to the source's high-water mark (never
below it: an id deleted at the top is not handed out again).

The order of work:
1. both sides are brought to the current schema by their own store
   (`open` migrates), except that a destination holding any row is refused
   before anything touches it;
2. the source is read in one snapshot (a read transaction), the destination
   written in one transaction: a failure leaves it as empty as it was;
3. each table is counted again on both sides after the commit, and the
   counts are what the command prints.

Each backend provides a `Tables` (store/<backend>/tables.py, implementing
store/tables.py's interface) with its own SQL; this module never asks which
backend it is on, and the backends never import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from chatnut.store import is_url
from chatnut.store.tables import CopyError, Tables

# Parents before children (foreign keys); tables not named here follow, by name.
FIRST_TABLES = ("rooms", "messages")
# Tables whose rows the destination's triggers make as their parents arrive
# (a receipt row per `to` name of each message, empty): those are let go
# before the source's own rows, stamps and all, are written.
REMADE_BY_TRIGGERS = ("receipts",)


def tables_for(location: str | Path) -> Tables:
    if is_url(location):
        from chatnut.store.postgres.tables import PostgresTables

        return PostgresTables(str(location))
    from chatnut.store.sqlite.tables import SqliteTables

    return SqliteTables(Path(location))


@dataclass(frozen=True)
class Copied:
    table: str
    source_rows: int
    destination_rows: int


def _ordered(tables: list[str]) -> list[str]:
    first = [t for t in FIRST_TABLES if t in tables]
    return first + sorted(t for t in tables if t not in FIRST_TABLES)


async def _non_empty(tables: Tables) -> dict[str, int]:
    counts = {}
    for table in await tables.data_tables():
        rows = await tables.count(table)
        if rows:
            counts[table] = rows
    return counts


async def migrate(location: str | Path) -> None:
    """Bring a database to the current schema through its own store."""
    from chatnut.store import open_store

    store = open_store(location)
    await store.open()
    await store.close()


async def copy_database(source: str | Path, destination: str | Path) -> list[Copied]:
    if str(source) == str(destination):
        raise CopyError("source and destination are the same database")
    dst = tables_for(destination)
    await dst.connect()
    try:
        occupied = await _non_empty(dst)
    finally:
        await dst.close()
    if occupied:
        held = ", ".join(f"{table}: {rows}" for table, rows in occupied.items())
        raise CopyError(
            f"{dst.location} already holds data ({held}); db copy only fills an empty database"
        )
    await migrate(source)
    await migrate(destination)
    src = tables_for(source)
    await src.connect()
    await dst.connect()
    try:
        return await _copy(src, dst)
    finally:
        await src.close()
        await dst.close()


async def _copy(src: Tables, dst: Tables) -> list[Copied]:
    names = _ordered(await src.data_tables())
    known = set(await dst.data_tables())
    missing = [t for t in names if t not in known]
    if missing:
        raise CopyError(
            f"{dst.location} has no table {', '.join(missing)}: is it an older chatnut's schema?"
        )
    await src.begin_snapshot()
    await dst.begin_write()
    counted: dict[str, int] = {}
    written: dict[str, int] = {}
    try:
        if await _non_empty(dst):  # filled since the check above: still refuse
            raise CopyError(f"{dst.location} received data while the copy began; nothing copied")
        for table in names:
            columns = await src.columns(table)
            absent = set(columns) - set(await dst.columns(table))
            if absent:
                raise CopyError(
                    f"{dst.location}'s {table} has no column {', '.join(sorted(absent))}"
                )
            counted[table] = await src.count(table)  # in the snapshot being copied
            written[table] = 0
            if table in REMADE_BY_TRIGGERS:
                await dst.clear(table)
            async for rows in src.read(table, columns):
                await dst.write(table, columns, rows)
                written[table] += len(rows)
        await dst.set_message_id_high_water(await src.message_id_high_water())
        await dst.commit()
    except BaseException:
        await dst.rollback()
        raise
    finally:
        await src.rollback()  # ends the read snapshot
    copied = [Copied(table, counted[table], await dst.count(table)) for table in names]
    for entry in copied:
        if not entry.source_rows == entry.destination_rows == written[entry.table]:
            raise CopyError(
                f"{entry.table}: {entry.source_rows} rows in the source but "
                f"{entry.destination_rows} in the destination after the copy"
            )
    return copied
