"""The SQLite store's principals and tokens (writes on the single writer, reads on a reader)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from chatnut.hub import Event
from chatnut.shapes.admin import Token
from chatnut.store.rows import TOKEN_COLUMNS, principal_dict, token_dict
from chatnut.store.sqlite.engine import Engine

Row = dict[str, Any]

_LIST = f"""
    SELECT {TOKEN_COLUMNS}, u.last_used_at
    FROM tokens t JOIN principals p ON p.name = t.principal
    LEFT JOIN token_uses u ON u.token_id = t.id
"""

_OWNER = (
    "SELECT t.id AS token_id, t.expires_at, t.revoked_at, p.name, p.kind, p.role,"
    " p.projects, p.owner, p.created_at, p.disabled_at"
    " FROM tokens t JOIN principals p ON p.name = t.principal WHERE "
)


def _principal(conn: sqlite3.Connection, name: str) -> Row | None:
    row = conn.execute(
        "SELECT name, kind, role, projects, owner, created_at, disabled_at"
        " FROM principals WHERE name = ?",
        (name,),
    ).fetchone()
    return None if row is None else principal_dict(row)


class Identities:
    engine: Engine

    async def add_token(self, principal: Row, token: Row) -> Row:
        projects = principal["projects"]
        stored = None if projects is None else json.dumps(sorted(projects))

        def write(conn: sqlite3.Connection) -> tuple[Row, list[Event]]:
            conn.execute(
                "INSERT INTO principals (name, kind, role, projects, owner, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET kind ="
                " excluded.kind, role = excluded.role, projects = excluded.projects,"
                " owner = coalesce(excluded.owner, principals.owner), disabled_at = NULL",
                (
                    principal["name"],
                    principal["kind"],
                    principal["role"],
                    stored,
                    principal["owner"],
                    token["created_at"],
                ),
            )
            conn.execute(
                "INSERT INTO tokens (id, principal, secret_hash, prefix, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    token["id"],
                    principal["name"],
                    token["secret_hash"],
                    token["prefix"],
                    token["created_at"],
                    token["expires_at"],
                ),
            )
            found = _principal(conn, principal["name"])
            assert found is not None
            return found, []

        row: Row = await self.engine.write(write)
        return row

    async def tokens(self) -> list[Token]:
        def read(conn: sqlite3.Connection) -> list[Token]:
            rows = conn.execute(_LIST + " ORDER BY t.created_at, t.id").fetchall()
            return [token_dict(r) for r in rows]

        rows: list[Token] = await self.engine.read(read)
        return rows

    async def revoke_tokens(self, id_or_name: str, at: str) -> list[Token]:
        def write(conn: sqlite3.Connection) -> tuple[list[Token], list[Event]]:
            rows = conn.execute(
                _LIST + " WHERE (t.id = ? OR t.principal = ?) AND t.revoked_at IS NULL"
                " ORDER BY t.created_at, t.id",
                (id_or_name, id_or_name),
            ).fetchall()
            revoked: list[Token] = [{**token_dict(r), "revoked_at": at} for r in rows]
            ids = [t["id"] for t in revoked]
            conn.executemany(
                "UPDATE tokens SET revoked_at = ? WHERE id = ?", [(at, i) for i in ids]
            )
            if not revoked:
                return [], []
            event = Event("revoked", "", {"tokens": ids})
            return revoked, [event]

        revoked: list[Token] = await self.engine.write(write)
        return revoked

    async def token_owner(self, hashed: str) -> Row | None:
        return await self._owner("t.secret_hash = ?", hashed)

    async def token_by_id(self, token_id: str) -> Row | None:
        return await self._owner("t.id = ?", token_id)

    async def _owner(self, where: str, value: str) -> Row | None:
        def read(conn: sqlite3.Connection) -> Row | None:
            row = conn.execute(_OWNER + where, (value,)).fetchone()
            if row is None:
                return None
            return {
                **principal_dict(row),
                "token_id": row["token_id"],
                "expires_at": row["expires_at"],
                "revoked_at": row["revoked_at"],
            }

        found: Row | None = await self.engine.read(read)
        return found

    async def save_token_uses(self, rows: Sequence[tuple[str, str]]) -> None:
        def write(conn: sqlite3.Connection) -> tuple[None, list[Event]]:
            conn.executemany(
                "INSERT INTO token_uses (token_id, last_used_at) VALUES (?, ?)"
                " ON CONFLICT (token_id) DO UPDATE SET last_used_at = excluded.last_used_at"
                " WHERE excluded.last_used_at > token_uses.last_used_at",
                list(rows),
            )
            return None, []

        await self.engine.write(write)
