"""The rules of chatnut, in one place, for every transport.

MCP tools, REST routes and the CLI all call this class, so they cannot
disagree. Methods take plain values, check them (validation.py), read through
the store's readers or write through its single writer, and return plain
dicts. They talk to storage only through the Store interface (store/base.py),
whichever backend is behind it; the store publishes each write's events to the
hub after the commit. Failures are domain errors (errors.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from chatnut import __version__
from chatnut import validation as check
from chatnut.hub import Hub
from chatnut.principals import ANYONE, Caller
from chatnut.service.budget import DEFAULT_ANSWER_BYTES
from chatnut.service.common import now_iso
from chatnut.service.delivery import DeliveryRules
from chatnut.service.edits import EditRules
from chatnut.service.identities import IdentityRules, Tokens
from chatnut.service.messages import MessageRules
from chatnut.service.pages import PageRules
from chatnut.service.presence import Presence
from chatnut.service.reactions import ReactionRules
from chatnut.service.receipts import ReceiptRules
from chatnut.service.retention import RetentionJob
from chatnut.service.room_prefs import RoomPrefRules
from chatnut.service.rooms import RoomRules
from chatnut.service.team import TeamRules
from chatnut.service.threads import ThreadRules
from chatnut.shapes.health import Pong, Stats, UpdateInfo
from chatnut.shapes.rooms import Projects
from chatnut.shapes.search import SearchResult
from chatnut.store.base import SEARCH_MESSAGE_LIMIT, SEARCH_ROOM_LIMIT, Store

__all__ = ["ChatService", "now_iso"]


class ChatService(
    DeliveryRules,
    ReceiptRules,
    ReactionRules,
    ThreadRules,
    EditRules,
    MessageRules,
    RoomRules,
    RoomPrefRules,
    TeamRules,
    PageRules,
    IdentityRules,
):
    def __init__(
        self,
        store: Store,
        hub: Hub,
        *,
        db_path: Path | str | None = None,
        max_message_bytes: int = 65536,
        max_answer_bytes: int = DEFAULT_ANSWER_BYTES,
        max_waits: tuple[int, int] = (1000, 10_000),  # parked waits: per room, in total
        teams_dir: Path | None = None,
        web_url: Callable[[str | None], str] = lambda room_id: "",
        on_room_created: Callable[[str], None] | None = None,
        version_info: Callable[[], UpdateInfo] = UpdateInfo,
    ) -> None:
        self.store = store
        self.hub = hub
        # Set by the server to its --retain-days and home (app.py); off until then.
        self.retention = RetentionJob(store, None, Path.home() / ".chatnut" / "retention")
        # What ping and /api/status call the database (never a URL's password).
        self.db_path = str(db_path) if db_path is not None else store.location
        self.max_message_bytes = max_message_bytes
        self.max_answer_bytes = max_answer_bytes
        self.teams_dir = teams_dir
        self.web_url = web_url
        self.on_room_created = on_room_created
        self.version_info = version_info
        self.parked_waits = {}
        self.max_waits_per_room, self.max_waits = max_waits
        self.presence = Presence()
        self.tokens_cache = Tokens(store)
        # Other processes on the same database see who is parked here (a team
        # server's workers and hosts answer `waiting` alike).
        self.presence.on_change = store.share_parked(self.presence.parked_keys)

    # -- search, projects, health ---------------------------------------------

    async def search(
        self, query: str, project: str | None = None, *, caller: Caller = ANYONE
    ) -> SearchResult:
        check.text("query", query, max_chars=check.MAX_QUERY)
        check.optional_text("project", project, max_chars=check.MAX_NAME)
        if project is not None or caller.projects is None:
            return await self.store.search(query, self.unseen_as_none(project, caller))
        # A scoped caller's search: each of its projects, merged as one search ranks.
        found = [await self.store.search(query, p) for p in sorted(caller.projects)]
        rooms = sorted(
            (r for f in found for r in f["rooms"]), key=lambda r: r["created_at"], reverse=True
        )[:SEARCH_ROOM_LIMIT]
        counts = sorted(
            (m for f in found for m in f["message_rooms"]),
            key=lambda m: (-m["match_count"], m["room_id"]),
        )[:SEARCH_ROOM_LIMIT]
        messages = sorted((m for f in found for m in f["messages"]), key=lambda m: -m["id"])[
            :SEARCH_MESSAGE_LIMIT
        ]
        return {"rooms": rooms, "message_rooms": counts, "messages": messages}

    async def list_projects(self, *, caller: Caller = ANYONE) -> Projects:
        projects = await self.store.list_projects()
        return {"projects": [p for p in projects if caller.sees(p)]}

    async def ping(self) -> Pong:
        await self.store.check()
        result: Pong = {
            "status": "ok",
            "db_path": str(self.db_path),
            "version": __version__,
            "web_url": self.web_url(None),
        }
        result.update(self.version_info())
        return result

    async def stats(self) -> Stats:
        return await self.store.stats()
