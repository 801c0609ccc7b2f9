"""Every /api answer is declared in /api/openapi.json, and real answers match it.

The shapes are declared once (chatnut.shapes) and FastAPI documents them as
each route's response. Declared is not enough: the answers of the main
routes, as the service makes them, are validated against the route's schema
made strict (no key the schema does not name), so a field the service adds
without declaring it fails here instead of being dropped from REST answers.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import jsonschema
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from chatnut.app import create_app
from chatnut.service import ChatService
from chatnut.settings import Settings

pytestmark = [pytest.mark.anyio, pytest.mark.both_backends]

# What a route answers that is not one JSON document: its media type.
STREAMED = {"text/event-stream", "text/markdown"}


@pytest.fixture
async def served(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings, port=8123)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8123") as c:
            yield app, c


def api_routes(app: FastAPI) -> list[tuple[str, str, APIRoute]]:
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        path = context.path
        if isinstance(route, APIRoute) and path and path.startswith("/api"):
            found += [(method, path, route) for method in sorted(route.methods)]
    return found


def is_bare(schema: dict[str, Any]) -> bool:
    """An answer schema that says nothing: anything, or any object."""
    said = {k: v for k, v in schema.items() if k not in {"title", "description"}}
    return said in ({}, {"type": "object"}, {"type": "object", "additionalProperties": True})


async def test_every_api_route_declares_its_answer(
    served: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = served
    document = (await client.get("/api/openapi.json")).json()
    routes = api_routes(app)
    assert len(routes) > 40  # the walk found the routers' routes
    undeclared = []
    for method, path, route in routes:
        if not route.include_in_schema:
            undeclared.append(f"{method} {path}: left out of the document")
            continue
        operation = document["paths"][path][method.lower()]
        ok = [v for code, v in operation["responses"].items() if code.startswith("2")]
        contents = ok[0].get("content", {}) if ok else {}
        if not contents:
            undeclared.append(f"{method} {path}: no success answer")
        for media, content in contents.items():
            schema = content.get("schema", {})
            if media not in STREAMED and ("$ref" not in schema and is_bare(schema)):
                undeclared.append(f"{method} {path}: {media} answer is a bare {schema}")
        refusals = operation["responses"].get("4XX", {}).get("content", {})
        if refusals.get("application/json", {}).get("schema") != {
            "$ref": "#/components/schemas/ErrorBody"
        }:
            undeclared.append(f"{method} {path}: refusals not in the one error shape")
    assert undeclared == []
    # FastAPI's own validation-error shape is never sent, so never documented.
    assert "HTTPValidationError" not in document["components"]["schemas"]
    error = document["components"]["schemas"]["ErrorDetail"]
    assert set(error["required"]) == {"code", "message"}


def strict(schema: Any) -> Any:
    """The schema with every object closed: a key it does not name is an error."""
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    closed = {k: strict(v) for k, v in schema.items()}
    if "properties" in schema and "additionalProperties" not in schema:
        closed["additionalProperties"] = False
    return closed


class Answers:
    """Checks answers against the served document, made strict."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = strict(copy.deepcopy(document))
        self.registry: Registry[Any] = Registry().with_resource(
            "urn:openapi", Resource.from_contents(self.document, default_specification=DRAFT202012)
        )
        self.checked: list[str] = []

    def schema_of(self, method: str, path: str) -> dict[str, Any]:
        operation = self.document["paths"][path][method.lower()]
        ok = next(v for code, v in operation["responses"].items() if code.startswith("2"))
        schema: dict[str, Any] = ok["content"]["application/json"]["schema"]
        return schema

    def check(self, method: str, path: str, answer: Any) -> None:
        schema = {**self.schema_of(method, path), "$id": "urn:answer"}
        # References point into the whole document: resolve them against it.
        schema = _rebased(schema)
        validator = jsonschema.Draft202012Validator(schema, registry=self.registry)
        errors = sorted(validator.iter_errors(answer), key=lambda e: list(e.path))
        assert not errors, f"{method} {path}: {errors[0].message} at {list(errors[0].path)}"
        self.checked.append(f"{method} {path}")


