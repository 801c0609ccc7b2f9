"""`chatnut handoff ROOM` and `chatnut inbox NAME`: an agent's catch-up and
inbox, for a human at a terminal.

Both read the REST API (`/api/rooms/{id}/handoff`, `/api/inbox`), which never
marks the named reader present: a human looking at an agent's inbox is not
that agent. `inbox --follow` long-polls the inbox route, woken by the post
itself, and resumes from the `next_since_id` it was given.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from typing import Any, TextIO

from chatnut.cli.tail import format_message
from chatnut.client.endpoint import CliError, Endpoint, quote

INBOX_WAIT_SECONDS = 60
# The wait itself plus slack: the HTTP read must outlast the long-poll.
INBOX_READ_TIMEOUT = INBOX_WAIT_SECONDS + 15
RECONNECT_SECONDS = 1.0


def handoff(endpoint: Endpoint, room_id: str, reader: str, recent: int) -> dict[str, Any]:
    query = urllib.parse.urlencode({"reader": reader, "recent": recent})
    found: dict[str, Any] = endpoint.call("GET", f"/api/rooms/{quote(room_id)}/handoff?{query}")
    return found


def _presence(row: dict[str, Any]) -> str:
    if row.get("waiting"):
        return "waiting"
    seen = row.get("last_seen_at")
    return f"seen {str(seen)[11:19]}" if seen else "never seen"


def handoff_text(found: dict[str, Any], reader: str) -> list[str]:
    room = found["room"]
    head = f"{room['project']}/{room['name']} ({room['status']})"
    if room.get("branch"):
        head += f" · branch {room['branch']}"
    lines = [head]
    if room.get("description"):
        lines.append(f"  {room['description']}")
    if found["agents"] or found["statuses"]:
        lines.append("team:")
    for agent in found["agents"]:
        lines.append(f"  @{agent['agent_name']} · {_presence(agent)} · task {agent['task_id']}")
    for status in found["statuses"]:
        lines.append(f"  {status['sender']}: {status['status']} · {_presence(status)}")
    summary = found["latest_summary"]
    lines.append("latest summary:" if summary else "latest summary: none")
    if summary:
        lines.append("  " + format_message(summary, colour=False))
    lines.append(f"unread for {reader}: {found['unread_count']}")
    lines.extend("  " + format_message(m, colour=False) for m in found["unread"])
    if found["recent"]:
        lines.append("newest:")
        lines.extend("  " + format_message(m, colour=False) for m in found["recent"])
    left_out = {k: v for k, v in found["omitted"].items() if v}
    if left_out:
        counts = ", ".join(f"{v} {k}" for k, v in left_out.items())
        lines.append(f"left out to stay under 24 KB: {counts}")
    lines.append(f"next since id: {found['next_since_id']}")
    return lines  # a terminal shows their controls inert (cli/terminal.py guards stdout)


def inbox_page(
    endpoint: Endpoint, name: str, since_id: int, timeout: float, limit: int = 100
) -> dict[str, Any]:
    query = urllib.parse.urlencode(
        {"agent_name": name, "since_id": since_id, "timeout": timeout, "limit": limit}
    )
    with endpoint.open("GET", f"/api/inbox?{query}", timeout=INBOX_READ_TIMEOUT) as response:
        page: dict[str, Any] = json.loads(response.read())
    return page


def inbox_line(message: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(message, ensure_ascii=False)
    room = message["room"]
    return f"[{room['project']}/{room['name']}] " + format_message(message, False)


def inbox(
    endpoint: Endpoint, name: str, since_id: int, out: TextIO, *, fmt: str, follow: bool
) -> int:
    """Print every message addressed to `name` after since_id; with follow, keep
    waiting for more. Returns the last id looked at."""
    answered = False
    while True:
        try:
            page = inbox_page(endpoint, name, since_id, INBOX_WAIT_SECONDS if follow else 0)
        except CliError:
            if not (follow and answered):
                raise  # a refused name or no server at all: say so
            time.sleep(RECONNECT_SECONDS)  # the server restarting: wait from the same id
            continue
        answered = True
        for message in page["messages"]:
            out.write(inbox_line(message, fmt) + "\n")
        out.flush()
        since_id = page["next_since_id"]
        if not follow and not page["has_more"]:
            return since_id
