"""A stand-in for the Anthropic Messages API, so that the real Claude Code can be driven
through one tool call without a key or a network: Claude Code talks to whatever
`ANTHROPIC_BASE_URL` names.

Its script is one turn: when the request offers chatnut's `post_message` tool
and holds no tool result yet, it answers with a call of that tool (the
arguments the test gave); otherwise it ends the turn with "done". It keeps
what came back as the tool's result, so a test can read the refusal an agent
would have seen.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOOL = "mcp__chatnut__post_message"


class Script:
    def __init__(self, arguments: dict[str, Any]) -> None:
        self.arguments = arguments
        self.offered: list[list[str]] = []  # the tool names of each request
        self.results: list[Any] = []  # what each tool call answered


def _stream(blocks: list[dict[str, Any]], stop: str) -> Iterator[tuple[str, dict[str, Any]]]:
    message = {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": "fake",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }
    yield "message_start", {"type": "message_start", "message": message}
    for index, block in enumerate(blocks):
        if block["type"] == "tool_use":
            start = {**block, "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        else:
            start = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": block["text"]}
        yield (
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": start},
        )
        yield "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": {"output_tokens": 1},
        },
    )
    yield "message_stop", {"type": "message_stop"}


def _handler(script: Script) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if "count_tokens" in self.path:
                self._json({"input_tokens": 1})
                return
            tools = [tool.get("name", "") for tool in body.get("tools", [])]
            script.offered.append(tools)
            results = [
                part.get("content")
                for message in body.get("messages", [])
                if isinstance(message.get("content"), list)
                for part in message["content"]
                if part.get("type") == "tool_result"
            ]
            if TOOL in tools and not results:
                blocks = [
                    {
                        "type": "tool_use",
                        "id": "toolu_fake",
                        "name": TOOL,
                        "input": script.arguments,
                    }
                ]
                stop = "tool_use"
            else:
                script.results.extend(results)
                blocks, stop = [{"type": "text", "text": "done"}], "end_turn"
            if not body.get("stream"):
                self._json(
                    {
                        "id": "msg_fake",
                        "type": "message",
                        "role": "assistant",
                        "model": "fake",
                        "content": blocks,
                        "stop_reason": stop,
                        "stop_sequence": None,
                        "usage": {"input_tokens": 1, "output_tokens": 1},
                    }
                )
                return
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.end_headers()
            for name, data in _stream(blocks, stop):
                self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
            self.wfile.flush()

        def do_GET(self) -> None:
            self.send_response(404)
            self.send_header("content-length", "0")
            self.end_headers()

        def _json(self, answer: Any) -> None:
            data = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the test reads the script, not a log

    return Handler


@contextmanager
def fake_anthropic(script: Script) -> Iterator[str]:
    """Serve the script on a free loopback port; its base URL while held."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(script))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