def _rebased(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_rebased(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _rebased(v) for k, v in schema.items()}
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        out["$ref"] = "urn:openapi" + ref
    return out


async def both(
    answers: Answers,
    client: httpx.AsyncClient,
    method: str,
    path: str,
    url: str,
    direct: Awaitable[Any],
    **request: Any,
) -> Any:
    """The route's answer and the service's own, each checked; and nothing the
    service said was lost on the way out."""
    response = await client.request(method, url, **request)
    assert response.status_code == 200, response.text
    made = await direct
    answers.check(method, path, made)
    answers.check(method, path, response.json())
    return response.json(), made


async def test_real_answers_of_the_main_routes_match_their_schemas(
    served: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = served
    service: ChatService = app.state.service
    answers = Answers((await client.get("/api/openapi.json")).json())

    made = await client.post("/api/rooms", json={"project": "shapes", "name": "main"})
    answers.check("POST", "/api/rooms", made.json())
    room_id = made.json()["id"]
    await service.register_agent(room_id, "bob", "task-1")
    posted = await client.post(
        f"/api/rooms/{room_id}/messages",
        json={"sender": "alice", "content": "hello @bob", "to": ["bob"], "ack_required": True},
    )
    answers.check("POST", "/api/rooms/{room_id}/messages", posted.json())
    assert posted.json()["mentions"] == [{"name": "bob", "task_id": "task-1"}]
    first = posted.json()["id"]
    summary = await service.post_message(room_id, "carol", "a summary draft", "summary")
    edited = await client.patch(
        f"/api/messages/{summary['id']}", json={"content": "a summary", "name": "carol"}
    )
    answers.check("PATCH", "/api/messages/{message_id}", edited.json())
    gone = await service.post_message(room_id, "carol", "oops")
    await service.delete_message(gone["id"], "carol")
    await service.toggle_reaction(room_id, first, "👍", "carol")
    await service.update_status(room_id, "alice", "reviewing")
    await service.claim(room_id, "bob", ["src/**"], "task-1")
    await service.mark_read(room_id, "carol", first)

    room = f"/api/rooms/{room_id}"
    rest, direct = await both(
        answers,
        client,
        "GET",
        "/api/rooms/{room_id}/messages",
        f"{room}/messages?since_id=0",
        service.read_messages(room_id, 0, note_presence=False),
    )
    # A message with receipts and reactions: its nested parts are checked too.
    assert rest == direct and "receipts" in rest["messages"][0]
    # Edited and deleted messages say so, in declared fields.
    assert "edited_at" in rest["messages"][1] and rest["messages"][2]["deleted"] is True
    assert rest["messages"][0]["reactions"][0]["names"] == ["carol"]
    rest, direct = await both(
        answers,
        client,
        "GET",
        "/api/rooms/{room_id}/messages",
        f"{room}/messages",
        service.read_messages_before(room_id, None, 100),
    )
    assert rest == direct
    rest, direct = await both(
        answers,
        client,
        "GET",
        "/api/rooms/{room_id}/messages",
        f"{room}/messages?around={first}",
        service.read_messages_around(room_id, first, 10),
    )
    assert rest == direct and rest["has_older"] is False
    rest, direct = await both(
        answers,
        client,
        "GET",
        "/api/rooms/{room_id}",
        f"{room}?reader=carol",
        service.get_room(room_id, "carol"),
    )
    assert rest == direct and rest["unread_count"] == 2
    assert rest["last_message"]["id"] == gone["id"]

    async def summaries() -> dict[str, Any]:
        return {"rooms": await service.room_summaries(reader="carol")}

    reads: list[tuple[str, str, Callable[[], Awaitable[Any]]]] = [
        ("/api/rooms", "/api/rooms?reader=carol", summaries),
        ("/api/sidebar", "/api/sidebar?reader=carol", lambda: service.sidebar_page("carol")),
        (
            "/api/sidebar/totals",
            "/api/sidebar/totals?reader=carol",
            lambda: service.sidebar_totals("carol"),
        ),
        (
            "/api/rooms/{room_id}/statuses",
            f"{room}/statuses",
            lambda: service.get_team_status(room_id),
        ),
        ("/api/rooms/{room_id}/agents", f"{room}/agents", lambda: service.list_agents(room_id)),
        ("/api/claims", f"/api/claims?room_id={room_id}", lambda: service.list_claims(room_id)),
        ("/api/search", "/api/search?q=hello", lambda: service.search_page("hello")),
        ("/api/room-prefs", "/api/room-prefs?reader=carol", lambda: service.room_prefs("carol")),
        (
            "/api/rooms/{room_id}/messages/{message_id}/receipts",
            f"{room}/messages/{first}/receipts",
            lambda: service.message_receipts(room_id, first),
        ),
        (
            "/api/rooms/{room_id}/reactions",
            f"{room}/reactions?ids={first}",
            lambda: service.room_reactions(room_id, [first]),
        ),
    ]
    for path, url, call in reads:
        rest, direct = await both(answers, client, "GET", path, url, call())
        assert rest == direct, path
    # `overdue` moves with the clock: its shape only.
    await both(
        answers,
        client,
        "GET",
        "/api/rooms/{room_id}/awaiting-acks",
        f"{room}/awaiting-acks",
        service.awaiting_acks(room_id=room_id),
    )
    # The reads a resuming agent and the inbox make: presence and receipts move
    # as they are read, so these are checked for their shape only.
    rest, _ = await both(
        answers,
        client,
        "GET",
        "/api/rooms/{room_id}/handoff",
        f"{room}/handoff?reader=bob",
        service.get_handoff(room_id, "bob", note_presence=False),
    )
    assert rest["claims"][0]["holder"] == "bob" and rest["awaiting_ack"][0]["message_id"] == first
    rest, _ = await both(
        answers,
        client,
        "GET",
        "/api/inbox",
        "/api/inbox?agent_name=bob",
        service.check_inbox("bob", note_presence=False),
    )
    assert rest["messages"][0]["room"]["name"] == "main"
    # A thread: the page's reads carry `replies` on its parent.
    await service.post_message(room_id, "bob", "on it", reply_to=first)
    rest, direct = await both(
        answers,
        client,
        "GET",
        "/api/rooms/{room_id}/messages/{message_id}/thread",
        f"{room}/messages/{first}/thread",
        service.read_thread(room_id, first),
    )
    assert rest == direct and rest["reply_count"] == 1
    rest, direct = await both(
        answers,
        client,
        "GET",
        "/api/rooms/{room_id}/replies",
        f"{room}/replies?ids={first}",
        service.room_reply_counts(room_id, [first]),
    )
    assert rest == direct and rest["replies"][str(first)]["last_sender"] == "bob"
    page = (await client.get(f"{room}/messages?since_id=0&html=true")).json()
    answers.check("GET", "/api/rooms/{room_id}/messages", page)
    assert page["messages"][0]["replies"]["count"] == 1 and "html" in page["messages"][0]
    status = await client.get("/api/status")
    answers.check("GET", "/api/status", status.json())
    ack = await client.post(f"{room}/messages/{first}/ack", json={"agent_name": "bob"})
    answers.check("POST", "/api/rooms/{room_id}/messages/{message_id}/ack", ack.json())
    assert len(answers.checked) >= 30
