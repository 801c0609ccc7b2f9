"""Calls and checks the REST tests share."""

from __future__ import annotations

from typing import Any

import httpx


def assert_error(response: httpx.Response, status: int, code: str, *words: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    for word in words:
        assert word in body["error"]["message"]


async def make_room(
    api: httpx.AsyncClient, name: str = "planning", project: str = "alpha"
) -> dict[str, Any]:
    response = await api.post("/api/rooms", json={"project": project, "name": name})
    assert response.status_code == 200, response.text
    room: dict[str, Any] = response.json()
    return room
