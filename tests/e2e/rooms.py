"""REST calls the end-to-end tests share: a room, a post, over a live server."""

from __future__ import annotations

from typing import Any

import httpx


async def make_room(http: httpx.AsyncClient, project: str, name: str) -> str:
    response = await http.post("/api/rooms", json={"project": project, "name": name})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


async def post(
    http: httpx.AsyncClient, room: str, content: str, sender: str = "lead", **fields: Any
) -> dict[str, Any]:
    response = await http.post(
        f"/api/rooms/{room}/messages", json={"sender": sender, "content": content, **fields}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
