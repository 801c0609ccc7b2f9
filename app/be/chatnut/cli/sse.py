"""A Server-Sent Events parser for `chatnut tail` (the WHATWG event-stream format).

Fed lines as they arrive; yields one Event per blank-line-terminated block.
`id:` is remembered across events (the spec's "last event ID"), so a
reconnect can resume from it; comments (`:` lines, the server's keepalives)
and `retry:` are consumed without producing events.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Event:
    event: str
    data: str
    id: str | None


class EventStreamParser:
    def __init__(self) -> None:
        self.last_event_id: str | None = None
        self.retry_ms: int | None = None
        self._event = ""
        self._data: list[str] = []
        self._has_data = False

    def feed(self, line: str) -> Event | None:
        """One line without its terminator; returns the event a blank line completes."""
        line = line.rstrip("\r\n")
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
            self._has_data = True
        elif name == "id":
            if "\0" not in value:
                self.last_event_id = value
        elif name == "retry" and value.isdigit():
            self.retry_ms = int(value)
        return None

    def _dispatch(self) -> Event | None:
        event_type, data, had_data = self._event, "\n".join(self._data), self._has_data
        self._event, self._data, self._has_data = "", [], False
        if not had_data:
            return None
        return Event(event_type or "message", data, self.last_event_id)


def parse_events(lines: Iterable[str], parser: EventStreamParser | None = None) -> Iterator[Event]:
    parser = parser or EventStreamParser()
    for line in lines:
        event = parser.feed(line)
        if event is not None:
            yield event
