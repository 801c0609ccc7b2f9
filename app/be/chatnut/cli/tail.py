"""`chatnut tail ROOM`: a room, live, in a terminal.

It follows the room's SSE feed (`GET /api/rooms/{id}/stream`),
resuming after a dropped connection with Last-Event-ID, and falls back to
MCP `wait_for_messages` — a long-poll woken by the post itself — against a
server that has no feed. Either way every message with an id above the last
one shown is printed exactly once, in order.
"""

from __future__ import annotations

import hashlib
import json
import time
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any, TextIO

import anyio

from chatnut.cli.sse import EventStreamParser, parse_events
from chatnut.cli.terminal import Terminal, inert
from chatnut.client.endpoint import CliError, Endpoint, NotServed, quote
from chatnut.client.mcp import call_tool_async, connect

PAGE = 1000
WAIT_SECONDS = 60
RECONNECT_SECONDS = 1.0
# The stream sends keepalives; silence this long means the connection is dead.
STREAM_READ_TIMEOUT = 90.0
# Readable on dark and light terminals; a sender keeps its colour across runs.
COLOURS = (31, 32, 33, 34, 35, 36, 91, 92, 93, 94, 95, 96)


def sender_colour(sender: str) -> int:
    digest = hashlib.blake2s(sender.lower().encode(), digest_size=2).digest()
    return COLOURS[int.from_bytes(digest, "big") % len(COLOURS)]


def format_message(message: dict[str, Any], colour: bool, clean: Callable[[str], str] = str) -> str:
    """One message for a terminal; `clean` makes the sender's text inert there."""
    stamp = str(message["created_at"])[11:19]
    sender = clean(str(message["sender"]))
    meta = message.get("metadata") or {}
    reply = f" ↪ #{meta['reply_to']}" if meta.get("reply_to") else ""
    if message.get("to"):
        reply = f" → {clean(', '.join(message['to']))}{reply}"
    kind = message.get("message_type")
    system = kind in ("system", "summary")
    body = clean(str(message["content"])).replace("\n", "\n    ")
    if colour:
        who = f"\x1b[1;{sender_colour(str(message['sender']))}m{sender}\x1b[0m"
        head = f"\x1b[2m#{message['id']} {stamp}\x1b[0m {who}{reply}"
        if system:
            body = f"\x1b[2m{body}\x1b[0m"
    else:
        head = f"#{message['id']} {stamp} {sender}{reply}"
    return f"{head}: {body}" if not system else f"{head} [{kind}]: {body}"


class Printer:
    """Prints each message once, in id order, however it arrived."""

    def __init__(self, out: TextIO, fmt: str, colour: bool, since: int) -> None:
        # On a terminal our colour codes go out raw and the messages' text is
        # made inert here (terminal.py); JSON goes through the escaping stream.
        self.terminal = isinstance(out, Terminal)
        self.out = out
        self.fmt = fmt
        self.colour = colour
        self.last_id = since

    def show(self, message: dict[str, Any]) -> None:
        if int(message["id"]) <= self.last_id:
            return  # a resumed stream's overlap, or the backlog again
        self.last_id = int(message["id"])
        if self.fmt == "json":
            self.out.write(json.dumps(message, ensure_ascii=False) + "\n")
        else:
            clean = inert if self.terminal else str
            line = format_message(message, self.colour, clean) + "\n"
            (self.out.raw if isinstance(self.out, Terminal) else self.out).write(line)
        self.out.flush()


def backlog(
    endpoint: Endpoint, room_id: str, since: int | None, last: int, to: str | None = None
) -> list[dict[str, Any]]:
    """Messages after `since` (all of them), or else the newest `last`; with `to`,
    only those addressed to that name."""
    path = f"/api/rooms/{quote(room_id)}/messages"
    if to is not None:
        return _addressed_backlog(endpoint, path, since, last, to)
    if since is None:
        if last <= 0:
            return []
        messages: list[dict[str, Any]] = endpoint.call("GET", f"{path}?limit={min(last, PAGE)}")[
            "messages"
        ]
        return messages
    found: list[dict[str, Any]] = []
    while True:
        page = endpoint.call("GET", f"{path}?since_id={since}&limit={PAGE}")
        found.extend(page["messages"])
        if not page["has_more"] or not page["messages"]:
            return found
        since = page["messages"][-1]["id"]


