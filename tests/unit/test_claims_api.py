"""Claims over REST, and the git guard's question, on both backends."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]


async def room_of(api: httpx.AsyncClient, project: str = "alpha", name: str = "r") -> str:
    created = await api.post("/api/rooms", json={"project": project, "name": name})
    return str(created.json()["id"])


async def post(api: httpx.AsyncClient, path: str, body: dict[str, Any]) -> httpx.Response:
    return await api.post(path, json=body)


async def test_claim_list_check_and_release(api: httpx.AsyncClient) -> None:
    room = await room_of(api)
    made = await post(
        api, f"/api/rooms/{room}/claims", {"agent_name": "alice", "paths": ["src/**"]}
    )
    assert made.status_code == 200 and made.json()["granted"] is True
    refused = await post(api, f"/api/rooms/{room}/claims", {"agent_name": "bob", "paths": ["src/"]})
    assert refused.status_code == 200 and refused.json()["granted"] is False
    assert refused.json()["conflicts"][0]["holder"] == "alice"

    listed = (await api.get("/api/claims", params={"room_id": room})).json()["claims"]
    assert [c["claim_id"] for c in listed] == [made.json()["claim_id"]]
    assert (await api.get("/api/claims", params={"project": "beta"})).json() == {"claims": []}

    files = ["README.md", "src/a.py", "src/b/c.py", "web/x.js"]
    asked = {"project": "alpha", "agent_name": "bob", "paths": files}
    (conflict,) = (await post(api, "/api/claims/check", asked)).json()["conflicts"]
    assert conflict["holder"] == "alice" and conflict["paths"] == ["src/**"]
    assert conflict["files"] == ["src/a.py", "src/b/c.py"] and conflict["file_count"] == 2
    mine = {**asked, "agent_name": "alice"}  # your own claims are not in your way
    assert (await post(api, "/api/claims/check", mine)).json()["conflicts"] == []
    anyone = {"project": "alpha", "paths": files}
    assert len((await post(api, "/api/claims/check", anyone)).json()["conflicts"]) == 1

    released = await post(api, f"/api/rooms/{room}/claims/release", {"agent_name": "alice"})
    assert released.json() == {"released": [made.json()["claim_id"]], "trimmed": []}
    assert (await post(api, "/api/claims/check", asked)).json()["conflicts"] == []


async def test_shared_claims_do_not_stop_a_commit(api: httpx.AsyncClient) -> None:
    room = await room_of(api)
    body = {"agent_name": "alice", "paths": ["src/"], "exclusive": False}
    assert (await post(api, f"/api/rooms/{room}/claims", body)).json()["granted"]
    asked = {"project": "alpha", "agent_name": "bob", "paths": ["src/a.py"]}
    assert (await post(api, "/api/claims/check", asked)).json()["conflicts"] == []


@pytest.mark.parametrize(
    ("path", "body", "status", "words"),
    [
        ("/claims", {"agent_name": "a", "paths": ["src/[x"]}, 422, "no closing"),
        ("/claims", {"agent_name": "a", "paths": []}, 422, "a claim needs paths, a task"),
        ("/claims", {"agent_name": "a", "paths": ["a"], "ttl_s": 0}, 422, "ttl_s"),
        ("/claims", {"agent_name": "a", "paths": ["a"], "exclusive": "yes"}, 422, "exclusive"),
        ("/claims", {"agent_name": "a", "paths": ["a"], "extra": 1}, 422, "extra"),
        ("/claims/release", {"agent_name": "a", "claim_id": "x"}, 404, "not a live claim"),
        ("/claims/release", {"agent_name": "a", "paths": []}, 422, "paths is empty"),
    ],
)
async def test_bad_requests_are_refused_in_one_line_with_nothing_written(
    api: httpx.AsyncClient, path: str, body: dict[str, Any], status: int, words: str
) -> None:
    room = await room_of(api)
    answer = await post(api, f"/api/rooms/{room}{path}", body)
    assert answer.status_code == status, answer.text
    message = answer.json()["error"]["message"]
    assert words in message and "\n" not in message
    assert (await api.get("/api/claims")).json() == {"claims": []}


async def test_bad_checks_are_refused(api: httpx.AsyncClient) -> None:
    for body, words in [
        ({"project": "alpha", "paths": ["a\x00"]}, "NUL"),
        ({"project": "alpha", "paths": ["a"] * 5001}, "paths"),
        ({"project": "", "paths": []}, "project"),
        ({"project": "alpha", "agent_name": "a b", "paths": []}, "agent_name"),
    ]:
        answer = await post(api, "/api/claims/check", body)
        assert answer.status_code == 422 and words in answer.json()["error"]["message"]
    unknown = await post(api, "/api/rooms/nope/claims", {"agent_name": "a", "paths": ["a"]})
    assert unknown.status_code == 404


async def test_the_guards_text_answer_shows_control_characters_inert(
    api: httpx.AsyncClient,
) -> None:
    room = await room_of(api)
    body = {"agent_name": "alice", "paths": ["src/"], "note": "\x1b[2Jwiped"}
    assert (await post(api, f"/api/rooms/{room}/claims", body)).json()["granted"]
    asked = {"project": "alpha", "agent_name": "bob", "paths": ["src/a\x1b.py", "x"]}
    text = await post(api, "/api/claims/check?format=text", asked)
    assert text.headers["content-type"].startswith("text/plain")
    assert "\x1b" not in text.text
    assert "alice holds src/ until " in text.text and "\\x1b[2Jwiped" in text.text
    assert "staged: src/a\\x1b.py\n" in text.text
    clear = {**asked, "paths": ["x"]}
    assert (await post(api, "/api/claims/check?format=text", clear)).text == ""
