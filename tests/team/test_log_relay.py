"""With several workers one process writes the log: the workers hand their lines
to the supervising parent, so rotation cannot race and no line is lost —
against the real `chatnut serve --workers 2` on PostgreSQL."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest

from tests.helpers import ServerProcess, worker_pids

pytestmark = pytest.mark.e2e

REQUESTS = 400


def holds_log(pid: int, log: Path) -> bool:
    fds = Path(f"/proc/{pid}/fd")
    return any(os.path.realpath(fd) == str(log) for fd in fds.iterdir())


def test_only_the_parent_writes_the_log_and_no_line_is_lost(home: Path, postgres_url: str) -> None:
    token = "t" * 40
    server = ServerProcess(
        home,
        ["--db", postgres_url, "--workers", "2", "--log-format", "json"],
        env={"CHATNUT_TOKEN": token},
    )
    server.start()
    log = (home / "chatnut.log").resolve()
    try:
        workers = worker_pids(home)
        assert server.proc is not None
        assert holds_log(server.proc.pid, log)
        assert not any(holds_log(pid, log) for pid in workers)
        # Each request writes one log line in whichever worker answers it (the
        # JSON log has a line per request). A new connection each: the kernel
        # spreads them over both workers.
        for _ in range(REQUESTS):
            answer = httpx.get(
                f"{server.url}/api/status", headers={"authorization": f"Bearer {token}"}
            )
            assert answer.status_code == 200
    finally:
        server.stop()
    entries = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    lines = [e for e in entries if e["message"] == "request" and e.get("route") == "/api/status"]
    assert len(lines) == REQUESTS
    pids = {e["pid"] for e in lines}
    assert pids <= set(workers) and len(pids) == 2
