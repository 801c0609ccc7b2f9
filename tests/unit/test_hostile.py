"""Hostile input, generated (hypothesis): every MCP tool and every REST route gets
random types, sizes and unicode (NUL, lone surrogates, RTL overrides, huge
strings). Never a crash or a 500, every refusal one clear line, and a refused
call changes nothing in the database (tests/dump.py: every row of every table).

Both backends, one app each for the module. PostgreSQL gets a tenth of the
examples (at least 10; the fixed examples and the NUL/surrogate/10 MB test in
full): validation is the same code on both, so what it adds is the store's
handling of values that passed it, and the suite runs on 2 shared cores.

The examples per test are bounded so the suite stays quick on CI's two cores;
`CHATNUT_HOSTILE_EXAMPLES=2000 pytest tests/unit/test_hostile.py` is the long soak
(20 per tool and route by default: about 1 600 hostile calls a run, a new draw each run).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
import asyncpg
import httpx
import jsonschema
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from mcp import Client

from chatnut.app import create_app
from chatnut.mcp_tools import build_mcp
from chatnut.settings import Settings
from tests.dump import PostgresDump, sqlite_dump
from tests.helpers import MCP_CALL_HEADERS

EXAMPLES = int(os.environ.get("CHATNUT_HOSTILE_EXAMPLES", "20"))


def bounded(stack: Stack) -> settings:
    return settings(
        max_examples=EXAMPLES if stack.backend == "sqlite" else max(10, EXAMPLES // 10),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


HUGE = "x" * (10 * 1024 * 1024)
NASTY = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "\udfff tail",
    "\u202eevil\u202c",
    "مرحبا",
    "\u200b",
    "🦀" * 300,
    "../../etc/passwd",
    "..",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    '"; DROP TABLE messages; --',
    "%s%n%x",
    "\r\n\r\nX-Injected: 1",
    "x" * 70_000,
]
# URLs have their own length limits (clients and uvicorn refuse ~64 KiB lines).
NASTY_IN_URL = [text for text in NASTY if len(text) < 2000]

any_text = st.one_of(
    st.text(st.characters(codec=None, exclude_categories=()), max_size=300),
    st.sampled_from(NASTY),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    any_text,
)
any_value = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=8,
)


@dataclass
class Stack:
    backend: str
    portal: BlockingPortal
    mcp: Client
    http: httpx.AsyncClient
    fingerprint: Callable[[], dict[str, str]]
    room_id: str
    schemas: dict[str, dict[str, Any]]
    params: dict[str, list[str]]


@asynccontextmanager
async def _running(
    home: Path, database_url: str | None
) -> AsyncIterator[tuple[Any, Client, httpx.AsyncClient]]:
    settings = Settings(
        home=home, db=database_url, port=0, open_browser=False, update_check=False, teams_dir=home
    )
    app = create_app(settings, port=8123)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8123") as http,
            Client(build_mcp(app.state.service), mode="legacy") as mcp,
        ):
            yield app, mcp, http


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    home = tmp_path_factory.mktemp("hostile")
    backend: str = request.param
    database_url = None
    if backend == "postgres":
        postgres = request.getfixturevalue("postgres_server")
        database = postgres.spares.take()
        database_url = postgres.url(database)
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(_running(home, database_url)) as (app, mcp, http),
    ):
        if database_url is None:
            path = app.state.service.db_path
            fingerprint: Callable[[], dict[str, str]] = lambda: sqlite_dump(path)  # noqa: E731
        else:
            conn = portal.call(asyncpg.connect, database_url)
            fingerprint = lambda: portal.call(PostgresDump(conn).take)  # noqa: E731
        tools = portal.call(mcp.list_tools).tools
        room = portal.call(mcp.call_tool, "init_room", {"project": "p", "name": "target"})
        yield Stack(
            backend=backend,
            portal=portal,
            mcp=mcp,
            http=http,
            fingerprint=fingerprint,
            room_id=room.structured_content["id"],
            schemas={t.name: t.output_schema for t in tools if t.output_schema},
            params={t.name: list(t.input_schema.get("properties", {})) for t in tools},
        )
        if database_url is not None:
            portal.call(conn.close)
    if database_url is not None:
        postgres.drop_later(database)


def test_the_fingerprint_sees_a_write_and_only_a_write(stack: Stack) -> None:
    """What the refusal checks below rest on: a read leaves the dump as it was, any
    write (a new row, a changed row) changes it."""
    before = stack.fingerprint()
    read = call_tool(stack, "read_messages", {"room_id": stack.room_id})
    assert "result" in read and not read["result"].get("isError")
    assert stack.fingerprint() == before
    room = stack.room_id
    writes = [
        ("post_message", {"room_id": room, "sender": "s", "content": "c"}, "messages"),
        ("update_status", {"room_id": room, "sender": "s", "status": "a"}, "room_status"),
        ("update_status", {"room_id": room, "sender": "s", "status": "b"}, "room_status"),
    ]
    for tool, arguments, table in writes:
        reply = call_tool(stack, tool, arguments)
        assert not reply["result"].get("isError"), reply
        after = stack.fingerprint()
        assert after[table] != before[table], (tool, arguments)
        before = after


def tool_names() -> list[str]:
    async def names() -> list[str]:
        async with Client(build_mcp(None), mode="legacy") as client:  # type: ignore[arg-type]
            return [tool.name for tool in (await client.list_tools()).tools]

    return anyio.run(names)


TOOLS = tool_names()


def arguments_for(stack: Stack, tool: str) -> st.SearchStrategy[dict[str, Any]]:
    names = [*stack.params[tool], "bogus"]
    known = st.sampled_from([stack.room_id, "p", "target", "agent", 1, 0])
    value = st.one_of(any_value, known)
    drawn = st.dictionaries(st.sampled_from(names), value, max_size=len(names))
    if tool == "wait_for_messages":  # a valid timeout would make the test wait it out
        drawn = st.builds(lambda a: {**a, "timeout": 0}, drawn)
    return drawn


def call_tool(stack: Stack, tool: str, arguments: Any) -> dict[str, Any]:
    """One raw JSON-RPC tools/call over HTTP: any payload a client could put on the wire."""
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments},
    }
    # ensure_ascii escapes lone surrogates (\\ud800), as a JSON client may send them.
    request = stack.http.build_request(
        "POST", "/mcp/", content=json.dumps(body).encode(), headers=MCP_CALL_HEADERS
    )
    response = stack.portal.call(stack.http.send, request)
    assert response.status_code < 500, response.text[:300]
    reply: dict[str, Any] = response.json()
    return reply


@pytest.mark.parametrize("tool", TOOLS)
def test_every_tool_survives_random_arguments(stack: Stack, tool: str) -> None:
    @bounded(stack)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        arguments = data.draw(arguments_for(stack, tool))
        before = stack.fingerprint()
        reply = call_tool(stack, tool, arguments)
        result = reply.get("result")
        if result is None or result.get("isError"):
            # A tool error, or a protocol-level refusal (the params' shape, unparsable JSON).
            text = reply["error"]["message"] if result is None else result["content"][0]["text"]
            assert text and "\n" not in text, text
            assert "Traceback" not in text and "internal" not in text.lower(), text
            assert stack.fingerprint() == before, f"refused {tool} wrote something"
        else:
            jsonschema.validate(result["structuredContent"], stack.schemas[tool])

    run()


@pytest.mark.parametrize("field", ["content", "sender"])
@pytest.mark.parametrize("bad", ["a\x00b", "\ud800", HUGE])
def test_nul_surrogates_and_10_mb_are_refused_whole(stack: Stack, field: str, bad: str) -> None:
    arguments = {"room_id": stack.room_id, "sender": "s", "content": "c", field: bad}
    before = stack.fingerprint()
    reply = call_tool(stack, "post_message", arguments)
    if "result" in reply:
        assert reply["result"]["isError"]
        text = reply["result"]["content"][0]["text"]
        assert field in text, text
    else:
        text = reply["error"]["message"]
        if bad == HUGE:  # refused before it is read whole
            assert "request body is over" in text, text
        else:  # the SDK's JSON parser refuses an escaped lone surrogate before any tool runs
            assert bad == "\ud800" and "Parse error" in text, text
    assert "\n" not in text, text
    assert stack.fingerprint() == before


def api_routes() -> list[tuple[str, str]]:
    """Every REST operation the OpenAPI schema declares, streams aside (they never end;
    tests/test_security.py and the feed tests cover their refusals)."""
    schema = create_app(Settings(port=0, open_browser=False, update_check=False)).openapi()
    return [
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        if "stream" not in path
        for method in operations
    ]


ROUTES = api_routes()


def fill_path(path: str, values: list[str]) -> str:
    parts = iter(values)
    return re.sub(r"\{[^}]+\}", lambda _: escape(next(parts)), path)


def escape(text: str) -> str:
    # A lone surrogate goes out as the bytes Python would give it: invalid UTF-8.
    return quote(text, safe="", errors="surrogatepass")


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_survives_random_input(stack: Stack, method: str, path: str) -> None:
    holes = path.count("{")
    query_names = ["project", "status", "reader", "since_id", "before_id", "limit", "q", "format"]

    @bounded(stack)
    @given(
        ids=st.lists(
            st.one_of(
                st.sampled_from([stack.room_id]),
                st.text(max_size=50),
                st.sampled_from(NASTY_IN_URL),
            ),
            min_size=holes,
            max_size=holes,
        ),
        query=st.dictionaries(
            st.sampled_from(query_names),
            st.one_of(st.text(max_size=40), st.sampled_from(NASTY_IN_URL)),
        ),
        body=st.one_of(
            any_value,
            st.dictionaries(
                st.sampled_from(["sender", "content", "project", "name", "status", "reader"]),
                any_value,
            ),
        ),
        raw=st.booleans(),
    )
    @example(ids=[stack.room_id] * holes, query={}, body={"content": HUGE}, raw=False)
    def run(ids: list[str], query: dict[str, str], body: Any, raw: bool) -> None:
        url = fill_path(path, ids) + "?" + "&".join(f"{k}={escape(v)}" for k, v in query.items())
        before = stack.fingerprint()
        if raw:  # not JSON at all, or JSON with lone surrogates escaped
            content = repr(body).encode("utf-8", "surrogatepass")
            request = stack.http.build_request(method, url, content=content)
        else:
            # ensure_ascii escapes lone surrogates (\\ud800), as a JSON client may send them.
            text = json.dumps(body).encode()
            headers = {"content-type": "application/json"}
            request = stack.http.build_request(method, url, content=text, headers=headers)
        response = stack.portal.call(stack.http.send, request)
        assert response.status_code < 500, (method, url, response.text[:300])
        if response.status_code >= 400:
            assert response.headers["content-type"] == "application/json"
            assert set(response.json()["error"]) == {"code", "message"}
            assert stack.fingerprint() == before, f"refused {method} {path} wrote something"

    run()
