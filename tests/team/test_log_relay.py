"""With several workers one process writes the log: the workers hand their lines
to the supervising parent, so rotation cannot race and no line is lost —
against the real `chatnut serve --workers 2` on PostgreSQL."""

from __future__ import annotations

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
    server = ServerProcess(
        home,
        ["--db", postgres_url, "--workers", "2"],
        env={"CHATNUT_TOKEN": "t" * 40},
    )
    server.start()
    log = (home / "chatnut.log").resolve()
    try:
        workers = worker_pids(home)
        assert server.proc is not None
        assert holds_log(server.proc.pid, log)
        assert not any(holds_log(pid, log) for pid in workers)
        # Each of these writes one log line in whichever worker answers it.
        # A new connection each: the kernel spreads them over both workers.
        for _ in range(REQUESTS):
            bad = httpx.get(
                f"{server.url}/api/status", headers={"cookie": b"chatnut_session=\xc3\xa9"}
            )
            assert bad.status_code == 401
    finally:
        server.stop()
    lines = [line for line in log.read_text().splitlines() if "not ASCII" in line]
    assert len(lines) == REQUESTS
    pids = {line.split("[", 1)[1].split("]", 1)[0] for line in lines}
    assert pids <= {str(pid) for pid in workers} and len(pids) == 2
