"""What the web page asks for at a team's scale: messages around an id, the
sidebar a page at a time with its totals, and a reader's first visit."""

from __future__ import annotations

from datetime import datetime

from chatnut import validation as check
from chatnut.errors import InvalidInput
from chatnut.principals import ANYONE, Caller
from chatnut.service import search_query
from chatnut.service.common import ServiceCore
from chatnut.service.reactions import with_reactions
from chatnut.shapes.messages import MessageWindow
from chatnut.shapes.rooms import CaughtUp, SidebarPage, SidebarTotals
from chatnut.shapes.search import SearchPage
from chatnut.store.base import SEARCH_HIT_CAP, SearchFilter

SIDEBAR_MAX_PAGE = 500


class PageRules(ServiceCore):
    async def read_messages_around(
        self, room_id: str, around: int, limit: int, *, caller: Caller = ANYONE
    ) -> MessageWindow:
        """A window of a room centred on a message id (a deep link, a search hit,
        the first unread), with whether older and newer messages remain."""
        check.room_id(room_id)
        check.integer("around", around, minimum=1)
        check.limit(limit)
        await self.in_scope(room_id, caller)

        messages, has_older, has_newer = await self.store.message_window(room_id, around, limit)
        messages = await with_reactions(self.store, messages)
        return {"messages": messages, "has_older": has_older, "has_newer": has_newer}

    async def sidebar_page(
        self,
        reader: str | None = None,
        *,
        project: str | None = None,
        status: str = "live",
        unread_only: bool = False,
        name_contains: str | None = None,
        offset: int = 0,
        limit: int = 100,
        caller: Caller = ANYONE,
    ) -> SidebarPage:
        self.reading_as(reader, caller)
        check.optional_text("project", project, max_chars=check.MAX_NAME)
        check.choice("status", status, check.ROOM_STATUSES)
        check.optional_text("q", name_contains, max_chars=check.MAX_NAME)
        check.integer("offset", offset, minimum=0)
        check.integer("limit", limit, minimum=1, maximum=SIDEBAR_MAX_PAGE)
        project = self.scoped_project(project, caller)
        if project is not None and not caller.sees(project):
            return {"rooms": [], "has_more": False, "offset": offset}
        rooms, has_more = await self.store.sidebar_page(
            reader,
            project=project,
            status=status,
            unread_only=unread_only,
            name_contains=name_contains,
            offset=offset,
            limit=limit,
        )
        return {"rooms": rooms, "has_more": has_more, "offset": offset}

    async def sidebar_totals(
        self,
        reader: str | None = None,
        room_ids: list[str] | None = None,
        *,
        caller: Caller = ANYONE,
    ) -> SidebarTotals:
        """Per-project totals, and the unread of `room_ids` counted in the same
        read, so a page can take one room's share out of the total exactly."""
        self.reading_as(reader, caller)
        wanted = room_ids or []
        visible = await self.visible_rooms(caller)
        if visible is not None:
            wanted = [r for r in wanted if r in visible]
        projects, rooms = await self.store.sidebar_totals(reader, wanted)
        projects = [p for p in projects if caller.sees(p["project"])]
        return {
            "projects": projects,
            "live": sum(p["live"] for p in projects),
            "archived": sum(p["archived"] for p in projects),
            "unread": sum(p["unread"] for p in projects),
            "unread_rooms": sum(p["unread_rooms"] for p in projects),
            "rooms": rooms,
        }

    async def search_page(
        self,
        query: str,
        *,
        project: str | None = None,
        room_id: str | None = None,
        sender: str | None = None,
        after: str | None = None,
        before: str | None = None,
        offset: int = 0,
        before_id: int | None = None,
        caller: Caller = ANYONE,
    ) -> SearchPage:
        """Search with the page's filters and the query's operators, a page of hits
        at a time: `offset` within the newest SEARCH_HIT_CAP, `before_id` for the
        hits past them. Plus `terms`: the text looked for, for highlighting."""
        check.text("query", query, max_chars=check.MAX_QUERY)
        check.optional_text("project", project, max_chars=check.MAX_NAME)
        if room_id is not None:
            check.room_id(room_id)
        check.optional_text("sender", sender, max_chars=check.MAX_SENDER)
        for name, value in (("after", after), ("before", before)):
            if value is not None and not _iso_date(value):
                raise InvalidInput(f"{name} must be a date like 2026-12-01 (or an ISO timestamp)")
        check.integer("offset", offset, minimum=0, maximum=SEARCH_HIT_CAP)
        if before_id is not None:
            check.integer("before_id", before_id, minimum=1)
        asked = search_query.parse(query)
        sender = _agreed("from:", asked.sender, "the sender filter", sender)
        project = _agreed("in:", asked.room_project, "the project filter", project)
        project = self.unseen_as_none(self.scoped_project(project, caller), caller)
        if room_id is not None:
            await self.in_scope(room_id, caller)
        where = SearchFilter(
            project,
            room_id,
            sender,
            max((d for d in (after, asked.after) if d is not None), default=None),
            min((d for d in (before, asked.before) if d is not None), default=None),
            offset,
            before_id,
            room_name=asked.room,
            to=asked.to,
            has_code=asked.has_code,
        )
        found = await self.store.search_page(asked.terms, where)
        found["terms"] = list(asked.terms)
        return found

    async def catch_up(
        self,
        reader: str,
        *,
        project: str | None = None,
        first_visit: bool = False,
        caller: Caller = ANYONE,
    ) -> CaughtUp:
        """Mark every room (of `project`) read for `reader` up to its newest message:
        "Mark all read", or a first visit, which only starts a name that has no
        cursor yet at "now". A scoped reader's reaches its projects' rooms only."""
        check.person("reader", reader)
        caller.acting_as(reader)
        check.optional_text("project", project, max_chars=check.MAX_NAME)
        if caller.projects is None:
            moved = await self.store.catch_up(reader, project=project, first_visit=first_visit)
            return {"reader": reader, "rooms": moved}
        projects = sorted(caller.projects) if project is None else [project]
        moved = 0
        for each in projects:
            if caller.sees(each):
                moved += await self.store.catch_up(reader, project=each, first_visit=first_visit)
        return {"reader": reader, "rooms": moved}


def _agreed(operator: str, asked: str | None, label: str, given: str | None) -> str | None:
    """An operator and the page's filter for the same thing: either, or both alike."""
    if asked is None or given is None:
        return asked if given is None else given
    if asked.casefold() != given.casefold():
        raise InvalidInput(f"{operator}{asked} and {label} ({given}) disagree; clear one")
    return given


def _iso_date(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True
