"""The PostgreSQL store's principals and tokens (writes under the write lock, through
PostgresStore._write: a revocation is an event every process hears at once)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from chatnut.shapes.admin import Token
from chatnut.store.rows import TOKEN_COLUMNS, principal_dict, token_dict

Row = dict[str, Any]

_LIST = f"""
    SELECT {TOKEN_COLUMNS}, u.last_used_at
    FROM tokens t JOIN principals p ON p.name = t.principal
    LEFT JOIN token_uses u ON u.token_id = t.id
"""
_PRINCIPAL = (
    "SELECT name, kind, role, projects, owner, created_at, disabled_at"
    " FROM principals WHERE name = $1"
)

_OWNER = (
    "SELECT t.id AS token_id, t.expires_at, t.revoked_at, p.name, p.kind, p.role,"
    " p.projects, p.owner, p.created_at, p.disabled_at"
    " FROM tokens t JOIN principals p ON p.name = t.principal WHERE "
)


class Identities:
    _read: Callable[..., Awaitable[Any]]
    _write: Callable[..., Awaitable[Any]]

    async def add_token(self, principal: Row, token: Row) -> Row:
        projects = principal["projects"]
        stored = None if projects is None else json.dumps(sorted(projects))

        async def write(conn: Any) -> tuple[Row, list[Any]]:
            await conn.execute(
                "INSERT INTO principals (name, kind, role, projects, owner, created_at)"
                " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO UPDATE SET kind ="
                " excluded.kind, role = excluded.role, projects = excluded.projects,"
                " owner = coalesce(excluded.owner, principals.owner), disabled_at = NULL",
                principal["name"],
                principal["kind"],
                principal["role"],
                stored,
                principal["owner"],
                token["created_at"],
            )
            await conn.execute(
                "INSERT INTO tokens (id, principal, secret_hash, prefix, created_at, expires_at)"
                " VALUES ($1, $2, $3, $4, $5, $6)",
                token["id"],
                principal["name"],
                token["secret_hash"],
                token["prefix"],
                token["created_at"],
                token["expires_at"],
            )
            return principal_dict(await conn.fetchrow(_PRINCIPAL, principal["name"])), []

        row: Row = await self._write(write)
        return row

    async def tokens(self) -> list[Token]:
        rows = await self._read(lambda conn: conn.fetch(_LIST + " ORDER BY t.created_at, t.id"))
        return [token_dict(r) for r in rows]

    async def revoke_tokens(self, id_or_name: str, at: str) -> list[Token]:
        async def write(conn: Any) -> tuple[list[Token], list[Any]]:
            rows = await conn.fetch(
                _LIST + " WHERE (t.id = $1 OR t.principal = $1) AND t.revoked_at IS NULL"
                " ORDER BY t.created_at, t.id",
                id_or_name,
            )
            revoked: list[Token] = [{**token_dict(r), "revoked_at": at} for r in rows]
            ids = [t["id"] for t in revoked]
            if not ids:
                return [], []
            await conn.execute(
                "UPDATE tokens SET revoked_at = $1 WHERE id = ANY ($2::text[])", at, ids
            )
            # Heard by every process (LISTEN/NOTIFY): each drops the tokens from
            # its cache and ends their streams and waits.
            return revoked, [("revoked", "", {"tokens": ids})]

        revoked: list[Token] = await self._write(write)
        return revoked

    async def token_owner(self, hashed: str) -> Row | None:
        return await self._owner("t.secret_hash = $1", hashed)

    async def token_by_id(self, token_id: str) -> Row | None:
        return await self._owner("t.id = $1", token_id)

    async def _owner(self, where: str, value: str) -> Row | None:
        row = await self._read(lambda conn: conn.fetchrow(_OWNER + where, value))
        if row is None:
            return None
        return {
            **principal_dict(row),
            "token_id": row["token_id"],
            "expires_at": row["expires_at"],
            "revoked_at": row["revoked_at"],
        }

    async def save_token_uses(self, rows: Sequence[tuple[str, str]]) -> None:
        # Off the write lock: no ids or events are handed out here.
        await self._read(
            lambda conn: conn.executemany(
                "INSERT INTO token_uses (token_id, last_used_at) VALUES ($1, $2)"
                " ON CONFLICT (token_id) DO UPDATE SET last_used_at = excluded.last_used_at"
                " WHERE excluded.last_used_at > token_uses.last_used_at",
                list(rows),
            )
        )
