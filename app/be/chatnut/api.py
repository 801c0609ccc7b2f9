"""REST routes under /api/: thin HTTP wrappers over ChatService.

Bodies and query parameters are typed so the OpenAPI schema at /api/docs
shows their limits; the service checks them again (it is the one judge), and
every failure leaves as the one JSON error shape (see `install_error_handlers`).
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Awaitable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from chatnut import __version__
from chatnut import validation as check
from chatnut.disconnect import ClientLeft, unless_client_leaves
from chatnut.errors import ChatnutError, error_body
from chatnut.principals import Caller, caller_in
from chatnut.render import as_rendered, with_html_async
from chatnut.service import ChatService
from chatnut.shapes.coordination import Handoff, Inbox
from chatnut.shapes.errors import REFUSALS
from chatnut.shapes.health import ServerStatus
from chatnut.shapes.messages import Message, MessagePage, PostedMessage, ReadCursor
from chatnut.shapes.rooms import (
    Archived,
    Cleared,
    Deleted,
    InitializedRoom,
    Projects,
    RoomExport,
    RoomSummaries,
    RoomSummary,
)
from chatnut.shapes.search import SearchPage
from chatnut.shapes.team import Agent, Agents, Status, TeamStatus

router = APIRouter(prefix="/api", responses=REFUSALS)

EXPORT_PAGE = 1000


def service_of(request: Request) -> ChatService:
    service: ChatService = request.app.state.service
    return service


def caller_of(request: Request) -> Caller:
    """Who is calling (authentication put it in the scope) and through what: the
    web page, or a terminal (`chatnut` commands, scripts). Decided by the server
    from how the request came, never from what it says about itself."""
    return caller_in(request.scope).as_transport(transport_of(request))


def transport_of(request: Request) -> str:
    # Browsers mark every fetch with Sec-Fetch-Site and the signed-in page
    # carries its session cookie; terminals and scripts send neither.
    headers = request.headers
    if "sec-fetch-site" in headers or "chatnut_session" in headers.get("cookie", ""):
        return "web"
    return "cli"


def _one_line(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")]
        name = ".".join(where) or "request body"
        parts.append(f"{name}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ChatnutError)
    async def domain_error(_: Request, exc: ChatnutError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message), status_code=exc.http_status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(error_body("invalid_input", _one_line(exc)), status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        # Logged by Starlette with its traceback; the caller gets the one shape.
        return JSONResponse(
            error_body("internal_error", "the server failed on this request; see its log"),
            status_code=500,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            error_body(code, str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewRoom(_Body):
    project: str = Field(min_length=1, max_length=check.MAX_NAME)
    name: str = Field(min_length=1, max_length=check.MAX_NAME)
    branch: str | None = Field(default=None, max_length=check.MAX_NAME)
    description: str | None = Field(default=None, max_length=check.MAX_DESCRIPTION)


MessageType = Literal["message", "system", "summary"]


class NewMessage(_Body):
    sender: str = Field(min_length=1, max_length=check.MAX_SENDER)
    content: str = Field(min_length=1)
    message_type: MessageType = "message"
    reply_to: int | None = Field(default=None, ge=1, le=check.MAX_ID)
    to: list[str] | str | None = Field(
        default=None, description="addressee name(s); a string is a list of one"
    )
    # Accepted from older clients and ignored: the server sets metadata.source
    # from how the post came (caller_of), whatever a body claims.
    source: Literal["web", "cli"] = "web"
    ack_required: bool = Field(default=False, description="each `to` name is asked to ack")
    idempotency_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=check.MAX_IDEMPOTENCY_KEY,
        description="the client's id for this post: a retry with it returns the first post",
    )


class NewReadCursor(_Body):
    reader: str = Field(min_length=1, max_length=check.MAX_SENDER)
    last_read_message_id: int = Field(ge=0, le=check.MAX_ID)


class NewStatus(_Body):
    sender: str = Field(min_length=1, max_length=check.MAX_SENDER)
    status: str = Field(min_length=1, max_length=check.MAX_STATUS)


class NewAgent(_Body):
    agent_name: str = Field(min_length=1, max_length=check.MAX_SENDER)
    task_id: str = Field(min_length=1, max_length=check.MAX_NAME)


Limit = Annotated[int, Query(ge=1, le=check.MAX_LIMIT)]
Name = Annotated[str, Query(min_length=1, max_length=check.MAX_SENDER)]
AddressedTo = Annotated[
    str | None,
    Query(max_length=check.MAX_SENDER, description="only messages to/@mentioning this name"),
]
RoomStatus = Literal["live", "archived", "all"]


@router.get("/status", summary="Health check")
async def status(request: Request) -> ServerStatus:
    service = service_of(request)
    answer: ServerStatus = {
        "status": "ok",
        "version": __version__,
        "db_path": str(service.db_path),
        # The process that answered: with --workers N, one of the workers (the
        # waiters below are that worker's).
        "pid": os.getpid(),
    }
    if not caller_of(request).scoped:
        # Whole-server counts say something of every project: not for a scoped token.
        stats = await service.stats()
        answer["rooms"] = stats["rooms"]
        answer["messages"] = stats["messages"]
        answer["waiters"] = service.hub.subscriber_count()
    return answer


@router.get("/projects", summary="Project names")
async def projects(request: Request) -> Projects:
    return await service_of(request).list_projects(caller=caller_of(request))


@router.get("/rooms", summary="Rooms with counts, last message and unread count")
async def rooms(
    request: Request,
    project: Annotated[str | None, Query(max_length=check.MAX_NAME)] = None,
    status: RoomStatus = "all",
    reader: Annotated[str | None, Query(max_length=check.MAX_SENDER)] = None,
) -> RoomSummaries:
    summaries = await service_of(request).room_summaries(
        project, status, reader, caller=caller_of(request)
    )
    return {"rooms": summaries}


@router.post("/rooms", status_code=200, summary="Create a room (idempotent, like init_room)")
async def create_room(request: Request, body: NewRoom) -> InitializedRoom:
    return await service_of(request).init_room(
        body.project, body.name, body.branch, body.description, caller=caller_of(request)
    )


@router.get("/rooms/{room_id}", summary="One room with its counts")
async def room(
    request: Request,
    room_id: str,
    reader: Annotated[str | None, Query(max_length=check.MAX_SENDER)] = None,
) -> RoomSummary:
    """With `reader`: its `unread_count` and `last_read_message_id` too."""
    return await service_of(request).get_room(room_id, reader, caller=caller_of(request))


@router.get("/rooms/{room_id}/messages", summary="Page through a room's messages")
async def messages(
    request: Request,
    room_id: str,
    since_id: Annotated[int | None, Query(ge=0, le=check.MAX_ID)] = None,
    before_id: Annotated[int | None, Query(ge=1, le=check.MAX_ID)] = None,
    around: Annotated[
        int | None, Query(ge=1, le=check.MAX_ID, description="a window centred on this id")
    ] = None,
    limit: Limit = 100,
    message_type: MessageType | None = None,
    addressed_to: AddressedTo = None,
    html: Annotated[bool, Query(description="add each message's rendered `html`")] = False,
) -> MessagePage:
    """Forwards from `since_id` (oldest first), or backwards: the newest page below
    `before_id`. With neither, the newest page — what a reader opening a room wants.
    `around` answers a window centred on an id, with `has_older` and `has_newer`.
    `addressed_to` reads forwards (from `since_id`, else the start), like
    read_messages; forward pages carry `next_since_id`.
    `html=true` adds the page's safe rendering of each message (cached, never stored).
    A message with replies carries `replies` {count, last_id, last_at, last_sender}."""
    service = service_of(request)
    caller = caller_of(request)
    page: MessagePage
    if around is not None:
        window = await service.read_messages_around(room_id, around, limit, caller=caller)
        found = window["messages"]
        page = {"messages": [], "has_older": window["has_older"], "has_newer": window["has_newer"]}
    elif since_id is not None or addressed_to is not None:
        forward = await service.read_messages(
            room_id,
            since_id,
            limit,
            message_type,
            addressed_to,
            note_presence=False,
            caller=caller,
        )
        found = forward["messages"]
        page = {
            "messages": [],
            "has_more": forward["has_more"],
            "next_since_id": forward["next_since_id"],
        }
    else:
        newest = await service.read_messages_before(room_id, before_id, limit, caller=caller)
        found = newest["messages"]
        page = {"messages": [], "has_more": newest["has_more"]}
    shown = await with_html_async(found) if html else as_rendered(found)
    page["messages"] = await service.page_with_replies(room_id, shown)
    return page


@router.post("/rooms/{room_id}/messages", summary="Post as a human (metadata.source = web or cli)")
async def post(request: Request, room_id: str, body: NewMessage) -> PostedMessage:
    caller = caller_of(request)
    return await service_of(request).post_message(
        room_id,
        body.sender,
        body.content,
        body.message_type,
        body.reply_to,
        metadata={"source": caller.transport},
        to=body.to,
        caller=caller,
        ack_required=body.ack_required,
        idempotency_key=body.idempotency_key,
    )


@router.post("/rooms/{room_id}/read", summary="Move a reader's cursor forward")
async def mark_read(request: Request, room_id: str, body: NewReadCursor) -> ReadCursor:
    return await service_of(request).mark_read(
        room_id, body.reader, body.last_read_message_id, caller=caller_of(request)
    )


@router.post("/rooms/{room_id}/archive", summary="Archive a room")
async def archive(request: Request, room_id: str) -> Archived:
    return await service_of(request).archive_room_by_id(room_id, caller=caller_of(request))


@router.post("/rooms/{room_id}/clear", summary="Delete every message of a room")
async def clear(request: Request, room_id: str) -> Cleared:
    return await service_of(request).clear_room_by_id(room_id, caller=caller_of(request))


@router.delete("/rooms/{room_id}", summary="Delete an archived room and all it holds")
async def delete(request: Request, room_id: str) -> Deleted:
    return await service_of(request).delete_room(room_id, caller=caller_of(request))


@router.get("/rooms/{room_id}/statuses", summary="Team status of a room")
async def statuses(request: Request, room_id: str) -> TeamStatus:
    return await service_of(request).get_team_status(room_id, caller=caller_of(request))


@router.post("/rooms/{room_id}/statuses", summary="Set a sender's status")
async def set_status(request: Request, room_id: str, body: NewStatus) -> Status:
    return await service_of(request).update_status(
        room_id, body.sender, body.status, caller=caller_of(request)
    )


@router.get("/rooms/{room_id}/agents", summary="Registered agents of a room")
async def agents(request: Request, room_id: str) -> Agents:
    return await service_of(request).list_agents(room_id, caller=caller_of(request))


@router.post("/rooms/{room_id}/agents", summary="Register an agent for @mentions")
async def register(request: Request, room_id: str, body: NewAgent) -> Agent:
    return await service_of(request).register_agent(
        room_id, body.agent_name, body.task_id, caller=caller_of(request)
    )


# The reads below name someone as a filter (a human looking at "mentions of
# alice"), so unlike the MCP tools they do not mark that name present; REST
# writes (posting, statuses, cursors) do, as their names are the caller's.
@router.get("/rooms/{room_id}/handoff", summary="Catch up on a room in one bounded answer")
async def handoff(
    request: Request,
    room_id: str,
    reader: Name,
    recent: Annotated[int, Query(ge=0, le=100)] = 20,
) -> Handoff:
    """get_handoff: the room, team, latest summary, the reader's unread and the newest."""
    return await service_of(request).get_handoff(
        room_id, reader, recent, note_presence=False, caller=caller_of(request)
    )


