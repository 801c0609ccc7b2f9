"""`chatnut retention` and `chatnut import` against the real server, on both backends.

Age without waiting: messages are posted, then their `created_at` is set a
year back directly in the database (the server reads it from there).
"""

from __future__ import annotations

import gzip
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import anyio
import asyncpg
import httpx
import pytest

from tests.e2e.cli_calls import cli, make_room
from tests.helpers import ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.both_backends]

LONG_AGO = "2020-01-01T00:00:00.000+00:00"


@pytest.fixture
def retaining(
    home: Path, database_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ServerProcess]:
    db = ["--db", database_url] if database_url else []
    process = ServerProcess(home, extra_args=[*db, "--retain-days", "30"])
    process.start()
    for name, value in process.environment().items():
        monkeypatch.setenv(name, value)
    for name in ("CHATNUT_DB", "CHAT_DB_PATH", "CHATNUT_TOKEN", "CHATNUT_PORT"):
        monkeypatch.delenv(name, raising=False)
    yield process
    process.stop()


def backdate(home: Path, database_url: str | None, ids: list[int]) -> None:
    if database_url is None:
        conn = sqlite3.connect(home / "chatnut.db", timeout=10)
        with conn:
            conn.executemany(
                "UPDATE messages SET created_at = ? WHERE id = ?", [(LONG_AGO, i) for i in ids]
            )
        conn.close()
        return

    async def update() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(
                "UPDATE messages SET created_at = $1 WHERE id = ANY($2::bigint[])", LONG_AGO, ids
            )
        finally:
            await conn.close()

    anyio.run(update)


def contents(server: ServerProcess, room: str) -> list[str]:
    answer = httpx.get(f"{server.url}/api/rooms/{room}/messages")
    return [m["content"] for m in answer.json()["messages"]]


def test_run_dry_run_then_import(
    retaining: ServerProcess,
    home: Path,
    database_url: str | None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    room = make_room(retaining)
    other = make_room(retaining, project="other", name="plan")
    posted = [
        httpx.post(
            f"{retaining.url}/api/rooms/{r}/messages", json={"sender": "ana", "content": text}
        ).json()
        for r, text in [(room, "old one"), (room, "old two"), (other, "old other"), (room, "new")]
    ]
    backdate(home, database_url, [m["id"] for m in posted[:3]])
    code, out, _ = cli(capsys, "retention", "set", "other", "off")
    assert (code, out) == (0, "other: off\n")
    code, out, _ = cli(capsys, "retention", "show")
    assert out == "server (--retain-days): 30 days\nother: off\n"

    code, out, _ = cli(capsys, "retention", "run", "--dry-run")
    assert code == 0 and out == (
        "would delete 2 message(s) from demo/plan\nwould delete 2 message(s)\n"
    )
    assert not (home / "retention").exists()
    assert contents(retaining, room) == ["old one", "old two", "new"]

    code, out, _ = cli(capsys, "retention", "run", "--json")
    done = json.loads(out)
    assert done["messages"] == 2 and done["rooms"] == [
        {"project": "demo", "room": "plan", "messages": 2}
    ]
    with gzip.open(done["file"], "rt") as lines:
        assert [json.loads(line)["message"]["id"] for line in lines] == [
            posted[0]["id"],
            posted[1]["id"],
        ]
    assert contents(retaining, room) == ["new"]
    assert contents(retaining, other) == ["old other"]
    found = httpx.get(f"{retaining.url}/api/search", params={"q": "old"}).json()
    assert [r["room_id"] for r in found.get("message_rooms", [])] == [other]

    code, out, _ = cli(capsys, "import", done["file"])
    assert code == 0 and out.startswith("restored 2 of 2 message(s)")
    messages = httpx.get(f"{retaining.url}/api/rooms/{room}/messages").json()["messages"]
    assert [(m["id"], m["content"]) for m in messages] == [
        (m["id"], m["content"]) for m in (posted[0], posted[1], posted[3])
    ]


def test_bad_input_is_refused_in_one_line(
    retaining: ServerProcess, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "retention", "set", "demo", "forever")
    assert code == 1
    assert err.strip().splitlines() == [
        "chatnut: retention must be DAYS (1..36500) or off, got 'forever'"
    ]
    elsewhere = home / "x.jsonl.gz"
    elsewhere.write_bytes(gzip.compress(b"{}\n"))
    code, _, err = cli(capsys, "import", str(elsewhere))
    assert code == 1 and len(err.strip().splitlines()) == 1 and "import reads only" in err
    code, out, _ = cli(capsys, "retention", "show")
    assert out == "server (--retain-days): 30 days\n"
