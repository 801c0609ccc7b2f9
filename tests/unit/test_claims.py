"""Claims on files and tasks through the SDK's in-memory client, on both backends.

Every refusal is one line and writes nothing (the project's claims are read
back after it).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from chatnut.service import ChatService
from chatnut.service import claims as claim_rules
from chatnut.service.coordination import HANDOFF_MAX_BYTES
from tests.mcp_client import CheckedClient, new_room

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]


async def claim(mcp: CheckedClient, room_id: str, who: str, paths: Any, **extra: Any) -> Any:
    return await mcp.ok("claim", room_id=room_id, agent_name=who, paths=paths, **extra)


async def claims_of(mcp: CheckedClient, **where: Any) -> list[dict[str, Any]]:
    return list((await mcp.ok("list_claims", **where))["claims"])


async def test_an_exclusive_claim_blocks_overlapping_ones_across_the_project(
    mcp: CheckedClient,
) -> None:
    planning = await new_room(mcp, "planning")
    backend = await new_room(mcp, "backend")  # another room of the same project
    first = await claim(mcp, planning, "Alice", ["src/**"], note="refactor", task="T-1")
    assert first["granted"] is True and first["conflicts"] == []
    assert len(first["claim_id"]) == 32

    refused = await claim(mcp, backend, "bob", ["docs/", "src/a.py"])
    assert refused == {
        "claim_id": None,
        "granted": False,
        "conflicts": [
            {
                "holder": "alice",
                "paths": ["src/**"],
                "task": "T-1",
                "expires_at": refused["conflicts"][0]["expires_at"],
                "note": "refactor",
            }
        ],
    }
    listed = await claims_of(mcp, room_id=backend)
    assert [(c["holder"], c["paths"]) for c in listed] == [("alice", ["src/**"])]
    (only,) = listed
    assert only["claim_id"] == first["claim_id"] and only["room_id"] == planning
    assert only["expires_at"] == refused["conflicts"][0]["expires_at"]

    # Disjoint paths are granted; another project is another world.
    assert (await claim(mcp, backend, "bob", ["docs/", "srcx/"]))["granted"]
    elsewhere = await new_room(mcp, "planning", project="beta")
    assert (await claim(mcp, elsewhere, "bob", ["src/a.py"]))["granted"]
    # A holder never conflicts with itself.
    assert (await claim(mcp, planning, "alice", ["src/a.py"]))["granted"]


async def test_shared_claims_never_block_but_hear_of_exclusive_ones(mcp: CheckedClient) -> None:
    room = await new_room(mcp)
    await claim(mcp, room, "alice", ["**/*.md"])
    shared = await claim(mcp, room, "bob", ["docs/x.md"], exclusive=False)
    assert shared["granted"] and [c["holder"] for c in shared["conflicts"]] == ["alice"]
    # Bob's shared claim is in nobody's way; alice's exclusive one still is.
    carol = await claim(mcp, room, "carol", ["docs/**"])
    assert not carol["granted"] and [c["holder"] for c in carol["conflicts"]] == ["alice"]
    assert (await claim(mcp, room, "dave", ["README.md"], exclusive=False))["granted"]


async def test_the_same_task_conflicts_whatever_the_paths(mcp: CheckedClient) -> None:
    room = await new_room(mcp)
    assert (await claim(mcp, room, "alice", [], task="Issue-12"))["granted"]
    by_task = await claim(mcp, room, "bob", ["web/"], task=" issue-12 ")
    assert not by_task["granted"] and by_task["conflicts"][0]["task"] == "Issue-12"
    assert (await claim(mcp, room, "bob", ["web/"], task="issue-13"))["granted"]


async def test_claiming_again_renews_the_same_claim(mcp: CheckedClient) -> None:
    room = await new_room(mcp)
    first = await claim(mcp, room, "alice", ["src/b.py", "src/a.py"], ttl_s=60)
    (before,) = await claims_of(mcp, room_id=room)
    again = await claim(mcp, room, "ALICE", [" src/a.py", "src/b.py", "src/a.py"], note="still")
    assert again["claim_id"] == first["claim_id"]
    (after,) = await claims_of(mcp, room_id=room)
    assert after["paths"] == ["src/a.py", "src/b.py"] and after["note"] == "still"
    assert after["expires_at"] > before["expires_at"]
    assert after["created_at"] == before["created_at"]


async def test_claims_expire_on_their_own(mcp: CheckedClient) -> None:
    room = await new_room(mcp)
    await claim(mcp, room, "alice", ["src/**"], ttl_s=1)
    assert not (await claim(mcp, room, "bob", ["src/x.py"]))["granted"]
    deadline = asyncio.get_running_loop().time() + 5
    while await claims_of(mcp, room_id=room):
        assert asyncio.get_running_loop().time() < deadline, "the claim never expired"
        await asyncio.sleep(0.05)
    assert (await claim(mcp, room, "bob", ["src/x.py"]))["granted"]


async def test_release_whole_claims_one_claim_or_some_paths(mcp: CheckedClient) -> None:
    room = await new_room(mcp)
    one = await claim(mcp, room, "alice", ["src/**", "docs/"])
    two = await claim(mcp, room, "alice", ["web/"], task="T-2")
    other = await claim(mcp, room, "bob", ["tests/"])

    trimmed = await mcp.ok("release", room_id=room, agent_name="alice", paths=["docs/", "web/"])
    assert trimmed == {"released": [], "trimmed": sorted([one["claim_id"], two["claim_id"]])}
    paths = {c["claim_id"]: c["paths"] for c in await claims_of(mcp, room_id=room)}
    assert paths[one["claim_id"]] == ["src/**"] and paths[two["claim_id"]] == []  # task stays
    assert (await claim(mcp, room, "bob", ["docs/x.md"]))["granted"]

    gone = await mcp.ok("release", room_id=room, agent_name="alice", paths=["src/**"])
    assert gone == {"released": [one["claim_id"]], "trimmed": []}
    by_id = await mcp.ok("release", room_id=room, agent_name="alice", claim_id=two["claim_id"])
    assert by_id == {"released": [two["claim_id"]], "trimmed": []}
    everything = await mcp.ok("release", room_id=room, agent_name="bob")
    assert other["claim_id"] in everything["released"]
    assert await claims_of(mcp, room_id=room) == []
    # Releasing what is no longer held is not an error.
    assert await mcp.ok("release", room_id=room, agent_name="bob") == {
        "released": [],
        "trimmed": [],
    }


async def test_list_claims_by_room_project_or_all(mcp: CheckedClient) -> None:
    alpha = await new_room(mcp, "planning", project="alpha")
    beta = await new_room(mcp, "planning", project="beta")
    await claim(mcp, alpha, "alice", ["a/"])
    await claim(mcp, beta, "bob", ["b/"])
    assert [c["holder"] for c in await claims_of(mcp, room_id=beta)] == ["bob"]
    assert [c["project"] for c in await claims_of(mcp, project="alpha")] == ["alpha"]
    assert sorted(c["project"] for c in await claims_of(mcp)) == ["alpha", "beta"]
    error = await mcp.error("list_claims", room_id=beta, project="alpha")
    assert "is in project 'beta', not 'alpha'" in error


async def test_claims_appear_in_the_handoff_and_the_team_status(mcp: CheckedClient) -> None:
    room = await new_room(mcp)
    handoff = await mcp.ok("get_handoff", room_id=room, reader="lead")
    team = await mcp.ok("get_team_status", room_id=room)
    assert "claims" not in handoff and "claims" not in team  # as before, until there are some
    assert "claims" not in handoff["omitted"]
    made = await claim(mcp, await new_room(mcp, "other"), "alice", ["src/**"], task="T-1")
    handoff = await mcp.ok("get_handoff", room_id=room, reader="lead")
    team = await mcp.ok("get_team_status", room_id=room)
    for answer in (handoff, team):
        (shown,) = answer["claims"]
        assert shown["claim_id"] == made["claim_id"] and shown["paths"] == ["src/**"]
        assert shown["holder"] == "alice" and shown["task"] == "T-1" and shown["exclusive"]
    assert handoff["omitted"]["claims"] == 0 and handoff["complete"]


BAD = [
    ({"paths": []}, "a claim needs paths, a task, or both"),
    ({"paths": ["src/[ab"]}, "paths: 'src/[ab' has a '[' with no closing ']'"),
    ({"paths": ["../x"]}, "paths: '../x' has a '.' or '..' name"),
    ({"paths": ["!src"]}, "cannot negate"),
    ({"paths": [f"f{n}" for n in range(65)]}, "paths has 65 patterns; the limit is 64"),
    ({"paths": ["a"], "ttl_s": 0}, "ttl_s must be >= 1"),
    ({"paths": ["a"], "ttl_s": 86_401}, "ttl_s must be <= 86400"),
    ({"paths": ["a"], "ttl_s": True}, "ttl_s"),
    ({"paths": ["a"], "exclusive": "yes"}, "exclusive"),
    ({"paths": ["a"], "agent_name": "a b"}, "agent_name 'a b' can only hold"),
    ({"paths": ["a"], "agent_name": "x" * 101}, "agent_name is 101 characters"),
    ({"paths": ["a"], "note": "n" * 501}, "note is 501 characters; the limit is 500"),
    ({"paths": ["a"], "task": " "}, "task must not be empty"),
    ({"paths": "src/**"}, "paths"),
    ({"paths": ["a"], "room_id": "nope"}, "Room 'nope' not found"),
    ({"paths": ["a"], "room_id": "r" * 65}, "room_id is 65 characters"),
    ({"paths": ["a\x00"]}, "control character"),
    ({"paths": ["a"], "colour": "red"}, "claim has no argument(s) 'colour'"),
]


@pytest.mark.parametrize(("arguments", "words"), BAD)
async def test_bad_claims_are_refused_in_one_line_with_nothing_written(
    mcp: CheckedClient, arguments: dict[str, Any], words: str
) -> None:
    room = await new_room(mcp)
    given = {"room_id": room, "agent_name": "alice", **arguments}
    assert words in await mcp.error("claim", **given)
    assert await claims_of(mcp) == []


async def test_bad_releases_are_refused_with_nothing_released(mcp: CheckedClient) -> None:
    room = await new_room(mcp)
    mine = await claim(mcp, room, "alice", ["src/"])
    theirs = await claim(mcp, room, "bob", ["web/"])
    cases = [
        ({"claim_id": theirs["claim_id"]}, "is held by 'bob'; only its holder can release it"),
        ({"claim_id": "0" * 32}, "is not a live claim in project 'alpha'"),
        ({"claim_id": "c" * 65}, "claim_id is 65 characters"),
        ({"paths": []}, "paths is empty; leave it out to release whole claims"),
        ({"paths": ["src/[x"]}, "no closing"),
        ({"room_id": "nope"}, "Room 'nope' not found"),
    ]
    for arguments, words in cases:
        given = {"room_id": room, "agent_name": "alice", **arguments}
        assert words in await mcp.error("release", **given), arguments
    held = sorted(c["claim_id"] for c in await claims_of(mcp))
    assert held == sorted([mine["claim_id"], theirs["claim_id"]])


async def test_no_claim_in_an_archived_room(mcp: CheckedClient) -> None:
    room = await new_room(mcp)
    await mcp.ok("archive_room", project="alpha", name="planning")
    assert "is archived" in await mcp.error("claim", room_id=room, agent_name="a", paths=["x"])
    assert await claims_of(mcp) == []


async def test_a_project_holds_a_bounded_number_of_claims(
    mcp: CheckedClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(claim_rules, "MAX_LIVE_CLAIMS", 2)
    room = await new_room(mcp)
    await claim(mcp, room, "alice", ["a"])
    await claim(mcp, room, "bob", ["b"])
    error = await mcp.error("claim", room_id=room, agent_name="carol", paths=["c"])
    assert "holds 2 live claims (the limit)" in error
    assert (await claim(mcp, room, "alice", ["a"]))["granted"]  # renewing is not a new claim
    assert len(await claims_of(mcp)) == 2


async def test_concurrent_exclusive_claims_grant_exactly_one(service: ChatService) -> None:
    room = (await service.init_room("alpha", "race"))["id"]
    answers = await asyncio.gather(
        *(service.claim(room, f"agent{n}", ["src/**", f"docs/{n}.md"]) for n in range(20))
    )
    assert sum(a["granted"] for a in answers) == 1
    assert len((await service.list_claims(room))["claims"]) == 1


async def test_many_big_claims_keep_the_handoff_under_its_size(mcp: CheckedClient) -> None:
    room = await new_room(mcp)
    for n in range(4):  # each about 13 KB of patterns
        paths = [f"area{n}/{'d' * 180}/{k}/**" for k in range(64)]
        assert (await claim(mcp, room, f"agent{n}", paths))["granted"]
    handoff = await mcp.ok("get_handoff", room_id=room, reader="lead")
    size = len(json.dumps(handoff, ensure_ascii=False, separators=(",", ":")).encode())
    assert size <= HANDOFF_MAX_BYTES
    assert handoff["omitted"]["claims"] >= 2 and handoff["complete"] is False
    assert len(handoff["claims"]) + handoff["omitted"]["claims"] == 4
    assert [c["holder"] for c in handoff["claims"]] == ["agent0"]  # the newest go first
