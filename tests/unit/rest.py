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


async def post(api: httpx.AsyncClient, room: str, content: str) -> int:
    answer = await api.post(f"/api/rooms/{room}/messages", json={"sender": "a", "content": content})
    assert answer.status_code == 200, answer.text
    return int(answer.json()["id"])


async def sidebar(api: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    answer = await api.get("/api/sidebar", params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body
