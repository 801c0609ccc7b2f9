"""`chatnut tail`'s SSE side, against the REST and SSE contract: the event-stream
parser, exactly-once printing, and resuming a dropped feed with Last-Event-ID
(a stand-in server on 127.0.0.1 plays the feed, since this branch has none)."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from chatnut.cli.sse import Event, EventStreamParser, parse_events
from chatnut.cli.tail import Printer, follow_stream, format_message, sender_colour
from chatnut.client.endpoint import Endpoint


def message(id_: int, sender: str = "ana", content: str = "hi") -> dict[str, Any]:
    return {
        "id": id_,
        "room_id": "r",
        "sender": sender,
        "content": content,
        "message_type": "message",
        "created_at": "2026-11-24T09:15:02.114+00:00",
        "metadata": None,
    }


def test_parser_reads_named_numbered_multiline_events_and_skips_comments() -> None:
    lines = [
        ": keepalive",
        "retry: 2000",
        "event: message",
        "id: 7",
        'data: {"a":',
        "data: 1}",
        "",
        "",  # a blank line with nothing pending dispatches nothing
        "data:no space",
        "",
        "event: status\r\n",
        "data: x\r\n",
        "\r\n",
    ]
    parser = EventStreamParser()
    events = list(parse_events(lines, parser))
    assert events == [
        Event("message", '{"a":\n1}', "7"),
        Event("message", "no space", "7"),  # the last id carries over, per the spec
        Event("status", "x", "7"),
    ]
    assert parser.retry_ms == 2000 and parser.last_event_id == "7"


def test_parser_drops_an_unfinished_event() -> None:
    assert list(parse_events(["event: message", "id: 3", "data: {}"])) == []


def test_printer_shows_each_message_once_in_order() -> None:
    out = io.StringIO()
    printer = Printer(out, "json", colour=False, since=1)
    for id_ in (1, 2, 3, 2, 3, 4):
        printer.show(message(id_))
    assert [json.loads(line)["id"] for line in out.getvalue().splitlines()] == [2, 3, 4]


def test_text_format_colours_senders_consistently() -> None:
    plain = format_message(message(5, "Reviewer", "a\nb"), colour=False)
    assert plain == "#5 09:15:02 Reviewer: a\n    b"
    coloured = format_message(message(5, "reviewer"), colour=True)
    assert f"\x1b[1;{sender_colour('Reviewer')}mreviewer\x1b[0m" in coloured


class FeedHandler(BaseHTTPRequestHandler):
    """Serves the room feed: the first connection drops after two messages."""

    requests: ClassVar[list[dict[str, str | None]]] = []

    def do_GET(self) -> None:
        self.requests.append({"path": self.path, "last": self.headers.get("Last-Event-ID")})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        if len(self.requests) == 1:
            chunks = [message(5), message(6)]
            body = "retry: 10\n\n" + "".join(
                f"event: message\nid: {m['id']}\ndata: {json.dumps(m)}\n\n" for m in chunks
            )
        else:  # the resumed feed overlaps by one and then ends the room
            chunks = [message(6), message(7, "bo", "after the drop")]
            body = ": keepalive\n\n" + "".join(
                f"event: message\nid: {m['id']}\ndata: {json.dumps(m)}\n\n" for m in chunks
            )
            body += 'event: room\ndata: {"action": "deleted"}\n\n'
        self.wfile.write(body.encode())
        self.wfile.flush()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def feed_server() -> Iterator[ThreadingHTTPServer]:
    FeedHandler.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FeedHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_follow_stream_resumes_with_last_event_id_and_prints_each_message_once(
    feed_server: ThreadingHTTPServer,
) -> None:
    out = io.StringIO()
    printer = Printer(out, "json", colour=False, since=4)
    endpoint = Endpoint(f"http://127.0.0.1:{feed_server.server_address[1]}", token="t")
    notes: list[str] = []
    follow_stream(endpoint, "room-1", printer, notes.append)
    assert notes == ["following the room's live feed (SSE)"]  # once, not per reconnect
    shown = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    assert [m["id"] for m in shown] == [5, 6, 7]
    assert out.getvalue().endswith("-- room deleted --\n")
    assert FeedHandler.requests == [
        {"path": "/api/rooms/room-1/stream?last_event_id=4", "last": None},
        {"path": "/api/rooms/room-1/stream", "last": "6"},
    ]
