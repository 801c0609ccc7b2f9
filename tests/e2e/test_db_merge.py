"""`chatnut db copy --merge`: two laptops' histories, written by the real server,
merged into one database (PostgreSQL or SQLite), which then serves them both."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from chatnut.cli import main
from chatnut.store.copy import tables_for
from tests.helpers import ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def laptop(home: Path, db: Path, tag: str) -> None:
    """Rooms `p/shared` (on both laptops) and `p/<tag>-only`, with replies,
    directed messages, cursors and statuses, as agents make them."""
    server = ServerProcess(home, ["--db", str(db)])
    server.start()
    try:
        with httpx.Client(base_url=f"{server.url}/api") as api:
            own = api.post("/rooms", json={"project": "p", "name": f"{tag}-only"}).json()["id"]
            shared = api.post("/rooms", json={"project": "p", "name": "shared"}).json()["id"]
            ids: dict[str, int] = {}

            def post(room: str, name: str, **extra: Any) -> None:
                body = {"sender": f"{tag}-agent", "content": f"{name} zebrafinch", **extra}
                answer = api.post(f"/rooms/{room}/messages", json=body)
                assert answer.status_code == 200, answer.text
                ids[name] = answer.json()["id"]

            post(own, f"{tag} own 1")
            post(own, f"{tag} own 2", reply_to=ids[f"{tag} own 1"])
            post(shared, f"{tag} shared 1")
            post(shared, f"{tag} shared 2", to=["dev"], ack_required=True)
            post(shared, f"{tag} shared 3", reply_to=ids[f"{tag} shared 1"])
            post(shared, f"{tag} shared 4", to=["qa"])
            read = [
                (shared, "dev", ids[f"{tag} shared 2"]),
                (own, "ana", ids[f"{tag} own 1"]),
                # Read none of this laptop's shared messages: merged, it moves nothing.
                (shared, "lead", ids[f"{tag} own 2"] if tag == "b" else ids[f"{tag} shared 4"]),
            ]
            for room, reader, through in read:
                answer = api.post(
                    f"/rooms/{room}/read", json={"reader": reader, "last_read_message_id": through}
                )
                assert answer.status_code == 200, answer.text
            ack = api.post(
                f"/rooms/{shared}/messages/{ids[f'{tag} shared 2']}/ack", json={"agent_name": "dev"}
            )
            assert ack.status_code == 200, ack.text
            for room in (own, shared):
                api.post(f"/rooms/{room}/statuses", json={"sender": "ana", "status": f"{tag} busy"})
    finally:
        server.stop()


def merge(
    capsys: pytest.CaptureFixture[str], source: str, destination: str
) -> tuple[int, str, str]:
    code = main(["db", "copy", "--merge", source, destination])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def snapshot(location: str) -> dict[str, Any]:
    """Every data table's count and the message id mark, backend-agnostic."""

    async def take() -> dict[str, Any]:
        tables = tables_for(location)
        await tables.connect()
        try:
            found: dict[str, Any] = {t: await tables.count(t) for t in await tables.data_tables()}
            found["high water"] = await tables.message_id_high_water()
            return found
        finally:
            await tables.close()

    return anyio.run(take)


