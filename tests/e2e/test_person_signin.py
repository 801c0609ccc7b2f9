"""A person's own token signs that person in to the web page, on the real server and
both backends: the session posts and reads as that person only, a reader's only
reads, and the session ends the moment the token is revoked. The admin's key
keeps its page with a free name field."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from tests.dump import PostgresDump, sqlite_dump
from tests.helpers import TOKEN, ServerProcess
from tests.identity import bearer, chatnut, start_server

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

ENDED = (
    "this sign-in has ended (signed out, expired, or its token revoked);"
    " run `chatnut open` to sign in again"
)


@dataclass
class People:
    server: ServerProcess
    home: Path
    database_url: str | None
    ann: str  # a person, member
    rita: str  # a person, reader
    bot: str  # an agent, member
    room: str

    async def dump(self) -> dict[str, str]:
        """Every table but the tokens' coarse last-used times (a background write)."""
        if self.database_url is None:
            tables = sqlite_dump(self.home / "chatnut.db")
        else:
            conn = await asyncpg.connect(self.database_url)
            try:
                tables = await PostgresDump(conn).take()
            finally:
                await conn.close()
        return {name: rows for name, rows in tables.items() if name != "token_uses"}

    def as_session(self, cookie: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.server.url, headers={"cookie": f"chatnut_session={cookie}"}, timeout=30
        )

    def token(
        self, name: str, *, kind: str = "person", role: str = "member", projects: Any = ()
    ) -> str:
        """A new principal's token, through the admin route (no process to start)."""
        made = httpx.post(
            f"{self.server.url}/api/admin/tokens",
            json={"name": name, "kind": kind, "role": role, "projects": list(projects)},
            headers=bearer(TOKEN),
            timeout=30,
        )
        assert made.status_code == 200, made.text
        secret: str = made.json()["token"]
        return secret


