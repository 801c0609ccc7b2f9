"""The page's search language, parsed once: text and quoted phrases, narrowed by
`from:NAME`, `in:ROOM` (or `in:PROJECT/ROOM`), `to:NAME`, `has:code`,
`before:YYYY-MM-DD` and `after:YYYY-MM-DD`.

Text is matched as before: case-insensitive substrings. A query with neither
an operator nor a quote is one substring exactly as typed, so a plain search
finds what it always found. Otherwise each quoted phrase, and each run of
words between operators, is a substring that must occur. A word that only
looks like an operator (`TypeError:`, `http://host`, `10:30`, `foo:bar`) is
text: refusing it would make such text unsearchable. A known operator given a
value it cannot take is refused in one line, naming the operator.

Dates are UTC days, both bounds exclusive of the day named: `after:2026-12-01`
starts on 2 December, `before:2026-12-01` ends on 30 November.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from chatnut import validation as check
from chatnut.errors import InvalidInput

OPERATORS = ("from", "in", "to", "has", "before", "after")

# One token at a time: an operator with a quoted or bare value, a quoted
# phrase, or a bare word. Every alternative ends at the next quote or space,
# so a token never rescans text past the one unclosed quote: linear in the
# length of the query, whatever it holds.
_TOKEN = re.compile(
    r'(?P<key>[A-Za-z]+):(?:"(?P<quoted>[^"]*)"|(?P<bare>[^\s"]+))'
    r'|"(?P<phrase>[^"]*)"'
    r"|(?P<word>\S+)"
)
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class SearchQuery:
    """A parsed search: the substrings that must all occur, and the narrowing."""

    terms: tuple[str, ...]
    sender: str | None = None
    room: str | None = None
    room_project: str | None = None
    to: str | None = None
    has_code: bool = False
    after: str | None = None  # the first day included (ISO date)
    before: str | None = None  # the first day excluded (ISO date)


def parse(query: str) -> SearchQuery:
    """The query's terms and operators; InvalidInput for an operator it cannot use."""
    values: dict[str, str] = {}
    terms: list[str] = []
    run: list[str] = []
    quoted = False

    def flush() -> None:
        if run:
            terms.append(" ".join(run))
            run.clear()

    for token in _TOKEN.finditer(query):
        key = (token["key"] or "").lower()
        value = token["quoted"] if token["quoted"] is not None else token["bare"]
        if key in OPERATORS and value is not None and value.strip():
            if key in values:
                raise InvalidInput(f"{key}: is given twice; search with one {key}: at a time")
            values[key] = value.strip()
            flush()
        elif token["phrase"] is not None:
            quoted = True
            flush()
            if token["phrase"].strip():
                terms.append(token["phrase"])
        else:
            run.append(token[0])
    if not values and not quoted:
        return SearchQuery(terms=(query,) if query.strip() else ())
    flush()
    if not terms and not values:
        raise InvalidInput(
            'the query has nothing to look for: give words, a "phrase" or an operator'
        )
    return _narrowed(tuple(terms), values)


def _narrowed(terms: tuple[str, ...], values: dict[str, str]) -> SearchQuery:
    room = project = None
    if "in" in values:
        project, _, room = values["in"].removeprefix("#").rpartition("/")
        project = project or None
        if not room:
            raise InvalidInput("in: needs a room name, like in:deploy or in:myproject/deploy")
        check.text("in:", room, max_chars=check.MAX_NAME)
        check.optional_text("in:", project, max_chars=check.MAX_NAME)
    has = values.get("has")
    if has is not None and has.lower() != "code":
        raise InvalidInput(f"has:{has} is not known; has:code is the one there is")
    after = _day("after", values.get("after"))
    return SearchQuery(
        terms=terms,
        sender=_name("from", values.get("from")),
        room=room,
        room_project=project,
        to=_name("to", values.get("to")),
        has_code=has is not None,
        after=None if after is None else _next_day(after),
        before=None if (before := _day("before", values.get("before"))) is None else str(before),
    )


def _name(key: str, value: str | None) -> str | None:
    if value is None:
        return None
    name = value.removeprefix("@")
    if not name:
        raise InvalidInput(f"{key}: needs a name, like {key}:alice")
    return check.person(f"{key}:", name)


def _day(key: str, value: str | None) -> date | None:
    if value is None:
        return None
    if _DAY.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise InvalidInput(f"{key}:{value[:40]} is not a date; write it like {key}:2026-12-01")


def _next_day(day: date) -> str:
    if day == date.max:
        raise InvalidInput(f"after:{day} leaves no day after it")
    return str(day + timedelta(days=1))
