"""Work that ends the moment its HTTP client hangs up.

With stateless answers nothing else notices a client that gave up on a long
poll (Esc in Claude Code drops the request; a `notifications/cancelled`
arrives as a separate request that cannot reach it): a parked wait would hold
its hub subscription and its place under the wait caps until its own timeout.
Once a request's body has been read, `receive` has nothing left to say but
`http.disconnect`, so one watcher on it is enough. Both long polls use this
one: an MCP call (app.py) and the REST inbox (api.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio

T = TypeVar("T")


class ClientLeft(Exception):
    """The client hung up before the work answered; the work was cancelled."""


async def unless_client_leaves(receive: Callable[[], Awaitable[Any]], work: Awaitable[T]) -> T:
    """`work`'s answer, or ClientLeft once `receive` says the client is gone.

    `receive` must be past the request's body: anything but a disconnect it
    yields is ignored."""
    answered: list[T] = []
    failed: list[Exception] = []
    async with anyio.create_task_group() as group:

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            group.cancel_scope.cancel()  # cancels `work` below, wherever it waits

        group.start_soon(watch)
        try:
            answered.append(await work)
        except Exception as exc:  # the caller's to map, not wrapped in a group
            failed.append(exc)
        group.cancel_scope.cancel()  # answered: stop watching
    if failed:
        raise failed[0]
    if not answered:
        raise ClientLeft
    return answered[0]
