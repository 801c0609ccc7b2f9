"""Storage faults under the real server: a locked database, a full disk, a read-only
database. Each gives the caller a clear error and stores nothing, the
server stays up, and writes work again as soon as the fault clears.

The tests run as root, which ignores file permissions, so the read-only cases
run the server as `nobody` through setpriv — or, where `nobody` cannot reach
the interpreter (a 0700 /root holding pyenv), as root stripped of the
capabilities that let it ignore permissions: the kernel then checks them.
The full disk is a real one: a small tmpfs mounted for the test and filled up
(root may mount here; SQLite's max_page_count would only limit one connection
of ours, not the file system).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client

from tests.helpers import ServerProcess

pytestmark = [pytest.mark.anyio, pytest.mark.e2e, pytest.mark.slow]

AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
FILE_CAPABILITIES = "-dac_override,-dac_read_search,-fowner"
AS_ROOT_BOUND_BY_PERMISSIONS = [
    "setpriv",
    f"--inh-caps={FILE_CAPABILITIES}",
    f"--bounding-set={FILE_CAPABILITIES}",
]
HOLD_EXCLUSIVE_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("COMMIT")
"""


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content[0].text
    data: dict[str, Any] = result.structured_content
    return data


async def refusal(client: Client, tool: str, **arguments: Any) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error, f"{tool} should have been refused"
    text: str = result.content[0].text
    assert "\n" not in text and "nothing was stored" in text, text
    return text


async def contents(client: Client, room_id: str) -> list[str]:
    page = await call(client, "read_messages", room_id=room_id, limit=1000)
    return [m["content"] for m in page["messages"]]


def assert_up(server: ServerProcess) -> None:
    assert server.proc is not None and server.proc.poll() is None
    assert httpx.get(f"{server.url}/api/status", timeout=10).status_code == 200


async def test_a_database_locked_by_another_process(server: ServerProcess) -> None:
    async with Client(server.mcp_url, mode="legacy") as client:
        room = (await call(client, "init_room", project="faults", name="locked"))["id"]
        await call(client, "post_message", room_id=room, sender="a", content="before")
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_EXCLUSIVE_LOCK, str(server.home / "chatnut.db")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert holder.stdin is not None and holder.stdout is not None
        try:
            assert holder.stdout.readline().strip() == "locked"
            text = await refusal(
                client, "post_message", room_id=room, sender="a", content="while locked"
            )
            assert "locked" in text
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
                response = await http.post(
                    f"/api/rooms/{room}/messages", json={"sender": "h", "content": "web, locked"}
                )
            assert response.status_code == 503
            assert response.json()["error"]["code"] == "storage_unavailable"
            assert_up(server)  # WAL readers are not blocked by the writer's lock
            assert await contents(client, room) == ["before"]
        finally:
            holder.stdin.write("\n")
            holder.stdin.close()
            holder.wait(10)
            holder.stdout.close()
        await call(client, "post_message", room_id=room, sender="a", content="after")
        assert await contents(client, room) == ["before", "after"]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "chatnut-test", str(mount_point)], check=True
    )
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "--lazy", str(mount_point)], check=True)


def fill(path: Path) -> None:
    """Write zeros until the file system has no byte left."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        size = 1 << 20
        while size:
            try:
                os.write(fd, b"\0" * size)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                size //= 2
    finally:
        os.close(fd)


async def test_a_full_disk(home: Path, small_disk: Path) -> None:
    server = ServerProcess(home, extra_args=["--db", str(small_disk / "chatnut.db")])
    server.start()
    try:
        async with Client(server.mcp_url, mode="legacy") as client:
            room = (await call(client, "init_room", project="faults", name="full"))["id"]
            fill(small_disk / "filler")
            stored: list[str] = []
            refused = ""
            for i in range(200):  # the WAL may still have room for a few: write until full
                content = f"{i} " + "y" * 60_000
                result = await client.call_tool(
                    "post_message", {"room_id": room, "sender": "a", "content": content}
                )
                if result.is_error:
                    refused = result.content[0].text
                    break
                stored.append(content)
            assert "full" in refused and "nothing was stored" in refused, refused
            assert_up(server)
            assert await contents(client, room) == stored  # the refused one left no trace
            (small_disk / "filler").unlink()
            await call(client, "post_message", room_id=room, sender="a", content="room again")
            assert await contents(client, room) == [*stored, "room again"]
    finally:
        server.stop()


def unprivileged() -> tuple[str, list[str]]:
    """The owner for the server's files and the wrapper that runs it bound by permissions."""
    probe = subprocess.run(
        [*AS_NOBODY, sys.executable, "-c", "import chatnut"], capture_output=True, timeout=60
    )
    if probe.returncode == 0:
        return "nobody", AS_NOBODY
    return "root", AS_ROOT_BOUND_BY_PERMISSIONS


@pytest.fixture
def bound_server() -> Iterator[tuple[ServerProcess, Path]]:
    """The server, bound by file permissions, on a home and database folder it owns
    (pytest's tmp is root's 0700); not started yet."""
    owner, wrapper = unprivileged()
    base = Path(tempfile.mkdtemp(prefix="chatnut-readonly-"))
    home, data = base / "home", base / "data"
    for path in (base, home, data):
        path.mkdir(exist_ok=True)
        shutil.chown(path, owner, "nogroup" if owner == "nobody" else "root")
    try:
        yield (
            ServerProcess(home, extra_args=["--db", str(data / "chatnut.db")], wrapper=wrapper),
            data,
        )
    finally:
        for path in data.iterdir():
            path.chmod(0o644)
        data.chmod(0o755)
        shutil.rmtree(base)


def read_only(data: Path, yes: bool) -> None:
    for path in data.iterdir():
        path.chmod(0o444 if yes else 0o644)
    data.chmod(0o555 if yes else 0o755)


async def test_a_read_only_database_directory(
    bound_server: tuple[ServerProcess, Path],
) -> None:
    server, data = bound_server
    server.start()
    try:
        async with Client(server.mcp_url, mode="legacy") as client:
            room = (await call(client, "init_room", project="faults", name="ro"))["id"]
            await call(client, "post_message", room_id=room, sender="a", content="one")
            read_only(data, True)
            # An open WAL database needs no new file: the running server goes on.
            await call(client, "post_message", room_id=room, sender="a", content="two")
            server.stop()
            # Restarted on the read-only files, SQLite can only open them for reading.
            server.start()
            assert await contents(client, room) == ["one", "two"]
            text = await refusal(client, "post_message", room_id=room, sender="a", content="x")
            assert "readonly" in text
            await refusal(client, "update_status", room_id=room, sender="a", status="busy")
            assert_up(server)
            read_only(data, False)
            await call(client, "post_message", room_id=room, sender="a", content="three")
            assert await contents(client, room) == ["one", "two", "three"]
    finally:
        with contextlib.suppress(Exception):
            read_only(data, False)
        server.stop()


def test_starting_on_a_read_only_directory_says_why(
    bound_server: tuple[ServerProcess, Path],
) -> None:
    server, data = bound_server
    db = data / "chatnut.db"
    server.start()
    server.stop()  # a clean stop removes the WAL: a new start must create it
    read_only(data, True)
    refused = subprocess.run(
        server.command(0), env=server.environment(), capture_output=True, text=True, timeout=30
    )
    assert refused.returncode != 0
    assert f"cannot open the database {db} for writing" in refused.stderr, refused.stderr
    read_only(data, False)
    server.start()
    assert_up(server)
    server.stop()