@router.get(
    "/inbox",
    summary="Messages addressed to a name in every live room",
    # A long-poll whose client hung up answers a bare 499 (nobody reads it).
    response_model=Inbox,
)
async def inbox(
    request: Request,
    agent_name: Name,
    since_id: Annotated[int, Query(ge=0, le=check.MAX_ID)] = 0,
    limit: Limit = 50,
    timeout: Annotated[float, Query(ge=0, description="long-poll seconds, capped at 60")] = 0,
    newest: Annotated[
        bool, Query(description="the newest `limit` instead of the oldest (never waits)")
    ] = False,
) -> Any:
    """check_inbox: oldest first, each message with its `room`; `timeout` long-polls."""
    work = service_of(request).check_inbox(
        agent_name,
        since_id,
        timeout,
        limit,
        note_presence=False,
        newest=newest,
        caller=caller_of(request),
    )
    if timeout <= 0 or newest:
        return await work
    return await _while_connected(request, work)


async def _while_connected(request: Request, work: Awaitable[Any]) -> Any:
    """Run a long-poll until it answers or its client hangs up: a dropped client's
    wait (and its hub subscription) is released at once, not after its timeout."""
    try:
        return await unless_client_leaves(request.receive, work)
    except ClientLeft:
        return Response(status_code=499)  # nobody is listening any more


