"""The PostgreSQL store's claims on files and tasks. Writes run under the write
lock (PostgresStore._write), so two workers can never both grant overlapping
exclusive claims: the second one's check sees the first one's row."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
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

PendingEvent = tuple[str, str, Mapping[str, Any]]
_PLACES = ", ".join(f"${n + 1}" for n in range(len(CLAIM_COLUMNS.split(","))))


async def _live(conn: Any, project: str | None, now: str, limit: int) -> list[Claim]:
    if project is None:
        where, params = "expires_at > $1", [now]
    else:
        where, params = "project = $1 AND expires_at > $2", [project, now]
    rows = await conn.fetch(
        f"SELECT {CLAIM_COLUMNS} FROM claims WHERE {where} ORDER BY project, created_at, id"
        f" LIMIT ${len(params) + 1}",
        *params,
        limit,
    )
    return [claim_dict(r) for r in rows]


class Claims:
    _read: Callable[..., Awaitable[Any]]
    _write: Callable[..., Awaitable[Any]]
    _room_or_missing: Callable[[Any, str], Awaitable[Room]]

    async def claim(self, claim: Row, judge: Judge, max_live: int) -> StoredClaim:
        now = claim["created_at"]

        async def write(conn: Any) -> tuple[StoredClaim, list[PendingEvent]]:
            room = await self._room_or_missing(conn, claim["room_id"])
            if room["status"] != "live":
                raise errors.room_archived(room, "claiming")
            rows = await _live(conn, room["project"], now, max_live + 1)
            conflicts, blocked = judge(rows)
            if blocked:  # an answer, and nothing written
                return {"claim_id": None, "granted": False, "conflicts": conflicts}, []
            await conn.execute("DELETE FROM claims WHERE expires_at <= $1", now)
            before = renewed(rows, claim)
            if before is not None:
                await conn.execute(
                    "UPDATE claims SET exclusive = $1, note = $2, expires_at = $3 WHERE id = $4",
                    int(claim["exclusive"]),
                    claim["note"],
                    claim["expires_at"],
                    before["claim_id"],
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
                await conn.execute(
                    f"INSERT INTO claims ({CLAIM_COLUMNS}) VALUES ({_PLACES})",
                    *column_values(claim, room["project"]),
                )
                stored = stored_claim(claim, room["project"])
            granted: StoredClaim = {
                "claim_id": stored["claim_id"],
                "granted": True,
                "conflicts": conflicts,
                "claim": stored,
            }
            return granted, []

        result: StoredClaim = await self._write(write)
        return result

    async def release_claims(
        self,
        room_id: str,
        holder: str,
        claim_id: str | None,
        paths: Sequence[str] | None,
        now: str,
    ) -> Released:
        async def write(conn: Any) -> tuple[Released, list[PendingEvent]]:
            project = (await self._room_or_missing(conn, room_id))["project"]
            rows = await _live(conn, project, now, 1_000_000)
            if claim_id is not None:
                found = next((r for r in rows if r["claim_id"] == claim_id), None)
                if found is None:
                    raise errors.claim_missing(claim_id, project)
                if found["holder"] != holder:
                    raise errors.claim_of_another(claim_id, found["holder"])
            gone, kept = release_plan(rows, holder, claim_id, paths)
            if gone:
                await conn.execute("DELETE FROM claims WHERE id = ANY($1::text[])", gone)
            for claim_id_kept, left in kept.items():
                await conn.execute(
                    "UPDATE claims SET paths = $1 WHERE id = $2",
                    json.dumps(left, ensure_ascii=False),
                    claim_id_kept,
                )
            return {"released": gone, "trimmed": sorted(kept)}, []

        result: Released = await self._write(write)
        return result

    async def live_claims(self, project: str | None, now: str, limit: int) -> list[Claim]:
        rows: list[Claim] = await self._read(lambda conn: _live(conn, project, now, limit))
        return rows