# One server per backend for the module: each test makes its own room or person
# where it changes what another would read.
@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def people(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[People]:
    home = tmp_path_factory.mktemp("home")
    database_url = postgres = name = None
    if request.param == "postgres":
        postgres = request.getfixturevalue("postgres_server")
        name = postgres.spares.take()
        database_url = postgres.url(name)
    server = start_server(home, database_url)
    team = People(server, home, database_url, "", "", "", "")
    team.ann = team.token("ann")
    team.rita = team.token("rita", role="reader")
    team.bot = team.token("bot", kind="agent")
    with httpx.Client(base_url=server.url, headers=bearer(TOKEN), timeout=30) as admin:
        team.room = admin.post("/api/rooms", json={"project": "p", "name": "r"}).json()["id"]
        admin.post(f"/api/rooms/{team.room}/messages", json={"sender": "lead", "content": "hi"})
    yield team
    server.stop()
    if postgres is not None:
        postgres.drop_later(name)


def sign_in(server: ServerProcess, token: str) -> str:
    """Mint a link with this token and redeem it: the session cookie's value."""
    minted = httpx.post(
        f"{server.url}/api/signin-link", json={"next": "/"}, headers=bearer(token), timeout=30
    )
    assert minted.status_code == 200, minted.text
    link = urlsplit(minted.json()["url"])
    answer = httpx.get(f"{server.url}{link.path}?{link.query}", follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return str(answer.cookies["chatnut_session"])


async def test_a_persons_page_posts_and_reads_as_that_person_only(people: People) -> None:
    cookie = sign_in(people.server, people.ann)
    with people.as_session(cookie) as page:
        me = page.get("/api/session").json()
        assert me == {
            "name": "ann",
            "role": "member",
            "projects": None,
            "can_post": True,
            "session": True,
        }
        posted = page.post(
            f"/api/rooms/{people.room}/messages", json={"sender": "ann", "content": "from ann"}
        )
        assert posted.status_code == 200, posted.text
        assert posted.json()["principal"] == "ann"
        assert posted.json()["metadata"] == {"source": "web"}
        read = page.post(
            f"/api/rooms/{people.room}/read", json={"reader": "ann", "last_read_message_id": 2}
        )
        assert read.status_code == 200, read.text
        before = await people.dump()
        # Another name, for every kind of name a page writes with: one line, nothing written.
        for path, body in [
            (f"/api/rooms/{people.room}/messages", {"sender": "lead", "content": "forged"}),
            (f"/api/rooms/{people.room}/read", {"reader": "bob", "last_read_message_id": 2}),
            (f"/api/rooms/{people.room}/statuses", {"sender": "bob", "status": "x"}),
        ]:
            answer = page.post(path, json=body)
            assert answer.status_code == 403, (path, answer.text)
            message = answer.json()["error"]["message"]
            assert message.startswith("this token is ann's; it cannot act as "), message
        assert page.get(f"/api/rooms/{people.room}?reader=bob").status_code == 403
        assert await people.dump() == before


async def test_a_readers_page_reads_and_keeps_its_own_cursor(people: People) -> None:
    cookie = sign_in(people.server, people.rita)
    with people.as_session(cookie) as page:
        me = page.get("/api/session").json()
        assert me["name"] == "rita" and me["role"] == "reader" and me["can_post"] is False
        assert page.get(f"/api/rooms/{people.room}/messages").json()["messages"]
        before = await people.dump()
        refused = page.post(
            f"/api/rooms/{people.room}/messages", json={"sender": "rita", "content": "x"}
        )
        assert refused.status_code == 403
        assert (
            "needs the member role; this token is rita's (reader)"
            in (refused.json()["error"]["message"])
        )
        assert await people.dump() == before
        read = page.post(
            f"/api/rooms/{people.room}/read", json={"reader": "rita", "last_read_message_id": 1}
        )
        assert read.status_code == 200, read.text


async def test_revoking_the_token_ends_its_sessions_at_once(people: People) -> None:
    dan = people.token("dan")
    cookie = sign_in(people.server, dan)
    unused = httpx.post(
        f"{people.server.url}/api/signin-link", json={}, headers=bearer(dan)
    ).json()["url"]
    admin_cookie = sign_in(people.server, TOKEN)
    with people.as_session(cookie) as page, people.as_session(admin_cookie) as admin:
        assert page.get("/api/rooms").status_code == 200
        revoked = httpx.delete(
            f"{people.server.url}/api/admin/tokens/dan", headers=bearer(TOKEN), timeout=30
        )
        assert revoked.status_code == 200, revoked.text
        started = time.monotonic()
        refused = page.get("/api/rooms")
        assert time.monotonic() - started < 1.0
        assert refused.status_code == 401
        assert refused.json()["error"]["message"] == ENDED
        before = await people.dump()
        post = page.post(
            f"/api/rooms/{people.room}/messages", json={"sender": "dan", "content": "x"}
        )
        assert post.status_code == 401
        assert await people.dump() == before
        # A link minted before the revocation does not sign in after it.
        link = urlsplit(unused)
        late = httpx.get(f"{people.server.url}{link.path}?{link.query}", follow_redirects=False)
        assert late.status_code == 401 and "set-cookie" not in late.headers
        assert late.json()["error"]["message"] == (
            "the token that made this sign-in link was revoked or has expired"
        )
        # The admin's session is untouched.
        assert admin.get("/api/rooms").status_code == 200


async def test_a_forged_or_altered_session_cookie_is_refused(people: People) -> None:
    cookie = sign_in(people.server, people.ann)
    altered = [
        cookie[:-1] + ("A" if cookie[-1] != "A" else "B"),
        cookie + "x",
        "x" + cookie,
        f"{cookie}.tok_0000000000",
        people.ann,  # the token itself is no session
    ]
    for value in altered:
        with people.as_session(value) as page:
            answer = page.get("/api/rooms")
            assert answer.status_code == 401, value
            assert answer.json()["error"]["message"] == ENDED


async def test_signing_out_ends_the_session_and_drops_the_cookie(people: People) -> None:
    cookie = sign_in(people.server, people.ann)
    with people.as_session(cookie) as page:
        out = page.post("/api/signout")
        assert out.status_code == 200 and out.json() == {"signed_out": True}
        assert "chatnut_session=;" in out.headers["set-cookie"]
        assert "Max-Age=0" in out.headers["set-cookie"]
        assert page.get("/api/rooms").status_code == 401


async def test_the_admins_key_keeps_a_free_name(people: People) -> None:
    cookie = sign_in(people.server, TOKEN)
    with people.as_session(cookie) as page:
        me = page.get("/api/session").json()
        assert me["name"] is None and me["role"] == "admin" and me["session"] is True
        posted = page.post(
            f"/api/rooms/{people.room}/messages", json={"sender": "anyone", "content": "x"}
        )
        assert posted.status_code == 200 and "principal" not in posted.json()


async def test_an_agents_token_mints_no_page(people: People) -> None:
    before = await people.dump()
    answer = httpx.post(
        f"{people.server.url}/api/signin-link", json={}, headers=bearer(people.bot), timeout=30
    )
    assert answer.status_code == 403
    assert answer.json()["error"]["message"] == (
        "a sign-in link is for a person's token (or an admin's); this token is bot's"
        " (an agent, member)"
    )
    assert await people.dump() == before


async def test_chatnut_open_url_with_a_persons_token_signs_that_person_in(
    people: People,
) -> None:
    env = {"CHATNUT_TOKEN": people.ann}
    opened = await asyncio.to_thread(
        chatnut,
        people.home,
        None,
        "open",
        "--url-only",
        "--url",
        people.server.url,
        people.room,
        **env,
    )
    assert opened.returncode == 0, opened.stderr
    link = urlsplit(opened.stdout.strip().splitlines()[-1])
    assert link.path == "/auth/link"
    answer = httpx.get(f"{people.server.url}{link.path}?{link.query}", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == f"/?room={people.room}"
    with people.as_session(answer.cookies["chatnut_session"]) as page:
        assert page.get("/api/session").json()["name"] == "ann"
    # An agent's token: one line, no link.
    env["CHATNUT_TOKEN"] = people.bot
    refused = await asyncio.to_thread(
        chatnut,
        people.home,
        None,
        "open",
        "--url-only",
        "--url",
        people.server.url,
        people.room,
        **env,
    )
    assert refused.returncode != 0 and "/auth/link" not in refused.stdout
    assert "a sign-in link is for a person's token" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


async def test_a_scoped_persons_page_sees_their_project_only(people: People) -> None:
    with httpx.Client(base_url=people.server.url, headers=bearer(TOKEN), timeout=30) as admin:
        other = admin.post("/api/rooms", json={"project": "hidden", "name": "x"}).json()["id"]
    sue = people.token("sue", projects=["p"])
    with people.as_session(sign_in(people.server, sue)) as page:
        assert page.get("/api/session").json()["projects"] == ["p"]
        rooms = page.get("/api/rooms").json()["rooms"]
        assert rooms and {room["project"] for room in rooms} == {"p"}
        assert page.get(f"/api/rooms/{other}").status_code == 404
    # Several projects: the page's paged reads take one at a time, so no page yet.
    several = people.token("sam", projects=["p", "hidden"])
    answer = httpx.post(
        f"{people.server.url}/api/signin-link", json={}, headers=bearer(several), timeout=30
    )
    assert answer.status_code == 403
    assert answer.json()["error"]["message"] == (
        "the web page shows a scoped person one project; sam's token is scoped to hidden, p:"
        " give them a token with one --project (or none)"
    )
