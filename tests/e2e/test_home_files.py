"""What the real server leaves in its home: a private home and
private files, however readable an older chatnut or the umask left them; the
original's CHATNUT_RUN_DIR for the port and pid files; no temp file left behind."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import ServerProcess

pytestmark = pytest.mark.e2e

FIXTURE = Path(__file__).parents[1] / "fixtures" / "chatnut042.db"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0o022)  # the usual umask: what made 0644 files before
    yield
    os.umask(old)


def test_home_is_0700_and_every_file_in_it_0600(home: Path, open_umask: None) -> None:
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o755)
    shutil.copy(FIXTURE, home / "chatnut.db")  # an original's database: migrated, copied first
    (home / "chatnut.db").chmod(0o644)
    (home / "chatnut.log").write_text("an old log line\n")
    (home / "chatnut.log").chmod(0o644)
    server = ServerProcess(home)
    server.start()
    try:
        room = httpx.post(f"{server.url}/api/rooms", json={"project": "p", "name": "r"}).json()
        httpx.post(
            f"{server.url}/api/rooms/{room['id']}/messages", json={"sender": "a", "content": "x"}
        )
        assert mode(home) == 0o700
        files = sorted(p.name for p in home.iterdir() if p.is_file())
        for name in ("chatnut.db", "chatnut.db-wal", "chatnut.db-shm", "chatnut.log"):
            assert name in files
        assert any(name.startswith("chatnut.db.bak-") for name in files), files
        loose = {name: oct(mode(home / name)) for name in files if mode(home / name) != 0o600}
        assert loose == {}
    finally:
        server.stop()


def test_the_original_run_dir_holds_port_and_pid(home: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    server = ServerProcess(home, env={"CHATNUT_RUN_DIR": str(run_dir)})
    server.start()
    try:
        assert (run_dir / "server.port").read_text().strip() == str(server.port)
        assert (run_dir / "server.pid").read_text().strip() == str(server.proc.pid)  # type: ignore[union-attr]
        assert not (home / "server.port").exists()
        status = subprocess.run(
            [sys.executable, "-m", "chatnut", "status", "--json"],
            env=server.environment(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        facts = json.loads(status.stdout)
        assert facts["running"] is True and facts["port"] == server.port
    finally:
        server.stop()
    assert not (run_dir / "server.port").exists()


def test_a_failed_port_file_write_leaves_no_temp_file(home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "server.port").mkdir()  # the rename onto it fails
    server = ServerProcess(home)
    with pytest.raises(RuntimeError):
        server.start()
    server.kill()
    assert [p.name for p in home.iterdir() if p.name.endswith(".tmp")] == []
