"""The page's search operators through the REST route, on both backends; the
MCP `search` tool keeps the original's plain substring contract."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.mcp_client import CheckedClient, new_room
from tests.unit.rest import assert_error, make_room

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]


async def say(api: httpx.AsyncClient, room: str, sender: str, content: str, **extra: Any) -> int:
    answer = await api.post(
        f"/api/rooms/{room}/messages", json={"sender": sender, "content": content, **extra}
    )
    assert answer.status_code == 200, answer.text
    return int(answer.json()["id"])


async def found(api: httpx.AsyncClient, q: str, **params: Any) -> list[int]:
    answer = await api.get("/api/search", params={"q": q, **params})
    assert answer.status_code == 200, answer.text
    return sorted(m["id"] for m in answer.json()["messages"])


async def test_each_operator_narrows_the_hits(api: httpx.AsyncClient) -> None:
    ci = (await make_room(api, "ci", "alpha"))["id"]
    deploy = (await make_room(api, "deploy", "alpha"))["id"]
    beta_ci = (await make_room(api, "CI", "beta"))["id"]
    by_qa = await say(api, ci, "QA", "deploy failed on step 3")
    to_alice = await say(api, deploy, "bob", "deploy failed again", to=["Alice"])
    mentions = await say(api, beta_ci, "carol", "@alice deploy failed, see ```\nlog\n```")
    not_her = await say(api, ci, "dave", "@alicex deploy failed too")
    inline = await say(api, ci, "qa", "rollout `make ship` ok")

    assert await found(api, "from:qa deploy") == [by_qa]
    assert await found(api, "from:qa ok") == [inline]  # a short term is scanned, not indexed
    assert await found(api, "in:ci failed") == [by_qa, mentions, not_her]
    assert await found(api, "in:beta/ci failed") == [mentions]
    assert await found(api, "in:#deploy") == [to_alice]
    assert await found(api, "to:alice") == [to_alice, mentions]
    assert await found(api, "to:@ALICE failed in:ci") == [mentions]
    assert await found(api, "has:code") == [mentions, inline]
    everything = [by_qa, to_alice, mentions, not_her, inline]
    today = datetime.now(UTC).date()
    yesterday, tomorrow = today - timedelta(days=1), today + timedelta(days=1)
    assert await found(api, f"after:{yesterday}") == everything
    assert await found(api, f"after:{today}") == []
    assert await found(api, f"before:{tomorrow}") == everything
    assert await found(api, f"before:{today} deploy") == []
    # Operators and the page's filters narrow together.
    assert await found(api, "has:code", project="alpha") == [inline]
    assert await found(api, "has:code", sender="Carol", after=str(yesterday)) == [mentions]


async def test_phrases_and_terms(api: httpx.AsyncClient) -> None:
    room = (await make_room(api))["id"]
    again = await say(api, room, "bob", "deploy failed again")
    literal = await say(api, room, "qa", "the header said from:qa verbatim")
    error = await say(api, room, "qa", "TypeError: boom")
    assert await found(api, "deploy again") == []  # a plain query is one substring, as before
    assert await found(api, '"deploy" "again"') == [again]  # each phrase must occur
    assert await found(api, '"failed again"') == [again]
    assert await found(api, '"from:qa"') == [literal]  # a quoted operator is text
    assert await found(api, "TypeError: boom") == [error]  # an unknown operator is text
    body = (await api.get("/api/search", params={"q": 'from:qa "said from" verb'})).json()
    assert body["terms"] == ["said from", "verb"]
    assert [m["id"] for m in body["messages"]] == [literal]
    assert "said from:qa verbatim" in body["messages"][0]["snippet"]


async def test_room_names_match_every_term(api: httpx.AsyncClient) -> None:
    await make_room(api, "release-train", "alpha")
    await make_room(api, "release-notes", "alpha")
    body = (await api.get("/api/search", params={"q": '"release" train'})).json()
    assert [r["name"] for r in body["rooms"]] == ["release-train"]
    only_ops = (await api.get("/api/search", params={"q": "from:nobody"})).json()
    assert only_ops["rooms"] == [] and only_ops["messages"] == [] and only_ops["terms"] == []


async def test_fts_syntax_in_a_query_is_searched_as_text(api: httpx.AsyncClient) -> None:
    room = (await make_room(api))["id"]
    weird = await say(api, room, "a", 'see NEAR(deploy "x" OR y*) ^z -- col:1 {a b}')
    for hostile in ['NEAR(deploy "x', '"x" OR y*', "^z -- col:1", "{a b}", '" OR "', "*", "'"]:
        answer = await api.get("/api/search", params={"q": hostile})
        assert answer.status_code == 200, (hostile, answer.text)
    assert await found(api, "NEAR(deploy") == [weird]
    assert await found(api, "y*) ^z") == [weird]
    assert await found(api, 'OR "y') == []  # the quote opens nothing: text, found nowhere
    assert await found(api, "x' OR '1'='1") == []
    assert await found(api, "ünïcode ☃") == []
    emoji = await say(api, room, "a", "Ünïcode ☃ works")
    assert await found(api, "ünïcode ☃ from:A") == [emoji]
    zoe = await say(api, room, "Zoë", "grüße")
    assert await found(api, "from:ZOË") == [zoe]


async def test_an_operator_it_cannot_use_is_refused_with_nothing_found(
    api: httpx.AsyncClient,
) -> None:
    room = (await make_room(api))["id"]
    await say(api, room, "qa", "anything")
    for q, words in [
        ("has:links", ["has:links", "has:code"]),
        ("after:tomorrow", ["after:tomorrow", "2026-12-01"]),
        ("from:qa from:bob", ["from:", "twice"]),
        ("from:qa", ["from:qa", "sender filter", "disagree"]),
    ]:
        answer = await api.get("/api/search", params={"q": q, "sender": "bob"})
        assert_error(answer, 422, "invalid_input", *words)
    assert await found(api, "from:qa", sender="QA") != []  # the same name agrees


async def test_the_mcp_search_tool_keeps_plain_substrings(mcp: CheckedClient) -> None:
    room = await new_room(mcp)
    literal = await mcp.ok("post_message", room_id=room, sender="a", content="mail from:qa x")
    await mcp.ok("post_message", room_id=room, sender="qa", content="nothing to see")
    await mcp.ok("post_message", room_id=room, sender="b", content='say "deploy now" ok')
    plain = await mcp.ok("search", query="from:qa")
    assert [m["id"] for m in plain["messages"]] == [literal["id"]]
    assert set(plain) == {"rooms", "message_rooms", "messages"}
    assert (await mcp.ok("search", query='"deploy now"'))["messages"] != []
    assert (await mcp.ok("search", query='"deploy" "now"'))["messages"] == []


async def test_a_search_within_rooms_folds_case_as_the_index_does(
    api: httpx.AsyncClient,
) -> None:
    room = (await make_room(api, "Ünïcode", "alpha"))["id"]
    other = (await make_room(api, "elsewhere", "alpha"))["id"]
    here = await say(api, room, "a", "ÄRGER mit dem Deploy")
    await say(api, other, "a", "ärger elsewhere")
    # Scanned within the room (not through the index), it still folds case.
    assert await found(api, "in:ünïcode ärger") == [here]
    assert await found(api, "ärger", room_id=room) == [here]
    assert await found(api, "in:ÜNÏCODE deploy") == [here]
    assert len(await found(api, "ärger")) == 2


async def test_to_finds_short_and_spaced_names(api: httpx.AsyncClient) -> None:
    room = (await make_room(api))["id"]
    short = await say(api, room, "a", "ping @x please")
    await say(api, room, "a", "ping @xy please")
    spaced = await say(api, room, "a", "for you", to=["Jane Doe"])
    mentioned_twice = await say(api, room, "a", "@xy first, then @x")
    assert await found(api, "to:x") == [short, mentioned_twice]
    assert await found(api, "to:x ping") == [short]
    assert await found(api, 'to:"jane doe"') == [spaced]