@router.get("/search", summary="Search room names and message content")
async def search(
    request: Request,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=check.MAX_QUERY,
            description='text and "quoted phrases", narrowed by from:NAME, in:ROOM'
            " (or in:PROJECT/ROOM), to:NAME, has:code, before:YYYY-MM-DD, after:YYYY-MM-DD",
        ),
    ],
    project: Annotated[str | None, Query(max_length=check.MAX_NAME)] = None,
    room_id: Annotated[str | None, Query(max_length=check.MAX_NAME)] = None,
    sender: Annotated[str | None, Query(max_length=check.MAX_SENDER)] = None,
    after: Annotated[str | None, Query(max_length=40, description="from this date")] = None,
    before: Annotated[str | None, Query(max_length=40, description="before this date")] = None,
    offset: Annotated[int, Query(ge=0, le=1000, description="page on through the hits")] = 0,
    before_id: Annotated[
        int | None, Query(ge=1, le=check.MAX_ID, description="only hits older than this id")
    ] = None,
) -> SearchPage:
    return await service_of(request).search_page(
        q,
        project=project,
        room_id=room_id,
        sender=sender or None,
        after=after or None,
        before=before or None,
        offset=offset,
        before_id=before_id,
        caller=caller_of(request),
    )


def _markdown_line(message: Message) -> str:
    kind = {"system": " (system)", "summary": " (summary)"}.get(message["message_type"], "")
    to = f" → {', '.join(message['to'])}" if message.get("to") else ""
    return (
        f"### {message['sender']}{kind}{to} · {message['created_at']} · #{message['id']}\n\n"
        f"{message['content']}\n\n"
    )


