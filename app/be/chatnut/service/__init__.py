"""The rules of chatnut (SPEC §5), in one place, for every transport.

MCP tools, REST routes and the CLI all call this class, so they cannot
disagree. Methods take plain values, check them (validation.py), read through
the store's readers or write through its single writer, and return plain
dicts. Writes return their events; the store publishes them to the hub after
the commit (db.py). Failures are domain errors (errors.py).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chatnut import __version__
from chatnut import validation as check
from chatnut.hub import Hub
from chatnut.service.common import now_iso
from chatnut.service.coordination import CoordinationRules
from chatnut.service.messages import MessageRules
from chatnut.service.pages import PageRules
from chatnut.service.presence import Presence
from chatnut.service.rooms import RoomRules
from chatnut.service.team import TeamRules
from chatnut.store import queries as q
from chatnut.store.db import Database
from chatnut.store.search import search as search_store

__all__ = ["ChatService", "now_iso"]


class ChatService(CoordinationRules, MessageRules, RoomRules, TeamRules, PageRules):
    def __init__(
        self,
        db: Database,
        hub: Hub,
        *,
        db_path: Path,
        max_message_bytes: int = 65536,
        teams_dir: Path | None = None,
        web_url: Callable[[str | None], str] = lambda room_id: "",
        on_room_created: Callable[[str], None] | None = None,
        version_info: Callable[[], dict[str, Any]] = dict,
    ) -> None:
        self.db = db
        self.hub = hub
        self.db_path = db_path
        self.max_message_bytes = max_message_bytes
        self.teams_dir = teams_dir
        self.web_url = web_url
        self.on_room_created = on_room_created
        self.version_info = version_info
        self.presence = Presence()

    # -- search, projects, health ---------------------------------------------

    async def search(self, query: str, project: str | None = None) -> dict[str, Any]:
        check.text("query", query, max_chars=check.MAX_QUERY)
        check.optional_text("project", project, max_chars=check.MAX_NAME)
        result: dict[str, Any] = await self.db.read(lambda conn: search_store(conn, query, project))
        return result

    async def list_projects(self) -> dict[str, Any]:
        return {"projects": await self.db.read(q.list_projects)}

    async def ping(self) -> dict[str, Any]:
        await self.db.read(lambda conn: conn.execute("SELECT 1").fetchone())
        result: dict[str, Any] = {
            "status": "ok",
            "db_path": str(self.db_path),
            "version": __version__,
            "web_url": self.web_url(None),
        }
        result.update(self.version_info())
        return result

    async def stats(self) -> dict[str, int]:
        def read(conn: sqlite3.Connection) -> dict[str, int]:
            rooms = conn.execute("SELECT count(*) FROM rooms").fetchone()[0]
            messages = conn.execute("SELECT coalesce(sum(message_count), 0) FROM room_stats")
            return {"rooms": int(rooms), "messages": int(messages.fetchone()[0])}

        result: dict[str, int] = await self.db.read(read)
        return result
