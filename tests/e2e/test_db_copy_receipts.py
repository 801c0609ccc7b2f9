"""`chatnut db copy` carries receipts (every stamp) and the push delivery cursors
and leases: SQLite -> PostgreSQL -> SQLite, row for row, and the copy serves them."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_db_copy import copy
from tests.helpers import ServerProcess

pytestmark = [pytest.mark.e2e]

ORDER = {
    "messages": "id",
    "read_cursors": "room_id, reader",
    "receipts": "message_id, name",
    "delivery_cursors": "name",
}


def rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(path) as conn:
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()
            for table, order in ORDER.items()
        }


def acked_database(home: Path, db: Path) -> str:
    """Directed messages delivered (pushed), read and acked in part, and two push
    cursors, one still leased: written by the real server. Returns the room id."""
    server = ServerProcess(home, ["--db", str(db)])
    server.start()
    try:
        with httpx.Client(base_url=f"{server.url}/api") as api:
            return fill(api)
    finally:
        server.stop()


def fill(api: httpx.Client) -> str:
    room = str(api.post("/rooms", json={"project": "p", "name": "acks"}).json()["id"])
    for name in ("dev", "qa"):  # each channel starts at the newest message
        taken = api.post(f"/push/{name}/next", json={"holder": f"{name}-1", "timeout": 0})
        assert taken.json()["held"] is True, taken.text
    ids = []
    for i in range(6):
        posted = api.post(
            f"/rooms/{room}/messages",
            json={
                "sender": "lead",
                "content": f"task {i}",
                "to": ["dev", "qa"] if i % 2 else ["dev"],
                "ack_required": i < 4,
            },
        )
        ids.append(posted.json()["id"])
    api.post(f"/rooms/{room}/messages", json={"sender": "lead", "content": "undirected"})
    pushed = api.post("/push/dev/next", json={"holder": "dev-1", "timeout": 0}).json()
    done = api.post(
        "/push/dev/done",
        json={
            "holder": "dev-1",
            "through": pushed["next_since_id"],
            "pushed": [m["id"] for m in pushed["messages"]],
        },
    )
    assert done.json() == {"advanced": True}, done.text
    api.post("/push/qa/release", json={"holder": "qa-1"})  # qa's lease let go, dev's held
    api.post(f"/rooms/{room}/read", json={"reader": "dev", "last_read_message_id": ids[2]})
    for message_id in ids[:2]:
        acked = api.post(f"/rooms/{room}/messages/{message_id}/ack", json={"agent_name": "dev"})
        assert acked.status_code == 200, acked.text
    api.post(f"/rooms/{room}/messages/{ids[1]}/ack", json={"agent_name": "qa"})
    return room


def test_receipts_and_push_cursors_go_across_row_for_row(
    tmp_path: Path, home: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "laptop.db"
    room = acked_database(home, source)
    expected = rows(source)
    receipts = expected["receipts"]
    stamped = [r for r in receipts if r[5] and r[6] and r[7]]  # delivered, read, acked
    assert len(receipts) == 9 and len(stamped) == 2
    assert any(r[1] == "qa" and r[7] and not r[6] for r in receipts)  # acked, unread
    assert [r[0] for r in expected["delivery_cursors"]] == ["dev", "qa"]
    assert [r[2] for r in expected["delivery_cursors"]] == ["dev-1", None]  # the holders

    code, out, err = copy(capsys, str(source), postgres_url)
    assert code == 0, err
    assert "  receipts" in out and "(source 9, destination 9)" in out
    assert "  delivery_cursors" in out and "(source 2, destination 2)" in out
    back = tmp_path / "back.db"
    code, out, err = copy(capsys, postgres_url, str(back))
    assert code == 0, err
    assert rows(back) == expected

    # The PostgreSQL copy serves the same receipts and what still awaits acks.
    server = ServerProcess(home, ["--db", postgres_url])
    server.start()
    try:
        with httpx.Client(base_url=f"{server.url}/api") as api:
            served(api, room, receipts)
    finally:
        server.stop()


def served(api: httpx.Client, room: str, receipts: list[tuple[Any, ...]]) -> None:
    """The copy answers with the source's receipts, awaited acks and push cursors."""
    for row in receipts:
        message_id, name = row[0], row[1]
        got = api.get(f"/rooms/{room}/messages/{message_id}/receipts").json()["receipts"]
        assert got[name] == dict(
            zip(("delivered_at", "read_at", "acked_at"), row[5:8], strict=True)
        )
    awaiting = api.get(f"/rooms/{room}/awaiting-acks").json()["awaiting"]
    assert [(a["message_id"], a["name"]) for a in awaiting] == [
        (r[0], r[1]) for r in receipts if r[4] and not r[7]
    ]
    # dev's channel resumes after what it pushed on the laptop: nothing again.
    resumed = api.post("/push/dev/next", json={"holder": "dev-1", "timeout": 0}).json()
    assert resumed["held"] is True and resumed["messages"] == []
    other = api.post("/push/dev/next", json={"holder": "dev-2", "timeout": 0}).json()
    assert other["held"] is False  # the lease came across with its holder
