"""Push for `chatnut --agent NAME`: the stdio bridge as a Claude Code channel.

The bridge declares `capabilities.experimental["claude/channel"]`; once the
session is initialised, `Pusher.run` long-polls the server for messages
addressed to NAME in every live room (its `to`, or an @mention of NAME
registered in that room; never NAME's own posts) and sends each as one
`notifications/claude/channel` {content, meta}, which Claude Code shows the
session as a `<channel>` event. The server keeps NAME's delivery cursor
(service/delivery.py): the bridge confirms what it pushed after pushing it, so
a restarted bridge resumes after the last confirmed id, and a lease lets only
one of several bridges for NAME push.

Backpressure: more than BURST messages within WINDOW_S seconds are gathered
for the rest of the window and sent as one digest, so a noisy room cannot
flood a session with events.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import anyio
from mcp_types import Notification

from chatnut.client.endpoint import quote, server_alive

log = logging.getLogger(__name__)

METHOD: Literal["notifications/claude/channel"] = "notifications/claude/channel"
CAPABILITY: dict[str, dict[str, Any]] = {"claude/channel": {}}
BURST = 5  # more than this many messages ...
WINDOW_S = 2.0  # ... within this many seconds become one digest
POLL_S = 4.0  # each long-poll renews the server's lease (service/delivery.py: LEASE_S)
RETRY_S = 1.0  # after a failure, or while another bridge holds the name
MAX_RETRY_S = 30.0
PREVIEW_CHARS = 300
DIGEST_LINES = 10
DIGEST_MAX = 200
DIGEST_IDS = 50

Send = Callable[[dict[str, Any]], Awaitable[None]]


class ChannelNotification(Notification[dict[str, Any], Literal["notifications/claude/channel"]]):
    method: Literal["notifications/claude/channel"] = METHOD


class PushFailed(Exception):
    """The server refused a push call (its one-line reason)."""


class NotServed(PushFailed):
    """The server has no push routes (an older chatnut): tools work, nothing is pushed."""


def _line(text: Any) -> str:
    return " ".join(str(text).split())


def _where(message: dict[str, Any]) -> str:
    room = message.get("room") or {}
    return f"{_line(room.get('project', '?'))}/{_line(room.get('name', '?'))}"


def single(message: dict[str, Any], agent: str) -> dict[str, Any]:
    """One message as a channel event: one short line, and its ids in meta."""
    room_id, message_id = message["room_id"], int(message["id"])
    body = _line(message["content"])
    text = f"{_line(message['sender'])} to {agent} in {_where(message)}: {body[:PREVIEW_CHARS]}"
    if len(body) > PREVIEW_CHARS:
        text += (
            f"… (cut; read_messages(room_id={room_id!r}, since_id={message_id - 1}, limit=1)"
            " has all of it)"
        )
    if (message.get("metadata") or {}).get("ack_required"):
        text += (
            f" Ack when done: ack_message(room_id={room_id!r}, message_id={message_id},"
            f" agent_name={agent!r})."
        )
    room = message.get("room") or {}
    meta = {
        "room_id": room_id,
        "message_id": str(message_id),
        "sender": _line(message["sender"]),
        "project": _line(room.get("project", "")),
        "room": _line(room.get("name", "")),
        "message_type": message["message_type"],
    }
    return {"content": text, "meta": meta}


def digest(messages: list[dict[str, Any]], agent: str) -> dict[str, Any]:
    """Many messages as one event: who wrote where, and how to read them all."""
    first = int(messages[0]["id"])
    lines = [
        f"#{m['id']} {_line(m['sender'])} in {_where(m)}: {_line(m['content'])[:60]}"
        for m in messages[:DIGEST_LINES]
    ]
    more = len(messages) - DIGEST_LINES
    text = f"{len(messages)} messages for {agent}: " + "; ".join(lines)
    if more > 0:
        text += f"; and {more} more"
    text += f" — check_inbox(agent_name={agent!r}, since_id={first - 1}) reads them all"
    meta = {
        "message_type": "digest",
        "count": str(len(messages)),
        "message_ids": ",".join(str(m["id"]) for m in messages[:DIGEST_IDS]),
        "first_id": str(first),
        "last_id": str(messages[-1]["id"]),
    }
    return {"content": text, "meta": meta}


class Pusher:
    """Pushes NAME's messages through `send` for the life of one bridge."""

    def __init__(self, upstream: Any, agent: str, send: Send) -> None:
        self.upstream = upstream  # bridge.Upstream: where the server is, and its HTTP client
        self.agent = agent
        self.send = send
        self.holder = secrets.token_hex(8)
        self.pushed_at: deque[float] = deque()  # when recent single events went out
        self.confirmed = 0

    async def _call(self, verb: str, body: dict[str, Any], timeout: float) -> dict[str, Any]:
        endpoint = self.upstream.endpoint
        response = await self.upstream.http.post(
            f"{endpoint.base}/api/push/{quote(self.agent)}/{verb}",
            json={"holder": self.holder, **body},
            timeout=timeout + 10,
        )
        if response.status_code == 404 and verb == "next":
            raise NotServed(f"{endpoint.base} has no push routes (an older chatnut?)")
        answer: dict[str, Any] = response.json()
        if response.status_code != 200:
            raise PushFailed((answer.get("error") or {}).get("message", response.status_code))
        return answer

    async def _next(self, after: int, timeout: float) -> dict[str, Any]:
        return await self._call("next", {"after": after, "timeout": timeout}, timeout)

    async def _done(self, through: int, pushed: list[int]) -> None:
        answer = await self._call("done", {"through": through, "pushed": pushed}, 0)
        if not answer["advanced"]:
            log.warning("another bridge took over pushing for %s", self.agent)
        self.confirmed = max(self.confirmed, through)

    async def run(self) -> None:
        """Push until cancelled. A failure never ends the bridge (its tools still
        work): it is logged and retried, less often while it lasts."""
        pause = RETRY_S
        while True:
            try:
                await self.round()
                pause = RETRY_S
            except NotServed as exc:
                log.warning("no push for %s: %s", self.agent, exc)
                return
            except Exception as exc:  # whatever it was: say so, wait, retry
                log.warning("push for %s: %s; retrying in %.0f s", self.agent, exc, pause)
                if not self.upstream.endpoint.remote and not server_alive(self.upstream.settings):
                    await self.upstream._restart()
                await anyio.sleep(pause)
                pause = min(pause * 2, MAX_RETRY_S)

    async def round(self) -> None:
        """One long-poll, and whatever it brings pushed and confirmed."""
        answer = await self._next(0, POLL_S)
        if not answer["held"]:
            await anyio.sleep(RETRY_S)  # another bridge pushes for this name; wait our turn
            return
        messages, through = answer["messages"], int(answer["next_since_id"])
        if not messages:
            if through > self.confirmed:  # past the name's own posts, nothing to push
                await self._done(through, [])
            return
        now = time.monotonic()
        while self.pushed_at and now - self.pushed_at[0] > WINDOW_S:
            self.pushed_at.popleft()
        if len(self.pushed_at) + len(messages) > BURST:
            deadline = now + WINDOW_S
            while (left := deadline - time.monotonic()) > 0 and len(messages) < DIGEST_MAX:
                more = await self._next(through, left)
                if not more["held"]:
                    return  # lost the name meanwhile: its new holder pushes these
                messages += more["messages"]
                through = int(more["next_since_id"])
            await self.send(digest(messages, self.agent))
            # The window counts as full: what follows within it is gathered too.
            self.pushed_at = deque([time.monotonic()] * BURST)
        else:
            for message in messages:
                await self.send(single(message, self.agent))
                self.pushed_at.append(time.monotonic())
        await self._done(through, [int(m["id"]) for m in messages])

    async def release(self) -> None:
        """Let go of the name at once (a clean exit), so a new bridge need not wait."""
        with anyio.move_on_after(3, shield=True):
            try:
                await self._call("release", {}, 0)
            except Exception as exc:  # the lease then lapses on its own
                log.warning("could not release %s: %s", self.agent, exc)
