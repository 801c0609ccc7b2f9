"""Rooms for a human at a terminal: find one, list them, post, export, open in the browser.

ROOM on the command line is a room id or `project/name`. Everything goes
through the server's REST API (so a post wakes every waiter and stream, as
one from the web page does) — the CLI never writes the database itself.
"""

from __future__ import annotations

import re
import urllib.parse
import uuid
from typing import Any

from chatnut.client.endpoint import CliError, Endpoint, NotServed, quote

ROOM_ID = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)


def resolve_room(endpoint: Endpoint, room: str) -> dict[str, Any]:
    """The room (with its counts) that ROOM names."""
    if ROOM_ID.match(room):
        found: dict[str, Any] = endpoint.call("GET", f"/api/rooms/{quote(room)}")
        return found
    if "/" not in room:
        raise CliError(f"ROOM {room!r} is neither a room id nor project/name")
    # A project or a name may itself hold "/": try every split, first match wins.
    parts = room.split("/")
    for cut in range(1, len(parts)):
        project, name = "/".join(parts[:cut]), "/".join(parts[cut:])
        query = urllib.parse.urlencode({"project": project, "status": "all"})
        for candidate in endpoint.call("GET", f"/api/rooms?{query}")["rooms"]:
            if candidate["name"] == name:
                return dict(candidate)
    raise CliError(f"no room {room!r}; `chatnut rooms --status all` lists them")


def create_room(endpoint: Endpoint, room: str) -> dict[str, Any]:
    """project/name, created if missing (idempotent, like init_room); an id must exist."""
    if ROOM_ID.match(room):
        return resolve_room(endpoint, room)
    project, slash, name = room.partition("/")
    if not slash:
        raise CliError(f"ROOM {room!r} is neither a room id nor project/name")
    created: dict[str, Any] = endpoint.call(
        "POST", "/api/rooms", {"project": project, "name": name}
    )
    return created


def list_rooms(
    endpoint: Endpoint, project: str | None, status: str, reader: str | None
) -> list[dict[str, Any]]:
    params = {"status": status}
    if project:
        params["project"] = project
    if reader:
        params["reader"] = reader
    rooms: list[dict[str, Any]] = endpoint.call(
        "GET", "/api/rooms?" + urllib.parse.urlencode(params)
    )["rooms"]
    return rooms


def room_table(rooms: list[dict[str, Any]], with_unread: bool) -> list[str]:
    if not rooms:
        return ["no rooms"]
    header = ["ROOM", "STATUS", "MESSAGES"] + (["UNREAD"] if with_unread else []) + ["ID"]
    rows = [header]
    for room in rooms:
        row = [f"{room['project']}/{room['name']}", room["status"], str(room["message_count"])]
        if with_unread:
            row.append(str(room.get("unread_count", 0)))
        rows.append([*row, room["id"]])
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def post(
    endpoint: Endpoint,
    room_id: str,
    sender: str,
    content: str,
    reply_to: int | None,
    to: list[str] | None = None,
    message_type: str = "message",
) -> dict[str, Any]:
    body: dict[str, Any] = {"sender": sender, "content": content, "source": "cli"}
    if reply_to is not None:
        body["reply_to"] = reply_to
    if to:
        body["to"] = to
    if message_type != "message":
        body["message_type"] = message_type
    # One key per post: when the first try's outcome is unknown (the connection
    # dropped, the database went away mid-commit), the one retry is stored once.
    body["idempotency_key"] = f"cli-{uuid.uuid4()}"
    path = f"/api/rooms/{quote(room_id)}/messages"
    try:
        posted: dict[str, Any] = endpoint.call("POST", path, body)
    except CliError as exc:
        if not any(sign in str(exc) for sign in UNKNOWN_OUTCOME):
            raise
        posted = endpoint.call("POST", path, body)
    return posted


# What a post's error says when it may or may not have been stored.
UNKNOWN_OUTCOME = ("may or may not have been saved", "no chatnut server answers", "unavailable")


def export(endpoint: Endpoint, room_id: str, fmt: str) -> str:
    return endpoint.text(f"/api/rooms/{quote(room_id)}/export?format={fmt}")


def page_url(endpoint: Endpoint, room_id: str | None) -> str:
    """The web page (of a room). With a token, a one-time sign-in link from the server
    (a person's token signs that person in)."""
    target = "/" if room_id is None else f"/?room={room_id}"
    if not endpoint.token:
        if endpoint.remote and _needs_token(endpoint):
            raise CliError(
                f"{endpoint.base} needs a token to sign in: set CHATNUT_TOKEN (a person's"
                " own token, from `chatnut token create NAME --kind person`)"
            )
        return endpoint.base + target
    # Only the server mints sign-in links. The code is what signs in; `next` is
    # just where the server redirects afterwards.
    try:
        link: dict[str, Any] = endpoint.call("POST", "/api/signin-link", {"next": target})
        return str(link["url"])
    except NotServed:
        pass  # an older server: its ping hands one out (for "/")
    # Imported here: the MCP client costs every other command a second to load.
    from chatnut.client.mcp import call_tool

    web_url = str(call_tool(endpoint, "ping", {})["web_url"])
    parts = urllib.parse.urlsplit(web_url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    query["next"] = target
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def _needs_token(endpoint: Endpoint) -> bool:
    try:
        endpoint.call("GET", "/api/status")
    except CliError as exc:
        return "Authorization" in str(exc) or "token" in str(exc)
    return False
