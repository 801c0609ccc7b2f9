"""The 22 MCP tools of the agent contract (the original 16, and the ones to
coordinate, acknowledge and claim): typed wrappers over ChatService.

Parameter names, defaults and result shapes are the original chatnut 0.4.x's,
so existing skills and prompts keep working. Limits are in the input schemas
(except `timeout`, which is clamped, as the original does). Each result is a
TypedDict declared once in `chatnut.shapes` (the service returns it, the
REST routes answer it), so the SDK declares an output schema that says
exactly which fields may be null. Descriptions are short on purpose: every agent pays for
the `tools/list` answer in context.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from chatnut import __version__
from chatnut import validation as check
from chatnut.mcp_claims import add_claim_tools
from chatnut.mcp_params import DESTROYS, READ_ONLY, WRITES, NoBool
from chatnut.mcp_server import ChatnutMCP, caller
from chatnut.service import ChatService
from chatnut.shapes.coordination import Ack, Handoff, Inbox
from chatnut.shapes.health import Pong
from chatnut.shapes.messages import Messages, PostedMessage, ReadCursor, WaitedMessages
from chatnut.shapes.rooms import Archived, Cleared, Deleted, InitializedRoom, Projects, Rooms
from chatnut.shapes.search import SearchResult
from chatnut.shapes.team import Agent, Agents, Status, TeamStatus

# -- parameter types (limits visible in the input schema) ----------------------

RoomId = Annotated[str, Field(min_length=1, max_length=64, description="Room id from init_room")]
Project = Annotated[str, Field(min_length=1, max_length=check.MAX_NAME)]
RoomName = Annotated[str, Field(min_length=1, max_length=check.MAX_NAME)]
Sender = Annotated[str, Field(min_length=1, max_length=check.MAX_SENDER)]
MessageType = Literal["message", "system", "summary"]
SinceId = Annotated[int, Field(ge=0, le=check.MAX_ID), NoBool]
Limit = Annotated[int, Field(ge=1, le=check.MAX_LIMIT), NoBool]
AddressedTo = Annotated[str | None, Field(max_length=check.MAX_SENDER)]


def build_mcp(service: ChatService) -> ChatnutMCP:
    mcp = ChatnutMCP(
        "chatnut",
        version=__version__,
        instructions="Team chat rooms for agent teams: init_room, then post_message / "
        "wait_for_messages with the room id. See the chatnut skill for the protocol.",
    )

    @mcp.tool(annotations=WRITES)
    async def post_message(
        room_id: RoomId,
        sender: Sender,
        content: Annotated[str, Field(min_length=1, description="Markdown text")],
        message_type: MessageType = "message",
        reply_to: Annotated[
            int | None,
            Field(ge=1, le=check.MAX_ID, description="Id of a message replied to"),
            NoBool,
        ] = None,
        to: list[str] | str | None = None,
        ack_required: bool = False,
        idempotency_key: Annotated[
            str | None,
            Field(
                max_length=check.MAX_IDEMPOTENCY_KEY,
                description="Retry key: a retry with it returns the first post",
            ),
        ] = None,
    ) -> PostedMessage:
        """Post to a room. Returns the message and the registered agents it @mentions."""
        return await service.post_message(
            room_id,
            sender,
            content,
            message_type,
            reply_to,
            to=to,
            ack_required=ack_required,
            idempotency_key=idempotency_key,
            caller=caller(),
        )

    @mcp.tool(annotations=READ_ONLY)
    async def read_messages(
        room_id: RoomId,
        since_id: SinceId | None = None,
        limit: Limit = 100,
        message_type: MessageType | None = None,
        addressed_to: AddressedTo = None,
    ) -> Messages:
        """Read messages oldest first, after since_id if given."""
        return await service.read_messages(
            room_id, since_id, limit, message_type, addressed_to, caller=caller()
        )

    @mcp.tool(annotations=READ_ONLY)
    async def wait_for_messages(
        room_id: RoomId,
        since_id: SinceId,
        timeout: Annotated[float, Field(description="Seconds, capped at 60"), NoBool] = 30,
        limit: Limit = 100,
        message_type: MessageType | None = None,
        addressed_to: AddressedTo = None,
    ) -> WaitedMessages:
        """Block until messages after since_id arrive (or timeout). Use instead of polling."""
        return await service.wait_for_messages(
            room_id, since_id, timeout, limit, message_type, addressed_to, caller=caller()
        )

    @mcp.tool(annotations=WRITES)
    async def init_room(
        project: Project,
        name: RoomName,
        branch: Annotated[str | None, Field(max_length=check.MAX_NAME)] = None,
        description: Annotated[str | None, Field(max_length=check.MAX_DESCRIPTION)] = None,
        team_name: Annotated[str | None, Field(max_length=check.MAX_NAME)] = None,
    ) -> InitializedRoom:
        """Create a room, or return the existing one with this project and name."""
        return await service.init_room(
            project, name, branch, description, team_name, caller=caller()
        )

    @mcp.tool(annotations=READ_ONLY)
    async def list_rooms(
        project: Annotated[str | None, Field(max_length=check.MAX_NAME)] = None,
        status: Literal["live", "archived", "all"] = "live",
    ) -> Rooms:
        """List rooms, optionally of one project."""
        return await service.list_rooms(project, status, caller=caller())

    @mcp.tool(annotations=WRITES)
    async def archive_room(project: Project, name: RoomName) -> Archived:
        """Archive a room: read-only from then on, messages kept."""
        return await service.archive_room(project, name, caller=caller())

    @mcp.tool(annotations=DESTROYS)
    async def delete_room(room_id: RoomId) -> Deleted:
        """Delete an archived room and all its messages, for good."""
        return await service.delete_room(room_id, caller=caller())

    @mcp.tool(annotations=DESTROYS)
    async def clear_room(project: Project, name: RoomName) -> Cleared:
        """Delete every message in a room."""
        return await service.clear_room(project, name, caller=caller())

    @mcp.tool(annotations=WRITES)
    async def mark_read(
        room_id: RoomId,
        reader: Sender,
        last_read_message_id: Annotated[int, Field(ge=0, le=check.MAX_ID), NoBool],
    ) -> ReadCursor:
        """Move a reader's cursor forward (never back)."""
        return await service.mark_read(room_id, reader, last_read_message_id, caller=caller())

    @mcp.tool(annotations=READ_ONLY)
    async def search(
        query: Annotated[str, Field(min_length=1, max_length=check.MAX_QUERY)],
        project: Annotated[str | None, Field(max_length=check.MAX_NAME)] = None,
    ) -> SearchResult:
        """Search room names and message text (substring, case-insensitive)."""
        return await service.search(query, project, caller=caller())

    @mcp.tool(annotations=READ_ONLY)
    async def list_projects() -> Projects:
        """List project names."""
        return await service.list_projects(caller=caller())

    @mcp.tool(annotations=READ_ONLY)
    async def ping() -> Pong:
        """Health check: status, db_path, version, web_url; latest/update_available if known."""
        return await service.ping()

    @mcp.tool(annotations=WRITES)
    async def update_status(
        room_id: RoomId,
        sender: Sender,
        status: Annotated[str, Field(min_length=1, max_length=check.MAX_STATUS)],
    ) -> Status:
        """Set your current status in a room."""
        return await service.update_status(room_id, sender, status, caller=caller())

    @mcp.tool(annotations=READ_ONLY)
    async def get_team_status(room_id: RoomId) -> TeamStatus:
        """Current status of everyone in a room."""
        return await service.get_team_status(room_id, caller=caller())

    @mcp.tool(annotations=WRITES)
    async def register_agent(
        room_id: RoomId,
        agent_name: Annotated[
            str,
            Field(min_length=1, max_length=check.MAX_SENDER, description="Letters, digits, _ or -"),
        ],
        task_id: Annotated[str, Field(min_length=1, max_length=check.MAX_NAME)],
    ) -> Agent:
        """Register an agent for @mentions (case-insensitive, re-registering updates)."""
        return await service.register_agent(room_id, agent_name, task_id, caller=caller())

    @mcp.tool(annotations=READ_ONLY)
    async def list_agents(room_id: RoomId) -> Agents:
        """Agents registered in a room."""
        return await service.list_agents(room_id, caller=caller())

    @mcp.tool(annotations=READ_ONLY)
    async def check_inbox(
        agent_name: Sender,
        since_id: SinceId = 0,
        timeout: Annotated[float, Field(description="Seconds, capped at 60"), NoBool] = 0,
        limit: Limit = 50,
    ) -> Inbox:
        """Messages for agent_name in every live room, oldest first."""
        return await service.check_inbox(agent_name, since_id, timeout, limit, caller=caller())

    @mcp.tool(annotations=READ_ONLY)
    async def get_handoff(
        room_id: RoomId, reader: Sender, recent: Annotated[int, Field(ge=0, le=100), NoBool] = 20
    ) -> Handoff:
        """Catch up on a room in one answer under 24 KB. Call first when resuming."""
        return await service.get_handoff(room_id, reader, recent, caller=caller())

    @mcp.tool(annotations=WRITES)
    async def ack_message(
        room_id: RoomId,
        message_id: Annotated[int, Field(ge=1, le=check.MAX_ID), NoBool],
        agent_name: Sender,
    ) -> Ack:
        """Acknowledge a message addressed to you (idempotent)."""
        return await service.ack_message(room_id, message_id, agent_name, caller=caller())

    add_claim_tools(mcp, service)
    return mcp
