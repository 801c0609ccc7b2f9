"""How many event streams may be open: on the server, and per client.

A stream holds its connection for as long as the client likes, so streams
alone could fill the connection cap: 25 open streams against a cap of 20
locked the page and /api/status out for everyone. Streams get at most half
of the connections by default — the rest stay for short requests — and one
client (a browser session, else an address) a few of those.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request

from chatnut.errors import ChatnutError
from chatnut.sessions_in_memory import SECURE_SESSION_COOKIE, SESSION_COOKIE

DEFAULT_PER_CLIENT = 16


class TooManyStreams(ChatnutError):
    code = "too_many_streams"
    http_status = 429


class StreamSlots:
    def __init__(self, total: int, per_client: int) -> None:
        self.total = max(1, total)
        self.per_client = max(1, per_client)
        self.open: dict[str, int] = {}

    def take(self, client: str) -> Callable[[], None]:
        """A slot for one stream of `client`, or TooManyStreams; returns its release."""
        if sum(self.open.values()) >= self.total:
            raise TooManyStreams(
                f"{self.total} event streams are already open on this server (the limit);"
                " close one or retry shortly"
            )
        held = self.open.get(client, 0)
        if held >= self.per_client:
            raise TooManyStreams(
                f"this client already has {held} event streams open (the limit);"
                " close one before opening another"
            )
        self.open[client] = held + 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                left = self.open[client] - 1
                if left:
                    self.open[client] = left
                else:
                    del self.open[client]

        return release


def client_of(request: Request) -> str:
    """Whose stream this is: a browser's session, else the address it comes from."""
    session = request.cookies.get(SESSION_COOKIE) or request.cookies.get(SECURE_SESSION_COOKIE)
    if session:
        return f"session:{session}"
    return f"address:{request.client.host if request.client else ''}"
