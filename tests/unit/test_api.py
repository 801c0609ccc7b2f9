"""REST API under /api/ on the real ASGI app: routes, the one error shape,
and that REST and MCP see the same rooms (both call the service)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.unit.rest import assert_error, make_room

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]


async def test_status_is_the_health_check(api: httpx.AsyncClient, database_url: str | None) -> None:
    response = await api.get("/api/status")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["version"] == "0.5.0"
    # The database as the user named it (a URL never with a password).
    assert (
        body["db_path"] == database_url if database_url else body["db_path"].endswith("chatnut.db")
    )
    assert body["rooms"] == 0 and body["messages"] == 0


async def test_openapi_docs_are_served(api: httpx.AsyncClient) -> None:
    assert (await api.get("/api/docs")).status_code == 200
    schema = (await api.get("/api/openapi.json")).json()
    assert "/api/rooms/{room_id}/messages" in schema["paths"]
    body = schema["components"]["schemas"]["NewMessage"]
    assert body["properties"]["sender"]["maxLength"] == 100


async def test_room_lifecycle_over_rest(api: httpx.AsyncClient) -> None:
    room = await make_room(api)
    assert room["web_url"] == f"http://127.0.0.1:8123/?room={room['id']}"
    again = await make_room(api)
    assert again["id"] == room["id"]
    rid = room["id"]
    # metadata.source is how the post came: a browser marks its fetches
    # (Sec-Fetch-Site); a script sends no such header, whatever its body says.
    page = {"sec-fetch-site": "same-origin"}
    posted = (
        await api.post(
            f"/api/rooms/{rid}/messages",
            json={"sender": "human", "content": "hi @dev"},
            headers=page,
        )
    ).json()
    assert posted["metadata"] == {"source": "web"}
    reply = await api.post(
        f"/api/rooms/{rid}/messages",
        json={"sender": "dev", "content": "yes", "reply_to": posted["id"], "source": "web"},
    )
    assert reply.json()["metadata"] == {"source": "cli", "reply_to": posted["id"]}

    listed = (await api.get("/api/rooms", params={"reader": "human"})).json()["rooms"]
    assert len(listed) == 1
    assert listed[0]["message_count"] == 2 and listed[0]["unread_count"] == 2
    assert listed[0]["last_message"]["preview"] == "yes"
    marked = await api.post(
        f"/api/rooms/{rid}/read", json={"reader": "human", "last_read_message_id": posted["id"]}
    )
    assert marked.json()["last_read_message_id"] == posted["id"]
    detail = (await api.get(f"/api/rooms/{rid}")).json()
    assert detail["id"] == rid and detail["message_count"] == 2
    listed = (await api.get("/api/rooms", params={"reader": "human"})).json()["rooms"]
    assert listed[0]["unread_count"] == 1

    status = await api.post(f"/api/rooms/{rid}/statuses", json={"sender": "dev", "status": "ok"})
    assert status.status_code == 200
    assert (await api.get(f"/api/rooms/{rid}/statuses")).json()["statuses"][0]["status"] == "ok"
    agent = await api.post(f"/api/rooms/{rid}/agents", json={"agent_name": "Dev", "task_id": "t"})
    assert agent.json()["agent_name"] == "dev"
    assert len((await api.get(f"/api/rooms/{rid}/agents")).json()["agents"]) == 1

    found = (await api.get("/api/search", params={"q": "yes"})).json()
    assert found["message_rooms"] == [{"room_id": rid, "match_count": 1}]
    assert (await api.get("/api/projects")).json() == {"projects": ["alpha"]}

    assert_error(await api.delete(f"/api/rooms/{rid}"), 422, "invalid_input", "archive")
    archived = (await api.post(f"/api/rooms/{rid}/archive")).json()
    assert archived["archived_at"]
    assert_error(
        await api.post(f"/api/rooms/{rid}/messages", json={"sender": "h", "content": "late"}),
        409,
        "room_archived",
        "archived",
    )
    cleared = (await api.post(f"/api/rooms/{rid}/clear")).json()
    assert cleared["deleted_count"] == 2
    deleted = (await api.delete(f"/api/rooms/{rid}")).json()
    assert deleted["deleted_messages"] == 0
    assert_error(await api.get(f"/api/rooms/{rid}"), 404, "not_found", rid)


async def test_messages_page_forwards_and_backwards(api: httpx.AsyncClient) -> None:
    rid = (await make_room(api))["id"]
    ids = []
    for i in range(7):
        posted = await api.post(
            f"/api/rooms/{rid}/messages", json={"sender": "a", "content": f"m{i}"}
        )
        ids.append(posted.json()["id"])
    newest = (await api.get(f"/api/rooms/{rid}/messages", params={"limit": 3})).json()
    assert [m["id"] for m in newest["messages"]] == ids[-3:] and newest["has_more"]
    older = (
        await api.get(f"/api/rooms/{rid}/messages", params={"before_id": ids[-3], "limit": 3})
    ).json()
    assert [m["id"] for m in older["messages"]] == ids[1:4] and older["has_more"]
    oldest = (
        await api.get(f"/api/rooms/{rid}/messages", params={"before_id": ids[1], "limit": 3})
    ).json()
    assert [m["id"] for m in oldest["messages"]] == ids[:1] and not oldest["has_more"]
    forward = (await api.get(f"/api/rooms/{rid}/messages", params={"since_id": ids[4]})).json()
    assert [m["id"] for m in forward["messages"]] == ids[5:]


async def test_message_pages_carry_rendered_html_only_when_asked(api: httpx.AsyncClient) -> None:
    rid = (await make_room(api))["id"]
    big = "```python\n" + "x = '<b>'\n" * 2000 + "```"  # rendered on a worker thread
    for content in ("**bold** <script>x</script>", big):
        await api.post(f"/api/rooms/{rid}/messages", json={"sender": "a", "content": content})
    plain = (await api.get(f"/api/rooms/{rid}/messages")).json()["messages"]
    assert all("html" not in m for m in plain)
    shown = (await api.get(f"/api/rooms/{rid}/messages", params={"html": "true"})).json()
    first, second = shown["messages"]
    assert first["html"] == "<p><strong>bold</strong> &lt;script&gt;x&lt;/script&gt;</p>\n"
    assert {k: v for k, v in first.items() if k != "html"} == plain[0]
    assert second["html"].startswith('<pre class="hl">') and "<b>" not in second["html"]


async def test_export_markdown_and_json(api: httpx.AsyncClient) -> None:
    rid = (await make_room(api, name="retro/../x"))["id"]
    for text in ("first **bold**", "second"):
        await api.post(f"/api/rooms/{rid}/messages", json={"sender": "amy", "content": text})
    md = await api.get(f"/api/rooms/{rid}/export")
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    assert "# alpha / retro/../x" in md.text and "first **bold**" in md.text
    disposition = md.headers["content-disposition"]
    assert "/" not in disposition.split("filename=")[1]
    exported = (await api.get(f"/api/rooms/{rid}/export", params={"format": "json"})).json()
    assert exported["room"]["id"] == rid
    assert [m["content"] for m in exported["messages"]] == ["first **bold**", "second"]
    assert_error(
        await api.get(f"/api/rooms/{rid}/export", params={"format": "pdf"}),
        422,
        "invalid_input",
        "format",
    )


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code", "word"),
    [
        ("post", "/api/rooms", {"project": "", "name": "x"}, 422, "invalid_input", "project"),
        ("post", "/api/rooms", {"project": "p"}, 422, "invalid_input", "name"),
        (
            "post",
            "/api/rooms",
            {"project": "p", "name": "x", "extra": 1},
            422,
            "invalid_input",
            "extra",
        ),
        ("post", "/api/rooms/{rid}/messages", {"sender": "a"}, 422, "invalid_input", "content"),
        (
            "post",
            "/api/rooms/{rid}/messages",
            {"sender": "a", "content": "x\u0000"},
            422,
            "invalid_input",
            "NUL",
        ),
        (
            "post",
            "/api/rooms/{rid}/messages",
            {"sender": "a", "content": "x" * 70000},
            422,
            "invalid_input",
            "limit",
        ),
        (
            "post",
            "/api/rooms/{rid}/messages",
            {"sender": "a", "content": "x", "message_type": "y"},
            422,
            "invalid_input",
            "message_type",
        ),
        (
            "post",
            "/api/rooms/{rid}/read",
            {"reader": "a", "last_read_message_id": -1},
            422,
            "invalid_input",
            "last_read_message_id",
        ),
        ("get", "/api/rooms/{rid}/messages?limit=0", None, 422, "invalid_input", "limit"),
        ("get", "/api/rooms/{rid}/messages?since_id=abc", None, 422, "invalid_input", "since_id"),
        ("get", "/api/rooms?status=dead", None, 422, "invalid_input", "status"),
        ("get", "/api/search", None, 422, "invalid_input", "q"),
        (
            "get",
            "/api/rooms/00000000-0000-4000-8000-000000000000/messages",
            None,
            404,
            "not_found",
            "00000000-0000-4000-8000-000000000000",
        ),
        ("get", "/api/no-such-route", None, 404, "not_found", ""),
        ("put", "/api/rooms", {}, 405, "method_not_allowed", ""),
    ],
)
async def test_bad_requests_share_one_error_shape_and_write_nothing(
    api: httpx.AsyncClient, method: str, path: str, body: Any, status: int, code: str, word: str
) -> None:
    rid = (await make_room(api))["id"]
    response = await api.request(
        method.upper(), path.replace("{rid}", rid), json=body if body is not None else None
    )
    assert_error(response, status, code, word)
    rooms = (await api.get("/api/rooms")).json()["rooms"]
    assert len(rooms) == 1 and rooms[0]["message_count"] == 0


async def test_malformed_json_body_is_the_json_error(api: httpx.AsyncClient) -> None:
    rid = (await make_room(api))["id"]
    response = await api.post(
        f"/api/rooms/{rid}/messages",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert_error(response, 422, "invalid_input")


async def test_rest_and_mcp_see_the_same_room(api: httpx.AsyncClient) -> None:
    from mcp import Client

    rid = (await make_room(api))["id"]
    app = api._transport.app  # type: ignore[attr-defined]
    posted = await api.post(f"/api/rooms/{rid}/messages", json={"sender": "h", "content": "hey"})
    server = app.state.chatnut.service
    from chatnut.mcp_tools import build_mcp

    async with Client(build_mcp(server), mode="legacy") as client:
        result = await client.call_tool("read_messages", {"room_id": rid})
    assert result.structured_content["messages"][0]["id"] == posted.json()["id"]
    assert json.loads(result.content[0].text) == result.structured_content


async def test_an_unexpected_failure_is_still_the_json_shape(settings: Any) -> None:
    from chatnut.app import create_app

    app = create_app(settings, port=8123)
    async with app.router.lifespan_context(app):

        async def broken() -> dict[str, Any]:
            raise RuntimeError("a bug")

        app.state.service.list_projects = broken
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8123") as c:
            response = await c.get("/api/projects")
    assert_error(response, 500, "internal_error", "log")
    assert "a bug" not in response.text  # internals stay in the server's log
