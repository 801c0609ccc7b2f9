"""The SQLite store's claims on files and tasks (writes on the one writer, like every write)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from chatnut import errors
from chatnut.shapes.claims import Claim, Released, StoredClaim
from chatnut.shapes.rooms import Room
from chatnut.store.claim_rows import (
    CLAIM_COLUMNS,
    Judge,
    Row,
    claim_dict,
    column_values,
    release_plan,
    renewed,
    stored_claim,
)
from chatnut.store.sqlite import queries as q
from chatnut.store.sqlite.engine import Engine

_PLACES = ", ".join("?" for _ in CLAIM_COLUMNS.split(","))


def _live(conn: sqlite3.Connection, project: str | None, now: str, limit: int) -> list[Claim]:
    where, params = "expires_at > ?", [now]
    if project is not None:
        where, params = "project = ? AND expires_at > ?", [project, now]
    rows = conn.execute(
        f"SELECT {CLAIM_COLUMNS} FROM claims WHERE {where} ORDER BY project, created_at, id"
        " LIMIT ?",
        [*params, limit],
    ).fetchall()
    return [claim_dict(r) for r in rows]


def _room(conn: sqlite3.Connection, room_id: str) -> Room:
    room = q.room_by_id(conn, room_id)
    if room is None:
        raise errors.room_missing(room_id)
    return room


class Claims:
    engine: Engine

    async def claim(self, claim: Row, judge: Judge, max_live: int) -> StoredClaim:
        now = claim["created_at"]

        def write(conn: sqlite3.Connection) -> tuple[StoredClaim, list[Any]]:
            room = _room(conn, claim["room_id"])
            if room["status"] != "live":
                raise errors.room_archived(room, "claiming")
            rows = _live(conn, room["project"], now, max_live + 1)
            conflicts, blocked = judge(rows)
            if blocked:  # an answer, and nothing written
                return {"claim_id": None, "granted": False, "conflicts": conflicts}, []
            conn.execute("DELETE FROM claims WHERE expires_at <= ?", (now,))
            before = renewed(rows, claim)
            if before is not None:
                conn.execute(
                    "UPDATE claims SET exclusive = ?, note = ?, expires_at = ? WHERE id = ?",
                    (
                        int(claim["exclusive"]),
                        claim["note"],
                        claim["expires_at"],
                        before["claim_id"],
                    ),
                )
                stored: Claim = {
                    **before,
                    "exclusive": claim["exclusive"],
                    "note": claim["note"],
                    "expires_at": claim["expires_at"],
                }
            else:
                if len(rows) >= max_live:
                    raise errors.too_many_claims(room["project"], max_live)
                conn.execute(
                    f"INSERT INTO claims ({CLAIM_COLUMNS}) VALUES ({_PLACES})",
                    column_values(claim, room["project"]),
                )
                stored = stored_claim(claim, room["project"])
            granted: StoredClaim = {
                "claim_id": stored["claim_id"],
                "granted": True,
                "conflicts": conflicts,
                "claim": stored,
            }
            return granted, []

        result: StoredClaim = await self.engine.write(write)
        return result

    async def release_claims(
        self,
        room_id: str,
        holder: str,
        claim_id: str | None,
        paths: Sequence[str] | None,
        now: str,
    ) -> Released:
        def write(conn: sqlite3.Connection) -> tuple[Released, list[Any]]:
            project = _room(conn, room_id)["project"]
            rows = _live(conn, project, now, 1_000_000)
            if claim_id is not None:
                found = next((r for r in rows if r["claim_id"] == claim_id), None)
                if found is None:
                    raise errors.claim_missing(claim_id, project)
                if found["holder"] != holder:
                    raise errors.claim_of_another(claim_id, found["holder"])
            gone, kept = release_plan(rows, holder, claim_id, paths)
            conn.executemany("DELETE FROM claims WHERE id = ?", [(i,) for i in gone])
            conn.executemany(
                "UPDATE claims SET paths = ? WHERE id = ?",
                [(json.dumps(left, ensure_ascii=False), i) for i, left in kept.items()],
            )
            return {"released": gone, "trimmed": sorted(kept)}, []

        result: Released = await self.engine.write(write)
        return result

    async def live_claims(self, project: str | None, now: str, limit: int) -> list[Claim]:
        rows: list[Claim] = await self.engine.read(lambda c: _live(c, project, now, limit))
        return rows
