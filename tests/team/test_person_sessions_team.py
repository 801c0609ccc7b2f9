"""A person's web session on a PostgreSQL team server with two workers, where sessions
are signed rather than stored: every worker takes it as that person, a cookie
altered to name another token (or none) is refused everywhere, and revoking the
token refuses the session on every worker within a second and closes its feed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.helpers import TOKEN, ServerProcess, worker_pids
from tests.identity import bearer
from tests.sse_client import open_stream
from tests.team.workers import Pinned, close_all, pinned_clients

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

WITHIN = 1.0  # seconds


# One two-worker server for the module: each test makes its own person and room.
@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory, postgres_server: Any) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("home")
    database = postgres_server.spares.take()
    server = ServerProcess(
        home,
        ["--db", postgres_server.url(database), "--workers", "2"],
        env={"CHATNUT_TOKEN": TOKEN},
    )
    server.start()
    yield server
    server.stop()
    postgres_server.drop_later(database)


async def _person(admin: httpx.AsyncClient, name: str) -> tuple[str, str]:
    made = await admin.post("/api/admin/tokens", json={"name": name, "kind": "person"})
    assert made.status_code == 200, made.text
    return made.json()["token"], made.json()["id"]


async def _sign_in(server: ServerProcess, token: str) -> str:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        minted = await http.post("/api/signin-link", json={}, headers=bearer(token))
        assert minted.status_code == 200, minted.text
        link = urlsplit(minted.json()["url"])
        answer = await http.get(f"{link.path}?{link.query}", follow_redirects=False)
        assert answer.status_code == 303, answer.text
        return str(answer.cookies["chatnut_session"])


def _cookie(value: str) -> dict[str, str]:
    return {"cookie": f"chatnut_session={value}"}


def _each(groups: dict[int, list[Pinned]]) -> list[Pinned]:
    return [clients[0] for clients in groups.values()]


async def test_a_signed_person_session_is_that_person_on_every_worker(
    team: ServerProcess,
) -> None:
    groups: dict[int, list[Pinned]] = {}
    async with httpx.AsyncClient(base_url=team.url, headers=bearer(TOKEN), timeout=30) as admin:
        room = (await admin.post("/api/rooms", json={"project": "p", "name": "r"})).json()["id"]
        ann, _ = await _person(admin, "ann")
        _, bob_id = await _person(admin, "bob")
        cookie = await _sign_in(team, ann)
        # Signed, and naming the token by its id only: `expiry.nonce.p<token id>.mac`.
        expires, nonce, holder, mac = cookie.split(".")
        assert holder.startswith("ptok_") and ann not in cookie
        groups = await pinned_clients(team.url, worker_pids(team.home), 1, _cookie(cookie))
        try:
            for worker in _each(groups):
                assert (await worker.http.get("/api/session")).json()["name"] == "ann"
                posted = await worker.http.post(
                    f"/api/rooms/{room}/messages", json={"sender": "ann", "content": "hi"}
                )
                assert posted.status_code == 200 and posted.json()["principal"] == "ann"
                forged = await worker.http.post(
                    f"/api/rooms/{room}/messages", json={"sender": "lead", "content": "x"}
                )
                assert forged.status_code == 403
                assert forged.json()["error"]["message"] == (
                    "this token is ann's; it cannot act as lead"
                )
            # Altered to name bob's token, an admin's page, or no token at all: the MAC
            # no longer matches, on every worker.
            for altered in [
                f"{expires}.{nonce}.p{bob_id}.{mac}",
                f"{expires}.{nonce}.a{holder[1:]}.{mac}",
                f"{expires}.{nonce}.{mac}",
                f"{int(expires) + 3600}.{nonce}.{holder}.{mac}",
            ]:
                for worker in _each(groups):
                    answer = await worker.http.get("/api/rooms", headers=_cookie(altered))
                    assert answer.status_code == 401, altered
            stored = (await admin.get(f"/api/rooms/{room}/messages")).json()["messages"]
            assert [m["sender"] for m in stored] == ["ann"] * len(groups)
        finally:
            await close_all(groups)


async def test_revoking_the_token_ends_the_session_on_every_worker_within_a_second(
    team: ServerProcess,
) -> None:
    groups: dict[int, list[Pinned]] = {}
    async with httpx.AsyncClient(base_url=team.url, headers=bearer(TOKEN), timeout=30) as admin:
        room = (await admin.post("/api/rooms", json={"project": "p", "name": "r"})).json()["id"]
        dan, _ = await _person(admin, "dan")
        cookie = await _sign_in(team, dan)
        groups = await pinned_clients(team.url, worker_pids(team.home), 2, _cookie(cookie))
        try:
            for clients in groups.values():
                assert (await clients[0].http.get("/api/rooms")).status_code == 200
            feeder = next(iter(groups.values()))[1]
            async with open_stream(feeder.http, f"/api/rooms/{room}/stream") as stream:
                await stream.until("ready")
                revoked = await admin.delete("/api/admin/tokens/dan")
                assert revoked.status_code == 200, revoked.text
                started = time.monotonic()
                async with asyncio.timeout(WITHIN):
                    await stream.rest()  # the server ends the session's feed
                for clients in groups.values():
                    answer = await clients[0].http.get("/api/rooms")
                    assert answer.status_code == 401, answer.text
                    assert "its token revoked" in answer.json()["error"]["message"]
                assert time.monotonic() - started < WITHIN
        finally:
            await close_all(groups)