def _addressed_backlog(
    endpoint: Endpoint, path: str, since: int | None, last: int, to: str
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    after = since or 0
    while True:
        query = urllib.parse.urlencode({"since_id": after, "limit": PAGE, "addressed_to": to})
        page = endpoint.call("GET", f"{path}?{query}")
        found.extend(page["messages"])
        after = page["next_since_id"]
        if not page["has_more"]:
            return found if since is not None else found[-last:] if last > 0 else []


def consume_stream(lines: Iterable[str], printer: Printer, parser: EventStreamParser) -> bool:
    """Print the feed's messages; True when the room went away (stop following)."""
    for event in parse_events(lines, parser):
        if event.event == "message":
            printer.show(json.loads(event.data))
        elif event.event == "room":
            data = json.loads(event.data)
            action = data.get("action") if isinstance(data, dict) else None
            if action in {"deleted", "archived"}:
                printer.out.write(f"-- room {action} --\n")
                printer.out.flush()
                if action == "deleted":
                    return True
    return False


def follow_stream(
    endpoint: Endpoint,
    room_id: str,
    printer: Printer,
    note: Callable[[str], None] = lambda text: None,
    to: str | None = None,
) -> None:
    parser = EventStreamParser()
    first = True
    while True:
        path = f"/api/rooms/{quote(room_id)}/stream"
        headers = {}
        query = {} if to is None else {"addressed_to": to}
        if first:
            query["last_event_id"] = str(printer.last_id)
        else:
            headers["Last-Event-ID"] = str(printer.last_id)
        if query:
            path += "?" + urllib.parse.urlencode(query)
        try:
            response = endpoint.open(
                "GET",
                path,
                accept="text/event-stream",
                extra_headers=headers,
                timeout=STREAM_READ_TIMEOUT,
            )
        except NotServed:
            raise
        except CliError:
            if first:
                raise
            time.sleep(RECONNECT_SECONDS)  # the server restarting: try again
            continue
        if first:
            note("following the room's live feed (SSE)")
        first = False
        try:
            with response:
                lines = (raw.decode("utf-8") for raw in response)
                if consume_stream(lines, printer, parser):
                    return
        except OSError:
            pass  # dropped (server restart, timeout): resume from the last id shown
        time.sleep(RECONNECT_SECONDS if parser.retry_ms is None else parser.retry_ms / 1000)


def follow_waits(endpoint: Endpoint, room_id: str, printer: Printer, to: str | None = None) -> None:
    async def run() -> None:
        while True:
            try:
                async with connect(endpoint) as client:
                    while True:
                        answer = await call_tool_async(
                            client,
                            "wait_for_messages",
                            {
                                "room_id": room_id,
                                "since_id": printer.last_id,
                                "timeout": WAIT_SECONDS,
                                **({} if to is None else {"addressed_to": to}),
                            },
                        )
                        for message in answer["messages"]:
                            printer.show(message)
            except CliError:
                raise  # the room went away, or the server refused: nothing to wait for
            except Exception:
                # The server stopped (or restarted): a new connection resumes after
                # the last id shown, as a resumed stream would.
                await anyio.sleep(RECONNECT_SECONDS)

    anyio.run(run)


def tail(
    endpoint: Endpoint,
    room: dict[str, Any],
    printer: Printer,
    *,
    last: int,
    since: int | None,
    once: bool,
    note: Callable[[str], None],
    to: str | None = None,
) -> None:
    for message in backlog(endpoint, room["id"], since, last, to):
        printer.show(message)
    if once:
        return
    if printer.last_id == (since or 0) and since is None:
        printer.last_id = _newest_id(room)
    try:
        follow_stream(endpoint, room["id"], printer, note, to)
    except NotServed:
        note("following the room with wait_for_messages (this server has no SSE feed)")
        follow_waits(endpoint, room["id"], printer, to)


def _newest_id(room: dict[str, Any]) -> int:
    last = room.get("last_message") or {}
    return int(last.get("id") or 0)
