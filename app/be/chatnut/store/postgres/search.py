"""Search on PostgreSQL: the same case-insensitive substring semantics as SQLite's
FTS5 trigram index, through pg_trgm (queries.search_hits says how)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from chatnut.shapes.search import SearchPage, SearchResult
from chatnut.store.base import (
    SEARCH_HIT_CAP,
    SEARCH_MESSAGE_LIMIT,
    SearchFilter,
    hit_dict,
    rank_rooms,
    search_result,
)
from chatnut.store.postgres import queries as q

Row = dict[str, Any]


class Search:
    _read: Callable[..., Awaitable[Any]]

    async def search(self, query: str, project: str | None) -> SearchResult:
        return search_result(await self.search_page((query,), SearchFilter(project=project)))

    async def search_page(self, terms: Sequence[str], where: SearchFilter) -> SearchPage:
        likes = [f"%{q.escape_like(term)}%" for term in terms]
        rooms_sql, room_params = q.search_rooms(likes, where.project)
        hits_sql, hit_params = q.search_hits(likes, where)

        async def read(conn: Any) -> SearchPage:
            first_page = not where.offset and where.before_id is None
            rooms = await conn.fetch(rooms_sql, *room_params) if first_page and likes else []
            hits = await conn.fetch(hits_sql, *hit_params)
            capped = len(hits) > SEARCH_HIT_CAP
            hits = hits[:SEARCH_HIT_CAP]
            page = hits[where.offset : where.offset + SEARCH_MESSAGE_LIMIT]
            shown = [h["id"] for h in page]
            rows = await conn.fetch(q.SEARCH_SHOWN, shown) if shown else []
            message_rooms = rank_rooms([(h["id"], h["room_id"]) for h in hits])
            # The page names the rooms it shows without holding every room.
            named = sorted({r["room_id"] for r in rows} | {r["room_id"] for r in message_rooms})
            names = await conn.fetch(
                "SELECT id, name, project FROM rooms WHERE id = ANY($1::text[])", named
            )
            return {
                "rooms": [q.room_dict(r) for r in rooms],
                "message_rooms": message_rooms,
                "room_names": {
                    r["id"]: {"name": r["name"], "project": r["project"]} for r in names
                },
                "messages": [hit_dict(r, terms[0] if terms else "") for r in rows],
                "offset": where.offset,
                "total": len(hits),
                "capped": capped,
                "has_more": where.offset + len(page) < len(hits) or (capped and bool(page)),
            }

        result: SearchPage = await self._read(read)
        return result