@router.get(
    "/rooms/{room_id}/export",
    summary="Export a room as Markdown or JSON",
    response_class=StreamingResponse,
    status_code=200,
    response_description="The room and every message, as a file to save",
    responses={
        200: {
            "model": RoomExport,
            "content": {"text/markdown": {"schema": {"type": "string"}}},
        }
    },
)
async def export(
    request: Request, room_id: str, format: Literal["md", "json"] = "md"
) -> StreamingResponse:
    service = service_of(request)
    caller = caller_of(request)
    room = await service.get_room(room_id, caller=caller)

    async def pages() -> AsyncIterator[list[Message]]:
        since = 0
        while True:
            page = await service.read_messages(room_id, since, EXPORT_PAGE, caller=caller)
            if page["messages"]:
                yield page["messages"]
                since = page["messages"][-1]["id"]
            if not page["has_more"]:
                return

    async def markdown() -> AsyncIterator[str]:
        yield f"# {room['project']} / {room['name']}\n\n"
        if room["description"]:
            yield f"{room['description']}\n\n"
        yield f"Status: {room['status']} · created {room['created_at']}\n\n"
        async for page in pages():
            yield "".join(_markdown_line(m) for m in page)

    async def as_json() -> AsyncIterator[str]:
        yield '{"room": ' + json.dumps(room) + ', "messages": ['
        first = True
        async for page in pages():
            for message in page:
                yield ("" if first else ",") + json.dumps(message)
                first = False
        yield "]}"

    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in room["name"])[:80]
    safe = safe.lstrip(".") or "room"  # never a hidden file, nor a bare ".."
    media = "text/markdown; charset=utf-8" if format == "md" else "application/json"
    return StreamingResponse(
        markdown() if format == "md" else as_json(),
        media_type=media,
        headers={"content-disposition": f'attachment; filename="{safe}.{format}"'},
    )
