"""The team around a room: statuses, @mention registrations, and presence."""

from __future__ import annotations

from typing import Annotated, NotRequired

from typing_extensions import TypedDict

from chatnut.shapes.claims import Claim
from chatnut.shapes.plain import PLAIN_LIST


class Status(TypedDict):
    room_id: str
    sender: str
    status: str
    updated_at: str
    principal: NotRequired[str]  # only where a principal's token set it


class Seen(TypedDict):
    last_seen_at: str | None
    waiting: bool  # parked in a named wait or the inbox right now


class StatusSeen(Status, Seen):
    pass


class TeamStatus(TypedDict):
    statuses: list[StatusSeen]
    claims: NotRequired[Annotated[list[Claim], PLAIN_LIST]]  # only where the project has some


class Agent(TypedDict):
    room_id: str
    agent_name: str
    task_id: str
    registered_at: str
    principal: NotRequired[str]


class AgentSeen(Agent, Seen):
    pass


class Agents(TypedDict):
    agents: list[AgentSeen]
