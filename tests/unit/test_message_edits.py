"""Editing and deleting a message, through the service on both backends.

An edit keeps `edited_at`; a delete leaves a tombstone and nothing of the old
text anywhere in the database: every table (the search index's own tables
included), and on SQLite the file and its WAL byte for byte. Read results
carry the new fields only on the messages they concern; every refusal is one
line and writes nothing; each change is one `edit` event on the room.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from chatnut.errors import Conflict, Forbidden, InvalidInput, NotFound, RoomArchived
from chatnut.hub import Hub
from chatnut.principals import Caller
from chatnut.service import ChatService
from chatnut.store.base import Store
from tests.dump import PostgresDump, postgres_pages, sqlite_dump

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]

# Its tail is made of letters no other text of these tests uses, so each of its
# trigrams is stored whole in the search index's pages and can be looked for
# there byte for byte.
SECRET = "sk-live-QZXJWBMFGU"
TRIGRAMS = [SECRET[8:].lower()[i : i + 3].encode() for i in range(8)]
# Past a page: the text spills into overflow pages, which a delete frees.
FILLER = "log line ok\n" * 600


def index_bytes(path: Path) -> bytes:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return b"".join(block for (block,) in conn.execute("SELECT block FROM messages_fts_data"))
    finally:
        conn.close()


async def everything(store: Store, database_url: str | None, path: Path) -> str:
    """Every row of every table as text, and the stored bytes (decoded loosely):
    SQLite's file and WAL, PostgreSQL's pages of `messages` (dead row versions
    included): where a secret could still be found."""
    if database_url is None:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = [
                n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            text = "\n".join(repr(conn.execute(f'SELECT * FROM "{t}"').fetchall()) for t in tables)
        finally:
            conn.close()
        raw = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists()).decode(
            "latin-1"
        )
        return text + "\n" + raw
    conn = await asyncpg.connect(database_url)
    try:
        tables = [
            r[0]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        parts = [
            await conn.fetchval(f"SELECT coalesce(string_agg(x::text, E'\\n'), '') FROM {t} AS x")
            for t in tables
        ]
        # And the pages of the table and of its TOAST table (long texts).
        toast = await conn.fetchval(
            "SELECT reltoastrelid::regclass::text FROM pg_class WHERE relname = 'messages'"
        )
        for relation in ("messages", toast):
            parts.append(await postgres_pages(conn, relation))
        return "\n".join(parts)
    finally:
        await conn.close()


async def dump(database_url: str | None, path: Path) -> dict[str, str]:
    if database_url is None:
        return sqlite_dump(path)
    conn = await asyncpg.connect(database_url)
    try:
        return await PostgresDump(conn).take()
    finally:
        await conn.close()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "chat.db"  # the `db` fixture's file when on SQLite


async def room_with(
    service: ChatService, *contents: str, name: str = "general"
) -> tuple[str, list[int]]:
    room = await service.init_room("edits", name)
    ids = []
    for content in contents:
        posted = await service.post_message(room["id"], "Alice", content)
        ids.append(posted["id"])
    return room["id"], ids


async def test_an_edit_keeps_edited_at_and_only_that_message_says_so(
    service: ChatService, db: tuple[Store, Hub]
) -> None:
    room, (first, _) = await room_with(service, "deploy at 5", "tests green")
    _, hub = db
    with hub.subscribe(room, capacity=10) as sub:
        edited = await service.edit_message(first, "deploy at 6", "alice")
        events = sub.drain()
    assert edited["content"] == "deploy at 6" and edited["edited_at"] >= edited["created_at"]
    assert [(e.kind, e.data["id"], e.data["content"]) for e in events] == [
        ("edit", first, "deploy at 6")
    ]
    read = (await service.read_messages(room))["messages"]
    assert read[0]["content"] == "deploy at 6" and read[0]["edited_at"] == edited["edited_at"]
    assert "edited_at" not in read[1] and "deleted" not in read[1]
    found = await service.search("deploy at")
    assert [m["id"] for m in found["messages"]] == [first]
    assert "at 6" in found["messages"][0]["snippet"]
    assert (await service.search("deploy at 5"))["messages"] == []


async def test_a_delete_leaves_a_tombstone_and_no_trace_of_the_secret(
    service: ChatService,
    db: tuple[Store, Hub],
    database_url: str | None,
    path: Path,
    request: pytest.FixtureRequest,
) -> None:
    store, hub = db
    if database_url is not None:  # what the delete's vacuum may remove depends on it
        request.getfixturevalue("still_postgres_url")
    room, (leak, after) = await room_with(
        service, f"oops, the key is {FILLER}{SECRET}", "rotate it"
    )
    reply = await service.post_message(room, "Bob", "on it", reply_to=leak)
    await service.edit_message(reply["id"], f"on it: {SECRET} revoked", "Bob")
    assert SECRET in await everything(store, database_url, path)  # the check can see it
    if database_url is None:
        assert all(t in index_bytes(path) for t in TRIGRAMS)
    with hub.subscribe(room, capacity=10) as sub:
        gone = await service.delete_message(leak, "Alice")
        await service.delete_message(reply["id"], "bob")
        events = sub.drain()
    assert gone["content"] == "" and gone["deleted"] is True and "edited_at" not in gone
    assert [(e.kind, e.data["id"], e.data.get("deleted")) for e in events] == [
        ("edit", leak, True),
        ("edit", reply["id"], True),
    ]
    read = {m["id"]: m for m in (await service.read_messages(room))["messages"]}
    assert read[leak]["content"] == "" and read[leak]["deleted"] is True
    assert read[leak]["sender"] == "Alice" and read[leak]["created_at"]
    # The thread still hangs together: the reply keeps where it sat.
    assert read[reply["id"]]["metadata"] == {"reply_to": leak}
    assert "deleted" not in read[after]
    assert (await service.search(SECRET[:12]))["messages"] == []
    assert SECRET not in await everything(store, database_url, path)
    assert SECRET[8:20] not in await everything(store, database_url, path)
    if database_url is None:
        # The trigram index itself, merged: no entry left for the deleted rows.
        conn = sqlite3.connect(path)
        try:
            conn.execute(
                "CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, messages_fts, instance)"
            )
            left = conn.execute(
                "SELECT count(*) FROM temp.vocab WHERE doc IN (?, ?)", (leak, reply["id"])
            ).fetchone()[0]
            kept = conn.execute(
                "SELECT count(*) FROM temp.vocab WHERE doc = ?", (after,)
            ).fetchone()[0]
        finally:
            conn.close()
        assert left == 0 and kept > 0
        # Not only unlisted: gone from the index's pages (a delete alone would
        # leave them there under a deletion marker until a merge).
        assert not [t for t in TRIGRAMS if t in index_bytes(path)]


async def test_refusals_are_one_line_and_write_nothing(
    service: ChatService, database_url: str | None, path: Path
) -> None:
    _, (mine, other) = await room_with(service, "mine", "also mine")
    await service.delete_message(other, "Alice")
    archived = await service.init_room("edits", "old")
    old = await service.post_message(archived["id"], "Alice", "from before")
    await service.archive_room("edits", "old")
    before = await dump(database_url, path)
    cases: list[tuple[Any, type[Exception], str]] = [
        (service.edit_message(mine, "changed", "Bob"), Forbidden, "posted as Alice, not Bob"),
        (service.delete_message(mine, "Bob"), Forbidden, "only its sender may delete"),
        (service.edit_message(mine, "changed"), InvalidInput, "name is required"),
        (service.edit_message(mine, "   ", "Alice"), InvalidInput, "content must not be empty"),
        (
            service.edit_message(mine, "x" * (service.max_message_bytes + 1), "Alice"),
            InvalidInput,
            "the limit is",
        ),
        (service.edit_message(999_999, "changed", "Alice"), NotFound, "does not exist"),
        (service.edit_message(other, "back", "Alice"), Conflict, "cannot be edited"),
        (service.delete_message(other, "Alice"), Conflict, "cannot be deleted again"),
        (service.edit_message(old["id"], "later", "Alice"), RoomArchived, "archived"),
        (
            service.edit_message(mine, "x", "Alice", caller=Caller("carol", role="reader")),
            Forbidden,
            "needs the member role",
        ),
    ]
    for call, error, words in cases:
        with pytest.raises(error) as refused:
            await call
        assert words in str(refused.value) and "\n" not in str(refused.value)
    assert await dump(database_url, path) == before
    # A leaked secret in an archived room can still be taken away.
    assert (await service.delete_message(old["id"], "alice"))["deleted"] is True


async def test_principals_change_their_own_and_admins_any(service: ChatService) -> None:
    room = await service.init_room("edits", "team")
    alice = Caller("alice", role="member")
    bob = Caller("bob", role="member")
    admin = Caller("root", role="admin")
    mine = await service.post_message(room["id"], "alice", "alice's", caller=alice)
    with pytest.raises(Forbidden, match="only its author or an admin may edit"):
        await service.edit_message(mine["id"], "bob was here", caller=bob)
    with pytest.raises(Forbidden, match="cannot act as bob"):
        await service.edit_message(mine["id"], "as bob", "bob", caller=alice)
    assert (await service.edit_message(mine["id"], "fixed", caller=alice))["content"] == "fixed"
    assert (await service.delete_message(mine["id"], caller=admin))["deleted"] is True
    other = await service.init_room("elsewhere", "room")
    theirs = await service.post_message(other["id"], "alice", "hidden", caller=alice)
    scoped = Caller("alice", role="member", projects=frozenset({"edits"}))
    with pytest.raises(NotFound, match="does not exist"):
        await service.delete_message(theirs["id"], caller=scoped)


async def test_room_edits_lists_only_the_changed_messages_of_that_room(
    service: ChatService,
) -> None:
    room, (a, b, c) = await room_with(service, "one", "two", "three")
    _, (d,) = await room_with(service, "elsewhere", name="other")
    await service.edit_message(a, "one!", "Alice")
    await service.delete_message(c, "Alice")
    await service.edit_message(d, "elsewhere!", "Alice")
    found = await service.room_edits(room, [a, b, c, d])
    assert [(m["id"], m["content"], m.get("deleted")) for m in found["messages"]] == [
        (a, "one!", None),
        (c, "", True),
    ]
    with pytest.raises(InvalidInput, match="at most 500"):
        await service.room_edits(room, list(range(1, 502)))


async def test_over_rest_with_principals_only_the_author_or_an_admin_may(
    token_api: httpx.AsyncClient,
) -> None:
    admin = {"authorization": "Bearer s3cret"}

    async def token(name: str) -> dict[str, str]:
        made = await token_api.post(
            "/api/admin/tokens", json={"name": name, "kind": "person"}, headers=admin
        )
        assert made.status_code == 200, made.text
        return {"authorization": f"Bearer {made.json()['token']}"}

    alice, bob = await token("alice"), await token("bob")
    room = await token_api.post("/api/rooms", json={"project": "p", "name": "r"}, headers=alice)
    posted = await token_api.post(
        f"/api/rooms/{room.json()['id']}/messages",
        json={"sender": "alice", "content": "alice's"},
        headers=alice,
    )
    mine = posted.json()["id"]
    refused = await token_api.patch(f"/api/messages/{mine}", json={"content": "x"}, headers=bob)
    assert refused.status_code == 403
    assert "only its author or an admin" in refused.json()["error"]["message"]
    own = await token_api.patch(f"/api/messages/{mine}", json={"content": "fixed"}, headers=alice)
    assert own.status_code == 200 and own.json()["principal"] == "alice"
    assert own.json()["content"] == "fixed"
    # The shared token is the admin's key, yet it names the sender, as the page does.
    anonymous = await token_api.delete(f"/api/messages/{mine}", headers=admin)
    assert anonymous.status_code == 422
    deleted = await token_api.delete(f"/api/messages/{mine}?name=alice", headers=admin)
    assert deleted.status_code == 200 and deleted.json()["deleted"] is True


async def test_a_tombstone_is_no_search_hit_even_by_sender_or_addressee(
    api: httpx.AsyncClient,
) -> None:
    room = (await api.post("/api/rooms", json={"project": "p", "name": "r"})).json()["id"]
    ids = []
    for content in ("kept note", "gone note"):
        posted = await api.post(
            f"/api/rooms/{room}/messages",
            json={"sender": "alice", "content": content, "to": ["bob"]},
        )
        ids.append(posted.json()["id"])
    kept, gone = ids
    assert (await api.delete(f"/api/messages/{gone}?name=alice")).status_code == 200
    for q in ("from:alice", "to:bob", "note", "in:r from:alice after:2000-01-01"):
        found = (await api.get("/api/search", params={"q": q})).json()
        assert [m["id"] for m in found["messages"]] == [kept], q
