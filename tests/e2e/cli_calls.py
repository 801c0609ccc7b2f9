"""The CLI run in-process against a test's server, and a room to run it on."""

from __future__ import annotations

import httpx
import pytest

from chatnut.cli import main
from tests.helpers import ServerProcess


def make_room(server: ServerProcess, project: str = "demo", name: str = "plan") -> str:
    room = httpx.post(f"{server.url}/api/rooms", json={"project": project, "name": name})
    room_id: str = room.json()["id"]
    return room_id


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err
