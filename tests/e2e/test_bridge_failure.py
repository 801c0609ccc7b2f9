"""When the stdio bridge cannot start `chatnut serve`, it says why in one line —
the reason serve gave — instead of pointing at a log that does not exist."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def test_the_bridge_says_why_serve_failed(home: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CHATNUT_", "CHAT_"))}
        env.update(
            CHATNUT_HOME=str(home),
            CHATNUT_PORT=str(port),
            CHATNUT_OPEN_BROWSER="0",
            CHATNUT_UPDATE_CHECK="0",
        )
        bridge = subprocess.run(
            [sys.executable, "-m", "chatnut"],
            env=env,
            input="",
            capture_output=True,
            text=True,
            timeout=60,
        )
    lines = [line for line in bridge.stderr.splitlines() if line.strip()]
    assert bridge.returncode == 1
    assert lines == [
        f"chatnut bridge: `chatnut serve` could not start: port {port} on 127.0.0.1 is taken by"
        " another program; stop it, or pick another with --port N (--port 0 for any free port"
        " — then server.port says which)"
    ], bridge.stderr
    assert not (home / "chatnut.log").exists()  # so nothing may point there
