"""Health: the ping tool's answer and the server's status."""

from __future__ import annotations

from typing import NotRequired

from typing_extensions import TypedDict


class UpdateInfo(TypedDict, total=False):
    # What the update check knows (nothing while it has not answered, or off).
    latest: str
    update_available: bool


class Pong(TypedDict):
    status: str
    db_path: str  # what the server calls its database (never a URL's password)
    version: str
    web_url: str
    latest: NotRequired[str]
    update_available: NotRequired[bool]


class Stats(TypedDict):
    rooms: int
    messages: int


class ServerStatus(TypedDict):
    status: str
    version: str
    db_path: str
    # Whole-server counts: not for a token scoped to some projects.
    rooms: NotRequired[int]
    messages: NotRequired[int]
    waiters: NotRequired[int]  # parked waits and open streams on this process
    pid: int  # the process that answered (one of the workers, with several)
