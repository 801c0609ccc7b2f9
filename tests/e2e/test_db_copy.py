"""`chatnut db copy SRC DST`: SQLite -> PostgreSQL -> SQLite, row for row."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from chatnut.cli import main
from tests.helpers import ServerProcess

FIXTURES = Path(__file__).parents[1] / "fixtures"
# The data tables and the order that makes their rows comparable.
TABLES = {
    "rooms": "id",
    "messages": "id",
    "read_cursors": "room_id, reader",
    "room_status": "room_id, sender",
    "agent_registry": "room_id, agent_name",
}


def rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(path) as conn:
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()
            for table, order in TABLES.items()
        }


def sequence(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        found = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'messages'").fetchone()
    return int(found[0]) if found else 0


def copy(capsys: pytest.CaptureFixture[str], source: str, destination: str) -> tuple[int, str, str]:
    code = main(["db", "copy", source, destination])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def busy_database(home: Path, db: Path) -> None:
    """A database with every kind of row, written by the real server."""
    server = ServerProcess(home, ["--db", str(db)])
    server.start()
    try:
        base = server.url
        room = httpx.post(f"{base}/api/rooms", json={"project": "p", "name": "r"}).json()
        other = httpx.post(f"{base}/api/rooms", json={"project": "p", "name": "s"}).json()
        for i in range(30):
            target = room if i % 3 else other
            httpx.post(
                f"{base}/api/rooms/{target['id']}/messages",
                json={"sender": f"ana{i % 4}", "content": f"message {i} — ünïcode ✓"},
            )
        # Cursors, statuses and registrations, as agents make them.
        httpx.post(
            f"{base}/api/rooms/{room['id']}/read",
            json={"reader": "ana0", "last_read_message_id": 7},
        )
        httpx.post(
            f"{base}/api/rooms/{room['id']}/statuses",
            json={"sender": "ana1", "status": "reviewing"},
        )
        httpx.post(
            f"{base}/api/rooms/{other['id']}/agents", json={"agent_name": "ana2", "task_id": "t-9"}
        )
        # The newest ids deleted: the copy's sequence must stay above them all the same.
        gone = httpx.post(f"{base}/api/rooms", json={"project": "p", "name": "gone"}).json()
        for _ in range(3):
            httpx.post(
                f"{base}/api/rooms/{gone['id']}/messages", json={"sender": "x", "content": "y"}
            )
        httpx.post(f"{base}/api/rooms/{gone['id']}/archive")
        assert httpx.delete(f"{base}/api/rooms/{gone['id']}").status_code == 200
    finally:
        server.stop()
    counts = {table: len(values) for table, values in rows(db).items()}
    assert all(counts.values()), counts


@pytest.mark.e2e
@pytest.mark.parametrize("origin", ["written", "chatnut042"])
def test_sqlite_to_postgres_and_back_is_equal_row_for_row(
    origin: str,
    tmp_path: Path,
    home: Path,
    postgres_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = tmp_path / "laptop.db"
    if origin == "chatnut042":
        shutil.copy(FIXTURES / "chatnut042.db", source)
    else:
        busy_database(home, source)
    code, out, err = copy(capsys, str(source), postgres_url)
    assert code == 0, err
    expected = rows(source)  # as migrated to the current schema by the copy
    for table, values in expected.items():
        assert f"  {table}" in out and f"(source {len(values)}, destination {len(values)})" in out
    back = tmp_path / "back.db"
    code, out, err = copy(capsys, postgres_url, str(back))
    assert code == 0, err
    assert rows(back) == expected
    assert sequence(back) == max(
        sequence(source), max((m[0] for m in expected["messages"]), default=0)
    )
    # The copy serves: search, counters and the next id continue where the source stopped.
    server = ServerProcess(home, ["--db", postgres_url])
    server.start()
    try:
        rooms = httpx.get(f"{server.url}/api/rooms?status=all").json()["rooms"]
        counts = {r["id"]: r["message_count"] for r in rooms}
        for room_id, count in counts.items():
            assert count == sum(1 for m in expected["messages"] if m[1] == room_id)
        live = next(r for r in rooms if r["status"] == "live")
        posted = httpx.post(
            f"{server.url}/api/rooms/{live['id']}/messages", json={"sender": "z", "content": "next"}
        ).json()
        assert posted["id"] > sequence(source) or not expected["messages"]
    finally:
        server.stop()


def test_a_destination_with_data_is_refused_and_untouched(
    tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, destination = tmp_path / "a.db", tmp_path / "b.db"
    shutil.copy(FIXTURES / "chatnut042.db", source)
    shutil.copy(FIXTURES / "chatnut042.db", destination)
    before = destination.read_bytes()
    code, out, err = copy(capsys, str(source), str(destination))
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "already holds data" in err and "rooms:" in err
    assert destination.read_bytes() == before
    code, _, err = copy(capsys, str(source), str(source))
    assert code == 1 and "the same database" in err


def test_a_source_that_is_not_a_database_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "junk.db"
    junk.write_text("not a database")
    code, _, err = copy(capsys, str(junk), str(tmp_path / "out.db"))
    assert code == 1 and err.count("\n") == 1 and str(junk) in err
    assert not (tmp_path / "out.db").exists()
