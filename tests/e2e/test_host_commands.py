"""The terminal commands on a server's own host, as its operator runs them: `backup`
finds the database the running server serves (not the setting's default) and writes
it 0600, on SQLite and with pg_dump on PostgreSQL; `status` works without the token.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.helpers import TOKEN, ServerProcess
from tests.postgres import find_bin_dir

pytestmark = [pytest.mark.both_backends, pytest.mark.e2e]


def chatnut(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A command as the operator types it on the host: the home, no --db, no token."""
    env = {
        "CHATNUT_HOME": str(home),
        "PATH": f"{find_bin_dir()}:/usr/bin:/bin",  # pg_dump, as Debian's package puts it
        "CHATNUT_UPDATE_CHECK": "0",
    }
    return subprocess.run(
        [sys.executable, "-m", "chatnut", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_backup_finds_the_running_servers_database_and_writes_0600(
    home: Path, tmp_path: Path, database_url: str | None
) -> None:
    database = database_url or str(tmp_path / "elsewhere" / "team.db")
    process = ServerProcess(home, ["--db", database], env={"CHATNUT_TOKEN": TOKEN})
    process.start()
    try:
        auth = {"authorization": f"Bearer {TOKEN}"}
        room = httpx.post(
            f"{process.url}/api/rooms", json={"project": "ops", "name": "kept"}, headers=auth
        ).json()
        httpx.post(
            f"{process.url}/api/rooms/{room['id']}/messages",
            json={"sender": "a", "content": "keep me"},
            headers=auth,
        )
        os.umask(0o022)  # the usual umask: the backup must not inherit it
        target = tmp_path / "backup.dump"
        done = chatnut(home, "backup", str(target))
        assert done.returncode == 0, done.stderr
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        if database_url:
            assert target.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
            assert "with pg_dump" in done.stdout
        else:
            assert done.stdout.startswith(f"backed up {database} to {target}: 1 rooms, 1 messages")
        assert not (home / "chatnut.db").exists()  # the default was never touched

        status = chatnut(home, "status", "--json")
        assert status.returncode == 0, status.stderr
        facts = json.loads(status.stdout)
        assert facts["running"] is True and facts["ready"] == "ready"
        assert facts["pid"] == process.proc.pid  # type: ignore[union-attr]
        assert facts["port"] == process.port
        assert facts["db_path"] == database  # no password in these URLs to leave out
        assert "rooms" not in facts  # the counts need the token
    finally:
        process.stop()
    assert not (home / "server.db").exists()
