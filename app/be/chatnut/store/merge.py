"""`chatnut db copy --merge SRC DST`: one database's history added to another's.

Where the plain copy fills an empty database, the merge adds SRC to a DST
that already serves (several laptops' histories onto one team server):

* rooms are matched by (project, name): a matched room keeps DST's id, name,
  status and description; an unmatched one comes across with SRC's row;
* messages get new ids after DST's high-water mark, in SRC's id order, with
  their timestamps, and `reply_to` (in the metadata) renumbered to the new
  ids; their addressees and receipts (every stamp) come along, renumbered;
* read cursors are renumbered to the new ids: a SRC cursor at message k
  becomes the new id of SRC's last message in that room at or below k (0
  when it read none of them). A cursor is a high-water mark, so where the
  same reader has a cursor in the same room on both sides, the further of
  the two positions, in DST's ids, is kept;
* statuses, registered agents and presence: where both sides have a row
  for the same (room, name), the newer one by its timestamp is kept;
* not merged: push delivery cursors (positions in SRC's ids, for channels
  that belong to SRC's server), idempotency keys (a retry window of SRC's
  server), claims (leases held on SRC's server; claim again on DST), and
  principals, tokens and their uses (DST's identities are never changed by
  a merge; a message keeps the name of the principal that posted it, as a
  record). Any other table with rows in SRC is refused: nothing dropped
  without a rule.

The whole merge is one write transaction on DST (all or nothing) that also
holds off posts while it runs; the counts are taken inside it and checked
against what was written after the commit.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatnut.store import is_url
from chatnut.store.copy import migrate, tables_for
from chatnut.store.tables import CopyError, Tables

# Per table: the key of a row, and the timestamp column that decides which of
# two rows with the same key is kept (the newer).
NEWER_WINS = {
    "room_status": (("room_id", "sender"), "updated_at"),
    "agent_registry": (("room_id", "agent_name"), "registered_at"),
    "presence": (("room_id", "name"), "last_seen_at"),
}
NOT_MERGED = {
    "delivery_cursors",
    "idempotency_keys",
    "claims",
    "principals",
    "tokens",
    "token_uses",
}
MERGED = {"rooms", "messages", "message_recipients", "receipts", "read_cursors", *NEWER_WINS}


@dataclass(frozen=True)
class Merged:
    table: str
    source_rows: int
    before: int
    added: int
    after: int
    note: str = ""


async def _rows(tables: Tables, table: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    columns = await tables.columns(table)
    found: list[tuple[Any, ...]] = []
    async for batch in tables.read(table, columns):
        found.extend(tuple(row) for row in batch)
    return columns, found


def _same(source: str | Path, destination: str | Path) -> bool:
    if is_url(source) or is_url(destination):
        return str(source) == str(destination)
    return Path(source).resolve() == Path(destination).resolve()  # ./a.db is /…/a.db


async def merge_database(source: str | Path, destination: str | Path) -> list[Merged]:
    if _same(source, destination):
        raise CopyError("source and destination are the same database")
    dst = tables_for(destination)
    await dst.connect()
    try:  # before migrating it: a served database is not touched at all
        await dst.refuse_if_served()
    finally:
        await dst.close()
    await migrate(source)
    await migrate(destination)
    src = tables_for(source)
    await src.connect()
    await dst.connect()
    try:
        await dst.refuse_if_served()
        return await _merge(src, dst)
    finally:
        await src.close()
        await dst.close()


async def _merge(src: Tables, dst: Tables) -> list[Merged]:
    unruled = []
    for table in await src.data_tables():
        if table not in MERGED and table not in NOT_MERGED and await src.count(table):
            unruled.append(table)
    if unruled:
        raise CopyError(
            f"{src.location} has rows in {', '.join(unruled)}, which no merge rule covers"
        )
    await src.begin_snapshot()
    await dst.begin_write()
    try:
        merged = await _write(src, dst)
        await dst.commit()
    except BaseException:
        await dst.rollback()
        raise
    finally:
        await src.rollback()  # ends the read snapshot
    for entry in merged:
        after = await dst.count(entry.table)
        if after != entry.before + entry.added or after != entry.after:
            raise CopyError(
                f"{entry.table}: {entry.before} rows before and {entry.added} added,"
                f" but {after} after the merge"
            )
    return merged


async def _write(src: Tables, dst: Tables) -> list[Merged]:
    before = {t: await dst.count(t) for t in MERGED}
    sources = {t: await src.count(t) for t in MERGED}
    added: dict[str, int] = {}
    notes: dict[str, str] = {}

    # Rooms: matched by (project, name), else created with SRC's row.
    columns, src_rooms = await _rows(src, "rooms")
    _, dst_rooms = await _rows(dst, "rooms")
    at = {c: i for i, c in enumerate(columns)}
    by_name = {(r[at["project"]], r[at["name"]]): r[at["id"]] for r in dst_rooms}
    taken = {r[at["id"]] for r in dst_rooms}
    room_ids: dict[str, str] = {}
    created = []
    for row in src_rooms:
        key = (row[at["project"]], row[at["name"]])
        if key in by_name:
            room_ids[row[at["id"]]] = by_name[key]
        elif row[at["id"]] in taken:
            raise CopyError(
                f"room id {row[at['id']]} is {key[0]}/{key[1]} in {src.location}"
                f" but another room in {dst.location}"
            )
        else:
            room_ids[row[at["id"]]] = row[at["id"]]
            created.append(row)
    if created:
        await dst.write("rooms", columns, created)
    added["rooms"] = len(created)
    notes["rooms"] = f"{len(src_rooms) - len(created)} matched by project and name"

    # Messages: new ids after DST's mark, in SRC's order; reply_to renumbered.
    high = await dst.message_id_high_water()
    columns, messages = await _rows(src, "messages")
    at = {c: i for i, c in enumerate(columns)}
    ids = {row[at["id"]]: high + n for n, row in enumerate(messages, start=1)}
    renumbered = []
    for row in messages:
        values = list(row)
        values[at["id"]] = ids[row[at["id"]]]
        values[at["room_id"]] = room_ids[row[at["room_id"]]]
        values[at["metadata"]] = _reply_renumbered(row[at["metadata"]], ids)
        renumbered.append(tuple(values))
    if renumbered:
        await dst.write("messages", columns, renumbered)
    added["messages"] = len(renumbered)
    notes["messages"] = f"new ids {high + 1}..{high + len(renumbered)}" if renumbered else ""

    def remap(row: tuple[Any, ...], at: dict[str, int]) -> tuple[Any, ...]:
        values = list(row)
        if "message_id" in at:
            values[at["message_id"]] = ids[row[at["message_id"]]]
        values[at["room_id"]] = room_ids[row[at["room_id"]]]
        return tuple(values)

    added["message_recipients"] = await _append(src, dst, "message_recipients", remap)
    added["read_cursors"], notes["read_cursors"] = await _cursors(src, dst, ids, room_ids)
    # The messages' triggers made empty receipts for the new ids; SRC's own
    # rows, stamps and all, take their place (after the cursors, whose
    # triggers would otherwise stamp them).
    if renumbered:
        await dst.delete_from("receipts", "message_id", high + 1)
    added["receipts"] = await _append(src, dst, "receipts", remap)
    for table, (key, stamp) in NEWER_WINS.items():
        added[table], notes[table] = await _newer_wins(src, dst, table, key, stamp, room_ids)

    skipped = [t for t in sorted(NOT_MERGED) if t in await src.data_tables()]
    merged = [
        Merged(t, sources[t], before[t], added[t], await dst.count(t), notes.get(t, ""))
        for t in ("rooms", "messages", "message_recipients", "receipts", "read_cursors")
    ]
    merged += [
        Merged(t, sources[t], before[t], added[t], await dst.count(t), notes[t]) for t in NEWER_WINS
    ]
    for entry in merged:
        # Every message, addressee and receipt of SRC is added; the rest may match.
        appended = entry.table in ("messages", "message_recipients", "receipts")
        if appended and entry.added != entry.source_rows:
            raise CopyError(
                f"{entry.table}: {entry.source_rows} rows in the source but {entry.added} added"
            )
        if entry.after != entry.before + entry.added:
            raise CopyError(
                f"{entry.table}: {entry.before} rows before and {entry.added} added,"
                f" but {entry.after} in the merge"
            )
    for table in skipped:
        count = await src.count(table)
        merged.append(Merged(table, count, 0, 0, await dst.count(table), "not merged"))
    # Last, as PostgreSQL's sequences are outside the transaction: a failure
    # before this point leaves DST's next id where it was.
    await dst.set_message_id_high_water(high + len(renumbered))
    return merged


def _reply_renumbered(metadata: Any, ids: dict[int, int]) -> Any:
    if not metadata:
        return metadata
    data = json.loads(metadata)
    if not isinstance(data, dict) or "reply_to" not in data:
        return metadata
    old = data["reply_to"]
    if old not in ids:
        raise CopyError(f"a message replies to {old}, which is not in the source")
    data["reply_to"] = ids[old]
    return json.dumps(data)


async def _append(
    src: Tables,
    dst: Tables,
    table: str,
    remap: Callable[[tuple[Any, ...], dict[str, int]], tuple[Any, ...]],
) -> int:
    columns, rows = await _rows(src, table)
    at = {c: i for i, c in enumerate(columns)}
    moved = [remap(row, at) for row in rows]
    if moved:
        await dst.write(table, columns, moved)
    return len(moved)


async def _cursors(
    src: Tables, dst: Tables, ids: dict[int, int], room_ids: dict[str, str]
) -> tuple[int, str]:
    by_room: dict[str, list[int]] = {}
    _, messages = await _rows(src, "messages")
    columns = await src.columns("messages")
    mid, rid = columns.index("id"), columns.index("room_id")
    for row in messages:
        by_room.setdefault(row[rid], []).append(row[mid])
    columns, cursors = await _rows(src, "read_cursors")
    at = {c: i for i, c in enumerate(columns)}
    _, present = await _rows(dst, "read_cursors")
    kept = {(r[at["room_id"]], r[at["reader"]]): r[at["last_read_message_id"]] for r in present}
    new, moved, stayed = [], [], 0
    for row in cursors:
        read = [
            m for m in by_room.get(row[at["room_id"]], []) if m <= row[at["last_read_message_id"]]
        ]
        values = list(row)
        values[at["room_id"]] = room_ids[row[at["room_id"]]]
        values[at["last_read_message_id"]] = ids[read[-1]] if read else 0
        key = (values[at["room_id"]], values[at["reader"]])
        if key not in kept:
            new.append(tuple(values))
        elif values[at["last_read_message_id"]] > kept[key]:
            moved.append(tuple(values))
        else:
            stayed += 1
    if new:
        await dst.write("read_cursors", columns, new)
    if moved:
        await dst.upsert("read_cursors", columns, ("room_id", "reader"), moved)
    return len(new), f"{len(moved)} moved further, {stayed} kept DST's"


async def _newer_wins(
    src: Tables,
    dst: Tables,
    table: str,
    key: tuple[str, ...],
    stamp: str,
    room_ids: dict[str, str],
) -> tuple[int, str]:
    columns, rows = await _rows(src, table)
    at = {c: i for i, c in enumerate(columns)}
    _, present = await _rows(dst, table)
    kept = {tuple(r[at[k]] for k in key): r[at[stamp]] for r in present}
    new, newer, stayed = [], [], 0
    for row in rows:
        if row[at["room_id"]] not in room_ids:
            continue  # left behind by a room deleted in SRC
        values = list(row)
        values[at["room_id"]] = room_ids[row[at["room_id"]]]
        name = tuple(values[at[k]] for k in key)
        if name not in kept:
            new.append(tuple(values))
        elif values[at[stamp]] > kept[name]:
            newer.append(tuple(values))
        else:
            stayed += 1
    if new:
        await dst.write(table, columns, new)
    if newer:
        await dst.upsert(table, columns, key, newer)
    return len(new), f"{len(newer)} newer from SRC, {stayed} kept DST's"