@pytest.fixture(params=["postgres", "sqlite"])
def destination(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    return str(tmp_path / "team.db")


@pytest.fixture
def laptops(tmp_path: Path, home: Path) -> tuple[Path, Path]:
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    laptop(home, a, "a")
    laptop(home, b, "b")
    return a, b


def test_two_laptops_merge_and_serve_as_they_were(
    laptops: tuple[Path, Path], destination: str, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = laptops
    code, out, err = merge(capsys, str(a), destination)
    assert code == 0, err
    assert "  messages" in out and "(before 0 + added 6 = 6;" in out
    code, out, err = merge(capsys, str(b), destination)
    assert code == 0, err
    lines = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert "(before 6 + added 6 = 12;" in lines["messages"]
    assert "(before 2 + added 1 = 3;" in lines["rooms"] and "1 matched" in lines["rooms"]
    assert "1 moved further, 1 kept DST's" in lines["read_cursors"]
    assert "(before 2 + added 2 = 4;" in lines["receipts"]
    assert "not merged" in lines["delivery_cursors"]

    server = ServerProcess(home, ["--db", destination])
    server.start()
    try:
        with httpx.Client(base_url=f"{server.url}/api") as api:
            served(api)
    finally:
        server.stop()


def served(api: httpx.Client) -> None:
    rooms = {r["name"]: r for r in api.get("/rooms?status=all").json()["rooms"]}
    assert sorted(rooms) == ["a-only", "b-only", "shared"]
    assert [rooms[n]["message_count"] for n in ("a-only", "b-only", "shared")] == [2, 2, 8]
    pages = {
        name: api.get(f"/rooms/{room['id']}/messages?since_id=0").json()["messages"]
        for name, room in rooms.items()
    }
    shared = pages["shared"]
    # Both histories, A's then B's, each in its own order, timestamps kept.
    assert [m["content"].split(" zebrafinch")[0] for m in shared] == [
        f"{tag} shared {n}" for tag in "ab" for n in range(1, 5)
    ]
    assert [m["id"] for m in shared] == sorted(m["id"] for m in shared)
    by_content = {m["content"].split(" zebrafinch")[0]: m for ms in pages.values() for m in ms}
    for tag in "ab":
        for reply, original in (
            (f"{tag} own 2", f"{tag} own 1"),
            (f"{tag} shared 3", f"{tag} shared 1"),
        ):
            assert by_content[reply]["metadata"]["reply_to"] == by_content[original]["id"]
        assert by_content[f"{tag} shared 2"]["to"] == ["dev"]

    # Cursors: dev read through B's shared 2 (further than A's), lead kept A's
    # (B's lead had read none of B's shared messages), ana's own-room cursors moved.
    def cursor(room: str, reader: str) -> int:
        got = api.get(f"/rooms/{rooms[room]['id']}?reader={reader}").json()
        return int(got["last_read_message_id"])

    assert cursor("shared", "dev") == by_content["b shared 2"]["id"]
    assert cursor("shared", "lead") == by_content["a shared 4"]["id"]
    assert cursor("a-only", "ana") == by_content["a own 1"]["id"]
    assert cursor("b-only", "ana") == by_content["b own 1"]["id"]
    # Receipts came across with their stamps, on the new ids.
    for tag in "ab":
        message = by_content[f"{tag} shared 2"]
        got = api.get(f"/rooms/{rooms['shared']['id']}/messages/{message['id']}/receipts")
        assert got.json()["receipts"]["dev"]["acked_at"], got.text
    statuses = api.get(f"/rooms/{rooms['shared']['id']}/statuses").json()
    assert "b busy" in str(statuses) and "a busy" not in str(statuses)  # the newer kept
    found = api.get("/search", params={"q": "zebrafinch"}).json()
    every = {m["id"] for ms in pages.values() for m in ms}
    assert {h["id"] for h in found["messages"]} == every, found
    # The next post continues above every merged id.
    posted = api.post(
        f"/rooms/{rooms['shared']['id']}/messages", json={"sender": "z", "content": "next"}
    ).json()
    assert posted["id"] > max(m["id"] for ms in pages.values() for m in ms)


def test_a_merge_that_fails_midway_leaves_the_destination_as_it_was(
    laptops: tuple[Path, Path],
    destination: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    a, b = laptops
    assert merge(capsys, str(a), destination)[0] == 0
    before = snapshot(destination)

    async def broken(*args: Any) -> Any:
        raise RuntimeError("disk on fire")

    # After the rooms, messages, recipients and cursors are written.
    monkeypatch.setattr("chatnut.store.merge._newer_wins", broken)
    code, out, err = merge(capsys, str(b), destination)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "disk on fire" in err
    assert snapshot(destination) == before


def test_bad_input_is_refused_in_one_line_and_nothing_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    team = tmp_path / "team.db"
    code, _, err = merge(capsys, str(team), str(team))
    assert code == 1 and err.count("\n") == 1 and "the same database" in err
    code, _, err = merge(capsys, str(team), str(team.parent / "." / team.name))
    assert code == 1 and "the same database" in err
    assert not team.exists()
    junk = tmp_path / "junk.db"
    junk.write_text("not a database")
    code, _, err = merge(capsys, str(junk), str(team))
    assert code == 1 and err.count("\n") == 1 and str(junk) in err
    # A source with rows no merge rule covers is refused before DST is written.
    odd = tmp_path / "odd.db"
    assert main(["db", "copy", str(junk.with_name("none.db")), str(odd)]) == 0
    with sqlite3.connect(odd) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.execute("INSERT INTO notes VALUES ('x')")
    assert main(["db", "copy", str(tmp_path / "seed.db"), str(team)]) == 0
    capsys.readouterr()
    before = snapshot(str(team))
    code, out, err = merge(capsys, str(odd), str(team))
    assert code == 1 and out == "" and err.count("\n") == 1
    assert "notes" in err and "no merge rule" in err
    assert snapshot(str(team)) == before


def test_a_destination_being_served_is_refused_and_untouched(
    laptops: tuple[Path, Path], destination: str, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = laptops
    assert merge(capsys, str(a), destination)[0] == 0
    server = ServerProcess(home, ["--db", destination])
    server.start()
    try:
        before = snapshot(destination)
        code, out, err = merge(capsys, str(b), destination)
        assert code == 1 and out == "" and err.count("\n") == 1, err
        assert "stop it before merging" in err
        assert snapshot(destination) == before
    finally:
        server.stop()
    assert merge(capsys, str(b), destination)[0] == 0  # stopped: the merge goes ahead


def test_a_postgresql_source_merges_into_a_laptop(
    laptops: tuple[Path, Path], postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = laptops
    assert merge(capsys, str(a), postgres_url)[0] == 0
    code, out, err = merge(capsys, postgres_url, str(b))
    assert code == 0, err
    lines = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert "(before 6 + added 6 = 12;" in lines["messages"]
    assert "(before 2 + added 1 = 3;" in lines["rooms"]
    with sqlite3.connect(b) as conn:
        shared = conn.execute(
            "SELECT m.content FROM messages m JOIN rooms r ON r.id = m.room_id"
            " WHERE r.name = 'shared' ORDER BY m.id"
        ).fetchall()
    # b's own history first, then what came from PostgreSQL (laptop a's).
    assert [c[0].split(" zebrafinch")[0] for c in shared] == [
        f"{tag} shared {n}" for tag in "ba" for n in range(1, 5)
    ]
