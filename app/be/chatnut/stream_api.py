"""The SSE routes: room feed, sidebar feed, and the combined feed the page uses.

The resume point of a room part is the `Last-Event-ID` header that
EventSource sends by itself when it reconnects; `?last_event_id=N` serves the
first connection (a page that has already loaded messages up to N, a deep
link). When both are present the header wins: it is the newer of the two.

The page opens one combined feed per browser, not per tab: `room=*` carries
every room's events (message ids are global, so one Last-Event-ID resumes
them all), and the tabs share it (see app/fe/js/feed.js). Without a resume
point, `room=*` starts from now rather than replaying history.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request

from chatnut import validation as check
from chatnut.api import caller_of, service_of
from chatnut.errors import InvalidInput
from chatnut.feeds.feed import EVERY_ROOM, FeedSpec, feed
from chatnut.feeds.slots import StreamSlots, client_of
from chatnut.feeds.wire import EventStream
from chatnut.shapes.errors import REFUSALS

router = APIRouter(prefix="/api", responses=REFUSALS)

# A feed answers a stream of named, numbered events, not one JSON document:
# `event: message`, `id: 42`, `data: ` and the event's JSON (docs/api.md).
FEED: dict[str, Any] = {
    "response_class": EventStream,
    "status_code": 200,
    "response_description": "Server-sent events, until the client leaves",
    "responses": {200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}},
}

Project = Annotated[str | None, Query(max_length=check.MAX_NAME)]
Reader = Annotated[str | None, Query(max_length=check.MAX_SENDER)]
ResumeQuery = Annotated[
    int | None, Query(ge=0, le=check.MAX_ID, description="resume after this message id")
]
ResumeHeader = Annotated[str | None, Header(alias="Last-Event-ID")]
Html = Annotated[bool, Query(description="add each message's rendered `html`")]


def _stream(request: Request, spec: FeedSpec) -> EventStream:
    """The feed as a stream, in one of the capped stream slots (or a 429)."""
    state = request.app.state.chatnut
    slots: StreamSlots = state.streams
    release = slots.take(client_of(request))
    return EventStream(
        feed(service_of(request), spec), release, send_timeout=state.settings.send_timeout
    )


def _check_sidebar(project: str | None, reader: str | None) -> None:
    # Before the stream starts: a refusal is then a 422, not a broken stream.
    check.optional_text("project", project, max_chars=check.MAX_NAME)
    check.optional_text("reader", reader, max_chars=check.MAX_SENDER)


def _resume_point(header: str | None, query: int | None) -> int | None:
    if header is not None and header.strip():
        try:
            value = int(header.strip())
        except ValueError:
            raise InvalidInput("Last-Event-ID must be a message id (a whole number)") from None
        if not 0 <= value <= check.MAX_ID:
            raise InvalidInput(f"Last-Event-ID must be 0..{check.MAX_ID}, got {value}")
        return value
    return query


@router.get(
    "/rooms/{room_id}/stream", summary="Room feed (SSE): messages, statuses, changes", **FEED
)
async def room_stream(
    request: Request,
    room_id: str,
    last_event_id: ResumeQuery = None,
    html: Html = False,
    addressed_to: Annotated[
        str | None,
        Query(max_length=check.MAX_SENDER, description="only messages to/@mentioning this name"),
    ] = None,
    last_event_id_header: ResumeHeader = None,
) -> EventStream:
    service = service_of(request)
    after = _resume_point(last_event_id_header, last_event_id) or 0
    name = None if addressed_to is None else check.addressee("addressed_to", addressed_to)
    caller = caller_of(request)
    await service.get_room(room_id, caller=caller)  # a missing room: a 404, not an empty stream
    spec = FeedSpec(
        room_id=room_id,
        after_id=after,
        html=html,
        room_events=True,
        addressed_to=name,
        caller=caller,
    )
    return _stream(request, spec)


@router.get(
    "/stream/rooms", summary="Sidebar feed (SSE): a snapshot, then one delta per change", **FEED
)
async def sidebar_stream(
    request: Request, project: Project = None, reader: Reader = None
) -> EventStream:
    service = service_of(request)
    _check_sidebar(project, reader)
    caller = caller_of(request)
    service.reading_as(reader, caller)
    project = service.scoped_project(project, caller)
    spec = FeedSpec(sidebar=True, project=project, reader=reader, caller=caller)
    return _stream(request, spec)


@router.get("/stream", summary="Combined feed (SSE) for the browser: sidebar + room events", **FEED)
async def tab_stream(
    request: Request,
    room: Annotated[
        str | None, Query(description="a room's id, or `*` for every room's events")
    ] = None,
    last_event_id: ResumeQuery = None,
    project: Project = None,
    reader: Reader = None,
    html: Html = True,
    last_event_id_header: ResumeHeader = None,
) -> EventStream:
    service = service_of(request)
    _check_sidebar(project, reader)
    caller = caller_of(request)
    service.reading_as(reader, caller)
    project = service.scoped_project(project, caller)
    after = _resume_point(last_event_id_header, last_event_id)
    if room is not None and room != EVERY_ROOM:
        await service.get_room(room, caller=caller)
        after = after or 0
    spec = FeedSpec(
        room_id=room,
        after_id=after,
        sidebar=True,
        project=project,
        reader=reader,
        html=html,
        caller=caller,
    )
    return _stream(request, spec)
