"""The SSE wire format and the streaming response every feed uses.

Events are encoded to bytes once; the same message event fanned out to 500
streams is one `json.dumps`, shared (see `feed.message_chunk`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from sse_starlette.sse import EventSourceResponse, SendTimeoutError
from starlette.types import Receive, Scope, Send

from chatnut.errors import StorageUnavailable

log = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 15
RETRY_MILLISECONDS = 2000


def encode(event: str, data: Any, event_id: int | None = None) -> bytes:
    """One SSE event. JSON never contains a raw newline, so `data:` is one line."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"{head}event: {event}\ndata: {body}\n\n".encode()


def retry_hint() -> bytes:
    return f"retry: {RETRY_MILLISECONDS}\n\n".encode()


class EventStream(EventSourceResponse):
    """An EventSourceResponse with chatnut's hygiene.

    sse-starlette already sends `X-Accel-Buffering: no` and `Cache-Control:
    no-store`, sends keepalive comments, notices a disconnect at once (which
    cancels the feed, whose `finally` unsubscribes), and ends streams when
    uvicorn is told to exit. Here: keepalive every 15 s, a bounded send, and a
    client that stopped reading is logged as what it is, not as a server error.
    A database outage mid-stream ends the stream in one log line: its headers
    are long sent, so no error answer can follow, and the client reconnects
    from its last event id once the database is back.
    """

    def __init__(
        self,
        content: Any,
        release: Callable[[], None] | None = None,
        *,
        send_timeout: float,
    ) -> None:
        self.release = release  # the stream's slot (feeds/slots.py), given back at the end
        super().__init__(
            content,
            ping=KEEPALIVE_SECONDS,
            send_timeout=send_timeout,
            headers={"Cache-Control": "no-store"},
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except SendTimeoutError:
            client = scope.get("client")
            log.info("dropped an event stream that stopped reading: %s", client)
        except StorageUnavailable as exc:
            log.warning("ended an event stream: %s", exc.message)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            if self.release is not None:
                self.release()
