"""A small Server-Sent Events reader over httpx, for the feed tests.

It parses the wire format itself (id/event/data/retry lines, comments), so
the tests see exactly what a browser's EventSource would.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx


@dataclass
class SSE:
    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None
    comments: list[str] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads(self.data)


async def parse(lines: AsyncIterator[str]) -> AsyncIterator[SSE]:
    current = SSE()
    data: list[str] = []
    seen = False
    async for line in lines:
        if line == "":
            if seen:
                current.data = "\n".join(data)
                yield current
            current, data, seen = SSE(), [], False
            continue
        seen = True
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "":
            current.comments.append(value)
        elif name == "event":
            current.event = value
        elif name == "data":
            data.append(value)
        elif name == "id":
            current.id = value
        elif name == "retry":
            current.retry = int(value)


class Stream:
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._events = parse(response.aiter_lines())
        # The sidebar's throttled totals come when a second has passed, which a
        # test of deltas cannot order against; tests of the totals clear this.
        self.skipped = {"totals"}

    async def next(self, *, skip_comments: bool = True) -> SSE:
        async for event in self._events:
            if skip_comments and not event.data and event.event == "message" and event.id is None:
                continue  # keepalive comments and the retry hint
            if event.event in self.skipped:
                continue
            return event
        raise EOFError("the stream ended")

    async def next_named(self, name: str, within: float = 5.0) -> SSE:
        """The next event named `name` (others skipped), within a deadline."""
        with anyio.fail_after(within):
            while True:
                event = await self.next()
                if event.event == name:
                    return event

    async def until(self, name: str) -> list[SSE]:
        """Every event up to and including the first named `name`."""
        seen = []
        while True:
            event = await self.next()
            seen.append(event)
            if event.event == name:
                return seen

    async def rest(self) -> list[SSE]:
        """Every event until the server ends the stream."""
        seen = []
        async for event in self._events:
            if event.data:
                seen.append(event)
        return seen


@asynccontextmanager
async def open_stream(
    client: httpx.AsyncClient, url: str, headers: dict[str, str] | None = None
) -> AsyncIterator[Stream]:
    async with client.stream("GET", url, headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        yield Stream(response)
