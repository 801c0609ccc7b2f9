"""Numbers and sizes at the edges, against the real server: every integer input is
bounded and refused in one line naming it (REST, SSE, MCP); booleans are not
numbers over MCP while digit strings stay accepted; an oversized MCP request is
a JSON-RPC error the official client shows; GET /mcp/ opens no endless stream."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from tests.helpers import ServerProcess

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

TOO_BIG = [2**63, 99999999999999999999]


def room_with_message(server: ServerProcess) -> str:
    room = httpx.post(f"{server.url}/api/rooms", json={"project": "p", "name": "r"}).json()["id"]
    httpx.post(f"{server.url}/api/rooms/{room}/messages", json={"sender": "a", "content": "x"})
    return str(room)


def refused(response: httpx.Response, name: str) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input" and name in error["message"], error
    assert "\n" not in error["message"]


def message_count(server: ServerProcess) -> int:
    count: int = httpx.get(f"{server.url}/api/status").json()["messages"]
    return count


@pytest.mark.parametrize("value", TOO_BIG)
def test_rest_and_sse_refuse_ids_past_64_bits(server: ServerProcess, value: int) -> None:
    room = room_with_message(server)
    base = f"{server.url}/api/rooms/{room}"
    refused(httpx.get(f"{base}/messages?since_id={value}"), "since_id")
    refused(httpx.get(f"{base}/messages?before_id={value}"), "before_id")
    refused(httpx.get(f"{base}/stream?last_event_id={value}"), "last_event_id")
    refused(httpx.get(f"{server.url}/api/stream?room=*&last_event_id={value}"), "last_event_id")
    refused(httpx.get(f"{base}/stream", headers={"last-event-id": str(value)}), "Last-Event-ID")
    body = {"sender": "a", "content": "reply", "reply_to": value}
    refused(httpx.post(f"{base}/messages", json=body), "reply_to")
    refused(
        httpx.post(f"{base}/read", json={"reader": "a", "last_read_message_id": value}),
        "last_read_message_id",
    )
    assert message_count(server) == 1


@pytest.mark.parametrize("era", ["legacy", "2026-07-28"])
async def test_mcp_refuses_huge_ids_and_booleans_and_keeps_digit_strings(
    server: ServerProcess, era: str
) -> None:
    room = room_with_message(server)
    huge = 2**63
    async with Client(server.mcp_url, mode=era) as client:

        async def error(tool: str, **arguments: Any) -> str:
            result = await client.call_tool(tool, arguments)
            assert result.is_error, result.structured_content
            text: str = result.content[0].text  # type: ignore[union-attr]
            assert "\n" not in text
            return text

        assert "since_id" in await error("read_messages", room_id=room, since_id=huge)
        assert "since_id" in await error("wait_for_messages", room_id=room, since_id=huge)
        assert "reply_to" in await error(
            "post_message", room_id=room, sender="a", content="x", reply_to=huge
        )
        assert "last_read_message_id" in await error(
            "mark_read", room_id=room, reader="a", last_read_message_id=huge
        )
        assert "boolean" in await error("read_messages", room_id=room, limit=True)
        assert "limit" in await error("read_messages", room_id=room, limit=True)
        assert "since_id" in await error("read_messages", room_id=room, since_id=False)
        assert "timeout" in await error("wait_for_messages", room_id=room, since_id=0, timeout=True)
        assert "reply_to" in await error(
            "post_message", room_id=room, sender="a", content="x", reply_to=True
        )
        # The original accepts integers written as strings: so do we.
        page = await client.call_tool("read_messages", {"room_id": room, "since_id": "0"})
        assert not page.is_error and len(page.structured_content["messages"]) == 1  # type: ignore[index]
    assert message_count(server) == 1


async def test_an_oversized_mcp_post_is_a_json_rpc_error_naming_the_limit(
    server: ServerProcess,
) -> None:
    room = room_with_message(server)
    async with Client(server.mcp_url, mode="legacy") as client:
        # Over the message limit but under the request cap: the tool says so.
        result = await client.call_tool(
            "post_message", {"room_id": room, "sender": "a", "content": "y" * 200_000}
        )
        assert result.is_error
        assert "the limit is 65536 bytes" in result.content[0].text  # type: ignore[union-attr]
        # Over the request cap (2 MB): a JSON-RPC error, not "Server returned an error".
        with pytest.raises(MCPError) as refusal:
            await client.call_tool(
                "post_message", {"room_id": room, "sender": "a", "content": "z" * 2_000_000}
            )
        text = str(refusal.value)
        assert "request too large" in text and "65536 bytes" in text, text
        # The session is fine afterwards.
        assert not (await client.call_tool("ping", {})).is_error
    assert message_count(server) == 1


def test_get_on_mcp_is_refused_instead_of_an_endless_stream(server: ServerProcess) -> None:
    for path in ("/mcp/", "/mcp"):
        answer = httpx.get(f"{server.url}{path}", headers={"accept": "*/*"}, timeout=10)
        assert answer.status_code == 405 and answer.headers["allow"] == "POST"
        assert answer.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    ("args", "word"),
    [
        (["--max-message-bytes", "99999999999999999999"], "max-message-bytes"),
        (["--auto-archive-hours", "inf"], "auto-archive-hours"),
        (["--auto-archive-hours", "nan"], "auto-archive-hours"),
    ],
)
def test_server_settings_are_bounded(home: Any, args: list[str], word: str) -> None:
    server = ServerProcess(home, extra_args=args)
    with pytest.raises(RuntimeError, match=word):
        server.start()
    server.kill()
    assert not (home / "chatnut.db").exists()


def test_prune_refuses_an_unbounded_age(
    server: ServerProcess, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from chatnut.cli import main

    for name, value in server.environment().items():
        monkeypatch.setenv(name, value)
    for days in ("inf", "nan", "1e300"):
        assert main(["prune", "--archived-older-than", days]) == 1
        err = capsys.readouterr().err
        assert "--archived-older-than must be 0..1000000 days" in err and err[-1] == "\n"
