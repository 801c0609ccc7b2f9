"""A database's password is printed nowhere: one helper formats its location for
the log, stderr, /api/status, ping, `chatnut status` (running or not) and
`db copy`, against the real server with `--workers 2` on PostgreSQL and a URL
holding a password in every form libpq takes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from mcp import Client

from chatnut.store.location import printable
from tests.helpers import ServerProcess

SECRETS = ("s3cret-in-userinfo", "s3cret-in-query", "s3cret-passfile", "s3cret-ssl")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://ana:pw@db.example:5432/chat", "postgresql://ana@db.example:5432/chat"),
        ("postgres://:pw@db.example/chat", "postgres://db.example/chat"),
        (
            "postgresql://ana@db/chat?password=pw&sslmode=require&passfile=/p&sslpassword=x",
            "postgresql://ana@db/chat?sslmode=require",
        ),
        ("postgresql://ana:p%40ss@[::1]:5432/chat?PassWord=pw", "postgresql://ana@[::1]:5432/chat"),
        ("postgresql://ana:pw@db/chat#frag", "postgresql://ana@db/chat"),
        ("/home/ana/.chatnut/chatnut.db", "/home/ana/.chatnut/chatnut.db"),
    ],
)
def test_printable_keeps_where_and_drops_every_password(url: str, shown: str) -> None:
    assert printable(url) == shown
    assert printable(Path(url) if not url.startswith("postgres") else url) == shown


def cli(home: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = ServerProcess(home, env={"CHATNUT_DB": url}).environment()
    return subprocess.run(
        [sys.executable, "-m", "chatnut", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.e2e
@pytest.mark.anyio
async def test_no_password_is_printed_anywhere(
    home: Path, postgres_url: str, tmp_path: Path
) -> None:
    parts = urlsplit(postgres_url)
    url = (
        f"postgresql://{parts.username}:{SECRETS[0]}@{parts.hostname}:{parts.port}{parts.path}"
        f"?password={SECRETS[1]}&passfile=/nonexistent/{SECRETS[2]}&sslpassword={SECRETS[3]}"
        "&sslmode=disable"
    )
    where = f"{parts.hostname}:{parts.port}{parts.path}"
    server = ServerProcess(home, ["--db", url, "--workers", "2"])
    server.start()
    seen: dict[str, str] = {}
    try:
        status = httpx.get(f"{server.url}/api/status").json()
        seen["/api/status"] = status["db_path"]
        async with Client(server.mcp_url, mode="legacy") as client:
            ping = await client.call_tool("ping", {})
        seen["ping"] = ping.structured_content["db_path"]
        running = cli(home, url, "status", "--json")
        seen["chatnut status (running)"] = json.loads(running.stdout)["db_path"]
    finally:
        server.stop()
    seen["stderr"] = "".join(server.output)
    seen["chatnut.log"] = (home / "chatnut.log").read_text()
    stopped = cli(home, url, "status")
    seen["chatnut status (stopped)"] = stopped.stdout + stopped.stderr
    copied = cli(home, url, "db", "copy", url, str(tmp_path / "copy.db"))
    seen["db copy"] = copied.stdout + copied.stderr
    assert copied.returncode == 0, seen["db copy"]
    for place, text in seen.items():
        assert not any(secret in text for secret in SECRETS), (place, text)
        assert where in text, (place, text)
    assert "ready on" in seen["chatnut.log"] and "2 workers" in seen["chatnut.log"]
