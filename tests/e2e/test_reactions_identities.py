"""Reactions on a server with identities, on both backends: a token reacts as
its own principal only, a reader's token not at all, and a refusal writes nothing."""

from __future__ import annotations

import pytest

from tests.e2e.test_identities import Team, _room, team
from tests.helpers import TOKEN

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends, pytest.mark.e2e]

__all__ = ["team"]  # the fixture, shared


async def test_a_token_reacts_as_its_principal_only(team: Team) -> None:
    room = _room(team)
    with team.rest(TOKEN) as admin:
        [message] = admin.get(f"/api/rooms/{room}/messages").json()["messages"]
    path = f"/api/rooms/{room}/messages/{message['id']}/reactions"
    before = await team.dump()
    with team.rest(team.alice) as alice:
        refused = alice.post(path, json={"emoji": "👍", "name": "bob"})
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["message"] == (
            "this token is alice-claude's; it cannot act as bob"
        )
    with team.rest(team.rita) as rita:
        reader = rita.post(path, json={"emoji": "👍", "name": "rita"})
        assert reader.status_code == 403, reader.text
        assert "reacting to a message needs the member role" in reader.json()["error"]["message"]
    assert await team.dump() == before
    with team.rest(team.alice) as alice:
        mine = alice.post(path, json={"emoji": "👍", "name": "Alice-Claude"})
        assert mine.status_code == 200, mine.text
        assert mine.json()["reactions"] == [{"emoji": "👍", "count": 1, "names": ["alice-claude"]}]
    with team.rest(TOKEN) as admin:  # the shared token is the admin's key: any name
        assert admin.post(path, json={"emoji": "👍", "name": "bob"}).status_code == 200
